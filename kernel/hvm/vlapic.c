/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The virtual local APIC (see vlapic.h).  References are to the Intel SDM
 * Vol. 3A, chapter 11 "Advanced Programmable Interrupt Controller (APIC)".
 *
 * One vCPU: the only IPIs that can be delivered are those that reach the
 * sender itself (fixed, lowest-priority or NMI delivery); anything for
 * other CPUs, and INIT/SIPI/SMI, is ignored and reported once.
 */
#include "kernel/hvm/vlapic.h"
#include "kernel/cpu_policy.h"
#include "kernel/errno.h"
#include "kernel/lib/string.h"
#include "kernel/log.h"

_Static_assert(VLAPIC_BUS_HZ == 1000000000ULL, "timer tick arithmetic assumes 1 ns per bus tick");

#define NSEC 1000000000ULL

/* Writable bits of each LVT entry (§11.5.1, Figure 11-8). */
static const u32 lvt_writable[LVT_COUNT] = {
	[LVT_TIMER] = 0x700ff,				/* vector, mask, timer mode (17-18) */
	[LVT_THERMAL] = 0x107ff,			/* vector, delivery mode, mask */
	[LVT_PERF] = 0x107ff,	 [LVT_LINT0] = 0x1a7ff, /* + polarity (13), trigger mode (15) */
	[LVT_LINT1] = 0x1a7ff,	 [LVT_ERROR] = 0x100ff, /* vector, mask */
};

/* ESR bits (§11.5.3, Figure 11-9). */
#define ESR_SEND_ILLEGAL_VECTOR (1u << 5)
#define ESR_RECV_ILLEGAL_VECTOR (1u << 6)
#define ESR_ILLEGAL_REGISTER (1u << 7)

static int highest_bit(const u32 *words)
{
	for (int i = 7; i >= 0; i--)
		if (words[i])
			return i * 32 + 31 - __builtin_clz(words[i]);
	return -1;
}

static bool test_bit(const u32 *words, unsigned v)
{
	return words[v / 32] & (1u << (v % 32));
}

static void set_bit(u32 *words, unsigned v)
{
	words[v / 32] |= 1u << (v % 32);
}

static void clear_bit(u32 *words, unsigned v)
{
	words[v / 32] &= ~(1u << (v % 32));
}

bool vlapic_hw_enabled(const struct vlapic *a)
{
	return a->apic_base & APIC_BASE_EN;
}

bool vlapic_x2apic(const struct vlapic *a)
{
	return (a->apic_base & (APIC_BASE_EN | APIC_BASE_EXTD)) == (APIC_BASE_EN | APIC_BASE_EXTD);
}

bool vlapic_sw_enabled(const struct vlapic *a)
{
	return vlapic_hw_enabled(a) && (a->svr & APIC_SVR_ENABLE);
}

/* The APIC registers' power-on values (§11.4.7.1); the ID is kept. */
static void regs_reset(struct vlapic *a)
{
	a->tpr = a->ldr = 0;
	a->dfr = 0xffffffff;
	a->svr = 0xff;
	a->esr = a->esr_pending = 0;
	a->icr_lo = a->icr_hi = 0;
	for (unsigned i = 0; i < LVT_COUNT; i++)
		a->lvt[i] = APIC_LVT_MASKED;
	memset(a->irr, 0, sizeof(a->irr));
	memset(a->isr, 0, sizeof(a->isr));
	memset(a->tmr, 0, sizeof(a->tmr));
	a->timer_initial = a->timer_dcr = 0;
	a->timer_start = a->timer_period = a->timer_next = 0;
	a->tsc_deadline = 0;
}

void vlapic_reset(struct vlapic *a, const char *name, u64 tsc_hz, u64 tsc_at_zero)
{
	memset(a, 0, sizeof(*a));
	a->name = name ? name : "?";
	a->tsc_hz = tsc_hz ? tsc_hz : NSEC;
	a->tsc_at_zero = tsc_at_zero;
	a->apic_base = 0xfee00000ULL | APIC_BASE_BSP | APIC_BASE_EN;
	a->id = 0;
	regs_reset(a);
	/* What a BIOS leaves behind (MP spec virtual wire mode): LINT0 ExtINT,
	 * LINT1 NMI, both unmasked. */
	a->lvt[LVT_LINT0] = APIC_LVT_DM_EXTINT;
	a->lvt[LVT_LINT1] = APIC_LVT_DM_NMI;
}

/* ----------------------------------------------------------- time -- */

u64 vlapic_tsc_to_ns(const struct vlapic *a, u64 tsc)
{
	if (tsc <= a->tsc_at_zero)
		return 0;
	u64 t = tsc - a->tsc_at_zero;
	u64 q = t / a->tsc_hz, r = t % a->tsc_hz;
	if (q > UINT64_MAX / NSEC - 1)
		return UINT64_MAX;
	/* rounded up, so a deadline never fires before the guest's TSC has
	 * reached it (r * NSEC fits for TSC rates below 18 GHz) */
	return q * NSEC + (r * NSEC + a->tsc_hz - 1) / a->tsc_hz;
}

u64 vlapic_ns_to_tsc(const struct vlapic *a, u64 ns)
{
	u64 q = ns / NSEC, r = ns % NSEC;

	if (q && a->tsc_hz > (UINT64_MAX - a->tsc_at_zero) / q)
		return UINT64_MAX;
	return a->tsc_at_zero + q * a->tsc_hz + r * a->tsc_hz / NSEC;
}

/* Divide configuration: bits 0, 1 and 3 (§11.5.4, Figure 11-10). */
static u64 timer_divisor(const struct vlapic *a)
{
	unsigned v = (a->timer_dcr & 3) | ((a->timer_dcr >> 1) & 4);

	return v == 7 ? 1 : 2ULL << v;
}

static u32 timer_mode(const struct vlapic *a)
{
	return a->lvt[LVT_TIMER] & APIC_LVT_TIMER_MODE_MASK;
}

static void timer_stop(struct vlapic *a)
{
	a->timer_period = a->timer_next = 0;
}

/* Writing the initial count (re)starts the count-down (§11.5.4). */
static void timer_start(struct vlapic *a, u64 now, u32 count)
{
	a->timer_initial = count;
	if (!count || timer_mode(a) == APIC_LVT_TIMER_TSC_DEADLINE) {
		timer_stop(a);
		return;
	}
	a->timer_start = now;
	a->timer_period = (u64)count * timer_divisor(a);
	a->timer_next = now + (timer_mode(a) == APIC_LVT_TIMER_PERIODIC ?
				       MAX(a->timer_period, VLAPIC_MIN_PERIOD_NS) :
				       a->timer_period);
}

static u32 timer_current(const struct vlapic *a, u64 now)
{
	if (timer_mode(a) == APIC_LVT_TIMER_TSC_DEADLINE || !a->timer_period)
		return 0;
	if (now < a->timer_start)
		return a->timer_initial;
	u64 ticks = (now - a->timer_start) / timer_divisor(a);
	if (timer_mode(a) == APIC_LVT_TIMER_PERIODIC)
		return a->timer_initial - (u32)(ticks % a->timer_initial);
	return ticks >= a->timer_initial ? 0 : a->timer_initial - (u32)ticks;
}

static void lvt_fire(struct vlapic *a, enum vlapic_lvt which)
{
	u32 lvt = a->lvt[which];

	if (lvt & APIC_LVT_MASKED)
		return;
	vlapic_set_irq(a, (u8)lvt, false);
}

u64 vlapic_update_timer(struct vlapic *a, u64 now)
{
	if (!a->timer_next || now < a->timer_next)
		return a->timer_next;
	lvt_fire(a, LVT_TIMER);
	switch (timer_mode(a)) {
	case APIC_LVT_TIMER_PERIODIC:
		/* Periods missed while the partition did not run are
		 * coalesced into one interrupt, as an unserviced IRR bit
		 * would on hardware; the phase is kept. */
		if (a->timer_period >= VLAPIC_MIN_PERIOD_NS)
			a->timer_next = a->timer_start + ((now - a->timer_start) / a->timer_period +
							  1) * a->timer_period;
		else
			a->timer_next = now + VLAPIC_MIN_PERIOD_NS;
		break;
	case APIC_LVT_TIMER_TSC_DEADLINE:
		/* The deadline is disarmed once it fired (§11.5.4.1). */
		a->tsc_deadline = 0;
		a->timer_next = 0;
		break;
	default:
		a->timer_next = 0; /* one-shot: the count stays at 0 */
		break;
	}
	return a->timer_next;
}

/* ------------------------------------------------- interrupt logic -- */

static void esr_set(struct vlapic *a, u32 bits)
{
	bool fresh = (a->esr_pending & bits) != bits;

	a->esr_pending |= bits;
	/* The error LVT fires on a new error (§11.5.3); an illegal vector
	 * in the error LVT itself must not recurse. */
	if (fresh && !(a->lvt[LVT_ERROR] & APIC_LVT_MASKED) && (a->lvt[LVT_ERROR] & 0xff) >= 16 &&
	    vlapic_sw_enabled(a)) {
		u8 v = (u8)a->lvt[LVT_ERROR];
		set_bit(a->irr, v);
	}
}

void vlapic_set_irq(struct vlapic *a, u8 vector, bool level)
{
	/* A software-disabled APIC accepts nothing but NMI/INIT/SIPI/SMI
	 * (§11.4.7.2); a globally disabled one nothing at all. */
	if (!vlapic_sw_enabled(a))
		return;
	if (vector < 16) {
		esr_set(a, ESR_RECV_ILLEGAL_VECTOR);
		return;
	}
	set_bit(a->irr, vector);
	if (level)
		set_bit(a->tmr, vector);
	else
		clear_bit(a->tmr, vector);
}

u32 vlapic_ppr(const struct vlapic *a)
{
	int isrv = highest_bit(a->isr);
	u32 isr_class = isrv < 0 ? 0 : (u32)isrv & 0xf0;

	/* §11.8.3.1: PPR = TPR if TPR[7:4] >= ISRV[7:4], else ISRV[7:4]:0 */
	if ((a->tpr & 0xf0) >= isr_class)
		return a->tpr & 0xff;
	return isr_class;
}

u64 vlapic_cr8(const struct vlapic *a)
{
	return (a->tpr >> 4) & 0xf;
}

void vlapic_set_cr8(struct vlapic *a, u64 cr8)
{
	a->tpr = (u32)(cr8 & 0xf) << 4;
}

int vlapic_pending(const struct vlapic *a)
{
	if (!vlapic_hw_enabled(a))
		return -1;
	int v = highest_bit(a->irr);
	if (v < 0)
		return -1;
	/* §11.8.3.1: delivered only if its class is above PPR's class */
	if (((u32)v & 0xf0) <= (vlapic_ppr(a) & 0xf0))
		return -1;
	return v;
}

void vlapic_ack(struct vlapic *a, int vector)
{
	if (vector < 16 || vector > 255 || !test_bit(a->irr, (unsigned)vector))
		return;
	clear_bit(a->irr, (unsigned)vector);
	set_bit(a->isr, (unsigned)vector);
}

/* EOI: the highest in-service vector is done (§11.8.5); a level-triggered
 * one (TMR set) is broadcast to the I/O APIC, which clears its remote IRR. */
static void eoi(struct vlapic *a)
{
	int v = highest_bit(a->isr);
	bool level;

	if (v < 0)
		return;
	level = test_bit(a->tmr, (unsigned)v);
	clear_bit(a->isr, (unsigned)v);
	clear_bit(a->tmr, (unsigned)v);
	if (level && a->eoi_hook)
		a->eoi_hook(a->eoi_ctx, (u8)v);
}

void vlapic_set_eoi_hook(struct vlapic *a, void (*hook)(void *ctx, u8 vector), void *ctx)
{
	a->eoi_hook = hook;
	a->eoi_ctx = ctx;
}

bool vlapic_accepts_pic(const struct vlapic *a)
{
	if (!vlapic_sw_enabled(a))
		return true;
	u32 lint0 = a->lvt[LVT_LINT0];
	return !(lint0 & APIC_LVT_MASKED) && (lint0 & APIC_LVT_DM_MASK) == APIC_LVT_DM_EXTINT;
}

/* ----------------------------------------------------------- IPIs -- */

static u32 x2apic_ldr(const struct vlapic *a)
{
	/* §11.12.10.2: cluster in 31:16, one bit of 16 in 15:0 */
	return ((a->id >> 4) << 16) | (1u << (a->id & 0xf));
}

static bool ipi_reaches_self(const struct vlapic *a, u32 lo, u32 dest)
{
	switch ((lo >> 18) & 3) { /* destination shorthand, §11.6.1 */
	case 1:			  /* self */
	case 2:			  /* all including self */
		return true;
	case 3: /* all excluding self */
		return false;
	default:
		break;
	}
	bool logical = lo & (1u << 11);
	if (vlapic_x2apic(a)) {
		if (dest == 0xffffffff)
			return true;
		if (!logical)
			return dest == a->id;
		u32 ldr = x2apic_ldr(a);
		return (dest >> 16) == (ldr >> 16) && (dest & ldr & 0xffff);
	}
	dest &= 0xff;
	if (dest == 0xff)
		return true;
	if (!logical)
		return dest == (a->id & 0xff);
	u32 ldr = a->ldr >> 24;
	if ((a->dfr >> 28) == 0xf) /* flat model, §11.6.2.2 */
		return dest & ldr;
	/* cluster model: cluster in 7:4, members in 3:0 */
	return (dest >> 4) == (ldr >> 4) && (dest & ldr & 0xf);
}

bool vlapic_take_nmi(struct vlapic *a)
{
	bool nmi = a->nmi_pending;

	a->nmi_pending = false;
	return nmi;
}

static void send_ipi(struct vlapic *a, u32 lo, u32 dest)
{
	u32 mode = (lo >> 8) & 7;
	bool self = ipi_reaches_self(a, lo, dest);

	if ((mode == 0 || mode == 1) && (lo & 0xff) < 16) {
		esr_set(a, ESR_SEND_ILLEGAL_VECTOR);
		return;
	}
	if ((mode == 0 || mode == 1) && self)
		vlapic_set_irq(a, (u8)lo, false);
	/* NMI (100b): the vector is ignored, and even a software-disabled
	 * APIC accepts it (§11.6.1, §11.4.7.2). */
	if (mode == VLAPIC_DM_NMI && self) {
		a->nmi_pending = true;
		return;
	}
	if (((mode != 0 && mode != 1) || !self) && !a->ipi_logged) {
		a->ipi_logged = true;
		log_line("hvm: partition %s: IPI 0x%x to 0x%x ignored (one vCPU; logged once)",
			 a->name, lo, dest);
	}
}

/* --------------------------------------------------- register file -- */

/* Reads the register at offset (16-byte aligned) in xAPIC form. */
static bool reg_read(struct vlapic *a, u64 now, u32 reg, u32 *out)
{
	u32 v;

	switch (reg) {
	case APIC_ID:
		v = a->id << 24;
		break;
	case APIC_VER:
		v = VLAPIC_VERSION | ((LVT_COUNT - 1) << 16);
		break;
	case APIC_TPR:
		v = a->tpr;
		break;
	case APIC_APR:
		v = 0;
		break;
	case APIC_PPR:
		v = vlapic_ppr(a);
		break;
	case APIC_EOI:
		v = 0;
		break;
	case APIC_LDR:
		v = a->ldr;
		break;
	case APIC_DFR:
		v = a->dfr;
		break;
	case APIC_SVR:
		v = a->svr;
		break;
	case APIC_ESR:
		v = a->esr;
		break;
	case APIC_ICR_LO:
		v = a->icr_lo;
		break; /* delivery status: always idle */
	case APIC_ICR_HI:
		v = a->icr_hi;
		break;
	case APIC_TIMER_ICR:
		v = a->timer_initial;
		break;
	case APIC_TIMER_CCR:
		v = timer_current(a, now);
		break;
	case APIC_TIMER_DCR:
		v = a->timer_dcr;
		break;
	default:
		if (reg >= APIC_ISR && reg < APIC_ISR + 0x80)
			v = a->isr[(reg - APIC_ISR) >> 4];
		else if (reg >= APIC_TMR && reg < APIC_TMR + 0x80)
			v = a->tmr[(reg - APIC_TMR) >> 4];
		else if (reg >= APIC_IRR && reg < APIC_IRR + 0x80)
			v = a->irr[(reg - APIC_IRR) >> 4];
		else if (reg >= APIC_LVT_TIMER && reg <= APIC_LVT_ERROR)
			v = a->lvt[(reg - APIC_LVT_TIMER) >> 4];
		else
			return false;
	}
	*out = v;
	return true;
}

static void lvt_write(struct vlapic *a, u64 now, enum vlapic_lvt which, u32 value)
{
	u32 old_mode = timer_mode(a);

	value &= lvt_writable[which];
	if (!vlapic_sw_enabled(a))
		value |= APIC_LVT_MASKED; /* §11.4.7.2: masks stay set */
	a->lvt[which] = value;
	/* A change of timer mode disarms the timer (§11.5.4.1). */
	if (which == LVT_TIMER && timer_mode(a) != old_mode) {
		a->timer_initial = 0;
		a->tsc_deadline = 0;
		timer_stop(a);
	}
	(void)now;
}

/* Writes the register at offset in the form common to both modes (the
 * mode-specific ones are handled by the callers).  False if reserved. */
static bool reg_write(struct vlapic *a, u64 now, u32 reg, u32 value)
{
	switch (reg) {
	case APIC_TPR:
		a->tpr = value & 0xff;
		break;
	case APIC_EOI:
		eoi(a);
		break;
	case APIC_SVR:
		a->svr = value & 0x3ff;
		if (!(value & APIC_SVR_ENABLE)) /* software disable, §11.4.7.2 */
			for (unsigned i = 0; i < LVT_COUNT; i++)
				a->lvt[i] |= APIC_LVT_MASKED;
		break;
	case APIC_ESR:
		/* A write latches the errors since the last one (§11.5.3). */
		a->esr = a->esr_pending;
		a->esr_pending = 0;
		break;
	case APIC_TIMER_ICR:
		timer_start(a, now, value);
		vlapic_update_timer(a, now);
		break;
	case APIC_TIMER_DCR:
		a->timer_dcr = value & 0xb; /* takes effect at the next count */
		break;
	case APIC_TIMER_CCR:
	case APIC_ID:
	case APIC_VER:
	case APIC_PPR:
	case APIC_APR:
		break; /* read-only */
	default:
		if (reg >= APIC_LVT_TIMER && reg <= APIC_LVT_ERROR) {
			lvt_write(a, now, (enum vlapic_lvt)((reg - APIC_LVT_TIMER) >> 4), value);
			break;
		}
		if (reg >= APIC_ISR && reg < APIC_IRR + 0x80)
			break; /* read-only */
		return false;
	}
	return true;
}

u64 vlapic_mmio_read(struct vlapic *a, u64 now, u32 offset, unsigned size)
{
	u32 v = 0;

	offset &= 0xfff;
	/* Only bytes 0-3 of each 16-byte slot hold the register (§11.4.1). */
	if ((offset & 0xf) + size > 4)
		return 0;
	if (!reg_read(a, now, offset & ~0xfu, &v)) {
		/* §11.5.3: an access to an unimplemented register, read or
		 * write, sets "illegal register address". */
		esr_set(a, ESR_ILLEGAL_REGISTER);
		return 0;
	}
	v >>= 8 * (offset & 3);
	return size >= 4 ? v : v & ((1u << (8 * size)) - 1);
}

void vlapic_mmio_write(struct vlapic *a, u64 now, u32 offset, unsigned size, u64 value)
{
	u32 reg = offset & 0xff0;
	u32 v = (u32)value;

	if ((offset & 0xf) || size != 4)
		return;
	switch (reg) {
	case APIC_ID:
		a->id = v >> 24; /* writable in xAPIC mode on many models */
		return;
	case APIC_LDR:
		a->ldr = v & 0xff000000;
		return;
	case APIC_DFR:
		a->dfr = v | 0x0fffffff;
		return;
	case APIC_ICR_HI:
		a->icr_hi = v & 0xff000000;
		return;
	case APIC_ICR_LO:
		a->icr_lo = v & 0x000ccfff;
		send_ipi(a, a->icr_lo, a->icr_hi >> 24);
		return;
	default:
		if (!reg_write(a, now, reg, v))
			esr_set(a, ESR_ILLEGAL_REGISTER);
	}
}

/* The APIC base MSR (§11.4.4) and its mode transitions (§11.12.5): the
 * base's bits reach MAXPHYADDR - 1, those above are reserved (#GP). */
static int apic_base_write(struct vlapic *a, u64 value)
{
	const u64 base_bits = ((1ULL << cpu_policy_phys_bits()) - 1) & PAGE_MASK;
	const u64 valid = base_bits | APIC_BASE_BSP | APIC_BASE_EXTD | APIC_BASE_EN;
	u64 old = a->apic_base & (APIC_BASE_EN | APIC_BASE_EXTD);
	u64 new = value &(APIC_BASE_EN | APIC_BASE_EXTD);

	if (value & ~valid)
		return -E_INVAL;
	if (new == APIC_BASE_EXTD)
		return -E_INVAL; /* EN=0, EXTD=1 is invalid */
	if (old == (APIC_BASE_EN | APIC_BASE_EXTD) && new == APIC_BASE_EN)
		return -E_INVAL; /* x2APIC -> xAPIC only through disabled */
	if (old == 0 && new == (APIC_BASE_EN | APIC_BASE_EXTD))
		return -E_INVAL; /* disabled -> x2APIC only through xAPIC */
	if ((value & PAGE_MASK & 0x000fffffffffffffULL) != 0xfee00000ULL && !a->base_logged) {
		a->base_logged = true;
		log_line("hvm: partition %s: APIC base moved to 0x%llx: not supported, the APIC "
			 "stays at 0xfee00000",
			 a->name, (unsigned long long)(value & PAGE_MASK));
	}
	if (new == 0 && old != 0)
		regs_reset(a); /* a disabled APIC comes back as after reset */
	a->apic_base = (value & ~APIC_BASE_BSP) | (a->apic_base & APIC_BASE_BSP);
	return 0;
}

int vlapic_msr_read(struct vlapic *a, u64 now, u32 index, u64 *value)
{
	u32 v;

	if (index == MSR_IA32_APIC_BASE) {
		*value = a->apic_base;
		return 0;
	}
	if (index == MSR_IA32_TSC_DEADLINE) {
		/* reads 0 outside TSC-deadline mode (§11.5.4.1) */
		*value = timer_mode(a) == APIC_LVT_TIMER_TSC_DEADLINE ? a->tsc_deadline : 0;
		return 0;
	}
	if (index < MSR_X2APIC_FIRST || index > MSR_X2APIC_LAST)
		return -E_NOENT;
	if (!vlapic_x2apic(a))
		return -E_INVAL;		   /* §11.12.2 */
	u32 reg = (index - MSR_X2APIC_FIRST) << 4; /* §11.12.1.2, Table 11-6 */
	switch (reg) {
	case APIC_ID:
		*value = a->id;
		return 0;
	case APIC_LDR:
		*value = x2apic_ldr(a);
		return 0;
	case APIC_ICR_LO:
		*value = ((u64)a->icr_hi << 32) | a->icr_lo;
		return 0;
	case APIC_DFR:
	case APIC_APR:
	case APIC_EOI:
	case APIC_RRD:
	case APIC_ICR_HI:
	case APIC_SELF_IPI:
		return -E_INVAL; /* absent in x2APIC mode, or write-only */
	default:
		if (!reg_read(a, now, reg, &v))
			return -E_INVAL;
		*value = v;
		return 0;
	}
}

/* The bits of the ICR's low half in x2APIC mode: vector, delivery and
 * destination mode, level, trigger mode and shorthand (SDM Vol. 3A Table
 * 11-6 and §11.12.9). */
#define X2APIC_ICR_LO_BITS 0x000ccfffu

/*
 * The bits a WRMSR may set in a 32-bit x2APIC register (Table 11-6); a
 * read-only bit (delivery status, remote IRR) may be written, and stays
 * what it is.  0 for a register without writable bits: only a write of 0
 * passes this check (EOI and ESR, which must be written with 0).
 */
static u32 x2apic_writable_bits(u32 reg)
{
	switch (reg) {
	case APIC_TPR:
	case APIC_SELF_IPI:
		return 0xff;
	case APIC_SVR:
		return 0x3ff; /* vector, APIC enable, focus checking */
	case APIC_TIMER_ICR:
		return 0xffffffff;
	case APIC_TIMER_DCR:
		return 0xb;
	case APIC_LVT_TIMER:
		return 0x710ff; /* vector, status, mask, timer mode */
	case APIC_LVT_THERMAL:
	case APIC_LVT_PERF:
		return 0x117ff; /* vector, delivery mode, status, mask */
	case APIC_LVT_LINT0:
	case APIC_LVT_LINT1:
		return 0x1f7ff; /* and polarity, remote IRR, trigger mode */
	case APIC_LVT_ERROR:
		return 0x110ff;
	default:
		return 0;
	}
}

int vlapic_msr_write(struct vlapic *a, u64 now, u32 index, u64 value)
{
	if (index == MSR_IA32_APIC_BASE)
		return apic_base_write(a, value);
	if (index == MSR_IA32_TSC_DEADLINE) {
		if (timer_mode(a) != APIC_LVT_TIMER_TSC_DEADLINE)
			return 0; /* ignored outside TSC-deadline mode */
		a->tsc_deadline = value;
		a->timer_next = value ? MAX(vlapic_tsc_to_ns(a, value), 1ULL) : 0;
		vlapic_update_timer(a, now);
		return 0;
	}
	if (index < MSR_X2APIC_FIRST || index > MSR_X2APIC_LAST)
		return -E_NOENT;
	if (!vlapic_x2apic(a))
		return -E_INVAL;
	u32 reg = (index - MSR_X2APIC_FIRST) << 4;
	if (reg == APIC_ICR_LO) {
		/* One 64-bit ICR; writing it sends (§11.12.9).  Its low half
		 * has no delivery status in x2APIC mode: bit 12 is reserved. */
		if ((u32)value & ~X2APIC_ICR_LO_BITS)
			return -E_INVAL;
		a->icr_lo = (u32)value;
		a->icr_hi = (u32)(value >> 32);
		send_ipi(a, a->icr_lo, a->icr_hi);
		return 0;
	}
	/* §11.12.1.3: a non-zero write to a reserved bit is a #GP. */
	if (value & ~(u64)x2apic_writable_bits(reg))
		return -E_INVAL;
	switch (reg) {
	case APIC_SELF_IPI:
		/* §11.12.11: a self-IPI with the vector in bits 7:0 */
		if ((value & 0xff) < 16)
			esr_set(a, ESR_SEND_ILLEGAL_VECTOR);
		else
			vlapic_set_irq(a, (u8)value, false);
		return 0;
	case APIC_EOI:
	case APIC_ESR:
		if (value)
			return -E_INVAL; /* only 0 may be written */
		return reg_write(a, now, reg, 0) ? 0 : -E_INVAL;
	case APIC_TPR:
	case APIC_SVR:
	case APIC_TIMER_ICR:
	case APIC_TIMER_DCR:
		reg_write(a, now, reg, (u32)value);
		return 0;
	default:
		if (reg >= APIC_LVT_TIMER && reg <= APIC_LVT_ERROR) {
			reg_write(a, now, reg, (u32)value);
			return 0;
		}
		return -E_INVAL; /* read-only or reserved */
	}
}

/* ------------------------------------- messages (I/O APIC and MSI) -- */

bool vlapic_message_matches(const struct vlapic *a, u8 dest, bool logical)
{
	if (!logical)
		return dest == 0xff || (vlapic_x2apic(a) ? a->id == dest : (a->id & 0xff) == dest);
	if (vlapic_x2apic(a)) {
		u32 ldr = x2apic_ldr(a);
		return (ldr >> 16) == 0 && (dest & ldr & 0xffff);
	}
	u32 ldr = a->ldr >> 24;
	if ((a->dfr >> 28) == 0xf) /* flat model, §11.6.2.2 */
		return dest & ldr;
	/* cluster model: cluster in 7:4 (15 is broadcast), members in 3:0 */
	return ((dest >> 4) == 0xf || (dest >> 4) == (ldr >> 4)) && (dest & ldr & 0xf);
}

bool vlapic_deliver(struct vlapic *a, u8 dest, bool logical, unsigned mode, u8 vector, bool level)
{
	if (!vlapic_message_matches(a, dest, logical))
		return false;
	if (mode == VLAPIC_DM_FIXED || mode == VLAPIC_DM_LOWEST) {
		/* one CPU: lowest priority arbitration always picks it */
		if (!vlapic_sw_enabled(a))
			return false;
		vlapic_set_irq(a, vector, level);
		return vector >= 16;
	}
	if (mode == VLAPIC_DM_NMI) {
		/* §11.11.2: the vector is ignored, and the trigger mode: it
		 * sets no IRR bit, so no remote IRR waits for an EOI */
		a->nmi_pending = true;
		return false;
	}
	if (!a->msg_logged) {
		a->msg_logged = true;
		log_line("hvm: partition %s: interrupt message with delivery mode %u (vector 0x%x) "
			 "not delivered (logged once)",
			 a->name, mode, vector);
	}
	return false;
}

bool vlapic_deliver32(struct vlapic *a, u32 dest, bool logical, unsigned mode, u8 vector,
		      bool level)
{
	bool match;

	if (!vlapic_x2apic(a))
		return dest <= 0xff && vlapic_deliver(a, (u8)dest, logical, mode, vector, level);
	/* §11.12.10: physical 0xffffffff is the broadcast; logical is a
	 * cluster (31:16) and a bitmap of its 16 members (15:0). */
	if (!logical) {
		match = dest == 0xffffffffu || dest == a->id;
	} else {
		u32 ldr = x2apic_ldr(a);
		match = (dest >> 16) == (ldr >> 16) && (dest & ldr & 0xffff);
	}
	if (!match)
		return false;
	/* the same delivery as an 8-bit message that matched: a broadcast */
	return vlapic_deliver(a, 0xff, false, mode, vector, level);
}
