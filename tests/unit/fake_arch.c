/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The fake machine of the host tests of the core (see fake_arch.h): what
 * arch/x86/, drivers/ and memory.c give the generic core, made of host
 * memory and counters the test controls.
 */
#include "tests/unit/fake_arch.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "arch/x86/clock.h"
#include "arch/x86/cpu.h"
#include "arch/x86/fpu.h"
#include "arch/x86/lapic.h"
#include "arch/x86/percpu.h"
#include "arch/x86/smp.h"
#include "arch/x86/traps.h"
#include "arch/x86/vcpu_state.h"
#include "drivers/iommu.h"
#include "drivers/uart16550.h"
#include "kernel/cpu_policy.h"
#include "kernel/errno.h"
#include "kernel/lib/string.h"
#include "kernel/log.h"
#include "kernel/mm.h"
#include "kernel/palloc.h"
#include "kernel/partition.h"
#include "tests/unit/fake_virt.h"

/* ------------------------------------------------------------- the TSC -- */

static u64 tsc;
u64 fake_rdtsc_step;

u64 fake_timer_deadline;
unsigned fake_irq_count, fake_halt_count;
static bool irq_if, irq_pending;
static unsigned timer_vector;
static irq_handler_t handlers[256];

static void check_timer(void)
{
	if (fake_timer_deadline && tsc >= fake_timer_deadline) {
		irq_pending = true;
		fake_timer_deadline = 0;
	}
}

static void take_irq(void)
{
	struct trap_frame f;

	if (!irq_pending || !irq_if)
		return;
	irq_pending = false;
	fake_irq_count++;
	memset(&f, 0, sizeof(f));
	f.vector = timer_vector;
	if (handlers[timer_vector])
		handlers[timer_vector](&f);
}

bool fake_irq_pending(void)
{
	check_timer();
	return irq_pending;
}

u64 fake_tsc(void)
{
	return tsc;
}

u64 fake_now_ns(void)
{
	return tsc / 3;
}

void fake_advance_ns(u64 ns)
{
	tsc += ns * 3;
	check_timer();
}

void fake_set_tsc(u64 t)
{
	if (t > tsc)
		tsc = t;
	check_timer();
}

u64 rdtsc(void)
{
	u64 t = tsc;

	tsc += fake_rdtsc_step;
	return t;
}

void lapic_eoi(void)
{
}

void lapic_timer_oneshot_ns(u64 ns, u8 vector)
{
	fake_timer_deadline = tsc + (ns ? ns : 1) * 3;
	timer_vector = vector;
	irq_pending = false;
}

int irq_register(unsigned vector, irq_handler_t h)
{
	if (vector >= 256)
		return -E_INVAL;
	handlers[vector] = h;
	return 0;
}

int irq_unregister(unsigned vector)
{
	if (vector >= 256)
		return -E_INVAL;
	handlers[vector] = NULL;
	return 0;
}

void irq_disable(void)
{
	irq_if = false;
}

void irq_enable(void)
{
	irq_if = true;
	check_timer();
	take_irq();
}

void cpu_wait_irq(void)
{
	irq_if = true;
	check_timer();
	if (!irq_pending) {
		if (!fake_timer_deadline)
			fail_msg("HLT with no timer armed: the CPU would sleep forever");
		tsc = MAX(tsc, fake_timer_deadline);
		check_timer();
	}
	fake_halt_count++;
	take_irq();
}

void cpu_halt(void)
{
	if (fake_stop_armed)
		longjmp(fake_stop_env, 1);
	fprintf(stderr, "serial output:\n%s\n", fake_serial());
	fail_msg("the run ended (hv_stop or panic) outside FAKE_EXPECT_STOP");
}

void cpu_relax(void)
{
}

u64 read_rflags(void)
{
	return RFLAGS_FIXED1 | (irq_if ? RFLAGS_IF : 0);
}

/* Ports: the debug-exit port records the run's code; reads float high. */
jmp_buf fake_stop_env;
bool fake_stop_armed;
int fake_stop_code = -1;

void outb(u16 port, u8 v)
{
	if (port == 0xf4)
		fake_stop_code = v;
}

void outw(u16 port, u16 v)
{
	(void)port;
	(void)v;
}

void outl(u16 port, u32 v)
{
	(void)port;
	(void)v;
}

u8 inb(u16 port)
{
	(void)port;
	return 0xff;
}

u16 inw(u16 port)
{
	(void)port;
	return 0xffff;
}

u32 inl(u16 port)
{
	(void)port;
	return 0xffffffff;
}

u64 rdmsr(u32 msr)
{
	(void)msr;
	return 0;
}

void wrmsr(u32 msr, u64 v)
{
	(void)msr;
	(void)v;
}

u64 read_cr0(void)
{
	return CR0_PE | CR0_PG;
}

u64 read_cr2(void)
{
	return 0;
}

u64 read_cr3(void)
{
	return 0;
}

u64 read_cr4(void)
{
	return CR4_PAE;
}

void write_cr0(u64 v)
{
	(void)v;
}

void write_cr3(u64 v)
{
	(void)v;
}

void write_cr4(u64 v)
{
	(void)v;
}

/* ---------------------------------------------------------------- CPUID -- */

static enum fake_cpu cpu_kind;

void fake_cpu_set(enum fake_cpu which)
{
	cpu_kind = which;
}

#define R(a, b, c, d)         \
	do {                  \
		out[0] = (a); \
		out[1] = (b); \
		out[2] = (c); \
		out[3] = (d); \
	} while (0)

/* Two plausible hosts: an AMD Zen-like CPU (as QEMU's -cpu with +svm) and
 * an Intel Skylake-like one, each with some features the policy must hide
 * (SVM/VMX, speculation control, TSC_ADJUST, PKU, the PMU). */
void fake_host_cpuid(u32 leaf, u32 subleaf, u32 out[4])
{
	bool amd = cpu_kind == FAKE_CPU_AMD;

	R(0, 0, 0, 0);
	switch (leaf) {
	case 0:
		if (amd)
			R(0x10, 0x68747541, 0x444d4163, 0x69746e65); /* AuthenticAMD */
		else
			R(0x16, 0x756e6547, 0x6c65746e, 0x49656e69); /* GenuineIntel */
		return;
	case 1:
		/* ECX: sse3 pclmul monitor vmx(intel) ssse3 fma cx16 pdcm pcid
		 * sse4.1 sse4.2 x2apic movbe popcnt tsc-deadline aes xsave
		 * osxsave avx f16c rdrand hypervisor; EDX: the usual 0x178bfbff
		 * plus ds, acpi, ss, tm, pbe on Intel. */
		R(amd ? 0x00800f12 : 0x00050654, 0x12340800,
		  0x7ffa3a0b | (amd ? 0 : 1u << 5) | (1u << 31),
		  0x178bfbff | (amd ? 0 : 0xe8600000u));
		return;
	case 2:
		R(0x00feff01, 0, 0, 0);
		return;
	case 4:
		if (amd)
			return;
		if (subleaf == 0)
			R(0x1c004121, 0x01c0003f, 0x3f, 0);
		return;
	case 7:
		/* EBX: fsgsbase tsc_adjust bmi1 avx2 smep bmi2 erms invpcid
		 * rdseed adx smap clflushopt clwb sha; ECX: umip pku ospke
		 * rdpid; EDX: md_clear spec_ctrl stibp ssbd. */
		if (subleaf == 0)
			R(0, 0x219c07ab | (1u << 25), 0x0040001c,
			  (1u << 10) | (1u << 26) | (1u << 27) | (1u << 31));
		return;
	case 0xa:
		if (!amd)
			R(0x07300404, 0, 0, 0x603); /* a PMU */
		return;
	case 0xd:
		if (subleaf == 0)
			R(0x7, 0x340, 0x340, 0);
		else if (subleaf == 1)
			R(0xf, 0x340, 0, 0); /* xsaveopt xsavec xgetbv1 xsaves */
		else if (subleaf == 2)
			R(0x100, 0x240, 0x3, 0);
		return;
	case 0x80000000:
		R(amd ? 0x8000001f : 0x80000008, amd ? 0x68747541 : 0, amd ? 0x444d4163 : 0,
		  amd ? 0x69746e65 : 0);
		return;
	case 0x80000001:
		/* ECX: lahf cmp_legacy svm extapic cr8 abm sse4a misalign
		 * 3dnowprefetch osvw topoext perfctr_core; EDX: syscall nx
		 * mmxext fxsr_opt pdpe1gb rdtscp lm, and AMD's copy of leaf 1. */
		if (amd)
			R(0x00800f12, 0x20000000, 0x00c003ff, 0x2fd3fbff);
		else
			R(0, 0, 0x121, 0x2c100800);
		return;
	case 0x80000002:
		R(0x20444d41, 0x43595045, 0x6f725020, 0x73736563);
		return;
	case 0x80000003:
	case 0x80000004:
		R(0x2020726f, 0x20202020, 0x20202020, 0x00202020);
		return;
	case 0x80000005:
	case 0x80000006:
		R(0xff40ff40, 0xff40ff40, 0x20080140, 0x20080140);
		return;
	case 0x80000007:
		R(0, 0, 0, 1u << 8);
		return;
	case 0x80000008:
		/* EBX: clzero irperf xsaveerptr ibpb ibrs stibp ssbd. */
		R(0x3030, 0x0100d007 | (1u << 25), amd ? 0x3 : 0, 0);
		return;
	case 0x40000000:
		R(0x40000001, 0, 0, 0); /* a hypervisor, but not QEMU's */
		return;
	default:
		return;
	}
}

struct cpuid_regs cpuid(u32 leaf, u32 subleaf)
{
	u32 r[4];

	fake_host_cpuid(leaf, subleaf, r);
	return (struct cpuid_regs){ r[0], r[1], r[2], r[3] };
}

/* ------------------------------------------------------------------ FPU -- */

bool fpu_has_xsave;
u64 fake_xcr0 = 1;

void fpu_write_xcr0(u64 xcr0)
{
	fake_xcr0 = xcr0;
}

u64 fpu_read_xcr0(void)
{
	return fake_xcr0;
}

u64 fpu_host_xcr0(void)
{
	return 0x7;
}

u64 fpu_xcr0_supported(void)
{
	return fpu_has_xsave ? 0x7 : 0;
}

/* SDM Vol. 1 §13.3: x87 always, AVX only with SSE, nothing the host lacks. */
bool fpu_xcr0_valid(u64 v)
{
	return fpu_has_xsave && (v & 1) && !(v & ~0x7ULL) && (!(v & 4) || (v & 2));
}

void fpu_state_reset(struct fpu_state *s)
{
	memset(s->area, 0, sizeof(s->area));
	s->xcr0 = fpu_has_xsave ? 1 : 0;
}

static struct vcpu_lazy_state *lazy_owner;

void vcpu_state_load(struct vcpu_lazy_state *s)
{
	lazy_owner = s;
}

void vcpu_state_reset(struct vcpu_lazy_state *s)
{
	if (s->fpu)
		fpu_state_reset(s->fpu);
	memset(s->dr, 0, sizeof(s->dr));
	s->tsc_aux = 0;
	if (lazy_owner == s)
		lazy_owner = NULL;
}

void vcpu_state_forget(struct vcpu_lazy_state *s)
{
	if (lazy_owner == s)
		lazy_owner = NULL;
}

u64 vcpu_state_tsc_aux(const struct vcpu_lazy_state *s)
{
	return s->tsc_aux;
}

void vcpu_state_set_tsc_aux(struct vcpu_lazy_state *s, u32 value)
{
	s->tsc_aux = value;
}

/* ------------------------------------------------------------- the UART -- */

static char *serial;
static size_t serial_len, serial_cap;

unsigned uart_tx_room(void)
{
	return 16;
}

void uart_tx_put(u8 byte)
{
	if (serial_len + 2 > serial_cap) {
		serial_cap = serial_cap ? 2 * serial_cap : 65536;
		serial = realloc(serial, serial_cap);
		assert_non_null(serial);
	}
	serial[serial_len++] = (char)byte;
	serial[serial_len] = '\0';
}

unsigned uart_tx_wait_room(void)
{
	return 16;
}

u64 uart_fifo_ns(void)
{
	return 1388889; /* 16 bytes at 115200 baud */
}

/* Typed input: what fake_serial_type queued, one byte per uart_rx_get. */
static char typed[256];
static size_t typed_len, typed_at;

bool uart_present(void)
{
	return true;
}

int uart_rx_get(u64 *overruns)
{
	(void)overruns;
	if (typed_at == typed_len)
		return -1;
	return (u8)typed[typed_at++];
}

void fake_serial_type(const char *s)
{
	size_t n = strlen(s);

	if (typed_at == typed_len)
		typed_at = typed_len = 0;
	assert_true(typed_len + n <= sizeof(typed));
	memcpy(typed + typed_len, s, n);
	typed_len += n;
}

const char *fake_serial(void)
{
	return serial ? serial : "";
}

void fake_serial_clear(void)
{
	serial_len = 0;
	if (serial)
		serial[0] = '\0';
}

bool fake_serial_has(const char *s)
{
	return strstr(fake_serial(), s) != NULL;
}

unsigned fake_serial_count(const char *s)
{
	unsigned n = 0;

	for (const char *at = fake_serial(); (at = strstr(at, s)); at += strlen(s))
		n++;
	return n;
}

void fake_expect_serial(const char *s)
{
	if (!fake_serial_has(s)) {
		fprintf(stderr, "serial output:\n%s\n", fake_serial());
		fail_msg("the serial output lacks \"%s\"", s);
	}
}

/* --------------------------------------------------------------- memory -- */

u64 core_phys_base;
u64 fake_alloc_budget = ~0ULL;
static u8 *arena;
static u64 arena_pages;
static u64 *bitmap;
static struct palloc allocator;

hpa_t fake_hpa(const void *p)
{
	return hpa((u64)(uintptr_t)p - DIRECT_MAP_BASE);
}

void fake_memory_init(u64 bytes)
{
	free(arena);
	free(bitmap);
	arena = aligned_alloc(LARGE_PAGE_SIZE, bytes);
	assert_non_null(arena);
	arena_pages = bytes >> PAGE_SHIFT;
	bitmap = calloc(1, palloc_bitmap_bytes(arena_pages));
	assert_non_null(bitmap);
	palloc_init(&allocator, bitmap, arena_pages);
	palloc_add(&allocator, 0, arena_pages);
	fake_alloc_budget = ~0ULL;
}

u64 fake_free_pages(void)
{
	return allocator.free_count;
}

void memory_get_stats(struct memory_stats *st)
{
	memset(st, 0, sizeof(*st));
	st->free_bytes = allocator.free_count << PAGE_SHIFT;
}

int page_alloc(u64 count, u64 align, hpa_t *out)
{
	u64 first;
	int err;

	if (!fake_alloc_budget)
		return -E_NOMEM;
	if (fake_alloc_budget != ~0ULL)
		fake_alloc_budget--;
	if ((err = palloc_alloc(&allocator, count, align, &first)))
		return err;
	*out = fake_hpa(arena + (first << PAGE_SHIFT));
	memset(arena + (first << PAGE_SHIFT), 0, count << PAGE_SHIFT);
	return 0;
}

void page_free(hpa_t pa, u64 count)
{
	u8 *p = phys_to_virt(pa);

	if (p < arena || p >= arena + (arena_pages << PAGE_SHIFT) ||
	    palloc_free(&allocator, (u64)(p - arena) >> PAGE_SHIFT, count))
		panic("page_free(%#llx, %llu): not allocated", (unsigned long long)pa.v,
		      (unsigned long long)count);
}

/* ---------------------------------------------------------- boot modules -- */

struct boot_info fake_bi;
static void *module_copies[BOOT_MAX_MODULES]; /* what fake_bi's modules point at */

void fake_add_module(const char *name, const void *data, u64 size)
{
	assert_true(fake_bi.module_count < BOOT_MAX_MODULES);
	struct boot_module *m = &fake_bi.modules[fake_bi.module_count++];
	void *copy = aligned_alloc(PAGE_SIZE, ALIGN_UP(size, PAGE_SIZE));

	assert_non_null(copy);
	module_copies[fake_bi.module_count - 1] = copy;
	memcpy(copy, data, size);
	strlcpy(m->name, name, sizeof(m->name));
	m->phys = fake_hpa(copy).v;
	m->size = size;
}

static void put16(u8 *p, u16 v)
{
	memcpy(p, &v, 2);
}

static void put32(u8 *p, u32 v)
{
	memcpy(p, &v, 4);
}

static void put64(u8 *p, u64 v)
{
	memcpy(p, &v, 8);
}

void fake_add_pv_image(const char *name)
{
	static u8 b[0x1100];

	memset(b, 0, sizeof(b));
	memcpy(b, "\177ELF", 4);
	b[4] = 2; /* ELFCLASS64 */
	b[5] = 1; /* little endian */
	b[6] = 1;
	put16(b + 16, 2);  /* ET_EXEC */
	put16(b + 18, 62); /* EM_X86_64 */
	put32(b + 20, 1);
	put64(b + 24, 0x100000); /* entry */
	put64(b + 32, 64);	 /* phoff */
	put16(b + 52, 64);
	put16(b + 54, 56); /* phentsize */
	put16(b + 56, 1);  /* phnum */
	u8 *ph = b + 64;
	put32(ph + 0, 1); /* PT_LOAD */
	put32(ph + 4, 7);
	put64(ph + 8, 0x1000); /* offset */
	put64(ph + 16, 0x100000);
	put64(ph + 24, 0x100000);
	put64(ph + 32, 0x100);	/* filesz */
	put64(ph + 40, 0x2000); /* memsz */
	put64(ph + 48, 0x1000);
	memset(b + 0x1000, 0xf4, 0x100); /* hlt; hlt; ... */
	fake_add_module(name, b, sizeof(b));
}

void fake_add_multiboot_image(const char *name)
{
	static u8 b[0x2000];
	const u32 flags = 1u << 16; /* the address fields are valid */

	memset(b, 0, sizeof(b));
	put32(b + 0, 0x1badb002);
	put32(b + 4, flags);
	put32(b + 8, (u32) - (0x1badb002u + flags));
	put32(b + 12, 0x100000);		      /* header_addr */
	put32(b + 16, 0x100000);		      /* load_addr */
	put32(b + 20, 0x100000 + sizeof(b));	      /* load_end_addr */
	put32(b + 24, 0x100000 + sizeof(b) + 0x1000); /* bss_end_addr */
	put32(b + 28, 0x100040);		      /* entry */
	memset(b + 0x40, 0xf4, 16);
	fake_add_module(name, b, sizeof(b));
}

/* ------------------------------------------------------------------ PCI -- */

static struct pci_device pci_devs[8];
static u8 pci_cfg[8][4096];
static unsigned pci_count;

struct pci_device *fake_pci_add(u8 bus, u8 dev, u8 fn, u16 vendor, u16 device)
{
	assert_true(pci_count < ARRAY_SIZE(pci_devs));
	struct pci_device *d = &pci_devs[pci_count];
	u8 *c = pci_cfg[pci_count++];

	memset(d, 0, sizeof(*d));
	memset(c, 0, 4096);
	d->bus = bus;
	d->dev = dev;
	d->fn = fn;
	d->vendor_id = vendor;
	d->device_id = device;
	put16(c + 0, vendor);
	put16(c + 2, device);
	put16(c + 4, 0x6); /* memory and bus master on, as firmware leaves them */
	return d;
}

u8 *fake_pci_config(struct pci_device *d)
{
	return pci_cfg[d - pci_devs];
}

u32 pci_read(const struct pci_device *d, unsigned offset, unsigned size)
{
	u32 v = 0;

	memcpy(&v, pci_cfg[d - pci_devs] + (offset & 4095), size);
	return v;
}

void pci_write(const struct pci_device *d, unsigned offset, unsigned size, u32 value)
{
	memcpy(pci_cfg[d - pci_devs] + (offset & 4095), &value, size);
}

struct pci_device *pci_find_bdf(u8 bus, u8 dev, u8 fn)
{
	for (unsigned i = 0; i < pci_count; i++)
		if (pci_devs[i].bus == bus && pci_devs[i].dev == dev && pci_devs[i].fn == fn)
			return &pci_devs[i];
	return NULL;
}

struct pci_device *pci_find_id(u16 vendor, u16 device)
{
	for (unsigned i = 0; i < pci_count; i++)
		if (pci_devs[i].vendor_id == vendor && pci_devs[i].device_id == device)
			return &pci_devs[i];
	return NULL;
}

unsigned pci_device_count(void)
{
	return pci_count;
}

struct pci_device *pci_device_at(unsigned index)
{
	return index < pci_count ? &pci_devs[index] : NULL;
}

bool pci_has_ecam(void)
{
	return true;
}

/* ---------------------------------------------------------------- IOMMU -- */

bool fake_iommu_present;
unsigned fake_iommu_domains;
static struct iommu_fault faults[8];
static unsigned fault_count;

const char *iommu_name(void)
{
	return fake_iommu_present ? "fake IOMMU" : NULL;
}

bool iommu_covers(u16 bdf)
{
	(void)bdf;
	return fake_iommu_present;
}

int iommu_domain_create(struct iommu_domain **out)
{
	static u16 next_id = 1;
	struct iommu_domain *d = calloc(1, sizeof(*d));

	if (!d)
		return -E_NOMEM;
	d->used = true;
	d->id = next_id++;
	d->levels = 4;
	d->table_count = 1;
	fake_iommu_domains++;
	*out = d;
	return 0;
}

int iommu_map(struct iommu_domain *d, u64 iova, u64 hpa_, u64 size, unsigned rights)
{
	(void)iova;
	(void)hpa_;
	(void)rights;
	d->table_count += size >> 21;
	return 0;
}

void iommu_domain_destroy(struct iommu_domain *d)
{
	fake_iommu_domains--;
	free(d);
}

int iommu_attach(struct iommu_domain *d, u16 bdf)
{
	(void)d;
	(void)bdf;
	return 0;
}

void iommu_detach(u16 bdf)
{
	(void)bdf;
}

int iommu_irq_route(u16 bdf, unsigned index, u8 vector, u32 apic_id, u64 *addr, u32 *data)
{
	(void)bdf;
	(void)index;
	(void)vector;
	(void)apic_id;
	(void)addr;
	(void)data;
	return -E_NOTSUP;
}

void iommu_irq_unroute(u16 bdf)
{
	(void)bdf;
}

void fake_iommu_fault(u16 bdf, u64 addr, bool write)
{
	assert_true(fault_count < ARRAY_SIZE(faults));
	faults[fault_count++] =
		(struct iommu_fault){ true, bdf, addr, true, write, 0x20000, "IO_PAGE_FAULT" };
}

unsigned iommu_poll_faults(struct iommu_fault *out, unsigned max)
{
	unsigned n = MIN(max, fault_count);

	memcpy(out, faults, n * sizeof(*out));
	memmove(faults, faults + n, (fault_count - n) * sizeof(*out));
	fault_count -= n;
	return n;
}

/* ---------------------------------------------------------------- setup -- */

void fake_parse(const char *text, struct config *cfg)
{
	struct config_error err;
	int rc = config_parse(text, strlen(text), "test.conf", cfg, &err);

	if (rc == 0)
		rc = config_check(cfg, "test.conf", &err);
	if (rc)
		fail_msg("config refused: line %u: %s", err.line, err.reason);
}

struct config fake_cfg;

unsigned fake_create(const char *text)
{
	fake_parse(text, &fake_cfg);
	for (unsigned i = 0; i < fake_cfg.partition_count; i++) {
		const struct config_partition *c = &fake_cfg.partitions[i];
		if (boot_find_module(&fake_bi, c->image))
			continue;
		if (c->kind == PARTITION_HVM)
			fake_add_multiboot_image(c->image);
		else
			fake_add_pv_image(c->image);
	}
	return partitions_create(&fake_cfg, &fake_bi);
}

struct partition *fake_partition(const char *name)
{
	for (unsigned i = 0; i < partition_count; i++)
		if (!strcmp(partitions[i].cfg->name, name))
			return &partitions[i];
	fail_msg("no partition %s", name);
	return NULL;
}

void fake_machine_reset(void)
{
	tsc = 0;
	fake_rdtsc_step = 0;
	clock_set_tsc_base(FAKE_TSC_HZ, 0); /* the real time base, arch/x86/tsc.c */
	fake_timer_deadline = 0;
	irq_if = irq_pending = false;
	fake_cpus = 1;
	fake_cpu = 0;
	for (unsigned c = 0; c < MAX_CPUS; c++) {
		percpu[c].self = &percpu[c];
		percpu[c].index = c;
	}
	fake_memory_init(MiB(64));
	fake_cpu_set(FAKE_CPU_AMD);
	fpu_has_xsave = false;
	fake_xcr0 = 1;
	memset(&fake_bi, 0, sizeof(fake_bi));
	pci_count = 0;
	fake_iommu_present = false;
	fault_count = 0;
	fake_serial_clear();
	log_init();
	hv_set_debug_exit(0xf4);
	cpu_policy_init(fake_host_cpuid, fpu_xcr0_supported());
	fake_virt_install();
}

void fake_isolated(void (*body)(void), const char *name)
{
	int status;

	fflush(stdout);
	fflush(stderr);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		/* A failed check in the child aborts it (cmocka's exit_test). */
		setenv("CMOCKA_TEST_ABORT", "1", 1);
		alarm(120);
		fake_machine_reset();
		body();
		exit(0); /* exit, not _exit: coverage counters are written */
	}
	assert_true(waitpid(pid, &status, 0) == pid);
	if (WIFSIGNALED(status))
		fail_msg("%s: the test's process died of signal %d", name, WTERMSIG(status));
	if (WEXITSTATUS(status))
		fail_msg("%s: the test's process exited with status %d", name, WEXITSTATUS(status));
}

/* ------------------------------------------ the CPUs (arch/x86/smp.h) -- */

struct percpu percpu[MAX_CPUS];
unsigned fake_cpus = 1;
unsigned fake_cpu;

unsigned smp_cpu_count(void)
{
	return fake_cpus;
}

bool smp_cpu_up(unsigned cpu)
{
	return cpu < fake_cpus;
}

bool smp_cpu_virt(unsigned cpu)
{
	return cpu < fake_cpus;
}

u32 smp_apic_id(unsigned cpu)
{
	return cpu;
}

void smp_kick(unsigned cpu)
{
	(void)cpu;
}

/* The call runs at once, as the target CPU. */
int smp_call(unsigned cpu, void (*fn)(void *arg), void *arg, u64 timeout_ns)
{
	unsigned caller = fake_cpu;

	(void)timeout_ns;
	if (cpu >= fake_cpus)
		return -E_INVAL;
	fake_cpu = cpu;
	fn(arg);
	fake_cpu = caller;
	return 0;
}

void smp_run_calls(void)
{
}

void smp_release(void (*fn)(void))
{
	(void)fn;
}

bool clock_pace_emulator(u64 period_ns)
{
	(void)period_ns;
	return false;
}

void lapic_timer_stop(void)
{
	fake_timer_deadline = 0;
}

/* The direct map's end, for kernel/devirq.c's MSI-X table check. */
u64 memory_top(void)
{
	return GiB(4);
}

void fake_raise_irq(unsigned vector)
{
	struct trap_frame f = { 0 };

	f.vector = vector;
	assert_non_null(handlers[vector]);
	handlers[vector](&f);
}
