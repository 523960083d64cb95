/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Sub-tests of the local APIC (Intel SDM Vol. 3A chapter 11, "APIC"; the
 * section numbers below are of that chapter): the xAPIC registers (ID,
 * version, TPR and PPR, LDR and DFR, ESR, ICR), IPIs to itself (fixed,
 * NMI, INIT and SIPI to others), the timer in its three modes, CR8 as the
 * TPR (10.8.6.1; AMD APM Vol. 2 16.6.4), and the x2APIC MSR interface
 * (11.12) in its own group, run after the xAPIC ones.
 */
#include "guests/conformance/conf.h"

#define APIC_ID 0x20
#define APIC_VER 0x30
#define APIC_TPR 0x80
#define APIC_PPR 0xa0
#define APIC_EOI 0xb0
#define APIC_LDR 0xd0
#define APIC_DFR 0xe0
#define APIC_SVR 0xf0
#define APIC_ISR 0x100
#define APIC_IRR 0x200
#define APIC_ESR 0x280
#define APIC_ICR_LO 0x300
#define APIC_ICR_HI 0x310
#define APIC_LVT_TIMER 0x320
#define APIC_LVT_ERROR 0x370
#define APIC_TIMER_ICR 0x380
#define APIC_TIMER_CCR 0x390
#define APIC_TIMER_DCR 0x3e0

#define ICR_FIXED (0u << 8)
#define ICR_NMI (4u << 8)
#define ICR_INIT (5u << 8)
#define ICR_SIPI (6u << 8)
#define ICR_LOGICAL (1u << 11)
#define ICR_ASSERT (1u << 14)
#define ICR_LEVEL (1u << 15)
#define ICR_SELF (1u << 18)
#define ICR_ALL (2u << 18)
#define ICR_OTHERS (3u << 18)

#define MSR_APIC_BASE 0x1b
#define MSR_TSC_DEADLINE 0x6e0

static const char *vname(int e)
{
	return e >= 0 ? vector_names[e] : "no exception";
}

static u8 apic_id(void)
{
	return (u8)(lapic_read(APIC_ID) >> 24);
}

bool apic_setup_xapic(void)
{
	u64 base;

	if (rdmsr_safe(MSR_APIC_BASE, &base) >= 0)
		return false;
	if ((base & 0xc00) != 0x800)
		return false; /* disabled or x2APIC: not ours to change here */
	cli();
	lapic_write(APIC_SVR, 0x100 | 0xff);
	lapic_write(APIC_TPR, 0);
	lapic_write(APIC_LVT_TIMER, 1u << 16);
	lapic_write(APIC_TIMER_ICR, 0);
	lapic_write(APIC_LVT_ERROR, VEC_ERROR);
	lapic_write(APIC_ESR, 0);
	lapic_write(APIC_ESR, 0);
	/* Anything left in service from an aborted sub-test. */
	for (int i = 0; i < 8; i++)
		if (lapic_read(APIC_ISR + 0x10 * (u32)i))
			lapic_write(APIC_EOI, 0);
	eoi_kind = EOI_XAPIC;
	return true;
}

static void need_xapic(void)
{
	if (!apic_setup_xapic())
		skip("the local APIC is not in xAPIC mode");
}

void xapic_send(u32 icr_lo, u8 dest)
{
	lapic_write(APIC_ICR_HI, (u32)dest << 24);
	lapic_write(APIC_ICR_LO, icr_lo);
}

static bool irr_bit(u8 v)
{
	return lapic_read(APIC_IRR + 0x10 * (v / 32u)) & (1u << (v % 32));
}

/* Lets pending interrupts in for a while; the count of vector v after. */
static u32 settle(u8 v)
{
	u32 before = irq_count[v];
	wait_count(&irq_count[v], before + 1000000, 300000); /* 300 us */
	return irq_count[v];
}

/* ---- Registers. */

static void t_apic_id_version(void)
{
	need_xapic();
	u32 id = lapic_read(APIC_ID), ver = lapic_read(APIC_VER);
	check_eq("APIC ID register bits 31:24 (CPUID initial APIC ID)", id >> 24, pf.l1.b >> 24);
	check((ver & 0xff) >= 0x10 && (ver & 0xff) <= 0x15,
	      "version 7:0: expected 0x10-0x15 (integrated APIC, 11.4.8) got %#x", ver & 0xff);
	u32 max_lvt = (ver >> 16) & 0xff;
	check(max_lvt >= 4 && max_lvt <= 6, "max LVT entry 23:16: expected 4-6 got %u", max_lvt);
}

/* 11.8.3.1: PPR = TPR if TPR[7:4] >= ISRV[7:4], else ISRV[7:4] << 4. */
static volatile u32 seen_ppr, seen_isr;
static void hook_ppr(struct frame *f)
{
	(void)f;
	seen_ppr = lapic_read(APIC_PPR);
	seen_isr = lapic_read(APIC_ISR + 0x10 * (0x81 / 32));
	irq_count[0x81]++;
	lapic_write(APIC_EOI, 0);
}

static void t_apic_tpr_ppr(void)
{
	need_xapic();
	lapic_write(APIC_TPR, 0x3c);
	check_eq("TPR after writing 0x3c", lapic_read(APIC_TPR) & 0xff, 0x3c);
	check_eq("PPR with TPR 0x3c and nothing in service", lapic_read(APIC_PPR) & 0xff, 0x3c);
	lapic_write(APIC_TPR, 0);
	check_eq("PPR with TPR 0", lapic_read(APIC_PPR) & 0xff, 0);

	isr_hooks[0x81] = hook_ppr;
	static const u8 tprs[] = { 0x00, 0x75, 0x7f };
	static const u32 want[] = { 0x80, 0x80, 0x80 };
	for (unsigned i = 0; i < ARRAY_SIZE(tprs); i++) {
		lapic_write(APIC_TPR, tprs[i]);
		seen_ppr = 0xdead;
		u32 n = irq_count[0x81];
		xapic_send(ICR_SELF | 0x81, 0);
		settle(0x81);
		check(irq_count[0x81] == n + 1, "self-IPI 0x81 with TPR %#x: not delivered",
		      tprs[i]);
		check(seen_ppr == want[i],
		      "PPR in the handler of 0x81 with TPR %#x: expected %#x got %#x", tprs[i],
		      want[i], seen_ppr);
		check(seen_isr & (1u << (0x81 % 32)), "ISR bit of 0x81 in its handler: clear");
	}
	lapic_write(APIC_TPR, 0x95);
	xapic_send(ICR_SELF | 0x81, 0);
	settle(0x81);
	check(irr_bit(0x81), "0x81 with TPR 0x95: expected held in IRR");
	lapic_write(APIC_TPR, 0x7f);
	settle(0x81);
	check(!irr_bit(0x81), "0x81 after lowering TPR to 0x7f: still in IRR");
	lapic_write(APIC_TPR, 0);
	isr_hooks[0x81] = NULL;
}

/* 11.8.3: a fixed interrupt waits in IRR while its priority class is not
 * above PPR's. */
static void t_apic_tpr_masking(void)
{
	need_xapic();
	lapic_write(APIC_TPR, 0x50);
	u32 n45 = irq_count[0x45], n65 = irq_count[0x65];
	xapic_send(ICR_SELF | 0x45, 0);
	xapic_send(ICR_SELF | 0x65, 0);
	settle(0x45);
	check_eq("0x65 with TPR 0x50: delivered", irq_count[0x65] - n65, 1);
	check_eq("0x45 with TPR 0x50: held", irq_count[0x45] - n45, 0);
	check(irr_bit(0x45), "0x45 with TPR 0x50: expected its IRR bit set");
	lapic_write(APIC_TPR, 0x40);
	settle(0x45);
	check_eq("0x45 with TPR 0x40 (same class): still held", irq_count[0x45] - n45, 0);
	lapic_write(APIC_TPR, 0x30);
	settle(0x45);
	check_eq("0x45 with TPR 0x30: delivered", irq_count[0x45] - n45, 1);
	lapic_write(APIC_TPR, 0);
}

/* 11.6.2.2: LDR bits 31:24 and DFR bits 31:28 are the writable ones; the
 * rest of DFR reads as ones.  Flat and cluster logical destinations. */
static void t_apic_ldr_dfr(void)
{
	need_xapic();
	check_eq("DFR at reset", lapic_read(APIC_DFR), 0xffffffff);
	u32 ldr0 = lapic_read(APIC_LDR);
	lapic_write(APIC_LDR, 0xab000000);
	check_eq("LDR after writing 0xab000000", lapic_read(APIC_LDR), 0xab000000);
	lapic_write(APIC_DFR, 0x0fffffff);
	check_eq("DFR after writing the cluster model", lapic_read(APIC_DFR), 0x0fffffff);
	lapic_write(APIC_DFR, 0xffffffff);

	/* Flat: LDR 0x01 << 24; destination 0x01 reaches it, 0x02 does not. */
	lapic_write(APIC_LDR, 0x01000000);
	u32 n = irq_count[0x42];
	xapic_send(ICR_LOGICAL | 0x42, 0x01);
	settle(0x42);
	check_eq("flat logical destination 0x01 (LDR 0x01)", irq_count[0x42] - n, 1);
	n = irq_count[0x42];
	xapic_send(ICR_LOGICAL | 0x42, 0x02);
	settle(0x42);
	check_eq("flat logical destination 0x02 (LDR 0x01)", irq_count[0x42] - n, 0);
	/* Cluster: cluster 2, member bit 0. */
	lapic_write(APIC_DFR, 0x0fffffff);
	lapic_write(APIC_LDR, 0x21000000);
	n = irq_count[0x42];
	xapic_send(ICR_LOGICAL | 0x42, 0x21);
	settle(0x42);
	check_eq("cluster destination 0x21 (LDR 0x21)", irq_count[0x42] - n, 1);
	n = irq_count[0x42];
	xapic_send(ICR_LOGICAL | 0x42, 0x11);
	settle(0x42);
	check_eq("cluster destination 0x11 (LDR 0x21)", irq_count[0x42] - n, 0);
	lapic_write(APIC_DFR, 0xffffffff);
	lapic_write(APIC_LDR, ldr0);
}

/* 11.5.3: the ESR shows the errors since it was last written; writing it
 * latches them.  A fixed IPI with a vector below 16 is "send illegal
 * vector" (bit 5); the error LVT then interrupts. */
static void hook_count(struct frame *f)
{
	irq_count[f->vector & 0xff]++;
}

static void t_apic_esr_illegal_vector(void)
{
	need_xapic();
	isr_hooks[3] = hook_count;
	irq_count[3] = 0;
	check_eq("ESR after two writes", lapic_read(APIC_ESR), 0);
	u32 n = irq_count[VEC_ERROR];
	xapic_send(ICR_SELF | 3, 0);
	settle(VEC_ERROR);
	lapic_write(APIC_ESR, 0);
	u32 esr = lapic_read(APIC_ESR);
	check(esr & (1u << 5), "ESR after a self-IPI with vector 3: bit 5 expected, got %#x", esr);
	check(irq_count[VEC_ERROR] > n, "error LVT (vector %#x): no interrupt", VEC_ERROR);
	check_eq("the illegal vector 3 delivered: times", irq_count[3], 0);
	isr_hooks[3] = NULL;
	lapic_write(APIC_ESR, 0);
	check_eq("ESR written again", lapic_read(APIC_ESR), 0);
}

/* 11.5.3 bit 7, Illegal Register Address: an access to a reserved
 * register offset. */
static void t_apic_esr_illegal_register(void)
{
	need_xapic();
	lapic_write(0x040, 0x1234);
	lapic_write(APIC_ESR, 0);
	u32 w = lapic_read(APIC_ESR);
	lapic_write(APIC_ESR, 0);
	check(w & (1u << 7), "ESR after a write to reserved offset 0x40: bit 7 expected, got %#x",
	      w);
	(void)lapic_read(0x050);
	lapic_write(APIC_ESR, 0);
	u32 r = lapic_read(APIC_ESR);
	lapic_write(APIC_ESR, 0);
	check(r & (1u << 7), "ESR after a read of reserved offset 0x50: bit 7 expected, got %#x",
	      r);
}

/* 11.6.1: destination shorthands and physical destinations. */
static void t_apic_self_ipi(void)
{
	need_xapic();
	static const struct {
		u32 lo;
		int dest; /* -1: own ID */
		u32 want;
		const char *what;
	} c[] = {
		{ ICR_SELF, 0, 1, "shorthand self" },
		{ ICR_ALL, 0, 1, "shorthand all including self" },
		{ ICR_OTHERS, 0, 0, "shorthand all excluding self" },
		{ 0, -1, 1, "physical destination = own APIC ID" },
		{ 0, 0xff, 1, "physical broadcast 0xff" },
		{ 0, -2, 0, "physical destination = another APIC ID" },
	};
	for (unsigned i = 0; i < ARRAY_SIZE(c); i++) {
		u8 dest = c[i].dest == -1 ? apic_id() :
			  c[i].dest == -2 ? (u8)(apic_id() + 3) :
					    (u8)c[i].dest;
		u32 n = irq_count[VEC_SELF];
		xapic_send(c[i].lo | VEC_SELF, dest);
		settle(VEC_SELF);
		check(irq_count[VEC_SELF] - n == c[i].want, "%s: expected %u interrupts got %u",
		      c[i].what, c[i].want, irq_count[VEC_SELF] - n);
		check(!(lapic_read(APIC_ICR_LO) & (1u << 12)), "%s: delivery status still pending",
		      c[i].what);
	}
}

/* The ICR's fields read back as written (11.6.1); delivery status idle. */
static void t_apic_icr_readback(void)
{
	need_xapic();
	xapic_send(ICR_FIXED | 0x47, (u8)(apic_id() + 5));
	check_eq("ICR high after an IPI to another ID", lapic_read(APIC_ICR_HI),
		 (u32)(u8)(apic_id() + 5) << 24);
	check_eq("ICR low (vector 0x47, fixed, physical, idle)", lapic_read(APIC_ICR_LO) & 0xcdfff,
		 0x47);
	settle(0x47);
}

/* NMI to itself (delivery mode 100b to its own ID, and all-including-
 * self): the NMI handler runs once; a second NMI sent from inside the
 * handler waits for its IRET (SDM Vol. 3A 6.7.1). */
static volatile u32 nmi_nested_inside;
static void hook_nmi(struct frame *f)
{
	(void)f;
	irq_count[2]++;
	if (irq_count[2] == 1) {
		xapic_send(ICR_NMI, apic_id());
		delay_ns(100000);
		nmi_nested_inside = irq_count[2];
	}
}

static void t_apic_nmi_self(void)
{
	need_xapic();
	irq_count[2] = 0;
	isr_hooks[2] = hook_nmi;
	nmi_nested_inside = 0;
	xapic_send(ICR_NMI, apic_id());
	for (int i = 0; i < 100000 && irq_count[2] < 2; i++)
		pause();
	delay_ns(200000);
	check(irq_count[2] >= 1, "NMI IPI to its own APIC ID: the NMI never arrived");
	check(nmi_nested_inside == 1,
	      "second NMI inside the handler: expected held (count 1) got %u", nmi_nested_inside);
	check_eq("NMIs after the handler's IRET", irq_count[2], 2);
	u32 n = irq_count[2];
	xapic_send(ICR_NMI | ICR_ALL, 0);
	delay_ns(200000);
	check_eq("NMI to all including self", irq_count[2] - n, 1);
	isr_hooks[2] = NULL;
}

/* INIT and SIPI to the others, as an OS starting its APs sends them, and
 * INIT level de-assert (ignored by P4 and later, 11.6.1): nothing happens
 * to this CPU, and no error is recorded. */
static void t_apic_init_sipi_others(void)
{
	need_xapic();
	static const struct {
		u32 lo;
		int dest;
		const char *what;
	} ipis[] = {
		{ ICR_INIT | ICR_ASSERT | ICR_LEVEL | ICR_OTHERS, 0,
		  "INIT assert to all excluding self" },
		{ ICR_INIT | ICR_LEVEL | ICR_ALL, 0, "INIT level de-assert to all" },
		{ ICR_SIPI | ICR_ASSERT | ICR_OTHERS | 0x9f, 0, "SIPI to all excluding self" },
		{ ICR_INIT | ICR_ASSERT | ICR_LEVEL, -1, "INIT to another APIC ID" },
	};
	for (unsigned i = 0; i < ARRAY_SIZE(ipis); i++) {
		lapic_write(APIC_ESR, 0);
		u32 before = lapic_read(APIC_ESR);
		xapic_send(ipis[i].lo, ipis[i].dest < 0 ? (u8)(apic_id() + 7) : 0);
		delay_ns(100000);
		lapic_write(APIC_ESR, 0);
		u32 esr = lapic_read(APIC_ESR);
		check(!(esr & ~before), "ESR after %s: new errors %#x", ipis[i].what,
		      esr & ~before);
	}
	check(!(lapic_read(APIC_ICR_LO) & (1u << 12)), "delivery status still pending");
}

/* Software disable (SVR bit 8 clear, 11.4.7.2): LVTs masked and kept
 * masked, fixed IPIs not accepted; enabled again, they are. */
static void t_apic_sw_disable(void)
{
	need_xapic();
	lapic_write(APIC_SVR, 0xff);
	lapic_write(APIC_LVT_TIMER, VEC_TIMER);
	check(lapic_read(APIC_LVT_TIMER) & (1u << 16),
	      "LVT timer unmasked while software-disabled");
	u32 n = irq_count[VEC_SELF];
	xapic_send(ICR_SELF | VEC_SELF, 0);
	settle(VEC_SELF);
	check_eq("self-IPI while software-disabled", irq_count[VEC_SELF] - n, 0);
	lapic_write(APIC_SVR, 0x1ff);
	settle(VEC_SELF);
	xapic_send(ICR_SELF | VEC_SELF, 0);
	settle(VEC_SELF);
	check(irq_count[VEC_SELF] - n >= 1, "self-IPI after enabling again: not delivered");
	lapic_write(APIC_LVT_TIMER, 1u << 16);
}

/* ---- Timer (11.5.4). */

static void t_apic_timer_oneshot(void)
{
	need_xapic();
	lapic_write(APIC_TIMER_DCR, 0xb); /* divide by 1 */
	u32 n = irq_count[VEC_TIMER];
	/* 5 ms at a 1 GHz bus (QEMU's and Partita's), long enough for an
	 * emulator that needs thousands of instructions per exit */
	const u32 count = 5000000;
	lapic_write(APIC_LVT_TIMER, VEC_TIMER);
	lapic_write(APIC_TIMER_ICR, count);
	u32 c1 = lapic_read(APIC_TIMER_CCR);
	check(c1 > 0 && c1 <= count, "current count just after the start: got %u", c1);
	check(wait_count(&irq_count[VEC_TIMER], n + 1, 200000000),
	      "one-shot: no interrupt in 200 ms");
	settle(VEC_TIMER);
	delay_ns(10000000);
	settle(VEC_TIMER);
	check_eq("one-shot: interrupts", irq_count[VEC_TIMER] - n, 1);
	check_eq("current count after expiry", lapic_read(APIC_TIMER_CCR), 0);
	check_eq("initial count kept", lapic_read(APIC_TIMER_ICR), count);
	lapic_write(APIC_LVT_TIMER, 1u << 16);
}

static void t_apic_timer_periodic(void)
{
	need_xapic();
	lapic_write(APIC_TIMER_DCR, 0xb);
	u32 n = irq_count[VEC_TIMER];
	lapic_write(APIC_LVT_TIMER, VEC_TIMER | (1u << 17));
	/* 5 ms at 1 GHz: a period that leaves the guest time to run between
	 * interrupts also when each exit costs thousands of instructions of
	 * the emulator's instruction-counted time */
	const u32 period = (u32)cmdline_u64("period=", 5000000);
	lapic_write(APIC_TIMER_ICR, period);
	check(wait_count(&irq_count[VEC_TIMER], n + 5, 500000000),
	      "periodic: fewer than 5 interrupts in 500 ms (%u)", irq_count[VEC_TIMER] - n);
	u32 c = lapic_read(APIC_TIMER_CCR);
	check(c > 0 && c <= period, "periodic: current count %u outside 1-%u (reloads)", c, period);
	lapic_write(APIC_LVT_TIMER, 1u << 16);
	lapic_write(APIC_TIMER_ICR, 0);
}

static void t_apic_timer_masked(void)
{
	need_xapic();
	lapic_write(APIC_TIMER_DCR, 0xb);
	/* A periodic tick of the sub-test before that was in IRR when it
	 * masked the timer is still delivered (masking stops new ones only,
	 * SDM Vol. 3A §11.5.1): let it in before counting. */
	u32 n = settle(VEC_TIMER);
	lapic_write(APIC_LVT_TIMER, VEC_TIMER | (1u << 16));
	lapic_write(APIC_TIMER_ICR, 1000000);
	delay_ns(5000000);
	settle(VEC_TIMER);
	check_eq("masked timer: interrupts", irq_count[VEC_TIMER] - n, 0);
	check_eq("masked timer: current count after 5 ms (1 ms at 1 GHz)",
		 lapic_read(APIC_TIMER_CCR), 0);
}

/* The divide configuration: the count falls 16 times slower at divide by
 * 16 than at divide by 1 (measured against the TSC, both in real time). */
static u64 count_rate(u32 dcr)
{
	lapic_write(APIC_TIMER_DCR, dcr);
	lapic_write(APIC_LVT_TIMER, 1u << 16);
	lapic_write(APIC_TIMER_ICR, 0xffffffff);
	u64 t0 = rdtsc();
	u32 c0 = lapic_read(APIC_TIMER_CCR);
	delay_ns(500000);
	u32 c1 = lapic_read(APIC_TIMER_CCR);
	u64 t1 = rdtsc();
	lapic_write(APIC_TIMER_ICR, 0);
	/* counts per million TSC ticks */
	return t1 > t0 ? (u64)(c0 - c1) * 1000000ULL / (t1 - t0) : 0;
}

static void t_apic_timer_divide(void)
{
	need_xapic();
	u64 r1 = count_rate(0xb), r16 = count_rate(0x3);
	check(r1 > 0 && r16 > 0, "timer does not count: rate %llu at divide 1, %llu at 16",
	      (unsigned long long)r1, (unsigned long long)r16);
	if (r16)
		check(r1 / r16 >= 12 && r1 / r16 <= 20,
		      "rate at divide 1 / rate at divide 16: expected about 16 got %llu",
		      (unsigned long long)(r1 / r16));
	note("timer counts %llu per 10^6 TSC ticks at divide 1", (unsigned long long)r1);
}

/* The current count, and the TSC when it was read (from reads just
 * before and after that were close, not split by a window end): the
 * closest pair of up to 10 tries, since under an emulator every read's
 * exit may take longer than 200 us (Bochs: about 4 instructions a us), and
 * the last try is then no better than a split one. */
static u32 ccr_at(u64 *tsc)
{
	u64 best = ~0ull;
	u32 c = 0;

	for (int i = 0; i < 10; i++) {
		u64 a = rdtsc();
		u32 v = lapic_read(APIC_TIMER_CCR);
		u64 b = rdtsc();
		if (b - a < best) {
			best = b - a;
			*tsc = a + (b - a) / 2;
			c = v;
		}
		if (b - a < pf.tsc_hz / 5000) /* 200 us */
			break;
	}
	return c;
}

/* The timer counts in real time as the TSC does, also across the times
 * the partition does not run (25 ms: at least two ends of its window). */
static void t_apic_timer_real_time(void)
{
	need_xapic();
	lapic_write(APIC_TIMER_DCR, 0x3); /* divide by 16 */
	lapic_write(APIC_LVT_TIMER, 1u << 16);
	lapic_write(APIC_TIMER_ICR, 0xffffffff);
	u64 t0, t1, t2;
	u32 c0 = ccr_at(&t0);
	delay_ns(2000000);
	u32 c1 = ccr_at(&t1);
	delay_ns(25000000);
	u32 c2 = ccr_at(&t2);
	lapic_write(APIC_TIMER_ICR, 0);
	/* the rate over 2 ms gives the expected fall over the 25 ms */
	u64 want = (u64)(c0 - c1) * (t2 - t1) / (t1 - t0 ? t1 - t0 : 1), got = c1 - c2;
	check(got + got / 20 >= want && got <= want + want / 20,
	      "count fell by %llu over %llu TSC ticks, expected about %llu (its rate over 2 ms)",
	      (unsigned long long)got, (unsigned long long)(t2 - t1), (unsigned long long)want);
}

static volatile u64 tsc_in_handler;
static void hook_timer_tsc(struct frame *f)
{
	(void)f;
	tsc_in_handler = rdtsc();
	irq_count[VEC_TIMER]++;
	lapic_write(APIC_EOI, 0);
}

static void need_tsc_deadline(void)
{
	if (!(pf.l1.c & (1u << 24)))
		skip("no TSC-deadline timer in CPUID.1:ECX[24]");
	need_xapic();
}

/* 11.5.4.1: mode 10b; the interrupt comes when the TSC reaches
 * IA32_TSC_DEADLINE, which then reads 0; writing 0 disarms; the initial
 * count is ignored; leaving the mode disarms. */
static void t_apic_timer_tsc_deadline(void)
{
	need_tsc_deadline();
	isr_hooks[VEC_TIMER] = hook_timer_tsc;
	lapic_write(APIC_LVT_TIMER, VEC_TIMER | (2u << 17));
	u32 n = irq_count[VEC_TIMER];
	u64 dl = rdtsc() + pf.tsc_hz / 2000; /* 500 us */
	wrmsr(MSR_TSC_DEADLINE, dl);
	check_eq("IA32_TSC_DEADLINE armed", rdmsr(MSR_TSC_DEADLINE), dl);
	check(wait_count(&irq_count[VEC_TIMER], n + 1, 100000000), "no interrupt within 100 ms");
	check(tsc_in_handler >= dl, "interrupt before the deadline: TSC %#llx < %#llx",
	      (unsigned long long)tsc_in_handler, (unsigned long long)dl);
	check_eq("IA32_TSC_DEADLINE after it fired", rdmsr(MSR_TSC_DEADLINE), 0);

	n = irq_count[VEC_TIMER];
	wrmsr(MSR_TSC_DEADLINE, 1); /* in the past: at once */
	check(wait_count(&irq_count[VEC_TIMER], n + 1, 10000000),
	      "deadline in the past: no interrupt");

	n = irq_count[VEC_TIMER];
	wrmsr(MSR_TSC_DEADLINE, rdtsc() + pf.tsc_hz / 50); /* 20 ms */
	wrmsr(MSR_TSC_DEADLINE, 0);
	delay_ns(40000000);
	settle(VEC_TIMER);
	check_eq("deadline disarmed by writing 0: interrupts", irq_count[VEC_TIMER] - n, 0);

	lapic_write(APIC_TIMER_ICR, 1000);
	delay_ns(100000);
	settle(VEC_TIMER);
	check_eq("initial count in TSC-deadline mode (ignored): interrupts",
		 irq_count[VEC_TIMER] - n, 0);
	check_eq("current count in TSC-deadline mode", lapic_read(APIC_TIMER_CCR), 0);

	wrmsr(MSR_TSC_DEADLINE, rdtsc() + pf.tsc_hz / 50);
	lapic_write(APIC_LVT_TIMER, VEC_TIMER); /* one-shot: disarms */
	delay_ns(40000000);
	settle(VEC_TIMER);
	check_eq("deadline after leaving the mode: interrupts", irq_count[VEC_TIMER] - n, 0);
	check_eq("IA32_TSC_DEADLINE outside the mode", rdmsr(MSR_TSC_DEADLINE), 0);
	lapic_write(APIC_LVT_TIMER, 1u << 16);
	isr_hooks[VEC_TIMER] = NULL;
}

/* The deadline is in the guest's TSC: after WRMSR TSC moved it, a
 * deadline 1 ms ahead fires about 1 ms later, not at once or never. */
static void t_apic_tsc_deadline_after_tsc_write(void)
{
	need_tsc_deadline();
	u64 t0 = rdtsc(), shift = 1ULL << 40;
	wrmsr(0x10, t0 + shift);
	u64 g = rdtsc();
	if (g < t0 + shift) {
		wrmsr(0x10, t0 + (g - t0));
		skip("WRMSR TSC does not change the TSC (see msr-tsc-write)");
	}
	isr_hooks[VEC_TIMER] = hook_timer_tsc;
	lapic_write(APIC_LVT_TIMER, VEC_TIMER | (2u << 17));
	u32 n = irq_count[VEC_TIMER];
	u64 dl = rdtsc() + pf.tsc_hz / 1000;
	wrmsr(MSR_TSC_DEADLINE, dl);
	bool fired = wait_count(&irq_count[VEC_TIMER], n + 1, 100000000);
	u64 at = tsc_in_handler;
	lapic_write(APIC_LVT_TIMER, 1u << 16);
	isr_hooks[VEC_TIMER] = NULL;
	wrmsr(0x10, rdtsc() - shift);
	check(fired, "deadline 1 ms ahead after the TSC moved by 2^40: no interrupt within 100 ms");
	if (fired)
		check(at >= dl, "it fired before its deadline (TSC %#llx < %#llx)",
		      (unsigned long long)at, (unsigned long long)dl);
}

/* CR8 is the TPR's bits 7:4 (SDM 10.8.6.1), both ways, and masks. */
static void t_cr8_tpr(void)
{
	need_xapic();
	write_cr8(5);
	check_eq("TPR after MOV CR8 <- 5", lapic_read(APIC_TPR) & 0xff, 0x50);
	lapic_write(APIC_TPR, 0x70);
	check_eq("CR8 after TPR <- 0x70", read_cr8(), 7);
	write_cr8(5);
	u32 n45 = irq_count[0x45], n65 = irq_count[0x65];
	xapic_send(ICR_SELF | 0x45, 0);
	xapic_send(ICR_SELF | 0x65, 0);
	settle(0x45);
	check_eq("0x65 with CR8 5: delivered", irq_count[0x65] - n65, 1);
	check_eq("0x45 with CR8 5: held", irq_count[0x45] - n45, 0);
	write_cr8(3);
	settle(0x45);
	check_eq("0x45 after CR8 <- 3: delivered", irq_count[0x45] - n45, 1);
	write_cr8(0);
	check_eq("TPR after CR8 <- 0", lapic_read(APIC_TPR) & 0xff, 0);
}

const struct subtest tests_apic[] = {
	{ "apic-id-version", t_apic_id_version, NULL, NULL },
	{ "apic-tpr-ppr", t_apic_tpr_ppr, NULL, NULL },
	{ "apic-tpr-masking", t_apic_tpr_masking, NULL, NULL },
	{ "apic-ldr-dfr", t_apic_ldr_dfr, NULL, NULL },
	{ "apic-esr-illegal-vector", t_apic_esr_illegal_vector,
	  "QEMU's APIC delivers fixed IPIs with vectors 0-15 and records no illegal vector in the ESR",
	  NULL },
	{ "apic-esr-illegal-register", t_apic_esr_illegal_register, NULL, NULL },
	{ "apic-self-ipi", t_apic_self_ipi, NULL, NULL },
	{ "apic-icr-readback", t_apic_icr_readback, NULL, NULL },
	{ "apic-nmi-self", t_apic_nmi_self, NULL, NULL },
	{ "apic-init-sipi-others", t_apic_init_sipi_others, NULL, NULL },
	{ "apic-sw-disable", t_apic_sw_disable,
	  "QEMU's APIC lets software clear LVT masks while it is software-disabled", NULL },
	{ "apic-timer-oneshot", t_apic_timer_oneshot, NULL, NULL },
	{ "apic-timer-periodic", t_apic_timer_periodic, NULL, NULL },
	{ "apic-timer-masked", t_apic_timer_masked, NULL, NULL },
	{ "apic-timer-divide", t_apic_timer_divide, NULL, NULL },
	{ "apic-timer-real-time", t_apic_timer_real_time, NULL, NULL },
	{ "apic-timer-tsc-deadline", t_apic_timer_tsc_deadline, NULL, NULL },
	{ "apic-tsc-deadline-after-tsc-write", t_apic_tsc_deadline_after_tsc_write, NULL, NULL },
};
const unsigned tests_apic_count = ARRAY_SIZE(tests_apic);

/* ---- x2APIC (11.12): the MSR interface, run after everything that uses
 * the xAPIC page.  Each sub-test enters x2APIC mode if needed; the last
 * one leaves it through the disabled state (11.12.5). */

static void need_x2apic(void)
{
	if (!(pf.l1.c & (1u << 21)))
		skip("no x2APIC in CPUID.1:ECX[21]");
	u64 base = rdmsr(MSR_APIC_BASE);
	if ((base & 0xc00) == 0x800) {
		apic_setup_xapic();
		if (wrmsr_safe(MSR_APIC_BASE, base | 0x400) >= 0) {
			check(false,
			      "IA32_APIC_BASE.EXTD offered by CPUID: setting it raised an exception");
			skip("cannot enter x2APIC mode");
		}
	} else if ((base & 0xc00) != 0xc00) {
		skip("APIC not enabled");
	}
	eoi_kind = EOI_X2APIC;
	wrmsr(0x80f, 0x1ff); /* SVR */
	wrmsr(0x808, 0);     /* TPR */
}

static void t_x2apic_registers(void)
{
	need_x2apic();
	u64 id = rdmsr(0x802);
	check_eq("x2APIC ID (MSR 0x802) vs initial APIC ID", id & 0xff, pf.l1.b >> 24);
	u64 ver = rdmsr(0x803);
	check((ver & 0xff) >= 0x10 && (ver & 0xff) <= 0x15, "version %#llx",
	      (unsigned long long)ver);
	/* 11.12.10.2: LDR = cluster (ID[19:4]) << 16 | 1 << ID[3:0], read-only. */
	check_eq("x2APIC LDR (derived from the ID)", rdmsr(0x80d),
		 ((id >> 4) << 16) | (1u << (id & 0xf)));
	wrmsr(0x808, 0x40);
	check_eq("TPR MSR after writing 0x40", rdmsr(0x808), 0x40);
	check_eq("CR8 with x2APIC TPR 0x40", read_cr8(), 4);
	write_cr8(2);
	check_eq("x2APIC TPR after CR8 <- 2", rdmsr(0x808), 0x20);
	write_cr8(0);
	check_eq("PPR MSR with TPR 0", rdmsr(0x80a), 0);
	/* #GP: DFR is gone, write-only and read-only registers, reserved
	 * registers, non-zero EOI and ESR writes, reserved bits. */
	static const struct {
		u32 msr;
		bool write;
		u64 value;
		const char *what;
	} gp[] = {
		{ 0x80e, false, 0, "RDMSR DFR (absent in x2APIC mode)" },
		{ 0x80e, true, 0, "WRMSR DFR" },
		{ 0x83f, false, 0, "RDMSR SELF_IPI (write-only)" },
		{ 0x80b, false, 0, "RDMSR EOI (write-only)" },
		{ 0x80b, true, 1, "WRMSR EOI <- 1 (non-zero)" },
		{ 0x828, true, 1, "WRMSR ESR <- 1 (non-zero)" },
		{ 0x802, true, 0, "WRMSR ID (read-only)" },
		{ 0x803, true, 0, "WRMSR version (read-only)" },
		{ 0x80d, true, 0, "WRMSR LDR (read-only)" },
		{ 0x80a, true, 0, "WRMSR PPR (read-only)" },
		{ 0x804, false, 0, "RDMSR 0x804 (reserved)" },
		{ 0x831, false, 0, "RDMSR 0x831 (ICR high has no MSR of its own)" },
		{ 0x808, true, 0x100, "WRMSR TPR with reserved bit 8" },
		{ 0x83f, true, 0x141, "WRMSR SELF_IPI with reserved bit 8" },
		{ 0x83f, true, 0xffff0041, "WRMSR SELF_IPI with reserved bits 31:16" },
		{ 0x830, true, (1u << 13) | 0x41, "WRMSR ICR with reserved bit 13" },
		{ 0x830, true, (1u << 17) | 0x41, "WRMSR ICR with reserved bit 17" },
		{ 0x830, true, (1u << 20) | 0x41, "WRMSR ICR with reserved bit 20" },
	};
	for (unsigned i = 0; i < ARRAY_SIZE(gp); i++) {
		u64 v;
		int e = gp[i].write ? wrmsr_safe(gp[i].msr, gp[i].value) :
				      rdmsr_safe(gp[i].msr, &v);
		check(e == 13, "%s: expected #GP got %s", gp[i].what, vname(e));
	}
	settle(0x41);
}

static void t_x2apic_ipi(void)
{
	need_x2apic();
	u64 id = rdmsr(0x802);
	u32 n = irq_count[VEC_SELF];
	wrmsr(0x83f, VEC_SELF);
	settle(VEC_SELF);
	check_eq("SELF_IPI MSR: interrupts", irq_count[VEC_SELF] - n, 1);
	n = irq_count[VEC_SELF];
	wrmsr(0x830, (id << 32) | VEC_SELF);
	settle(VEC_SELF);
	check_eq("ICR to its own x2APIC ID: interrupts", irq_count[VEC_SELF] - n, 1);
	n = irq_count[VEC_SELF];
	wrmsr(0x830, ((id + 3) << 32) | VEC_SELF);
	settle(VEC_SELF);
	check_eq("ICR to another x2APIC ID: interrupts", irq_count[VEC_SELF] - n, 0);
	/* 11.12.10.2: logical destination = LDR. */
	n = irq_count[VEC_SELF];
	wrmsr(0x830, (rdmsr(0x80d) << 32) | ICR_LOGICAL | VEC_SELF);
	settle(VEC_SELF);
	check_eq("ICR logical to its own LDR: interrupts", irq_count[VEC_SELF] - n, 1);
	irq_count[2] = 0;
	wrmsr(0x830, (id << 32) | ICR_NMI);
	delay_ns(200000);
	check_eq("NMI through the x2APIC ICR", irq_count[2], 1);
	/* SELF_IPI with a vector below 16: illegal vector in the ESR. */
	wrmsr(0x828, 0);
	wrmsr_safe(0x83f, 5);
	wrmsr(0x828, 0);
	u64 esr = rdmsr(0x828);
	check(esr & (1u << 5), "ESR after SELF_IPI vector 5: expected bit 5, got %#llx",
	      (unsigned long long)esr);
	wrmsr(0x828, 0);
}

static void t_x2apic_timer(void)
{
	need_x2apic();
	u32 n = irq_count[VEC_TIMER];
	wrmsr(0x83e, 0xb);
	wrmsr(0x832, VEC_TIMER);
	wrmsr(0x838, 5000000);
	check(wait_count(&irq_count[VEC_TIMER], n + 1, 200000000),
	      "x2APIC one-shot timer: no interrupt");
	wrmsr(0x832, 1u << 16);
	check_eq("x2APIC current count MSR after expiry", rdmsr(0x839), 0);
}

/* 11.12.5: x2APIC -> xAPIC directly is invalid; EN=0 with EXTD=1 too;
 * x2APIC -> disabled -> xAPIC is the way back.  The xAPIC page works
 * again afterwards. */
static void t_x2apic_transitions(void)
{
	need_x2apic();
	u64 base = rdmsr(MSR_APIC_BASE);
	int e = wrmsr_safe(MSR_APIC_BASE, base & ~0x400ULL);
	check(e == 13, "x2APIC -> xAPIC directly: expected #GP got %s", vname(e));
	e = wrmsr_safe(MSR_APIC_BASE, (base & ~0x800ULL) | 0x400);
	check(e == 13, "EN=0 with EXTD=1: expected #GP got %s", vname(e));
	e = wrmsr_safe(MSR_APIC_BASE, base & ~0xc00ULL);
	check(e < 0, "x2APIC -> disabled: raised %s", vname(e));
	e = wrmsr_safe(MSR_APIC_BASE, (base & ~0xc00ULL) | 0x800);
	check(e < 0, "disabled -> xAPIC: raised %s", vname(e));
	check(apic_setup_xapic(), "not in xAPIC mode after disabled -> xAPIC");
	u32 n = irq_count[VEC_SELF];
	xapic_send(ICR_SELF | VEC_SELF, 0);
	settle(VEC_SELF);
	check_eq("xAPIC self-IPI after coming back from x2APIC", irq_count[VEC_SELF] - n, 1);
}

/* 11.4.3: with IA32_APIC_BASE.EN clear the CPU is as one without an APIC:
 * CPUID.1:EDX[9] reads 0, and x2APIC MSRs raise #GP.  Set again, the
 * APIC comes back in xAPIC mode (11.12.5: disabled -> xAPIC). */
static void t_apic_base_disable(void)
{
	u64 base = rdmsr(MSR_APIC_BASE);
	if ((base & 0xc00) == 0xc00 && wrmsr_safe(MSR_APIC_BASE, base & ~0xc00ULL) >= 0)
		skip("cannot leave x2APIC mode");
	base = rdmsr(MSR_APIC_BASE);
	if (!check(wrmsr_safe(MSR_APIC_BASE, base & ~0xc00ULL) < 0, "clearing EN raised"))
		return;
	u32 edx = cpuid(1, 0).d;
	u64 v;
	int e = rdmsr_safe(0x802, &v);
	check(!(edx & (1u << 9)), "CPUID.1:EDX[9] APIC with IA32_APIC_BASE.EN clear: expected 0");
	if (pf.l1.c & (1u << 21))
		check(e == 13, "RDMSR x2APIC ID with the APIC disabled: expected #GP got %s",
		      vname(e));
	wrmsr_safe(MSR_APIC_BASE, (base & ~0xc00ULL) | 0x800);
}

static void t_apic_base_reenable(void)
{
	u64 base = rdmsr(MSR_APIC_BASE);
	if (base & 0x800)
		skip("the APIC was not left disabled");
	int e = wrmsr_safe(MSR_APIC_BASE, base | 0x800);
	check(e < 0, "disabled -> xAPIC: raised %s", vname(e));
	check(rdmsr(MSR_APIC_BASE) & 0x800, "IA32_APIC_BASE.EN does not stick");
	check(cpuid(1, 0).d & (1u << 9), "CPUID.1:EDX[9] APIC after enabling again: expected 1");
	if (apic_setup_xapic()) {
		u32 n = irq_count[VEC_SELF];
		xapic_send(ICR_SELF | VEC_SELF, 0);
		settle(VEC_SELF);
		check_eq("self-IPI after enabling again", irq_count[VEC_SELF] - n, 1);
	} else {
		check(false, "APIC not in xAPIC mode after enabling again");
	}
}

static void t_apic_base_reenable_wrap(void)
{
	/* The disable sub-test leaves it enabled if it could; disable here
	 * once more so that re-enabling is tested on its own. */
	u64 base = rdmsr(MSR_APIC_BASE);
	if (base & 0x800)
		wrmsr_safe(MSR_APIC_BASE, base & ~0xc00ULL);
	t_apic_base_reenable();
}

/* CR8 is run with the final group: where MOV CR8 reaches the real APIC's
 * TPR instead of the virtual one, it blocks the hypervisor's own timer. */
const struct subtest tests_cr8[] = {
	{ "cr8-tpr", t_cr8_tpr, NULL, NULL },
};
const unsigned tests_cr8_count = ARRAY_SIZE(tests_cr8);

const struct subtest tests_x2apic[] = {
	{ "x2apic-registers", t_x2apic_registers, NULL, NULL },
	{ "x2apic-ipi", t_x2apic_ipi, NULL, NULL },
	{ "x2apic-timer", t_x2apic_timer, NULL, NULL },
	{ "x2apic-transitions", t_x2apic_transitions, NULL, NULL },
	{ "apic-base-disable", t_apic_base_disable, NULL, NULL },
	{ "apic-base-reenable", t_apic_base_reenable_wrap,
	  "QEMU's APIC cannot be enabled again once IA32_APIC_BASE.EN was cleared", NULL },
};
const unsigned tests_x2apic_count = ARRAY_SIZE(tests_x2apic);
