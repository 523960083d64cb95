/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Unit tests of the virtual local APIC (kernel/hvm/vlapic.c): registers in
 * xAPIC (MMIO) and x2APIC (MSR) form, APIC base transitions, priorities,
 * EOI, self-IPIs, the timer in its three modes, and the PIC pass-through.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "kernel/errno.h"
#include "kernel/hvm/vlapic.h"
#include "kernel/log.h"

static int log_count;
static char last_log[256];

void log_line(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(last_log, sizeof(last_log), fmt, ap);
	va_end(ap);
	log_count++;
}

#define TSC_HZ 2000000000ULL /* 2 GHz */
#define TSC0 1000000ULL

static struct vlapic a;

static int setup(void **state)
{
	(void)state;
	log_count = 0;
	vlapic_reset(&a, "linux", TSC_HZ, TSC0);
	return 0;
}

static u32 rd(u32 reg)
{
	return (u32)vlapic_mmio_read(&a, 0, reg, 4);
}

static void wr(u32 reg, u32 v)
{
	vlapic_mmio_write(&a, 0, reg, 4, v);
}

static void enable(void)
{
	wr(APIC_SVR, APIC_SVR_ENABLE | 0xff);
}

static void to_x2apic(void)
{
	assert_int_equal(vlapic_msr_write(&a, 0, MSR_IA32_APIC_BASE,
					  0xfee00000ULL | APIC_BASE_EN | APIC_BASE_EXTD),
			 0);
}

static void reset_state_is_xapic_software_disabled(void **state)
{
	(void)state;
	u64 base;
	assert_int_equal(vlapic_msr_read(&a, 0, MSR_IA32_APIC_BASE, &base), 0);
	assert_int_equal(base, 0xfee00000ULL | APIC_BASE_BSP | APIC_BASE_EN);
	assert_int_equal(rd(APIC_SVR), 0xff);
	assert_int_equal(rd(APIC_VER), 0x00050014); /* max LVT 5, version 0x14 */
	assert_int_equal(rd(APIC_LVT_TIMER), APIC_LVT_MASKED);
	assert_int_equal(rd(APIC_DFR), 0xffffffff);
	assert_false(vlapic_sw_enabled(&a));
	assert_true(vlapic_accepts_pic(&a));
}

static void registers_read_back_with_writable_bits_only(void **state)
{
	(void)state;
	enable();
	wr(APIC_TPR, 0x1234);
	assert_int_equal(rd(APIC_TPR), 0x34);
	wr(APIC_LDR, 0x12345678);
	assert_int_equal(rd(APIC_LDR), 0x12000000);
	wr(APIC_DFR, 0x0);
	assert_int_equal(rd(APIC_DFR), 0x0fffffff);
	wr(APIC_LVT_LINT1, 0xffffffff);
	assert_int_equal(rd(APIC_LVT_LINT1), 0x1a7ff);
	wr(APIC_LVT_TIMER, 0x000200ef); /* periodic, vector 0xef */
	assert_int_equal(rd(APIC_LVT_TIMER), 0x000200ef);
	/* sub-dword read of the ID's top byte */
	wr(APIC_ID, 0x05000000);
	assert_int_equal(vlapic_mmio_read(&a, 0, APIC_ID + 3, 1), 5);
	/* bytes 4-15 of a slot are not the register */
	assert_int_equal(vlapic_mmio_read(&a, 0, APIC_TPR + 4, 4), 0);
}

static void software_disable_masks_lvts(void **state)
{
	(void)state;
	enable();
	wr(APIC_LVT_LINT0, APIC_LVT_DM_EXTINT);
	assert_int_equal(rd(APIC_LVT_LINT0), APIC_LVT_DM_EXTINT);
	wr(APIC_SVR, 0xff); /* software disable */
	assert_true(rd(APIC_LVT_LINT0) & APIC_LVT_MASKED);
	wr(APIC_LVT_LINT0, APIC_LVT_DM_EXTINT); /* mask stays while disabled */
	assert_true(rd(APIC_LVT_LINT0) & APIC_LVT_MASKED);
}

static void pending_respects_ppr_and_eoi_clears_highest_isr(void **state)
{
	(void)state;
	enable();
	vlapic_set_irq(&a, 0x31, false);
	vlapic_set_irq(&a, 0x51, false);
	assert_int_equal(vlapic_pending(&a), 0x51);
	vlapic_ack(&a, 0x51);
	assert_int_equal(rd(APIC_ISR + 0x20) & (1u << 0x11), 1u << 0x11); /* 0x51 in ISR */
	assert_int_equal(rd(APIC_PPR), 0x50);
	/* 0x31's class is below the in-service 0x51: held */
	assert_int_equal(vlapic_pending(&a), -1);
	wr(APIC_EOI, 0);
	assert_int_equal(vlapic_pending(&a), 0x31);
	/* TPR holds it back the same way */
	wr(APIC_TPR, 0x30);
	assert_int_equal(vlapic_pending(&a), -1);
	wr(APIC_TPR, 0x20);
	assert_int_equal(vlapic_pending(&a), 0x31);
}

/* SDM Vol. 3A §11.8.6: CR8[3:0] is TPR[7:4] both ways; a CR8 write clears
 * TPR[3:0]; the x2APIC TPR MSR is the same register; PPR and the pending
 * vector follow at once. */
static void cr8_is_the_tpr_priority_class(void **state)
{
	(void)state;
	enable();
	vlapic_set_cr8(&a, 5);
	assert_int_equal(rd(APIC_TPR), 0x50);
	assert_int_equal(rd(APIC_PPR), 0x50);
	wr(APIC_TPR, 0x7c);
	assert_int_equal(vlapic_cr8(&a), 7);
	vlapic_set_cr8(&a, 7);
	assert_int_equal(rd(APIC_TPR), 0x70); /* TPR[3:0] cleared */
	vlapic_set_cr8(&a, 5);
	vlapic_set_irq(&a, 0x45, false);
	vlapic_set_irq(&a, 0x65, false);
	assert_int_equal(vlapic_pending(&a), 0x65);
	vlapic_ack(&a, 0x65);
	wr(APIC_EOI, 0);
	assert_int_equal(vlapic_pending(&a), -1); /* 0x45 held by CR8 5 */
	vlapic_set_cr8(&a, 3);
	assert_int_equal(vlapic_pending(&a), 0x45);
	vlapic_set_cr8(&a, 0);
	assert_int_equal(rd(APIC_TPR), 0);

	to_x2apic();
	u64 v;
	assert_int_equal(vlapic_msr_write(&a, 0, 0x808, 0x40), 0);
	assert_int_equal(vlapic_cr8(&a), 4);
	vlapic_set_cr8(&a, 2);
	assert_int_equal(vlapic_msr_read(&a, 0, 0x808, &v), 0);
	assert_int_equal(v, 0x20);
	vlapic_set_cr8(&a, 0);
	assert_int_equal(vlapic_msr_read(&a, 0, 0x80a, &v), 0);
	assert_int_equal(v, 0);
}

static void nested_eoi_pops_in_priority_order(void **state)
{
	(void)state;
	enable();
	vlapic_set_irq(&a, 0x40, false);
	vlapic_ack(&a, vlapic_pending(&a));
	vlapic_set_irq(&a, 0x80, false);
	assert_int_equal(vlapic_pending(&a), 0x80);
	vlapic_ack(&a, 0x80);
	wr(APIC_EOI, 0); /* ends 0x80, not 0x40 */
	assert_int_equal(rd(APIC_ISR + 0x40), 0);
	assert_int_equal(rd(APIC_ISR + 0x20), 1u);
	assert_int_equal(vlapic_ppr(&a), 0x40);
}

static void disabled_apic_drops_interrupts(void **state)
{
	(void)state;
	vlapic_set_irq(&a, 0x40, false); /* software-disabled */
	assert_int_equal(vlapic_pending(&a), -1);
	enable();
	vlapic_set_irq(&a, 0x05, false); /* illegal vector */
	assert_int_equal(vlapic_pending(&a), -1);
	wr(APIC_ESR, 0);
	assert_int_equal(rd(APIC_ESR), 0x40);
}

static void reserved_register_sets_esr_on_read_and_write(void **state)
{
	(void)state;
	enable();
	assert_int_equal(rd(0x050), 0); /* reserved offset */
	wr(APIC_ESR, 0);
	assert_int_equal(rd(APIC_ESR), 0x80);
	wr(0x040, 1);
	wr(APIC_ESR, 0);
	assert_int_equal(rd(APIC_ESR), 0x80);
	wr(APIC_ESR, 0);
	assert_int_equal(rd(APIC_ESR), 0);
}

static void self_ipi_by_icr_and_shorthand(void **state)
{
	(void)state;
	enable();
	wr(APIC_ICR_HI, 0);
	wr(APIC_ICR_LO, 0x00040041); /* shorthand self, fixed, vector 0x41 */
	assert_int_equal(vlapic_pending(&a), 0x41);
	vlapic_ack(&a, 0x41);
	wr(APIC_EOI, 0);
	wr(APIC_ICR_HI, 0x00000000); /* physical destination 0 = our id */
	wr(APIC_ICR_LO, 0x00000042);
	assert_int_equal(vlapic_pending(&a), 0x42);
	assert_int_equal(log_count, 0);
}

/* An NMI IPI to itself (delivery mode 100b) is latched, once however many
 * arrive before the vCPU takes it; it sets no IRR bit and needs no valid
 * vector; one to the others only is not delivered. */
static void nmi_ipi_to_self_latches_one(void **state)
{
	(void)state;
	enable();
	assert_false(vlapic_take_nmi(&a));
	wr(APIC_ICR_HI, 0);
	wr(APIC_ICR_LO, 0x00000400); /* NMI to physical 0, our id */
	wr(APIC_ICR_LO, 0x00080400); /* NMI all including self */
	assert_int_equal(vlapic_pending(&a), -1);
	wr(APIC_ESR, 0);
	assert_int_equal(rd(APIC_ESR), 0);
	assert_true(vlapic_take_nmi(&a));
	assert_false(vlapic_take_nmi(&a));
	wr(APIC_ICR_LO, 0x000c0400); /* NMI all excluding self */
	wr(APIC_ICR_HI, 0x03000000);
	wr(APIC_ICR_LO, 0x00000400); /* NMI to APIC 3 */
	assert_false(vlapic_take_nmi(&a));
	/* the x2APIC ICR, to its own x2APIC ID */
	to_x2apic();
	assert_int_equal(vlapic_msr_write(&a, 0, 0x830, 0x0000000000000400ULL), 0);
	assert_true(vlapic_take_nmi(&a));
	assert_int_equal(vlapic_msr_write(&a, 0, 0x830, 0x0000000500000400ULL), 0);
	assert_false(vlapic_take_nmi(&a));
}

/* An interrupt message with delivery mode NMI (I/O APIC, MSI) latches the
 * NMI whatever its vector and trigger mode, sets no IRR bit (false: no
 * remote IRR waits), and is not reported as undelivered. */
static void nmi_message_latches_nmi(void **state)
{
	(void)state;
	enable();
	assert_false(vlapic_deliver(&a, 0, false, VLAPIC_DM_NMI, 0, true));
	assert_int_equal(vlapic_pending(&a), -1);
	assert_true(vlapic_take_nmi(&a));
	assert_false(vlapic_deliver(&a, 7, false, VLAPIC_DM_NMI, 0x30, false)); /* not us */
	assert_false(vlapic_take_nmi(&a));
	assert_int_equal(log_count, 0);
}

static void init_sipi_to_others_ignored_and_logged_once(void **state)
{
	(void)state;
	enable();
	wr(APIC_ICR_HI, 0x01000000);
	wr(APIC_ICR_LO, 0x00004500); /* INIT to APIC 1 */
	wr(APIC_ICR_LO, 0x00000608); /* SIPI to APIC 1 */
	wr(APIC_ICR_LO, 0x000c4500); /* INIT all-but-self */
	assert_int_equal(vlapic_pending(&a), -1);
	assert_int_equal(log_count, 1);
	assert_non_null(strstr(last_log, "partition linux"));
}

static void apic_base_transitions(void **state)
{
	(void)state;
	const u64 b = 0xfee00000ULL;
	/* xAPIC -> x2APIC ok; x2APIC -> xAPIC #GP; x2APIC -> disabled ok;
	 * disabled -> x2APIC #GP; EN=0 EXTD=1 #GP; reserved bits #GP */
	assert_int_equal(vlapic_msr_write(&a, 0, MSR_IA32_APIC_BASE,
					  b | APIC_BASE_EN | APIC_BASE_EXTD),
			 0);
	assert_true(vlapic_x2apic(&a));
	assert_int_equal(vlapic_msr_write(&a, 0, MSR_IA32_APIC_BASE, b | APIC_BASE_EN), -E_INVAL);
	assert_int_equal(vlapic_msr_write(&a, 0, MSR_IA32_APIC_BASE, b), 0);
	assert_false(vlapic_hw_enabled(&a));
	assert_int_equal(vlapic_msr_write(&a, 0, MSR_IA32_APIC_BASE,
					  b | APIC_BASE_EN | APIC_BASE_EXTD),
			 -E_INVAL);
	assert_int_equal(vlapic_msr_write(&a, 0, MSR_IA32_APIC_BASE, b | APIC_BASE_EXTD), -E_INVAL);
	assert_int_equal(vlapic_msr_write(&a, 0, MSR_IA32_APIC_BASE, b | APIC_BASE_EN | 1),
			 -E_INVAL);
	/* MAXPHYADDR is 36 without a policy: bit 36 is reserved, 35 not */
	assert_int_equal(vlapic_msr_write(&a, 0, MSR_IA32_APIC_BASE, b | APIC_BASE_EN | 1ULL << 36),
			 -E_INVAL);
	assert_int_equal(vlapic_msr_write(&a, 0, MSR_IA32_APIC_BASE, b | APIC_BASE_EN), 0);
	assert_true(vlapic_hw_enabled(&a));
	assert_false(vlapic_x2apic(&a));
	/* a globally disabled APIC passes the PIC through */
	assert_int_equal(vlapic_msr_write(&a, 0, MSR_IA32_APIC_BASE, b), 0);
	assert_true(vlapic_accepts_pic(&a));
}

static void x2apic_msrs(void **state)
{
	(void)state;
	u64 v;
	/* not in x2APIC mode: #GP */
	assert_int_equal(vlapic_msr_read(&a, 0, 0x808, &v), -E_INVAL);
	to_x2apic();
	assert_int_equal(vlapic_msr_write(&a, 0, 0x80f, 0x1ff), 0); /* SVR */
	assert_int_equal(vlapic_msr_read(&a, 0, 0x802, &v), 0);	    /* ID: 32-bit form */
	assert_int_equal(v, 0);
	assert_int_equal(vlapic_msr_read(&a, 0, 0x80d, &v), 0); /* LDR derived */
	assert_int_equal(v, 1);
	assert_int_equal(vlapic_msr_read(&a, 0, 0x80e, &v), -E_INVAL); /* no DFR */
	assert_int_equal(vlapic_msr_write(&a, 0, 0x80d, 0), -E_INVAL); /* LDR read-only */
	assert_int_equal(vlapic_msr_read(&a, 0, 0x80b, &v), -E_INVAL); /* EOI write-only */
	assert_int_equal(vlapic_msr_write(&a, 0, 0x80b, 1), -E_INVAL); /* EOI must be 0 */
	assert_int_equal(vlapic_msr_write(&a, 0, 0x808, 0x1ULL << 32), -E_INVAL); /* reserved */
	assert_int_equal(vlapic_msr_write(&a, 0, 0x808, 0x20), 0);
	assert_int_equal(vlapic_msr_read(&a, 0, 0x808, &v), 0);
	assert_int_equal(v, 0x20);
	/* one 64-bit ICR: self by physical destination */
	assert_int_equal(vlapic_msr_write(&a, 0, 0x830, 0x0000000000000061ULL), 0);
	assert_int_equal(vlapic_pending(&a), 0x61);
	assert_int_equal(vlapic_msr_read(&a, 0, 0x830, &v), 0);
	assert_int_equal(v, 0x61);
	/* SELF IPI register */
	assert_int_equal(vlapic_msr_write(&a, 0, 0x83f, 0x72), 0);
	assert_int_equal(vlapic_pending(&a), 0x72);
	assert_int_equal(vlapic_msr_read(&a, 0, 0x83f, &v), -E_INVAL);
	/* in x2APIC mode the MMIO page is gone: handled by hvm; not our MSR */
	assert_int_equal(vlapic_msr_read(&a, 0, 0x10, &v), -E_NOENT);
}

/* SDM Vol. 3A §11.12.1.3: in x2APIC mode a WRMSR that sets a reserved bit
 * is a #GP and changes nothing; read-only bits may be written. */
static void x2apic_reserved_bits_fault(void **state)
{
	(void)state;
	u64 v;
	to_x2apic();
	assert_int_equal(vlapic_msr_write(&a, 0, 0x80f, 0x1ff), 0); /* SVR */
	assert_int_equal(vlapic_msr_write(&a, 0, 0x808, 0x30), 0);
	assert_int_equal(vlapic_msr_write(&a, 0, 0x808, 0x130), -E_INVAL); /* TPR bit 8 */
	assert_int_equal(vlapic_msr_read(&a, 0, 0x808, &v), 0);
	assert_int_equal(v, 0x30);
	assert_int_equal(vlapic_msr_write(&a, 0, 0x808, 0), 0);
	assert_int_equal(vlapic_msr_write(&a, 0, 0x83f, 0x141), -E_INVAL); /* SELF_IPI bit 8 */
	assert_int_equal(vlapic_msr_write(&a, 0, 0x83f, 0xffff0041), -E_INVAL);
	assert_int_equal(vlapic_pending(&a), -1);
	/* ICR: delivery status (12), 13, 16-17 and 20-31 are reserved */
	static const u32 icr_reserved[] = { 1u << 12, 1u << 13, 1u << 16,
					    1u << 17, 1u << 20, 1u << 31 };
	for (unsigned i = 0; i < ARRAY_SIZE(icr_reserved); i++)
		assert_int_equal(vlapic_msr_write(&a, 0, 0x830, icr_reserved[i] | 0x41), -E_INVAL);
	assert_int_equal(vlapic_pending(&a), -1);
	assert_int_equal(vlapic_msr_write(&a, 0, 0x830, 0x41), 0);
	assert_int_equal(vlapic_pending(&a), 0x41);
	assert_int_equal(vlapic_msr_write(&a, 0, 0x80f, 0x11ff), -E_INVAL); /* SVR bit 12 */
	assert_int_equal(vlapic_msr_write(&a, 0, 0x83e, 0x4), -E_INVAL);    /* DCR bit 2 */
	assert_int_equal(vlapic_msr_write(&a, 0, 0x83e, 0xb), 0);
	/* LVT timer: bit 19 is reserved; the delivery status bit is
	 * read-only, and writing it is allowed */
	assert_int_equal(vlapic_msr_write(&a, 0, 0x832, (1u << 19) | 0xec), -E_INVAL);
	assert_int_equal(vlapic_msr_write(&a, 0, 0x832, (1u << 12) | (1u << 16) | 0xec), 0);
	assert_int_equal(vlapic_msr_read(&a, 0, 0x832, &v), 0);
	assert_int_equal(v & 0x1ffff, (1u << 16) | 0xec);
	/* LINT0: polarity and trigger mode are writable, bit 17 is not */
	assert_int_equal(vlapic_msr_write(&a, 0, 0x835, 0x1a700), 0);
	assert_int_equal(vlapic_msr_write(&a, 0, 0x835, 0x30700), -E_INVAL);
	assert_int_equal(vlapic_msr_write(&a, 0, 0x837, (1u << 13) | 0xfe),
			 -E_INVAL); /* LVT error */
}

static void one_shot_timer_counts_down_and_fires_once(void **state)
{
	(void)state;
	enable();
	wr(APIC_TIMER_DCR, 0x3); /* divide by 16 */
	wr(APIC_LVT_TIMER, 0xec);
	vlapic_mmio_write(&a, 1000, APIC_TIMER_ICR, 4, 1000); /* 16 us at 1 GHz / 16 */
	assert_int_equal(vlapic_mmio_read(&a, 1000 + 1600, APIC_TIMER_CCR, 4), 900);
	assert_int_equal(vlapic_update_timer(&a, 1000 + 15999), 1000 + 16000);
	assert_int_equal(vlapic_pending(&a), -1);
	assert_int_equal(vlapic_update_timer(&a, 1000 + 16000), 0);
	assert_int_equal(vlapic_pending(&a), 0xec);
	assert_int_equal(vlapic_mmio_read(&a, 50000, APIC_TIMER_CCR, 4), 0);
}

static void masked_timer_does_not_interrupt(void **state)
{
	(void)state;
	enable();
	wr(APIC_TIMER_DCR, 0xb); /* divide by 1 */
	wr(APIC_LVT_TIMER, APIC_LVT_MASKED | 0xec);
	vlapic_mmio_write(&a, 0, APIC_TIMER_ICR, 4, 100);
	vlapic_update_timer(&a, 1000);
	assert_int_equal(vlapic_pending(&a), -1);
}

static void periodic_timer_rearms_and_coalesces(void **state)
{
	(void)state;
	enable();
	wr(APIC_TIMER_DCR, 0xb); /* divide by 1: one tick per ns */
	wr(APIC_LVT_TIMER, APIC_LVT_TIMER_PERIODIC | 0xef);
	vlapic_mmio_write(&a, 0, APIC_TIMER_ICR, 4, 1000000); /* 1 ms */
	assert_int_equal(vlapic_update_timer(&a, 1000000), 2000000);
	assert_int_equal(vlapic_pending(&a), 0xef);
	vlapic_ack(&a, 0xef);
	wr(APIC_EOI, 0);
	/* 3.5 periods later: one interrupt, next at the next boundary */
	assert_int_equal(vlapic_update_timer(&a, 4500000), 5000000);
	assert_int_equal(vlapic_pending(&a), 0xef);
	assert_int_equal(vlapic_mmio_read(&a, 4250000, APIC_TIMER_CCR, 4), 750000);
}

static void periodic_timer_too_fast_is_slowed(void **state)
{
	(void)state;
	enable();
	wr(APIC_TIMER_DCR, 0xb);
	wr(APIC_LVT_TIMER, APIC_LVT_TIMER_PERIODIC | 0xef);
	vlapic_mmio_write(&a, 0, APIC_TIMER_ICR, 4, 10); /* 10 ns */
	assert_int_equal(vlapic_update_timer(&a, 0), VLAPIC_MIN_PERIOD_NS);
}

static void tsc_deadline_timer(void **state)
{
	(void)state;
	u64 v;
	enable();
	/* outside TSC-deadline mode the MSR reads 0 and ignores writes */
	assert_int_equal(vlapic_msr_write(&a, 0, MSR_IA32_TSC_DEADLINE, 12345), 0);
	assert_int_equal(vlapic_msr_read(&a, 0, MSR_IA32_TSC_DEADLINE, &v), 0);
	assert_int_equal(v, 0);
	wr(APIC_LVT_TIMER, APIC_LVT_TIMER_TSC_DEADLINE | 0xee);
	/* 2 GHz TSC: 2000 cycles after TSC0 are 1000 ns */
	assert_int_equal(vlapic_msr_write(&a, 0, MSR_IA32_TSC_DEADLINE, TSC0 + 2000000), 0);
	assert_int_equal(vlapic_msr_read(&a, 0, MSR_IA32_TSC_DEADLINE, &v), 0);
	assert_int_equal(v, TSC0 + 2000000);
	assert_int_equal(vlapic_update_timer(&a, 999999), 1000000);
	assert_int_equal(vlapic_pending(&a), -1);
	assert_int_equal(vlapic_update_timer(&a, 1000000), 0);
	assert_int_equal(vlapic_pending(&a), 0xee);
	/* fired: the MSR reads 0 */
	assert_int_equal(vlapic_msr_read(&a, 0, MSR_IA32_TSC_DEADLINE, &v), 0);
	assert_int_equal(v, 0);
	/* the initial count is ignored in this mode */
	vlapic_mmio_write(&a, 0, APIC_TIMER_ICR, 4, 5);
	assert_int_equal(vlapic_update_timer(&a, 2000000), 0);
}

static void tsc_deadline_in_the_past_fires_at_once(void **state)
{
	(void)state;
	enable();
	wr(APIC_LVT_TIMER, APIC_LVT_TIMER_TSC_DEADLINE | 0xee);
	assert_int_equal(vlapic_msr_write(&a, 5000, MSR_IA32_TSC_DEADLINE, TSC0 + 10), 0);
	assert_int_equal(vlapic_pending(&a), 0xee);
}

static void timer_mode_change_disarms(void **state)
{
	(void)state;
	enable();
	wr(APIC_LVT_TIMER, 0xec);
	vlapic_mmio_write(&a, 0, APIC_TIMER_ICR, 4, 1000);
	wr(APIC_LVT_TIMER, APIC_LVT_TIMER_TSC_DEADLINE | 0xec);
	assert_int_equal(vlapic_update_timer(&a, 1000000), 0);
	assert_int_equal(rd(APIC_TIMER_ICR), 0);
	assert_int_equal(vlapic_pending(&a), -1);
}

static void tsc_conversions_round_trip(void **state)
{
	(void)state;
	assert_int_equal(vlapic_tsc_to_ns(&a, TSC0), 0);
	assert_int_equal(vlapic_tsc_to_ns(&a, TSC0 + 3), 2); /* 1.5 ns rounded up */
	assert_int_equal(vlapic_ns_to_tsc(&a, 1000000000ULL), TSC0 + TSC_HZ);
	u64 big = 3600ULL * 24 * 365 * 1000000000ULL; /* a year */
	assert_int_equal(vlapic_tsc_to_ns(&a, vlapic_ns_to_tsc(&a, big)), big);
}

static void extint_lint0_passes_pic(void **state)
{
	(void)state;
	enable();
	wr(APIC_LVT_LINT0, APIC_LVT_DM_EXTINT);
	assert_true(vlapic_accepts_pic(&a));
	wr(APIC_LVT_LINT0, APIC_LVT_DM_EXTINT | APIC_LVT_MASKED);
	assert_false(vlapic_accepts_pic(&a));
	wr(APIC_LVT_LINT0, APIC_LVT_DM_FIXED | 0x30);
	assert_false(vlapic_accepts_pic(&a));
}

int main(void)
{
#define T(f) cmocka_unit_test_setup(f, setup)
	const struct CMUnitTest tests[] = {
		T(reset_state_is_xapic_software_disabled),
		T(registers_read_back_with_writable_bits_only),
		T(software_disable_masks_lvts),
		T(pending_respects_ppr_and_eoi_clears_highest_isr),
		T(cr8_is_the_tpr_priority_class),
		T(nested_eoi_pops_in_priority_order),
		T(disabled_apic_drops_interrupts),
		T(reserved_register_sets_esr_on_read_and_write),
		T(self_ipi_by_icr_and_shorthand),
		T(nmi_ipi_to_self_latches_one),
		T(nmi_message_latches_nmi),
		T(init_sipi_to_others_ignored_and_logged_once),
		T(apic_base_transitions),
		T(x2apic_msrs),
		T(x2apic_reserved_bits_fault),
		T(one_shot_timer_counts_down_and_fires_once),
		T(masked_timer_does_not_interrupt),
		T(periodic_timer_rearms_and_coalesces),
		T(periodic_timer_too_fast_is_slowed),
		T(tsc_deadline_timer),
		T(tsc_deadline_in_the_past_fires_at_once),
		T(timer_mode_change_disarms),
		T(tsc_conversions_round_trip),
		T(extint_lint0_passes_pic),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
