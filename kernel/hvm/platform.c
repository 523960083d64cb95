/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The exit policy of unmodified (hvm) partitions (the kind_exits hooks of
 * hvm_kind, kernel/kind.h): port and MSR exits, MMIO through the instruction
 * decoder, HLT, and the delivery of pending interrupts.  The devices
 * themselves are in hvm.c and its siblings; the CPU policy (CPUID, MSRs) is
 * kernel/cpu_policy.c.
 */
#include "kernel/hvm/platform.h"
#include "arch/x86/clock.h"
#include "arch/x86/cpu.h"
#include "arch/x86/fpu.h"
#include "arch/x86/pagetable.h"
#include "arch/x86/vcpu_state.h"
#include "kernel/cpu_policy.h"
#include "kernel/errno.h"
#include "kernel/hvm/acpi_tables.h"
#include "kernel/hvm/decode.h"
#include "kernel/hvm/disk.h"
#include "kernel/hvm/hvm.h"
#include "kernel/hvm/linux_boot.h"
#include "kernel/lib/format.h"
#include "kernel/lib/string.h"
#include "kernel/log.h"
#include "kernel/mm.h"
#include "kernel/partition.h"

static void inject_gp(struct partition *p)
{
	virt->inject(&p->vcpu, EVENT_EXCEPTION, VECTOR_GP, true, 0);
}

static void hvm_cpu_view(const struct partition *p, struct cpu_view *v)
{
	v->apic_enabled = vlapic_hw_enabled(&p->hvm->lapic);
	v->apic_bus_hz = VLAPIC_BUS_HZ;
	v->limit_maxval = p->msrs.misc_enable & (1ULL << 22);
}

static u8 *guest_byte(struct partition *p, u64 gva, bool write);
static int guest_read_byte(struct partition *p, u64 gva, u8 *out);
static int port_access(struct partition *p, const struct vm_exit *e, u32 *value);

/* Iterations of a REP INS/OUTS done in one exit, and the time they may
 * take: the rest re-executes the instruction (RCX and RSI/RDI say where it
 * is), as an interrupted REP string instruction does on the CPU (SDM Vol. 1
 * §7.3.9.1), so a long one never holds the exit handler.  The time bound
 * matters where each access is slow (an emulator, a device model that
 * logs): 256 accesses to the UART took 2.4 ms in QEMU with -icount shift=5,
 * longer than the exit guard of a 2 ms window, and the next partition's
 * window passed without it. */
#define STRING_IO_PER_EXIT 256
#define STRING_IO_BUDGET_NS 20000ULL

/*
 * INS and OUTS (SDM Vol. 2 "INS", "OUTS"): ES:[rDI] or seg:[rSI] (DS unless
 * overridden) with the address size of the instruction, stepping by the
 * access size, backwards with RFLAGS.DF.  The prefixes come from the
 * instruction bytes, the segment bases from the back end.  Memory the
 * guest's tables do not map to its RAM stops the partition (a PC would
 * fault with #PF or #GP, which this platform does not synthesise).
 */
static void handle_string_io(struct partition *p, const struct vm_exit *e)
{
	struct guest_regs *r = &p->vcpu.regs;
	unsigned seg = SEG_DS, asize = r->cs_bits;
	bool rep = e->io.rep;
	u8 b = 0;

	for (u32 n = 0; n < 14; n++) {
		if (guest_read_byte(p, r->cs_base + r->rip + n, &b))
			break;
		if (b == 0x26 || b == 0x2e || b == 0x36 || b == 0x3e)
			seg = (b >> 3) & 3; /* ES 0, CS 1, SS 2, DS 3 */
		else if (b == 0x64 || b == 0x65)
			seg = b == 0x64 ? SEG_FS : SEG_GS;
		else if (b == 0x67)
			asize = r->cs_bits == 64 ? 32 : r->cs_bits == 32 ? 16 : 32;
		else if (b == 0xf2 || b == 0xf3)
			rep = true;
		else if (!(b == 0x66 || b == 0xf0 || (r->cs_bits == 64 && (b & 0xf0) == 0x40)))
			break;
	}
	if (b < 0x6c || b > 0x6f) {
		partition_fault(p,
				"string I/O at port %#x by an instruction it cannot read (rip %#llx)",
				e->io.port, (unsigned long long)r->rip);
		return;
	}
	if (e->io.in)
		seg = SEG_ES; /* INS writes ES:[rDI], no override (SDM "INS") */
	u64 mask = asize == 64 ? ~0ULL : asize == 32 ? 0xffffffffULL : 0xffffULL;
	u64 *index = e->io.in ? &r->rdi : &r->rsi;
	u64 base = seg == SEG_CS		      ? r->cs_base :
		   (r->cs_bits == 64 && seg < SEG_FS) ? 0 :
							virt->segment_base(&p->vcpu, seg);
	u64 step = r->rflags & RFLAGS_DF ? (u64) - (s64)e->io.size : e->io.size;
	u64 count = rep ? r->rcx & mask : 1;
	u64 stop_tsc = rdtsc() + clock_ns_to_tsc(STRING_IO_BUDGET_NS);
	/* The last page translated: a string walks one page for up to 4096
	 * accesses, and each walk of the guest's tables costs hundreds of
	 * instructions. */
	u64 cached_vpn = ~0ULL;
	u8 *cached_page = NULL;

	for (unsigned i = 0; count && i < STRING_IO_PER_EXIT && (!i || rdtsc() < stop_tsc); i++) {
		u8 *bytes[4];
		for (unsigned k = 0; k < e->io.size; k++) {
			u64 at = base + ((*index + k) & mask);
			if (r->cs_bits != 64)
				at &= 0xffffffff;
			if (at >> PAGE_SHIFT == cached_vpn) {
				bytes[k] = cached_page + (at & (PAGE_SIZE - 1));
				continue;
			}
			if ((bytes[k] = guest_byte(p, at, e->io.in))) {
				cached_vpn = at >> PAGE_SHIFT;
				cached_page = bytes[k] - (at & (PAGE_SIZE - 1));
			} else {
				partition_fault(p, "%s at port %#x: %s %#llx is not in its RAM",
						e->io.in ? "INS" : "OUTS", e->io.port,
						e->io.in ? "destination" : "source",
						(unsigned long long)(base + (*index & mask)));
				return;
			}
		}
		u32 value = 0;
		if (!e->io.in)
			for (unsigned k = 0; k < e->io.size; k++)
				value |= (u32)*bytes[k] << (8 * k);
		if (port_access(p, e, &value))
			return; /* the partition ended (debug exit) */
		if (e->io.in)
			for (unsigned k = 0; k < e->io.size; k++)
				*bytes[k] = (u8)(value >> (8 * k));
		*index = (*index & ~mask) | ((*index + step) & mask);
		count--;
		if (rep)
			r->rcx = (r->rcx & ~mask) | (count & mask);
	}
	if (!count)
		r->rip += e->insn_len;
}

/* One access to the platform's ports; nonzero if it ended the partition. */
static int port_access(struct partition *p, const struct vm_exit *e, u32 *value)
{
	int code = 0;

	if (hvm_port_io(p->hvm, clock_now_ns(), e->io.port, e->io.size, e->io.in, value, &code) ==
	    HVM_EXIT_REQUESTED) {
		char why[48];
		snprintf(why, sizeof(why), "debug exit with code %d", code);
		partition_exit(p, code, why);
		return 1;
	}
	return 0;
}

static void handle_io(struct partition *p, const struct vm_exit *e)
{
	struct guest_regs *r = &p->vcpu.regs;
	u32 value = (u32)r->rax;

	if (e->io.string) {
		handle_string_io(p, e);
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
		if (!e->io.in && e->io.port == HVM_ACPI_PM1A_CNT && e->io.size == 2 &&
		    hvm_acpi_is_poweroff((u16)value)) {
			hvm_disk_report(p);
			partition_exit(p, 0, "powered off (ACPI S5)");
		}
		return;
	}
	if (port_access(p, e, &value))
		return;
	if (e->io.in) {
		u64 mask = e->io.size == 4 ? 0xffffffffULL : (1ULL << (8 * e->io.size)) - 1;
		/* A 32-bit result zero-extends into RAX; 8/16-bit ones merge. */
		r->rax = e->io.size == 4 ? value : (r->rax & ~mask) | (value & mask);
	}
	r->rip += e->insn_len;
}

/* A TSC write (IA32_TSC) moves this vCPU's TSC; the local APIC's
 * TSC-deadline timer counts in the guest's TSC, so it moves with it. */
static void tsc_offset_changed(struct partition *p, s64 old)
{
	p->vcpu.tsc_offset = p->msrs.tsc_offset;
	p->hvm->lapic.tsc_at_zero += (u64)(p->msrs.tsc_offset - old);
}

static void handle_msr(struct partition *p, const struct vm_exit *e)
{
	struct guest_regs *r = &p->vcpu.regs;
	u32 index = (u32)r->rcx;
	u64 value = (r->rdx << 32) | (u32)r->rax;
	s64 old_offset = p->msrs.tsc_offset;
	int err = 0;

	p->msrs.efer = r->efer;
	switch (cpu_policy_msr(&p->msrs, index, e->msr.write, &value, rdtsc())) {
	case MSR_DONE:
		break;
	case MSR_DEVICE:
		err = hvm_msr(p->hvm, clock_now_ns(), index, e->msr.write, &value);
		break;
	case MSR_TSC_AUX:
		if (e->msr.write)
			vcpu_state_set_tsc_aux(&p->vcpu.lazy, (u32)value);
		else
			value = vcpu_state_tsc_aux(&p->vcpu.lazy);
		break;
	default:
		err = -E_INVAL;
		break;
	}
	if (err) {
		if (err == -E_INVAL || err == -E_NOENT)
			log_guest(LOG_KIND_MSR, "partition %s: %s of MSR %#x: #GP", p->cfg->name,
				  e->msr.write ? "write" : "read", index);
		inject_gp(p);
		return;
	}
	if (e->msr.write && index == 0xc0000080) {
		r->efer = p->msrs.efer;
		p->vcpu.cr_dirty = true;
	}
	if (e->msr.write && p->msrs.tsc_offset != old_offset)
		tsc_offset_changed(p, old_offset);
	if (!e->msr.write) {
		r->rax = (u32)value;
		r->rdx = value >> 32;
	}
	r->rip += e->insn_len;
}

/* Guest-physical tables of the guest's own page tables, in its RAM only. */
struct guest_tables {
	struct partition *p;
};

static void *guest_table_virt(void *ctx, u64 phys)
{
	struct guest_tables *g = ctx;

	if (phys >= g->p->ram_size || PAGE_SIZE > g->p->ram_size - (phys & PAGE_MASK))
		return NULL;
	return partition_gpa_ptr(g->p, phys);
}

/* The byte at guest-virtual gva, found by walking the guest's own page
 * tables with the core's walker (arch/x86/pagetable.c, in the guest's paging
 * mode: SDM Vol. 3A §4.1.1); every table and the byte must lie in its RAM.
 * For a write, the page must be writable as the guest's access would need
 * (§4.6: a user access, or a supervisor one with CR0.WP).  NULL if not. */
static u8 *guest_byte(struct partition *p, u64 gva, bool write)
{
	const struct guest_regs *r = &p->vcpu.regs;
	u64 gpa_addr = gva, flags = PTE_W | PTE_U, size;

	if (r->cr0 & CR0_PG) {
		struct guest_tables g = { p };
		struct pagetable pt = { 0 };
		pt.ops.table_virt = guest_table_virt;
		pt.ops.ctx = &g;
		if (r->efer & EFER_LMA) {
			pt.fmt = &pt_format_x86;
			pt.root_phys = r->cr3 & PTE_ADDR_MASK;
		} else if (r->cr4 & CR4_PAE) {
			pt.fmt = &pt_format_x86_pae;
			pt.root_phys = r->cr3 & 0xffffffe0;
			gva &= 0xffffffff;
		} else {
			pt.fmt = r->cr4 & CR4_PSE ? &pt_format_x86_32_pse : &pt_format_x86_32;
			pt.root_phys = r->cr3 & 0xfffff000;
			gva &= 0xffffffff;
		}
		/* The PAE PDPT is 32 bytes, 32-byte aligned: inside RAM too. */
		pt.root = pt.root_phys + 32 <= p->ram_size ? partition_gpa_ptr(p, pt.root_phys) :
							     NULL;
		if (pt_lookup(&pt, gva, &gpa_addr, &flags, &size))
			return NULL;
	}
	if (write && !(flags & PTE_W) && (r->cpl == 3 || (r->cr0 & CR0_WP)))
		return NULL;
	if (gpa_addr >= p->ram_size)
		return NULL;
	return partition_gpa_ptr(p, gpa_addr);
}

static int guest_read_byte(struct partition *p, u64 gva, u8 *out)
{
	const u8 *b = guest_byte(p, gva, false);

	if (!b)
		return -E_FAULT;
	*out = *b;
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

/* The prefixes before the opcode at RIP: legacy prefixes (SDM Vol. 2
 * §2.1.1) and, in 64-bit mode, REX (§2.2.1).  An instruction has at most
 * 15 bytes (§2.3.11); more prefixes than that, or bytes it cannot read,
 * count as none (the unprefixed length stands). */
static u32 hvm_insn_prefixes(struct partition *p)
{
	const struct guest_regs *r = &p->vcpu.regs;
	u8 b;

	for (u32 n = 0; n < 14; n++) {
		if (guest_read_byte(p, r->cs_base + r->rip + n, &b))
			return 0;
		bool legacy = b == 0xf0 || b == 0xf2 || b == 0xf3 || b == 0x2e || b == 0x36 ||
			      b == 0x3e || b == 0x26 || b == 0x64 || b == 0x65 || b == 0x66 ||
			      b == 0x67;
		if (!legacy && !(r->cs_bits == 64 && (b & 0xf0) == 0x40))
			return n;
	}
	return 0;
}

static void handle_mmio(struct partition *p, const struct vm_exit *e)
{
	static const struct decode_mem_ops ops = { mmio_read, mmio_write };
	struct guest_regs *r = &p->vcpu.regs;
	struct mmio_access access = { p, e->npf.gpa };
	struct decoded_insn insn;
	u8 bytes[15];
	unsigned n = 0;

	if (hvm_boot_is_ram(p->ram_size, e->npf.gpa)) {
		partition_fault(p, "unexpected fault on its own RAM at %#llx",
				(unsigned long long)e->npf.gpa);
		return;
	}
	if (e->npf.fetch) {
		partition_fault(p, "executes outside its RAM at %#llx",
				(unsigned long long)e->npf.gpa);
		return;
	}
	while (n < sizeof(bytes) && guest_read_byte(p, r->cs_base + r->rip + n, &bytes[n]) == 0)
		n++;
	enum decode_mode mode = r->cs_bits == 64 ? DECODE_MODE_64 :
				r->cs_bits == 32 ? DECODE_MODE_32 :
						   DECODE_MODE_16;
	if (decode_insn(bytes, n, mode, &insn)) {
		partition_fault(
			p,
			"MMIO at %#llx by an instruction it cannot emulate (rip %#llx: %02x %02x %02x %02x)",
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
	if (!(r->rflags & RFLAGS_IF) && !p->hlt_reported) {
		p->hlt_reported = true;
		log_guest(LOG_KIND_HLT,
			  "partition %s: HLT with interrupts off at %#llx: it stays halted",
			  p->cfg->name, (unsigned long long)(r->rip - e->insn_len));
	}
	partition_wait(p, 0); /* until an interrupt wakes it (hvm_prepare) */
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

/*
 * MOV to/from CR8: in 64-bit mode CR8 is the local APIC's TPR, bits 3:0
 * its priority class (SDM Vol. 3A §11.8.6; AMD APM Vol. 2 §16.6.4), and
 * bits 63:4 are reserved (#GP, §2.5).  A lower priority lets a held
 * interrupt in at once: every hvm exit goes back to hvm_prepare, whose
 * offer follows the new PPR.  Outside 64-bit mode CR8 does not exist (AMD's
 * LOCK MOV CR0 alias needs CR8_LEGACY, which the CPU policy hides): #UD.
 */
static void handle_cr8(struct partition *p, const struct vm_exit *e)
{
	struct guest_regs *r = &p->vcpu.regs;
	int gpr = e->cr8.gpr;
	u32 len = e->insn_len;

	if (r->cs_bits != 64) {
		virt->inject(&p->vcpu, EVENT_EXCEPTION, VECTOR_UD, false, 0);
		return;
	}
	if (gpr < 0) {
		struct decoded_mov_cr d;
		u8 bytes[DECODE_MAX_LEN];
		unsigned n = 0;
		while (n < sizeof(bytes) &&
		       guest_read_byte(p, r->cs_base + r->rip + n, &bytes[n]) == 0)
			n++;
		if (decode_mov_cr(bytes, n, DECODE_MODE_64, &d) || d.cr != 8 ||
		    d.write != e->cr8.write) {
			partition_fault(p,
					"CR8 access by an instruction it cannot decode at rip %#llx",
					(unsigned long long)r->rip);
			return;
		}
		gpr = d.gpr;
		len = d.len;
	}
	u64 *reg = guest_reg(r, (unsigned)gpr);
	if (e->cr8.write) {
		if (*reg >> 4) {
			inject_gp(p);
			return;
		}
		vlapic_set_cr8(&p->hvm->lapic, *reg);
	} else {
		*reg = vlapic_cr8(&p->hvm->lapic);
	}
	r->rip += len;
}

/* VMCALL/VMMCALL from an unmodified guest: CPUID.1:ECX[31] told it a
 * hypervisor is there, and a guest that probes with the instruction gets an
 * answer instead of #UD: no call is offered to hvm partitions, so every
 * number gives -E_NOSYS in RAX, and execution goes on after the whole
 * instruction (issue 10). */
static void handle_hypercall(struct partition *p, const struct vm_exit *e)
{
	if (!e->insn_len) {
		virt->inject(&p->vcpu, EVENT_EXCEPTION, VECTOR_UD, false, 0);
		return;
	}
	p->vcpu.regs.rax = (u64)-E_NOSYS;
	p->vcpu.regs.rip += e->insn_len;
}

/* The guest took the offered vector (virt.h, irq_offer): it moves from
 * pending to in service now (APIC IRR -> ISR, or the 8259's INTA), as
 * when a PC's CPU acknowledges INTR, and before the exit that ended the run
 * is handled, which may be the handler's EOI. */
static void hvm_irq_taken(struct partition *p, u8 vector)
{
	hvm_ack_vector(p->hvm, vector);
}

/* Before the scheduler decides: device timers advance; an interrupt the
 * guest can take wakes it from HLT (SDM Vol. 2 "HLT"), and the highest one
 * pending is offered for its next run.  The CPU delivers the offer when the
 * guest's RFLAGS.IF and interrupt shadow let it, and hvm_irq_taken
 * acknowledges it then; an offer not taken lapses and is made anew here,
 * so it always names the vector the APIC and the 8259 would present now. */
static u64 hvm_prepare(struct partition *p, u64 now)
{
	u64 next = hvm_update_timers(p->hvm, now);
	/* virtio-blk requests an exit left: now, in its own window; if more
	 * are left, its run ends at once to come back here */
	if (virtio_blk_poll(&p->hvm->blk))
		next = now;
	int vector = hvm_pending_vector(p->hvm);

	/* An NMI the APIC accepted goes to the CPU's latch, and wakes it from
	 * HLT whatever its RFLAGS.IF (SDM Vol. 2 "HLT"). */
	if (hvm_take_nmi(p->hvm)) {
		virt->nmi_raise(&p->vcpu);
		if (p->state == PARTITION_WAITING)
			partition_wake(p);
	}
	if (vector >= 0 && p->state == PARTITION_WAITING && (p->vcpu.regs.rflags & RFLAGS_IF))
		partition_wake(p);
	virt->irq_offer(&p->vcpu, p->state == PARTITION_RUNNABLE ? vector : -1);
	return next;
}

const struct kind_exits hvm_exits = {
	.io = handle_io,
	.msr = handle_msr,
	.npf = handle_mmio,
	.hlt = handle_hlt,
	.hypercall = handle_hypercall,
	.xsetbv = handle_xsetbv,
	.cr8 = handle_cr8,
	.insn_prefixes = hvm_insn_prefixes,
	.irq_taken = hvm_irq_taken,
	.cpu_view = hvm_cpu_view,
	.prepare = hvm_prepare,
	.back_to_scheduler = true,
	.xcr0_own = true,
};
