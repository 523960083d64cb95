/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The CMOS RTC and NVRAM (Motorola MC146818A datasheet) at ports 0x70
 * (index; bit 7 masks NMI) and 0x71 (data).  The time registers (0-9) show
 * a wall clock: the seconds since 1970 at ns 0 given at reset, plus the
 * elapsed ns, plus whatever offset the guest set by writing the clock.
 * Register A never shows an update in progress (a stuck UIP bit stalls
 * Linux's RTC probe for seconds), B selects BCD or binary and 12/24 hours,
 * C reads 0 (no RTC interrupts), D reports a valid RAM and time; 0x32 holds
 * the century.  The rest of the 128 bytes is NVRAM that keeps what the
 * guest writes.
 */
#ifndef PARTITA_HVM_VCMOS_H
#define PARTITA_HVM_VCMOS_H

#include "kernel/lib/types.h"

#define VCMOS_CENTURY 0x32

struct vcmos {
	u8 index;	   /* last index written to port 0x70, bit 7 clear */
	bool nmi_masked;   /* bit 7 of the last index write */
	u8 ram[128];	   /* alarms, A, B, NVRAM (time registers computed) */
	u64 epoch_at_zero; /* wall clock seconds since 1970 at ns 0 */
	s64 offset;	   /* seconds the guest moved the clock by */
	u8 frozen[10];	   /* time registers while B.SET holds the update */
};

void vcmos_reset(struct vcmos *c, u64 epoch_at_zero);

/** Port access (0x70, 0x71); one byte; now in ns. */
u8 vcmos_read(struct vcmos *c, u64 now, u16 port);
void vcmos_write(struct vcmos *c, u64 now, u16 port, u8 value);

/** Calendar conversion (proleptic Gregorian, UTC): seconds since 1970 to
 *  the broken-down date and back.  wday: 0 = Sunday. */
struct vcmos_tm {
	unsigned year, month, mday, hour, min, sec, wday;
};
void vcmos_from_epoch(u64 secs, struct vcmos_tm *tm);
u64 vcmos_to_epoch(const struct vcmos_tm *tm);

#endif
