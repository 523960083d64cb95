/*
 * Unmodified partitions: creation, start, exits, interrupt delivery (see
 * platform.h).  The devices themselves are in hvm.c and its siblings; this
 * file connects them to the vCPU: port and MSR exits, MMIO through the
 * instruction decoder, HLT, and the injection of pending interrupts.
 */
#include "kernel/hvm/platform.h"
#include "arch/x86/clock.h"
#include "arch/x86/cpu.h"
#include "arch/x86/fpu.h"
#include "arch/x86/vcpu_state.h"
#include "kernel/errno.h"
#include "kernel/hvm/acpi_tables.h"
#include "kernel/hvm/decode.h"
#include "kernel/hvm/hvm.h"
#include "kernel/hvm/linux_boot.h"
#include "kernel/hvm/multiboot.h"
#include "kernel/lib/format.h"
#include "kernel/lib/string.h"
#include "kernel/log.h"
#include "kernel/mm.h"
#include "kernel/partition.h"
#include "kernel/sched.h"
#include "kernel/vmexit.h"

#define VECTOR_UD 6
#define VECTOR_GP 13

enum { FORMAT_NONE, FORMAT_BZIMAGE, FORMAT_MULTIBOOT };

#define HVM_MIN_MEMORY MiB(4)
#define HVM_MAX_MEMORY GiB(16)

static const void *module_data(const struct boot_module *m)
{
	return phys_to_virt(hpa(m->phys));
}

static int image_format(const struct boot_module *m)
{
	const u8 *b = module_data(m);

	/* Linux boot protocol: "HdrS" at 0x202 (Documentation/x86/boot.rst). */
	if (m->size > 0x206 && !memcmp(b + 0x202, "HdrS", 4))
		return FORMAT_BZIMAGE;
	if (multiboot_detect(b, m->size))
		return FORMAT_MULTIBOOT;
	return FORMAT_NONE;
}

static int alloc_pages_for(u64 bytes, hpa_t *out)
{
	return page_alloc(ALIGN_UP(bytes, PAGE_SIZE) >> PAGE_SHIFT, 1, out);
}

int hvm_partition_create(struct partition *p, const struct boot_info *bi)
{
	const struct config_partition *c = p->cfg;
	hpa_t pa;
	int err;

	if (c->memory < HVM_MIN_MEMORY || c->memory > HVM_MAX_MEMORY) {
		log_line("partition %s: memory must be between %llu MiB and %llu GiB; left stopped",
			 c->name, (unsigned long long)(HVM_MIN_MEMORY >> 20),
			 (unsigned long long)(HVM_MAX_MEMORY >> 30));
		return -E_RANGE;
	}
	for (u32 i = 0; i < bi->module_count; i++) {
		if (!strcmp(bi->modules[i].name, c->image))
			p->image = &bi->modules[i];
		if (c->initrd[0] && !strcmp(bi->modules[i].name, c->initrd))
			p->initrd = &bi->modules[i];
	}
	p->hvm_format = p->image ? image_format(p->image) : FORMAT_NONE;
	if (p->hvm_format == FORMAT_NONE) {
		log_line("partition %s: image %s is neither a Linux bzImage nor a Multiboot kernel; left stopped",
			 c->name, c->image);
		return -E_INVAL;
	}
	p->ram_size = c->memory;
	p->map_end = p->ram_size;
	if ((err = page_alloc(p->ram_size >> PAGE_SHIFT, LARGE_PAGE_SIZE >> PAGE_SHIFT, &p->ram)) &&
	    (err = page_alloc(p->ram_size >> PAGE_SHIFT, 1, &p->ram))) {
		log_line("partition %s: no %llu MiB of contiguous memory left; left stopped", c->name,
			 (unsigned long long)(p->ram_size >> 20));
		return err;
	}
	if ((err = alloc_pages_for(sizeof(struct hvm), &pa)))
		return err;
	p->hvm = phys_to_virt(pa);
	if ((err = alloc_pages_for(sizeof(struct fpu_state), &pa)))
		return err;
	p->vcpu.lazy.fpu = phys_to_virt(pa);
	p->vcpu.hvm = true;
	if ((err = slat_init(&p->slat)) ||
	    (err = slat_map(&p->slat, gpa(0), p->ram, p->ram_size, SLAT_RWX)) ||
	    (err = virt->vcpu_create(&p->vcpu,
				     p->hvm_format == FORMAT_BZIMAGE ? VCPU_MODE_LONG : VCPU_MODE_PROT32,
				     &p->slat))) {
		log_line("partition %s: cannot build its tables (%s); left stopped", c->name,
			 errno_name(err));
		return err;
	}
	p->vcpu.partition = p;
	if (!virt->interruptible || !virt->irq_window) {
		log_line("partition %s: the %s back end cannot deliver interrupts to unmodified guests yet; left stopped",
			 c->name, virt->name);
		return -E_NOTSUP;
	}
	return 0;
}

int hvm_partition_start(struct partition *p)
{
	const struct config_partition *c = p->cfg;
	u8 *ram = phys_to_virt(p->ram);
	struct hvm_boot boot;
	const char *why = NULL;
	u64 rsdp = 0;
	int err;

	if (p->cleared < p->ram_size)
		memset(ram, 0, p->ram_size);
	p->cleared = 0;
	err = acpi_tables_build(ram, p->ram_size, HVM_ACPI_GPA, HVM_ACPI_ROOM, 1, &rsdp, &why);
	/* Two facts of this platform Linux cannot find out well by itself:
	 * the TSC's rate (it would measure it against the PIT through
	 * thousands of port exits in a few milliseconds), and that there is
	 * no IO-APIC (without "noapic" it masks LINT0 and waits for legacy
	 * interrupts from an IO-APIC; with it they come through the 8259 and
	 * LINT0 in ExtINT mode). */
	static char cmdline[CONFIG_CMDLINE_MAX + 48];
	snprintf(cmdline, sizeof(cmdline), "%s tsc_early_khz=%llu noapic", c->cmdline,
		 (unsigned long long)(clock_tsc_hz() / 1000));
	if (!err && p->hvm_format == FORMAT_BZIMAGE)
		err = linux_boot_load(ram, p->ram_size, module_data(p->image), p->image->size,
				      p->initrd ? module_data(p->initrd) : NULL,
				      p->initrd ? p->initrd->size : 0, cmdline, rsdp, &boot, &why);
	else if (!err)
		err = multiboot_load(ram, p->ram_size, module_data(p->image), p->image->size,
				     c->cmdline, rsdp, &boot, &why);
	if (err) {
		log_line("partition %s: cannot load %s: %s", c->name, c->image, why ? why : "error");
		p->state = PARTITA_STATE_FAULTED;
		return err;
	}
	struct hvm_setup setup = {
		.name = c->name,
		.console = &p->console,
		.tsc_hz = clock_tsc_hz(),
		.tsc_at_zero = rdtsc() - clock_ns_to_tsc(clock_now_ns()),
		.wall_epoch = 0,
	};
	hvm_reset(p->hvm, &setup);
	vcpu_state_reset(&p->vcpu.lazy);
	p->vcpu.boot_segments = (struct vcpu_boot_segments){ boot.gdt_base, boot.gdt_limit,
							     boot.cs, boot.ds };
	virt->vcpu_reset(&p->vcpu, boot.mode);
	p->vcpu.regs.rip = boot.rip;
	p->vcpu.regs.rsp = boot.rsp;
	p->vcpu.regs.rax = boot.rax;
	p->vcpu.regs.rbx = boot.rbx;
	p->vcpu.regs.rsi = boot.rsi;
	if (boot.mode == VCPU_MODE_LONG)
		p->vcpu.regs.cr3 = boot.cr3;
	p->halted = false;
	p->halted_forever_reported = false;
	return 0;
}

bool hvm_halted(const struct partition *p)
{
	return p->halted;
}

/* ---------------------------------------------------------------- exits -- */

static void inject_gp(struct partition *p)
{
	virt->inject(&p->vcpu, EVENT_EXCEPTION, VECTOR_GP, true, 0);
}

static void handle_cpuid(struct partition *p, const struct vm_exit *e)
{
	struct guest_regs *r = &p->vcpu.regs;
	u32 leaf = (u32)r->rax, out[4];

	cpuid_emulate(p, leaf, (u32)r->rcx, out);
	if (leaf == 1) {
		out[3] |= 1u << 9;   /* the (virtual) local APIC */
		out[2] |= 1u << 21;  /* x2APIC */
		out[2] |= 1u << 24;  /* TSC-deadline timer */
		out[1] &= 0x00ffffff; /* initial APIC ID 0 */
		out[1] = (out[1] & 0xff00ffff) | (1u << 16); /* one logical CPU */
		/* OSXSAVE mirrors the guest's CR4.OSXSAVE, not the host's. */
		out[2] = (out[2] & ~(1u << 27)) | (r->cr4 & (1ULL << 18) ? 1u << 27 : 0);
	} else if (leaf == 0x40000000) {
		out[0] = 0x40000010;
	} else if (leaf == 0x40000010) {
		/* The timing leaf some guests read: TSC and APIC rates in kHz. */
		out[0] = (u32)(clock_tsc_hz() / 1000);
		out[1] = (u32)(VLAPIC_BUS_HZ / 1000);
		out[2] = out[3] = 0;
	}
	r->rax = out[0];
	r->rbx = out[1];
	r->rcx = out[2];
	r->rdx = out[3];
	r->rip += e->insn_len;
}

static void guest_exit(struct partition *p, int code)
{
	char why[48];

	p->exit_code = code;
	snprintf(why, sizeof(why), "debug exit with code %d", code);
	partition_stop(p, PARTITA_STATE_EXITED, why);
	sched_end_on_exit(p);
}

static void handle_io(struct partition *p, const struct vm_exit *e)
{
	struct guest_regs *r = &p->vcpu.regs;
	u32 value = (u32)r->rax;
	int code = 0;

	if (e->io.string) {
		/* INS/OUTS: not used by the guests this platform is for. */
		log_guest(LOG_KIND_IO, "partition %s: string I/O at port %#x is not emulated; skipped", p->cfg->name,
			 e->io.port);
		r->rip += e->insn_len;
		return;
	}
	/* The ACPI PM1a blocks (acpi_tables.h): ACPI is always enabled
	 * (PM1_CNT.SCI_EN), no event is ever pending, and a write of S5 to
	 * PM1_CNT powers the partition off. */
	if (e->io.port >= HVM_ACPI_PM1A_EVT && e->io.port < HVM_ACPI_PM1A_CNT + 2) {
		if (e->io.in)
			r->rax = (r->rax & ~((1ULL << (8 * e->io.size)) - 1)) |
				 (e->io.port == HVM_ACPI_PM1A_CNT ? 1 : 0);
		r->rip += e->insn_len;
		if (e->io.in || !(e->io.port == HVM_ACPI_PM1A_CNT && e->io.size == 2 &&
				  hvm_acpi_is_poweroff((u16)value)))
			return;
		p->exit_code = 0;
		partition_stop(p, PARTITA_STATE_EXITED, "powered off (ACPI S5)");
		sched_end_on_exit(p);
		return;
	}
	if (hvm_port_io(p->hvm, clock_now_ns(), e->io.port, e->io.size, e->io.in, &value,
			&code) == HVM_EXIT_REQUESTED) {
		guest_exit(p, code);
		return;
	}
	if (e->io.in) {
		u64 mask = e->io.size == 4 ? 0xffffffffULL : (1ULL << (8 * e->io.size)) - 1;
		/* A 32-bit result zero-extends into RAX; 8/16-bit ones merge. */
		r->rax = e->io.size == 4 ? value : (r->rax & ~mask) | (value & mask);
	}
	r->rip += e->insn_len;
}

/* MSRs outside the devices that Linux touches on the way up, answered as a
 * CPU without the feature would, or kept so the guest reads back what it
 * wrote.  Anything else raises #GP, which Linux's MSR accessors survive. */
static int platform_msr(struct partition *p, u32 index, bool write, u64 *value)
{
	switch (index) {
	case 0x10:         /* TSC: the real one is shown; writes are ignored */
		if (!write)
			*value = rdtsc();
		return 0;
	case 0x17:         /* IA32_PLATFORM_ID */
	case 0x8b:         /* IA32_BIOS_SIGN_ID (microcode revision) */
	case 0xfe:         /* IA32_MTRRCAP: no MTRRs */
	case 0x179:        /* IA32_MCG_CAP: no machine-check banks */
	case 0x17a:        /* IA32_MCG_STATUS */
	case 0x1a0:        /* IA32_MISC_ENABLE */
	case 0x2ff:        /* IA32_MTRR_DEF_TYPE */
	case 0x48:         /* IA32_SPEC_CTRL */
	case 0x49:         /* IA32_PRED_CMD */
	case 0xc0010015:   /* AMD HWCR */
	case 0xc001001f:   /* AMD NB_CFG */
	case 0xc0011029:   /* AMD DE_CFG (LFENCE serializing) */
	case 0xc0010114:   /* VM_CR: read as "SVM disabled" */
		if (!write)
			*value = index == 0xc0010114 ? (1u << 4) : 0;
		return 0;
	case 0xc0000103:   /* TSC_AUX: bits 63:32 reserved (SDM Vol. 4 Table 2-2) */
		if (write && (*value >> 32))
			return -E_INVAL;
		if (write)
			vcpu_state_set_tsc_aux(&p->vcpu.lazy, (u32)*value);
		else
			*value = vcpu_state_tsc_aux(&p->vcpu.lazy);
		return 0;
	default:
		(void)p;
		return -E_NOENT;
	}
}

static void handle_msr(struct partition *p, const struct vm_exit *e)
{
	struct guest_regs *r = &p->vcpu.regs;
	u32 index = (u32)r->rcx;
	u64 value = (r->rdx << 32) | (u32)r->rax;

	if (index == MSR_EFER) {
		/* The VMCB holds the guest's EFER; SVME must stay set in it
		 * (AMD APM Vol. 2 §15.5.1) but the guest does not see it. */
		if (e->msr.write) {
			if (value & ~(EFER_SCE | EFER_LME | EFER_LMA | EFER_NXE)) {
				inject_gp(p);
				return;
			}
			r->efer = (value & ~EFER_LMA) | (r->efer & EFER_LMA) | EFER_SVME;
		} else {
			value = r->efer & ~EFER_SVME;
		}
	} else {
		int err = hvm_msr(p->hvm, clock_now_ns(), index, e->msr.write, &value);
		if (err == -E_NOENT)
			err = platform_msr(p, index, e->msr.write, &value);
		if (err) {
			inject_gp(p);
			return;
		}
	}
	if (!e->msr.write) {
		r->rax = (u32)value;
		r->rdx = value >> 32;
	}
	r->rip += e->insn_len;
}

/* Reads guest-virtual memory by walking the guest's own page tables (Intel
 * SDM Vol. 3A §4.3-4.5); every table and the data must lie in its RAM. */
static int guest_read_byte(struct partition *p, u64 gva, u8 *out)
{
	const struct guest_regs *r = &p->vcpu.regs;
	u8 *ram = phys_to_virt(p->ram);
	u64 gpa_addr = gva;

	if (r->cr0 & CR0_PG) {
		if (r->efer & EFER_LMA) {
			u64 table = r->cr3 & PTE_ADDR_MASK;
			for (int level = 3; level >= 0; level--) {
				u64 idx = (gva >> (12 + 9 * level)) & 511, e;
				if (table + idx * 8 + 8 > p->ram_size)
					return -E_FAULT;
				memcpy(&e, ram + table + idx * 8, 8);
				if (!(e & PTE_P))
					return -E_FAULT;
				if (level == 0 || (level <= 2 && (e & PTE_PS))) {
					u64 size = 1ULL << (12 + 9 * level);
					gpa_addr = (e & PTE_ADDR_MASK & ~(size - 1)) | (gva & (size - 1));
					break;
				}
				table = e & PTE_ADDR_MASK;
			}
		} else if (r->cr4 & CR4_PAE) {
			u64 pdpte, e, table;
			u64 base = (r->cr3 & 0xffffffe0) + ((gva >> 30) & 3) * 8;
			if (base + 8 > p->ram_size)
				return -E_FAULT;
			memcpy(&pdpte, ram + base, 8);
			if (!(pdpte & PTE_P))
				return -E_FAULT;
			table = pdpte & PTE_ADDR_MASK;
			for (int level = 1; level >= 0; level--) {
				u64 idx = (gva >> (12 + 9 * level)) & 511;
				if (table + idx * 8 + 8 > p->ram_size)
					return -E_FAULT;
				memcpy(&e, ram + table + idx * 8, 8);
				if (!(e & PTE_P))
					return -E_FAULT;
				if (level == 0 || (e & PTE_PS)) {
					u64 size = 1ULL << (12 + 9 * level);
					gpa_addr = (e & PTE_ADDR_MASK & ~(size - 1)) | (gva & (size - 1));
					break;
				}
				table = e & PTE_ADDR_MASK;
			}
		} else {
			u32 e, table = (u32)r->cr3 & 0xfffff000;
			for (int level = 1; level >= 0; level--) {
				u64 idx = (gva >> (12 + 10 * level)) & 1023;
				if (table + idx * 4 + 4 > p->ram_size)
					return -E_FAULT;
				memcpy(&e, ram + table + idx * 4, 4);
				if (!(e & PTE_P))
					return -E_FAULT;
				if (level == 0 || ((e & PTE_PS) && (r->cr4 & (1u << 4)))) {
					u64 size = level ? 1ULL << 22 : 1ULL << 12;
					gpa_addr = (e & ~(size - 1)) | (gva & (size - 1));
					break;
				}
				table = e & 0xfffff000;
			}
		}
	}
	if (gpa_addr >= p->ram_size)
		return -E_FAULT;
	*out = ram[gpa_addr];
	return 0;
}

struct mmio_access {
	struct partition *p;
	u64 gpa;
};

static u64 mmio_read(void *ctx, unsigned size)
{
	struct mmio_access *a = ctx;
	u64 value = 0;

	hvm_mmio(a->p->hvm, clock_now_ns(), a->gpa, size, false, &value);
	return value;
}

static void mmio_write(void *ctx, unsigned size, u64 value)
{
	struct mmio_access *a = ctx;

	hvm_mmio(a->p->hvm, clock_now_ns(), a->gpa, size, true, &value);
}

static void handle_mmio(struct partition *p, const struct vm_exit *e)
{
	static const struct decode_mem_ops ops = { mmio_read, mmio_write };
	struct guest_regs *r = &p->vcpu.regs;
	struct mmio_access access = { p, e->npf.gpa };
	struct decoded_insn insn;
	u8 bytes[15];
	unsigned n = 0;

	if (e->npf.gpa < p->ram_size) {
		partition_fault(p, "unexpected fault on its own RAM at %#llx",
				(unsigned long long)e->npf.gpa);
		return;
	}
	if (e->npf.fetch) {
		partition_fault(p, "executes outside its RAM at %#llx", (unsigned long long)e->npf.gpa);
		return;
	}
	while (n < sizeof(bytes) && guest_read_byte(p, r->cs_base + r->rip + n, &bytes[n]) == 0)
		n++;
	enum decode_mode mode = r->cs_bits == 64 ? DECODE_MODE_64
				: r->cs_bits == 32 ? DECODE_MODE_32 : DECODE_MODE_16;
	if (decode_insn(bytes, n, mode, &insn)) {
		partition_fault(p, "MMIO at %#llx by an instruction it cannot emulate (rip %#llx: %02x %02x %02x %02x)",
				(unsigned long long)e->npf.gpa, (unsigned long long)r->rip, bytes[0],
				bytes[1], bytes[2], bytes[3]);
		return;
	}
	decode_emulate(&insn, r, &ops, &access);
}

static void handle_hlt(struct partition *p, const struct vm_exit *e)
{
	struct guest_regs *r = &p->vcpu.regs;

	r->rip += e->insn_len;
	p->halted = true;
	if (!(r->rflags & (1u << 9)) && !p->halted_forever_reported) {
		p->halted_forever_reported = true;
		log_guest(LOG_KIND_HLT, "partition %s: HLT with interrupts off at %#llx: it stays halted",
			 p->cfg->name, (unsigned long long)(r->rip - e->insn_len));
	}
}

static void handle_xsetbv(struct partition *p, const struct vm_exit *e)
{
	struct guest_regs *r = &p->vcpu.regs;
	u64 value = (r->rdx << 32) | (u32)r->rax;
	if ((u32)r->rcx != 0 || !fpu_xcr0_valid(value)) {
		inject_gp(p);
		return;
	}
	p->vcpu.lazy.fpu->xcr0 = value;
	r->rip += e->insn_len;
}

void hvm_handle_exit(struct partition *p, struct vm_exit *e)
{
	struct guest_regs *r = &p->vcpu.regs;

	switch (e->reason) {
	case VMEXIT_EXTINT:
	case VMEXIT_TIMER:
		break;
	case VMEXIT_INTR_WINDOW:
		virt->irq_window(&p->vcpu, false);
		break;
	case VMEXIT_CPUID:
		handle_cpuid(p, e);
		break;
	case VMEXIT_IO:
		handle_io(p, e);
		break;
	case VMEXIT_MSR:
		handle_msr(p, e);
		break;
	case VMEXIT_NPF:
		handle_mmio(p, e);
		break;
	case VMEXIT_HLT:
		handle_hlt(p, e);
		break;
	case VMEXIT_XSETBV:
		handle_xsetbv(p, e);
		break;
	case VMEXIT_RDPMC:
		vmexit_rdpmc(p, e);
		break;
	case VMEXIT_HYPERCALL:
	case VMEXIT_VIRT_INSN:
		virt->inject(&p->vcpu, EVENT_EXCEPTION, VECTOR_UD, false, 0);
		break;
	case VMEXIT_SHUTDOWN:
		partition_fault(p, "triple fault at rip %#llx", (unsigned long long)r->rip);
		break;
	default:
		partition_fault(p, "unexpected exit %#llx (%#llx) at rip %#llx",
				(unsigned long long)e->raw, (unsigned long long)e->qualification,
				(unsigned long long)r->rip);
		break;
	}
}

u64 hvm_before_entry(struct partition *p, u64 now)
{
	u64 next = hvm_update_timers(p->hvm, now);
	int vector = hvm_pending_vector(p->hvm);

	if (vector < 0)
		return next;
	/* HLT wakes on an interrupt the guest can take (SDM Vol. 2 "HLT"). */
	if (p->vcpu.regs.rflags & (1u << 9))
		p->halted = false;
	if (p->halted)
		return next;
	if (virt->interruptible(&p->vcpu)) {
		virt->inject(&p->vcpu, EVENT_INTERRUPT, (u8)vector, false, 0);
		hvm_ack_vector(p->hvm, vector);
		virt->irq_window(&p->vcpu, false);
	} else {
		virt->irq_window(&p->vcpu, true);
	}
	return next;
}
