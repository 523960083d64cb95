/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The virtual local APIC of an hvm partition's single vCPU (Intel SDM Vol. 3A
 * ch. 11): xAPIC registers through MMIO, x2APIC through MSRs 0x800-0x8ff,
 * IA32_APIC_BASE, the timer (one-shot, periodic, TSC-deadline), priority
 * (TPR/PPR), IRR/ISR/TMR, EOI, self-IPIs (NMIs among them), and LINT0 in
 * ExtINT mode as the path of the 8259's interrupts.
 *
 * Time: the timer counts at VLAPIC_BUS_HZ (1 GHz, so one tick is one ns
 * before the divider); the guest calibrates it against the PIT or reads it
 * from nowhere else, so the figure only has to be steady.  TSC-deadline
 * values are converted to ns with the TSC frequency and the TSC value at
 * ns 0 given to vlapic_reset (the guest reads the real TSC).
 */
#ifndef PARTITA_HVM_VLAPIC_H
#define PARTITA_HVM_VLAPIC_H

#include "kernel/lib/types.h"

#define VLAPIC_BUS_HZ 1000000000ULL
#define VLAPIC_VERSION 0x14 /* integrated APIC (SDM §11.4.8) */
#define VLAPIC_MIN_PERIOD_NS \
	50000ULL /* periodic timers faster than this
                                       * are slowed (no interrupt storms) */

/* Register offsets in the xAPIC page (SDM Table 11-1). */
#define APIC_ID 0x020
#define APIC_VER 0x030
#define APIC_TPR 0x080
#define APIC_APR 0x090
#define APIC_PPR 0x0a0
#define APIC_EOI 0x0b0
#define APIC_RRD 0x0c0
#define APIC_LDR 0x0d0
#define APIC_DFR 0x0e0
#define APIC_SVR 0x0f0
#define APIC_ISR 0x100
#define APIC_TMR 0x180
#define APIC_IRR 0x200
#define APIC_ESR 0x280
#define APIC_ICR_LO 0x300
#define APIC_ICR_HI 0x310
#define APIC_LVT_TIMER 0x320
#define APIC_LVT_THERMAL 0x330
#define APIC_LVT_PERF 0x340
#define APIC_LVT_LINT0 0x350
#define APIC_LVT_LINT1 0x360
#define APIC_LVT_ERROR 0x370
#define APIC_TIMER_ICR 0x380
#define APIC_TIMER_CCR 0x390
#define APIC_TIMER_DCR 0x3e0
#define APIC_SELF_IPI 0x3f0 /* x2APIC only (MSR 0x83f) */

#define APIC_LVT_MASKED (1u << 16)
#define APIC_LVT_DM_MASK (7u << 8)
#define APIC_LVT_DM_FIXED (0u << 8)
#define APIC_LVT_DM_NMI (4u << 8)
#define APIC_LVT_DM_EXTINT (7u << 8)
#define APIC_LVT_TIMER_MODE_MASK (3u << 17)
#define APIC_LVT_TIMER_ONESHOT (0u << 17)
#define APIC_LVT_TIMER_PERIODIC (1u << 17)
#define APIC_LVT_TIMER_TSC_DEADLINE (2u << 17)
#define APIC_SVR_ENABLE (1u << 8)

#define MSR_IA32_APIC_BASE 0x1b
#define MSR_IA32_TSC_DEADLINE 0x6e0
#define MSR_X2APIC_FIRST 0x800
#define MSR_X2APIC_LAST 0x8ff
#define APIC_BASE_BSP (1ULL << 8)
#define APIC_BASE_EXTD (1ULL << 10)
#define APIC_BASE_EN (1ULL << 11)

/* The local vector table, in register order from 0x320 (no CMCI: the
 * version register reports max LVT 5, SDM §11.4.8). */
enum vlapic_lvt { LVT_TIMER, LVT_THERMAL, LVT_PERF, LVT_LINT0, LVT_LINT1, LVT_ERROR, LVT_COUNT };

struct vlapic {
	const char *name; /* partition name, for log lines */
	u64 tsc_hz;
	u64 tsc_at_zero; /* guest TSC value at ns 0 */

	u64 apic_base; /* IA32_APIC_BASE */
	u32 id;	       /* x2APIC id (xAPIC: bits 31:24 of the register) */
	u32 tpr, ldr, dfr, svr;
	u32 esr, esr_pending;
	u32 icr_lo, icr_hi;
	u32 lvt[LVT_COUNT];
	u32 irr[8], isr[8], tmr[8];

	/* Timer (SDM §11.5.4). */
	u32 timer_initial;
	u32 timer_dcr;
	u64 timer_start;  /* ns when the count was (re)loaded */
	u64 timer_period; /* ns of one full count (periodic), 0: not running */
	u64 timer_next;	  /* ns of the next expiry, 0: none */
	u64 tsc_deadline; /* IA32_TSC_DEADLINE as written, 0: disarmed */

	/* Level-triggered EOIs are broadcast to the I/O APIC (§11.8.5) through
	 * this hook (NULL: nobody listens); set by vlapic_set_eoi_hook. */
	void (*eoi_hook)(void *ctx, u8 vector);
	void *eoi_ctx;

	/* An NMI this APIC accepted and the vCPU has not taken yet: one, as
	 * the CPU latches one (SDM Vol. 3A §6.7.1, §11.6.1); vlapic_take_nmi
	 * hands it over. */
	bool nmi_pending;

	bool ipi_logged;  /* an IPI we cannot deliver was reported */
	bool msg_logged;  /* a message (IOAPIC/MSI) we cannot deliver was reported */
	bool base_logged; /* a relocation of the APIC page was reported */
};

/** Power-on state (SDM §11.4.7.1), except LINT0 = ExtINT and LINT1 = NMI as
 *  a BIOS leaves them (virtual wire mode), so the 8259 works at once. */
void vlapic_reset(struct vlapic *a, const char *name, u64 tsc_hz, u64 tsc_at_zero);

/** Whether the APIC is enabled in IA32_APIC_BASE / in x2APIC mode / by SVR. */
bool vlapic_hw_enabled(const struct vlapic *a);
bool vlapic_x2apic(const struct vlapic *a);
bool vlapic_sw_enabled(const struct vlapic *a);

/** xAPIC MMIO at offset (0-0xfff) of the APIC page.  size 1, 2, 4 or 8;
 *  registers are 32-bit at 16-byte steps: narrower reads see part of one,
 *  writes other than 32-bit at a register's start are ignored (SDM §11.4.1
 *  makes them undefined). */
u64 vlapic_mmio_read(struct vlapic *a, u64 now, u32 offset, unsigned size);
void vlapic_mmio_write(struct vlapic *a, u64 now, u32 offset, unsigned size, u64 value);

/**
 * MSRs: IA32_APIC_BASE, IA32_TSC_DEADLINE and the x2APIC range.  Returns 0,
 * -E_NOENT if index is none of these, or -E_INVAL if the access faults
 * (#GP: x2APIC register while not in x2APIC mode, read-only/write-only or
 * reserved register, invalid APIC_BASE transition; SDM §11.12.1.2, 11.12.5).
 */
int vlapic_msr_read(struct vlapic *a, u64 now, u32 index, u64 *value);
int vlapic_msr_write(struct vlapic *a, u64 now, u32 index, u64 value);

/** An interrupt arrives with vector (fixed delivery): sets IRR (and TMR if
 *  level).  Dropped while the APIC is disabled; vectors 0-15 set the
 *  "received illegal vector" error instead (SDM §11.5.3). */
void vlapic_set_irq(struct vlapic *a, u8 vector, bool level);

/** Highest IRR vector whose priority class is above PPR (SDM §11.8.3.1),
 *  or -1. */
int vlapic_pending(const struct vlapic *a);

/** The vCPU takes vector: IRR -> ISR (SDM §11.8.4).  Ignored if vector is
 *  not pending. */
void vlapic_ack(struct vlapic *a, int vector);

/** Whether an NMI reached the APIC since the last call (an IPI with
 *  delivery mode NMI to itself, §11.6.1, or an interrupt message with
 *  it, §11.11.2), which clears it: the vCPU takes it.  NMIs that arrive
 *  before then are one, as the CPU latches one. */
bool vlapic_take_nmi(struct vlapic *a);

/** Processor priority (SDM §11.8.3.1). */
u32 vlapic_ppr(const struct vlapic *a);

/** CR8 in 64-bit mode is the TPR's priority class (SDM Vol. 3A §11.8.6):
 *  a read gives TPR[7:4]; a write of cr8 (bits 3:0, the caller refuses
 *  the reserved 63:4) sets TPR[7:4] and clears TPR[3:0]. */
u64 vlapic_cr8(const struct vlapic *a);
void vlapic_set_cr8(struct vlapic *a, u64 cr8);

/** Whether the 8259's INTR reaches the vCPU: APIC globally disabled, or
 *  software-disabled, or LINT0 unmasked in ExtINT mode. */
bool vlapic_accepts_pic(const struct vlapic *a);

/** Calls hook(ctx, vector) on every EOI of a level-triggered vector (its
 *  TMR bit was set), which the APIC broadcasts to the I/O APICs (§11.8.5;
 *  the version register does not offer EOI-broadcast suppression).  Set it
 *  after vlapic_reset, which clears it. */
void vlapic_set_eoi_hook(struct vlapic *a, void (*hook)(void *ctx, u8 vector), void *ctx);

/* Delivery modes of interrupt messages (IOAPIC redirection entries, MSI
 * data; SDM §11.11.2, 82093AA datasheet 3.2.4). */
#define VLAPIC_DM_FIXED 0
#define VLAPIC_DM_LOWEST 1
#define VLAPIC_DM_SMI 2
#define VLAPIC_DM_NMI 4
#define VLAPIC_DM_INIT 5
#define VLAPIC_DM_EXTINT 7

/** Whether an interrupt message for the 8-bit destination dest (physical:
 *  an APIC ID, 0xff broadcast; logical: a message destination address
 *  matched against LDR/DFR, §11.6.2) reaches this APIC.  In x2APIC mode a
 *  physical dest is compared with the x2APIC ID and a logical one with
 *  cluster 0 of the logical x2APIC ID (§11.12.10). */
bool vlapic_message_matches(const struct vlapic *a, u8 dest, bool logical);

/**
 * An interrupt message from the I/O APIC or an MSI (SDM §11.11): delivers
 * vector to this APIC if dest matches (vlapic_message_matches).  Fixed and
 * lowest priority set IRR (and TMR if level); NMI latches the APIC's NMI
 * (vlapic_take_nmi); SMI, INIT, ExtINT and the reserved modes are not
 * delivered by this platform and are reported once.  Returns true if the
 * APIC accepted the interrupt into IRR (an NMI sets no IRR bit: false).
 */
bool vlapic_deliver(struct vlapic *a, u8 dest, bool logical, unsigned mode, u8 vector, bool level);

/** vlapic_deliver for a 32-bit destination (an IRTE of an interrupt
 *  remapping unit in x2APIC mode, VT-d spec 9.10): in x2APIC mode compared
 *  with the x2APIC ID (0xffffffff: all) or, logical, with the logical
 *  x2APIC ID's cluster and bitmap (§11.12.10); in xAPIC mode as an 8-bit
 *  destination if it fits, else nobody's. */
bool vlapic_deliver32(struct vlapic *a, u32 dest, bool logical, unsigned mode, u8 vector,
		      bool level);

/** Fires the timer if due at now.  Returns the ns of its next expiry, or 0. */
u64 vlapic_update_timer(struct vlapic *a, u64 now);

/** The guest TSC at ns now, and back (both saturate rather than wrap). */
u64 vlapic_ns_to_tsc(const struct vlapic *a, u64 ns);
u64 vlapic_tsc_to_ns(const struct vlapic *a, u64 tsc);

#endif
