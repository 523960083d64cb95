/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Host tests of the one exit path (kernel/vmexit.c) on the fake machine:
 * every exit reason for both kinds of partition (the pv policy of
 * kernel/pv.c, the hvm one of kernel/hvm/platform.c with its devices), the
 * exit statistics, and vmexit_run's loop: which exits end a run and why,
 * and XCR0 changed by a guest without an exit.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arch/x86/cpu.h"
#include "arch/x86/fpu.h"
#include "kernel/abi/partita.h"
#include "kernel/cpu_policy.h"
#include "kernel/errno.h"
#include "kernel/hvm/acpi_tables.h"
#include "kernel/hvm/hvm.h"
#include "kernel/kind.h"
#include "kernel/mm.h"
#include "kernel/partition.h"
#include "kernel/pv_image.h"
#include "kernel/vmexit.h"
#include "tests/unit/fake_arch.h"
#include "tests/unit/fake_virt.h"

static const char *const conf =
	"[hypervisor]\nframe = 10ms\n"
	"[partition p]\nkind = pv\nmemory = 2M\nimage = p.elf\nwindow = 0ms 3ms\n"
	"[partition ctl]\nkind = pv\nmemory = 2M\nimage = p.elf\nwindow = 3ms 1ms\ncaps = control\n"
	"[partition h]\nkind = hvm\nmemory = 8M\nimage = h.elf\nwindow = 4ms 3ms\n";

static struct partition *p, *ctl, *h;

static void setup(void)
{
	fake_create(conf);
	p = fake_partition("p");
	ctl = fake_partition("ctl");
	h = fake_partition("h");
	assert_int_equal(h->state, PARTITION_RUNNABLE);
	assert_int_equal(fake_vcpu(h)->mode, VCPU_MODE_PROT32);
}

/* Brings a stopped partition back to life (for the next fault). */
static void revive(struct partition *x)
{
	if (partition_is_live(x))
		return;
	partition_request_start(x, NULL);
	assert_true(partition_start_step(x, ~0ULL));
	assert_int_equal(x->state, PARTITION_RUNNABLE);
}

static struct vm_exit make(enum vm_exit_reason r, u32 len)
{
	struct vm_exit e;

	memset(&e, 0, sizeof(e));
	e.reason = r;
	e.insn_len = len;
	e.raw = 0x7f;
	return e;
}

static void handle(struct partition *x, struct vm_exit e)
{
	vmexit_handle(x, &e);
}

/* An exit that must fault x with a reason holding text. */
static void faults(struct partition *x, struct vm_exit e, const char *text)
{
	revive(x);
	vmexit_handle(x, &e);
	assert_int_equal(x->state, PARTITION_FAULTED);
	if (!strstr(x->stop_reason, text))
		fail_msg("stop reason \"%s\" lacks \"%s\"", x->stop_reason, text);
}

static struct vm_exit io(u16 port, u8 size, bool in)
{
	struct vm_exit e = make(VMEXIT_IO, 1);

	e.io.port = port;
	e.io.size = size;
	e.io.in = in;
	return e;
}

/* ------------------------------------------------------------------ pv -- */

FAKE_TEST(pv_exits_that_end_nothing)
{
	setup();
	u64 rip = p->vcpu.regs.rip;
	handle(p, make(VMEXIT_EXTINT, 0));
	handle(p, make(VMEXIT_TIMER, 0));
	handle(p, make(VMEXIT_INTR_WINDOW, 0)); /* no hook for pv */
	assert_int_equal(p->state, PARTITION_RUNNABLE);
	assert_int_equal(p->vcpu.regs.rip, rip);
	assert_int_equal(p->stats.exits[PARTITA_EXIT_INTR], 3);
}

FAKE_TEST(pv_cpuid)
{
	struct guest_regs *r;

	setup();
	r = &p->vcpu.regs;
	u64 rip = r->rip;
	r->rax = 1;
	r->rcx = 0;
	handle(p, make(VMEXIT_CPUID, 2));
	assert_int_equal(r->rip, rip + 2);
	assert_false(r->rdx & (1u << 9)); /* no local APIC for pv */
	assert_true(r->rcx & (1u << 31)); /* hypervisor */
	assert_false(r->rcx & (1u << 5)); /* no VMX */
	r->rax = 0x40000000;
	handle(p, make(VMEXIT_CPUID, 2));
	assert_int_equal(r->rax, 0x40000001);
	assert_memory_equal(&r->rbx, "Part", 4);
	r->rax = 0x40000001;
	handle(p, make(VMEXIT_CPUID, 2));
	assert_int_equal(r->rax, PARTITA_ABI_VERSION);
	assert_int_equal(r->rbx, PARTITA_FEATURE_CHANNELS);
	ctl->vcpu.regs.rax = 0x40000001;
	handle(ctl, make(VMEXIT_CPUID, 2));
	assert_int_equal(ctl->vcpu.regs.rbx, PARTITA_FEATURE_CHANNELS | PARTITA_FEATURE_CONTROL);
	assert_int_equal(p->stats.exits[PARTITA_EXIT_CPUID], 3);
}

FAKE_TEST(pv_ports)
{
	struct guest_regs *r;

	setup();
	r = &p->vcpu.regs;
	u64 rip = r->rip;
	r->rax = 0x1234567812345678ULL;
	handle(p, io(0x80, 1, true));
	assert_int_equal(r->rax, 0x12345678123456ffULL);
	handle(p, io(0x80, 2, true));
	assert_int_equal(r->rax, 0x123456781234ffffULL);
	handle(p, io(0x80, 1, false));
	assert_int_equal(r->rip, rip + 3);
	assert_int_equal(p->state, PARTITION_RUNNABLE);
	assert_int_equal(p->stats.exits[PARTITA_EXIT_IO], 3);
	faults(p, io(0x81, 1, false), "port I/O (write of 1 bytes at port 0x81) is not allowed");
	faults(p, io(0x3f8, 4, true), "read of 4 bytes at port 0x3f8");
	struct vm_exit s = io(0x80, 1, false);
	s.io.string = true;
	faults(p, s, "port 0x80");
}

FAKE_TEST(pv_msr_npf_xsetbv_faults)
{
	setup();
	p->vcpu.regs.rcx = 0xc0000080;
	faults(p, make(VMEXIT_MSR, 2), "read of MSR 0xc0000080 is not allowed");
	struct vm_exit w = make(VMEXIT_MSR, 2);
	w.msr.write = true;
	revive(p);
	p->vcpu.regs.rcx = 0x1000000010ULL; /* only ECX counts */
	faults(p, w, "write of MSR 0x10 is not allowed");
	struct vm_exit n = make(VMEXIT_NPF, 0);
	n.npf.gpa = PV_START_INFO_GPA + 8;
	n.npf.write = true;
	faults(p, n, "write of its read-only start-info page at 0x1008");
	n.npf.gpa = 0;
	n.npf.write = false;
	faults(p, n, "read outside its memory at 0 (rip 0x100000)");
	n.npf.gpa = 0x40000000;
	n.npf.fetch = true;
	faults(p, n, "execute outside its memory at 0x40000000");
	assert_int_equal(p->stats.exits[PARTITA_EXIT_MMIO], 3);
	faults(p, make(VMEXIT_XSETBV, 3), "XSETBV is not allowed");
}

FAKE_TEST(pv_hlt_yields)
{
	struct guest_regs *r;

	setup();
	r = &p->vcpu.regs;
	u64 rip = r->rip;
	r->rflags = RFLAGS_FIXED1 | RFLAGS_IF;
	handle(p, make(VMEXIT_HLT, 1));
	assert_true(p->yielded);
	assert_int_equal(r->rip, rip + 1);
	assert_false(p->hlt_reported);
	r->rflags = RFLAGS_FIXED1;
	handle(p, make(VMEXIT_HLT, 1));
	handle(p, make(VMEXIT_HLT, 1));
	assert_true(p->hlt_reported); /* reported once a boot */
	assert_int_equal(p->state, PARTITION_RUNNABLE);
	assert_int_equal(p->stats.exits[PARTITA_EXIT_HLT], 3);
}

FAKE_TEST(generic_exits)
{
	setup();
	/* Virtualization instructions: #UD, the partition goes on. */
	handle(p, make(VMEXIT_VIRT_INSN, 3));
	assert_int_equal(fake_vcpu(p)->injects, 1);
	assert_int_equal(fake_vcpu(p)->inject_kind, EVENT_EXCEPTION);
	assert_int_equal(fake_vcpu(p)->inject_vector, VECTOR_UD);
	assert_int_equal(p->state, PARTITION_RUNNABLE);
	faults(p, make(VMEXIT_SHUTDOWN, 0), "triple fault at rip 0x100000");
	struct vm_exit x = make(VMEXIT_EXCEPTION, 0);
	x.exception.vector = 14;
	x.exception.error_code = 2;
	faults(p, x, "exception 14 (error 0x2)");
	faults(p, make(VMEXIT_INVALID, 0), "invalid guest state (exit 0x7f");
	faults(p, make(VMEXIT_OTHER, 0), "unexpected exit 0x7f");
	faults(p, make(VMEXIT_NONE, 0), "unexpected exit");
	faults(h, make(VMEXIT_SHUTDOWN, 0), "triple fault");
	assert_int_equal(p->stats.exits[PARTITA_EXIT_OTHER], 6);
}

FAKE_TEST(rdpmc)
{
	struct guest_regs *r;

	setup();
	r = &h->vcpu.regs;
	/* AMD: the four legacy counters read 0. */
	u64 rip = r->rip;
	r->rcx = 3;
	r->rax = r->rdx = 0x55;
	handle(h, make(VMEXIT_RDPMC, 2));
	assert_int_equal(r->rax, 0);
	assert_int_equal(r->rdx, 0);
	assert_int_equal(r->rip, rip + 2);
	r->rcx = 4;
	handle(h, make(VMEXIT_RDPMC, 2));
	assert_int_equal(fake_vcpu(h)->inject_vector, VECTOR_GP);
	assert_int_equal(r->rip, rip + 2);
	/* Intel: no counters at all. */
	fake_cpu_set(FAKE_CPU_INTEL);
	cpu_policy_init(fake_host_cpuid, 0);
	r->rcx = 0;
	handle(h, make(VMEXIT_RDPMC, 2));
	assert_int_equal(fake_vcpu(h)->injects, 2);
	assert_int_equal(r->rip, rip + 2);
}

/* ----------------------------------------------------------------- hvm -- */

static u64 port_in(u16 port, u8 size)
{
	h->vcpu.regs.rax = 0xaaaaaaaaaaaaaaaaULL;
	handle(h, io(port, size, true));
	return h->vcpu.regs.rax;
}

static void port_out(u16 port, u8 size, u32 value)
{
	h->vcpu.regs.rax = value;
	handle(h, io(port, size, false));
}

FAKE_TEST(hvm_ports)
{
	setup();
	u64 rip = h->vcpu.regs.rip;
	/* The 8259's mask register: written, read back, 8 bits merged. */
	port_out(0x21, 1, 0xfe);
	assert_int_equal(port_in(0x21, 1), 0xaaaaaaaaaaaaaafeULL);
	/* CMOS: the century byte of the RTC. */
	port_out(0x70, 1, HVM_ACPI_CENTURY_INDEX);
	assert_int_equal(port_in(0x71, 1) & 0xff, 0x19); /* wall clock 0: 1970 */
	/* A 32-bit read zero-extends. */
	assert_int_equal(port_in(0xcfc, 4) >> 32, 0);
	/* ACPI: PM1_CNT has SCI_EN, the event block reads 0. */
	assert_int_equal(port_in(HVM_ACPI_PM1A_CNT, 2) & 0xffff, 1);
	assert_int_equal(port_in(HVM_ACPI_PM1A_EVT, 2) & 0xffff, 0);
	port_out(HVM_ACPI_PM1A_CNT, 2, 1); /* not S5 */
	assert_int_equal(h->state, PARTITION_RUNNABLE);
	assert_int_equal(h->vcpu.regs.rip, rip + 8);
	assert_int_equal(h->stats.exits[PARTITA_EXIT_IO], 8);
	/* S5 powers it off. */
	port_out(HVM_ACPI_PM1A_CNT, 2,
		 HVM_ACPI_PM1_SLP_EN | (HVM_ACPI_SLP_TYP_S5 << HVM_ACPI_PM1_SLP_TYP_SHIFT));
	assert_int_equal(h->state, PARTITION_EXITED);
	assert_string_equal(h->stop_reason, "powered off (ACPI S5)");
	/* The debug-exit port ends it with the byte written. */
	revive(h);
	port_out(HVM_DEBUG_EXIT_PORT, 1, 3);
	assert_int_equal(h->state, PARTITION_EXITED);
	assert_int_equal(h->exit_code, 3);
	assert_string_equal(h->stop_reason, "debug exit with code 3");
}

/* INS/OUTS (SDM Vol. 2): from the instruction bytes at RIP, through its
 * RAM, RCX counted down, RDI/RSI stepped (backwards with DF), a long REP
 * cut into pieces that re-execute, memory outside RAM stops it. */
FAKE_TEST(hvm_string_io)
{
	struct guest_regs *r;

	setup();
	r = &h->vcpu.regs;
	u8 *code = partition_gpa_ptr(h, 0x100040);
	u8 *buf = partition_gpa_ptr(h, 0x200000);
	r->cs_bits = 32;
	r->rip = 0x100040;
	memcpy(code, "\xf3\x6c", 2); /* rep insb from an unknown port: all ones */
	memset(buf, 0, 64);
	r->rdi = 0x200000;
	r->rcx = 16;
	struct vm_exit e = io(0x3a0, 1, true);
	e.io.string = e.io.rep = true;
	e.insn_len = 2;
	handle(h, e);
	assert_int_equal(r->rcx, 0);
	assert_int_equal(r->rdi, 0x200010);
	assert_int_equal(r->rip, 0x100042);
	assert_int_equal(buf[15], 0xff);
	assert_int_equal(buf[16], 0);
	/* rep outsw with DF: RSI steps back by 2. */
	r->rip = 0x100040;
	memcpy(code, "\x66\xf3\x6f", 3);
	r->rsi = 0x200020;
	r->rcx = 3;
	r->rflags |= RFLAGS_DF;
	e = io(0x3a0, 2, false);
	e.io.string = e.io.rep = true;
	e.insn_len = 3;
	handle(h, e);
	assert_int_equal(r->rsi, 0x20001a);
	assert_int_equal(r->rip, 0x100043);
	r->rflags &= ~RFLAGS_DF;
	/* A long REP is done in pieces: the instruction stays at RIP. */
	r->rip = 0x100040;
	memcpy(code, "\xf3\x6c", 2);
	r->rdi = 0x200000;
	r->rcx = 1000;
	e = io(0x3a0, 1, true);
	e.io.string = e.io.rep = true;
	e.insn_len = 2;
	handle(h, e);
	assert_true(r->rcx > 0 && r->rcx < 1000);
	assert_int_equal(r->rip, 0x100040);
	while (r->rcx)
		handle(h, e);
	assert_int_equal(r->rdi, 0x200000 + 1000);
	assert_int_equal(r->rip, 0x100042);
	/* Where each access is slow, a piece ends on time, not on count
	 * (here 15 us pass with every read of the TSC). */
	r->rip = 0x100040;
	r->rdi = 0x200000;
	r->rcx = 1000;
	fake_rdtsc_step = 3 * 15000;
	handle(h, e);
	fake_rdtsc_step = 0;
	assert_true(r->rcx < 1000 && r->rcx > 1000 - 8);
	assert_int_equal(r->rip, 0x100040);
	r->rcx = 0;
	/* Through the guest's page tables, page by page: virtual 0x5000 and
	 * 0x6000 are 0x300000 and 0x280000, so a string across their border
	 * goes on in the second one's frame. */
	u32 *pd = partition_gpa_ptr(h, 0x10000), *pt = partition_gpa_ptr(h, 0x11000);
	memset(pd, 0, 4096);
	memset(pt, 0, 4096);
	pd[0] = 0x11000 | 7;
	pt[0x100] = 0x100000 | 7; /* the code, where it is */
	pt[5] = 0x300000 | 7;
	pt[6] = 0x280000 | 7;
	memset(partition_gpa_ptr(h, 0x300ff0), 0, 32);
	memset(partition_gpa_ptr(h, 0x280000), 0, 16);
	r->cr3 = 0x10000;
	r->cr0 |= CR0_PG;
	r->rip = 0x100040;
	r->rdi = 0x5ff8;
	r->rcx = 16;
	handle(h, e);
	assert_int_equal(r->rcx, 0);
	assert_int_equal(*(u8 *)partition_gpa_ptr(h, 0x300fff), 0xff);
	assert_int_equal(*(u8 *)partition_gpa_ptr(h, 0x301000), 0);
	assert_int_equal(*(u8 *)partition_gpa_ptr(h, 0x280007), 0xff);
	assert_int_equal(*(u8 *)partition_gpa_ptr(h, 0x280008), 0);
	r->cr0 &= ~CR0_PG;
	/* A 32-bit address size wraps RDI; a destination beyond RAM stops it. */
	r->rdi = 0xfffffff0;
	r->rcx = 1;
	faults(h, e, "destination 0xfffffff0 is not in its RAM");
}

static u64 msr(u32 index, bool write, u64 value)
{
	struct guest_regs *r = &h->vcpu.regs;
	struct vm_exit e = make(VMEXIT_MSR, 2);

	e.msr.write = write;
	r->rcx = index;
	r->rax = write ? (u32)value : 0x5555;
	r->rdx = write ? value >> 32 : 0x5555;
	vmexit_handle(h, &e);
	return write ? 0 : (r->rdx << 32) | (u32)r->rax;
}

FAKE_TEST(hvm_msrs)
{
	struct guest_regs *r;

	setup();
	r = &h->vcpu.regs;
	u64 rip = r->rip;
	/* EFER: what CPUID offers may be set; the vCPU sees it at once. */
	h->vcpu.cr_dirty = false;
	msr(0xc0000080, true, EFER_SCE | EFER_LME | EFER_NXE);
	assert_int_equal(r->efer, EFER_SCE | EFER_LME | EFER_NXE);
	assert_true(h->vcpu.cr_dirty);
	assert_int_equal(msr(0xc0000080, false, 0), EFER_SCE | EFER_LME | EFER_NXE);
	assert_int_equal(r->rip, rip + 4);
	/* SVME is not offered: #GP, nothing moves. */
	msr(0xc0000080, true, EFER_SVME);
	assert_int_equal(fake_vcpu(h)->inject_vector, VECTOR_GP);
	assert_int_equal(r->efer, EFER_SCE | EFER_LME | EFER_NXE);
	assert_int_equal(r->rip, rip + 4);
	/* A hidden feature's MSR (SPEC_CTRL): #GP with a log line. */
	msr(0x48, false, 0);
	assert_int_equal(fake_vcpu(h)->injects, 2);
	fake_expect_serial("partition h: read of MSR 0x48: #GP");
	/* IA32_TSC: a write moves this vCPU's TSC and the LAPIC's deadline base. */
	u64 base = h->hvm->lapic.tsc_at_zero;
	fake_advance_ns(1000);
	msr(0x10, true, fake_tsc() + 3000000);
	assert_int_equal(h->vcpu.tsc_offset, 3000000);
	assert_int_equal(h->hvm->lapic.tsc_at_zero, base + 3000000);
	assert_int_equal(msr(0x10, false, 0), fake_tsc() + 3000000);
	/* TSC_AUX: the lazily switched state. */
	msr(0xc0000103, true, 0x1234);
	assert_int_equal(h->vcpu.lazy.tsc_aux, 0x1234);
	assert_int_equal(msr(0xc0000103, false, 0), 0x1234);
	msr(0xc0000103, true, 1ULL << 32);
	assert_int_equal(fake_vcpu(h)->injects, 3);
	/* The local APIC's MSR goes to the device. */
	assert_int_equal(msr(0x1b, false, 0) & ~0xfffULL, 0xfee00000);
	assert_int_equal(h->stats.exits[PARTITA_EXIT_MSR], 10);
}

/* MMIO: the instruction at RIP is decoded and emulated against the LAPIC. */
FAKE_TEST(hvm_mmio_decoded)
{
	struct guest_regs *r;

	setup();
	r = &h->vcpu.regs;
	u8 *code = partition_gpa_ptr(h, 0x100040);
	r->rip = 0x100040;
	memcpy(code, "\x8b\x03", 2); /* mov eax, [ebx] */
	r->rbx = 0xfee00030;
	struct vm_exit e = make(VMEXIT_NPF, 0);
	e.npf.gpa = 0xfee00030; /* the version register */
	handle(h, e);
	assert_int_equal(r->rip, 0x100042);
	assert_int_equal(r->rax & 0xff, 0x14);
	memcpy(code + 2, "\x89\x03", 2); /* mov [ebx], eax: the TPR */
	r->rbx = 0xfee00080;
	r->rax = 0x20;
	e.npf.gpa = 0xfee00080;
	e.npf.write = true;
	handle(h, e);
	assert_int_equal(r->rip, 0x100044);
	assert_int_equal(h->hvm->lapic.tpr, 0x20);
	/* With paging on, the instruction is found through its page tables:
	 * a 4 MiB PSE page maps virtual 0xc0000000 to 0. */
	u32 *pd = partition_gpa_ptr(h, 0x10000);
	memset(pd, 0, 4096);
	pd[0xc0000000 >> 22] = 0x83; /* present, writable, 4 MiB */
	r->cr3 = 0x10000;
	r->cr0 |= CR0_PG;
	r->cr4 |= CR4_PSE;
	r->rip = 0xc0100044;
	memcpy(code + 4, "\x8b\x03", 2);
	r->rbx = 0xfee00030;
	e.npf.gpa = 0xfee00030;
	e.npf.write = false;
	r->rax = 0;
	handle(h, e);
	assert_int_equal(r->rip, 0xc0100046);
	assert_int_equal(r->rax & 0xff, 0x14);
	assert_int_equal(h->state, PARTITION_RUNNABLE);
	/* An instruction it cannot emulate, or one it cannot even read. */
	memcpy(code + 6, "\x0f\x0b", 2); /* ud2 */
	r->rip = 0xc0100046;
	faults(h, e, "by an instruction it cannot emulate");
	revive(h);
	r = &h->vcpu.regs;
	r->cr0 |= CR0_PG;
	r->cr3 = 0x10000;
	r->rip = 0x400000; /* not mapped by its tables */
	faults(h, e, "cannot emulate");
	/* A fault on its own RAM, and a fetch outside it. */
	e.npf.gpa = 0x1000;
	faults(h, e, "unexpected fault on its own RAM at 0x1000");
	e.npf.gpa = 0xfee00000;
	e.npf.fetch = true;
	faults(h, e, "executes outside its RAM at 0xfee00000");
}

FAKE_TEST(hvm_hlt_xsetbv_window_hypercall)
{
	struct guest_regs *r;

	fpu_has_xsave = true;
	cpu_policy_init(fake_host_cpuid, fpu_xcr0_supported());
	setup();
	r = &h->vcpu.regs;
	/* HLT waits until an interrupt; with IF clear it is reported. */
	r->rflags = RFLAGS_FIXED1 | RFLAGS_IF;
	handle(h, make(VMEXIT_HLT, 1));
	assert_int_equal(h->state, PARTITION_WAITING);
	partition_wake(h);
	r->rflags = RFLAGS_FIXED1;
	handle(h, make(VMEXIT_HLT, 1));
	assert_int_equal(h->state, PARTITION_WAITING);
	fake_expect_serial("HLT with interrupts off");
	partition_wake(h);
	/* XSETBV: valid values are the guest's, others #GP. */
	u64 rip = r->rip;
	r->rcx = 0;
	r->rax = 0x3;
	r->rdx = 0;
	handle(h, make(VMEXIT_XSETBV, 3));
	assert_int_equal(h->vcpu.lazy.fpu->xcr0, 0x3);
	assert_int_equal(r->rip, rip + 3);
	r->rax = 0x5; /* AVX without SSE */
	handle(h, make(VMEXIT_XSETBV, 3));
	r->rax = 0x3;
	r->rcx = 1; /* XCR1 */
	handle(h, make(VMEXIT_XSETBV, 3));
	assert_int_equal(fake_vcpu(h)->injects, 2);
	assert_int_equal(h->vcpu.lazy.fpu->xcr0, 0x3);
	assert_int_equal(r->rip, rip + 3);
	/* An interrupt window exit only ends the run: nothing is injected
	 * (the next run's offer delivers). */
	unsigned before = fake_vcpu(h)->injects;
	handle(h, make(VMEXIT_INTR_WINDOW, 0));
	assert_int_equal(fake_vcpu(h)->injects, before);
	/* No hypercall is for unmodified guests, but one that probes with
	 * VMCALL/VMMCALL gets an answer, -E_NOSYS, after the whole
	 * instruction (issue 10); one of unknown length still gets #UD. */
	unsigned injects = fake_vcpu(h)->injects;
	handle(h, make(VMEXIT_HYPERCALL, 4));
	assert_int_equal(fake_vcpu(h)->injects, injects);
	assert_int_equal(r->rax, (u64)-E_NOSYS);
	assert_int_equal(r->rip, rip + 3 + 4);
	handle(h, make(VMEXIT_HYPERCALL, 0));
	assert_int_equal(fake_vcpu(h)->inject_vector, VECTOR_UD);
	assert_int_equal(r->rip, rip + 3 + 4);
}

/* MOV CR8 of an unmodified guest is its local APIC's TPR (SDM Vol. 3A
 * §11.8.6), with the register the back end names or, if it names none
 * (SVM without decode assists), the one decoded at RIP. */
static struct vm_exit cr8_exit(bool write, int gpr, u32 len)
{
	struct vm_exit e = make(VMEXIT_CR8, len);

	e.cr8.write = write;
	e.cr8.gpr = (s8)gpr;
	return e;
}

FAKE_TEST(hvm_cr8_is_the_tpr)
{
	struct guest_regs *r;

	setup();
	r = &h->vcpu.regs;
	/* Outside 64-bit mode there is no CR8. */
	u64 rip = r->rip;
	handle(h, cr8_exit(true, 0, 4));
	assert_int_equal(fake_vcpu(h)->inject_vector, VECTOR_UD);
	assert_int_equal(r->rip, rip);
	r->cs_bits = 64;
	/* The register named by the exit. */
	r->rax = 5;
	handle(h, cr8_exit(true, 0, 4));
	assert_int_equal(h->hvm->lapic.tpr, 0x50);
	assert_int_equal(r->rip, rip + 4);
	h->hvm->lapic.tpr = 0x7c;
	r->r9 = ~0ULL;
	handle(h, cr8_exit(false, 9, 4));
	assert_int_equal(r->r9, 7);
	assert_int_equal(r->rip, rip + 8);
	/* Reserved bits 63:4: #GP, nothing changes. */
	unsigned injects = fake_vcpu(h)->injects;
	r->rax = 0x10;
	handle(h, cr8_exit(true, 0, 4));
	assert_int_equal(fake_vcpu(h)->injects, injects + 1);
	assert_int_equal(fake_vcpu(h)->inject_vector, VECTOR_GP);
	assert_int_equal(h->hvm->lapic.tpr, 0x7c);
	assert_int_equal(r->rip, rip + 8);
	/* No register named: decoded at RIP, length included. */
	u8 *code = partition_gpa_ptr(h, 0x100080);
	memcpy(code, "\x45\x0f\x22\xc1", 4);	 /* mov cr8, r9 */
	memcpy(code + 4, "\x44\x0f\x20\xc3", 4); /* mov rbx, cr8 */
	r->rip = 0x100080;
	r->r9 = 2;
	handle(h, cr8_exit(true, -1, 0));
	assert_int_equal(h->hvm->lapic.tpr, 0x20);
	assert_int_equal(r->rip, 0x100084);
	r->rbx = ~0ULL;
	handle(h, cr8_exit(false, -1, 0));
	assert_int_equal(r->rbx, 2);
	assert_int_equal(r->rip, 0x100088);
	/* A write exit at a read, or no MOV CR8 at all: the partition stops. */
	r->rip = 0x100084;
	faults(h, cr8_exit(true, -1, 0), "CR8 access by an instruction it cannot decode");
	/* A pv guest's CR8 is its back end's: such an exit is a bug. */
	faults(p, cr8_exit(true, 0, 4), "unexpected exit");
}

/* The PIT's interrupt, through the 8259 and the LAPIC's virtual wire,
 * wakes a halted guest and is injected (hvm's prepare hook). */
FAKE_TEST(hvm_interrupt_wakes_and_is_injected)
{
	setup();
	const struct kind_exits *k = h->kind->exits;
	/* ICW1-4: vectors from 0x20; unmask IRQ 0.  PIT channel 0, mode 2,
	 * 1 ms (1193 ticks of 1.193182 MHz). */
	port_out(0x20, 1, 0x11);
	port_out(0x21, 1, 0x20);
	port_out(0x21, 1, 0x04);
	port_out(0x21, 1, 0x01);
	port_out(0x21, 1, 0xfe);
	port_out(0x43, 1, 0x34);
	port_out(0x40, 1, 1193 & 0xff);
	port_out(0x40, 1, 1193 >> 8);
	u64 next = k->prepare(h, fake_now_ns());
	assert_true(next > fake_now_ns());
	/* Halted with IF clear: not woken. */
	h->vcpu.regs.rflags = RFLAGS_FIXED1;
	handle(h, make(VMEXIT_HLT, 1));
	fake_advance_ns(2000000);
	k->prepare(h, fake_now_ns());
	assert_int_equal(h->state, PARTITION_WAITING);
	/* IF set: woken, and IRQ 0 offered as vector 0x20. */
	h->vcpu.regs.rflags = RFLAGS_FIXED1 | RFLAGS_IF;
	k->prepare(h, fake_now_ns());
	assert_int_equal(h->state, PARTITION_RUNNABLE);
	assert_int_equal(fake_vcpu(h)->offered, 0x20);
	/* Not taken (an interrupt shadow, say): it stays pending and is
	 * offered again before the next run. */
	unsigned offers = fake_vcpu(h)->offers;
	handle(h, make(VMEXIT_EXTINT, 0));
	k->prepare(h, fake_now_ns());
	assert_int_equal(fake_vcpu(h)->offered, 0x20);
	assert_true(fake_vcpu(h)->offers > offers);
	/* Taken: in service in the 8259, so not offered again before its
	 * EOI. */
	struct vm_exit taken = make(VMEXIT_EXTINT, 0);
	taken.irq_taken = true;
	taken.irq_vector = 0x20;
	handle(h, taken);
	k->prepare(h, fake_now_ns());
	assert_int_equal(fake_vcpu(h)->offered, -1);
	port_out(0x20, 1, 0x20); /* EOI */
	/* CPUID of an hvm guest: the APIC, and the hvm leaves. */
	h->vcpu.regs.rax = 1;
	handle(h, make(VMEXIT_CPUID, 2));
	assert_true(h->vcpu.regs.rdx & (1u << 9));
	h->vcpu.regs.rax = 0x40000000;
	handle(h, make(VMEXIT_CPUID, 2));
	assert_int_equal(h->vcpu.regs.rax, 0x40000010);
}

/* ----------------------------------------------------------- vmexit_run -- */

FAKE_TEST(run_loop_ends_for_the_right_reasons)
{
	setup();
	u64 far = ~0ULL / 2;
	/* pv: exits that need no decision re-enter at once; a yield ends
	 * the run for its state. */
	fake_push_cpuid(p, 0, 0);
	fake_push_io(p, 0x80, 1, false, 0);
	fake_push_hypercall(p, HC_YIELD, 0, 0, 0, 0);
	assert_int_equal(vmexit_run(p, far, far, far), RUN_STATE);
	assert_int_equal(fake_pending(p), 0);
	assert_int_equal(fake_vcpu(p)->runs, 3);
	/* A host interrupt ends it for time. */
	partition_window_begins(p);
	fake_push_reason(p, VMEXIT_EXTINT, 10);
	assert_int_equal(vmexit_run(p, far, far, far), RUN_TIME);
	/* So does an exit after its run's end. */
	fake_push_cpuid(p, 0, 0);
	assert_int_equal(vmexit_run(p, fake_tsc() + 1, far, far), RUN_TIME);
	/* Console lines to send end it, once the UART has room. */
	memcpy(partition_gpa_ptr(p, 0x100000), "hi\n", 3);
	fake_push_hypercall(p, HC_CONSOLE_WRITE, 0x100000, 3, 0, 0);
	fake_push_hypercall(p, HC_YIELD, 0, 0, 0, 0);
	assert_int_equal(vmexit_run(p, far, far, fake_tsc()), RUN_CONSOLE);
	assert_int_equal(p->vcpu.regs.rax, 3);
	assert_int_equal(vmexit_run(p, far, far, far), RUN_STATE); /* the yield */
	partition_window_begins(p);
	/* A fault ends it for its state. */
	fake_push_reason(p, VMEXIT_SHUTDOWN, 10);
	assert_int_equal(vmexit_run(p, far, far, far), RUN_STATE);
	assert_int_equal(p->state, PARTITION_FAULTED);
	/* hvm: every exit goes back to the scheduler. */
	fake_push_cpuid(h, 0, 0);
	assert_int_equal(vmexit_run(h, far, far, far), RUN_EXIT);
	assert_true(h->cpu_tsc > 0);
}

static void set_tf(struct partition *x, void *ctx)
{
	(void)ctx;
	x->vcpu.regs.rflags |= RFLAGS_TF;
}

/* An instruction the hypervisor completes with TF set traps as on the CPU
 * (SDM Vol. 3B 17.3.1.4): one single-step each; none for an exit that
 * completes nothing (a host interrupt) or for HLT (over when it wakes). */
FAKE_TEST(run_loop_single_steps_completed_instructions)
{
	setup();
	u64 far = ~0ULL / 2;
	struct fake_exit x = { .e = make(VMEXIT_CPUID, 2), .fn = set_tf };
	fake_push(h, &x);
	assert_int_equal(vmexit_run(h, far, far, far), RUN_EXIT);
	assert_int_equal(fake_vcpu(h)->single_steps, 1);
	fake_push_reason(h, VMEXIT_EXTINT, 10);
	assert_int_equal(vmexit_run(h, far, far, far), RUN_TIME);
	assert_int_equal(fake_vcpu(h)->single_steps, 1);
	h->vcpu.regs.rflags &= ~RFLAGS_TF;
	fake_push_cpuid(h, 0, 0);
	assert_int_equal(vmexit_run(h, far, far, far), RUN_EXIT);
	assert_int_equal(fake_vcpu(h)->single_steps, 1);
	/* pv: the hypercall instruction too. */
	struct fake_exit y = { .e = make(VMEXIT_CPUID, 2), .fn = set_tf };
	fake_push(p, &y);
	fake_push_hypercall(p, HC_YIELD, 0, 0, 0, 0);
	assert_int_equal(vmexit_run(p, far, far, far), RUN_STATE);
	assert_int_equal(fake_vcpu(p)->single_steps, 2);
}

static void set_xcr0(struct partition *x, void *ctx)
{
	(void)x;
	fake_xcr0 = (u64)(uintptr_t)ctx;
}

/* Where XSETBV does not exit: pv may not change XCR0; hvm keeps a valid
 * value and is stopped for one XSETBV must refuse. */
FAKE_TEST(xcr0_changed_without_an_exit)
{
	fpu_has_xsave = true;
	cpu_policy_init(fake_host_cpuid, fpu_xcr0_supported());
	setup();
	u64 far = ~0ULL / 2;
	struct fake_exit x = { .run_ns = 10, .fn = set_xcr0, .ctx = (void *)(uintptr_t)0x3 };
	x.e.reason = VMEXIT_CPUID;
	x.e.insn_len = 2;
	fake_push(h, &x);
	assert_int_equal(vmexit_run(h, far, far, far), RUN_EXIT);
	assert_int_equal(h->vcpu.lazy.fpu->xcr0, 0x3);
	assert_int_equal(fake_xcr0, 0x7); /* the host's again */
	x.ctx = (void *)(uintptr_t)0x9;
	fake_push(h, &x);
	assert_int_equal(vmexit_run(h, far, far, far), RUN_STATE);
	assert_int_equal(h->state, PARTITION_FAULTED);
	assert_string_equal(h->stop_reason,
			    "XCR0 set to 0x9 by XSETBV without an exit (a value XSETBV must refuse)");
	x.ctx = (void *)(uintptr_t)0x3;
	fake_push(p, &x);
	assert_int_equal(vmexit_run(p, far, far, far), RUN_STATE);
	assert_int_equal(p->state, PARTITION_FAULTED);
	assert_string_equal(p->stop_reason,
			    "XCR0 set to 0x3 by XSETBV without an exit (not allowed)");
	/* CPUID leaf 0xD's sizes are measured for the guest's XCR0. */
	revive(p);
	p->vcpu.regs.rax = 0xd;
	p->vcpu.regs.rcx = 0;
	handle(p, make(VMEXIT_CPUID, 2));
	assert_int_equal(p->vcpu.regs.rax, 0x7);
	assert_int_equal(p->vcpu.regs.rbx, 0x340);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(pv_exits_that_end_nothing),
		cmocka_unit_test(pv_cpuid),
		cmocka_unit_test(hvm_string_io),
		cmocka_unit_test(run_loop_single_steps_completed_instructions),
		cmocka_unit_test(pv_ports),
		cmocka_unit_test(pv_msr_npf_xsetbv_faults),
		cmocka_unit_test(pv_hlt_yields),
		cmocka_unit_test(generic_exits),
		cmocka_unit_test(rdpmc),
		cmocka_unit_test(hvm_ports),
		cmocka_unit_test(hvm_msrs),
		cmocka_unit_test(hvm_mmio_decoded),
		cmocka_unit_test(hvm_hlt_xsetbv_window_hypercall),
		cmocka_unit_test(hvm_cr8_is_the_tpr),
		cmocka_unit_test(hvm_interrupt_wakes_and_is_injected),
		cmocka_unit_test(run_loop_ends_for_the_right_reasons),
		cmocka_unit_test(xcr0_changed_without_an_exit),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
