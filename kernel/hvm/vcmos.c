/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The MC146818A RTC and CMOS RAM (see vcmos.h).  Register layout from the
 * datasheet's "Address Map" (Figure 2) and "Register A/B/C/D" sections;
 * the century byte at 0x32 is the PC/AT convention (and ACPI FADT
 * CENTURY).  Date arithmetic: days from civil (H. Hinnant's algorithm).
 */
#include "kernel/hvm/vcmos.h"
#include "kernel/lib/string.h"

#define REG_SEC 0
#define REG_MIN 2
#define REG_HOUR 4
#define REG_WDAY 6
#define REG_MDAY 7
#define REG_MONTH 8
#define REG_YEAR 9
#define REG_A 0x0a
#define REG_B 0x0b
#define REG_C 0x0c
#define REG_D 0x0d

#define B_SET 0x80
#define B_BINARY 0x04
#define B_24H 0x02
#define A_UIP 0x80

static u64 days_from_civil(s64 y, unsigned m, unsigned d)
{
	y -= m <= 2;
	s64 era = (y >= 0 ? y : y - 399) / 400;
	u64 yoe = (u64)(y - era * 400);
	u64 doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
	u64 doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return (u64)(era * 146097 + (s64)doe - 719468);
}

void vcmos_from_epoch(u64 secs, struct vcmos_tm *tm)
{
	u64 days = secs / 86400, rem = secs % 86400;

	tm->hour = (unsigned)(rem / 3600);
	tm->min = (unsigned)(rem / 60 % 60);
	tm->sec = (unsigned)(rem % 60);
	tm->wday = (unsigned)((days + 4) % 7); /* 1970-01-01 was a Thursday */

	u64 z = days + 719468;
	u64 era = z / 146097;
	u64 doe = z - era * 146097;
	u64 yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	u64 doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	u64 mp = (5 * doy + 2) / 153;
	tm->mday = (unsigned)(doy - (153 * mp + 2) / 5 + 1);
	tm->month = (unsigned)(mp < 10 ? mp + 3 : mp - 9);
	tm->year = (unsigned)(yoe + era * 400 + (tm->month <= 2));
}

u64 vcmos_to_epoch(const struct vcmos_tm *tm)
{
	return days_from_civil(tm->year, tm->month, tm->mday) * 86400 + tm->hour * 3600ULL +
	       tm->min * 60ULL + tm->sec;
}

void vcmos_reset(struct vcmos *c, u64 epoch_at_zero)
{
	memset(c, 0, sizeof(*c));
	c->epoch_at_zero = epoch_at_zero;
	c->ram[REG_A] = 0x26;  /* 32.768 kHz time base, 1024 Hz rate */
	c->ram[REG_B] = B_24H; /* BCD, 24 hours, no interrupts */
	c->ram[REG_D] = 0x80;  /* VRT: valid RAM and time */
}

static u64 now_secs(const struct vcmos *c, u64 now)
{
	s64 s = (s64)(c->epoch_at_zero + now / 1000000000ULL) + c->offset;
	return s < 0 ? 0 : (u64)s;
}

static u8 to_bcd(unsigned v)
{
	return (u8)(((v / 10) << 4) | (v % 10));
}

static unsigned from_bcd(u8 v)
{
	return (v >> 4) * 10 + (v & 0xf);
}

/* Time registers 0-9 for secs in the format register B selects. */
static void render(const struct vcmos *c, u64 secs, u8 out[10])
{
	struct vcmos_tm tm;
	bool bin = c->ram[REG_B] & B_BINARY;
	unsigned hour;
	bool pm;

	vcmos_from_epoch(secs, &tm);
	hour = tm.hour;
	pm = hour >= 12;
	if (!(c->ram[REG_B] & B_24H)) {
		hour %= 12; /* 12-hour mode: 1-12, bit 7 = PM */
		if (!hour)
			hour = 12;
	}
	memcpy(out, c->ram, 10); /* alarms */
	out[REG_SEC] = bin ? (u8)tm.sec : to_bcd(tm.sec);
	out[REG_MIN] = bin ? (u8)tm.min : to_bcd(tm.min);
	out[REG_HOUR] =
		(u8)((bin ? hour : to_bcd(hour)) | (!(c->ram[REG_B] & B_24H) && pm ? 0x80 : 0));
	out[REG_WDAY] = (u8)(tm.wday + 1); /* 1 = Sunday */
	out[REG_MDAY] = bin ? (u8)tm.mday : to_bcd(tm.mday);
	out[REG_MONTH] = bin ? (u8)tm.month : to_bcd(tm.month);
	out[REG_YEAR] = bin ? (u8)(tm.year % 100) : to_bcd(tm.year % 100);
}

static unsigned field(const struct vcmos *c, u8 v)
{
	return c->ram[REG_B] & B_BINARY ? v : from_bcd(v);
}

/* The seconds the registers r[0..9] (plus the century byte) describe. */
static u64 parse(const struct vcmos *c, const u8 r[10])
{
	struct vcmos_tm tm;
	unsigned hour = field(c, r[REG_HOUR] & 0x7f);

	if (!(c->ram[REG_B] & B_24H)) {
		hour %= 12;
		if (r[REG_HOUR] & 0x80)
			hour += 12;
	}
	tm.sec = MIN(field(c, r[REG_SEC]), 59u);
	tm.min = MIN(field(c, r[REG_MIN]), 59u);
	tm.hour = MIN(hour, 23u);
	tm.mday = MAX(MIN(field(c, r[REG_MDAY]), 31u), 1u);
	tm.month = MAX(MIN(field(c, r[REG_MONTH]), 12u), 1u);
	tm.year = from_bcd(c->ram[VCMOS_CENTURY]) * 100 + MIN(field(c, r[REG_YEAR]), 99u);
	if (tm.year < 1970)
		tm.year = 1970;
	tm.wday = 0;
	return vcmos_to_epoch(&tm);
}

static void set_century(struct vcmos *c, u64 secs)
{
	struct vcmos_tm tm;

	vcmos_from_epoch(secs, &tm);
	c->ram[VCMOS_CENTURY] = to_bcd(tm.year / 100); /* always BCD */
}

u8 vcmos_read(struct vcmos *c, u64 now, u16 port)
{
	if (port == 0x70)
		return c->index; /* write-only on most chipsets; harmless */
	unsigned i = c->index;
	if (i < 10) {
		u8 r[10];
		if (c->ram[REG_B] & B_SET)
			return c->frozen[i];
		render(c, now_secs(c, now), r);
		return r[i];
	}
	switch (i) {
	case REG_A:
		return c->ram[REG_A] & ~A_UIP; /* never "update in progress" */
	case REG_C:
		return 0; /* no interrupt flags: reading clears them anyway */
	case REG_D:
		return 0x80;
	case VCMOS_CENTURY:
		if (!(c->ram[REG_B] & B_SET))
			set_century(c, now_secs(c, now));
		return c->ram[VCMOS_CENTURY];
	default:
		return c->ram[i];
	}
}

void vcmos_write(struct vcmos *c, u64 now, u16 port, u8 v)
{
	if (port == 0x70) {
		c->index = v & 0x7f;
		c->nmi_masked = v & 0x80;
		return;
	}
	unsigned i = c->index;
	bool set = c->ram[REG_B] & B_SET;

	if (i < 10) {
		if (i == REG_SEC + 1 || i == REG_MIN + 1 || i == REG_HOUR + 1) {
			c->ram[i] = v; /* alarms */
			if (set)
				c->frozen[i] = v;
			return;
		}
		/* A time register: while SET holds the updates, collect the
		 * fields; otherwise move the clock at once. */
		if (!set) {
			render(c, now_secs(c, now), c->frozen);
			set_century(c, now_secs(c, now));
		}
		c->frozen[i] = v;
		if (!set)
			c->offset += (s64)parse(c, c->frozen) - (s64)now_secs(c, now);
		return;
	}
	switch (i) {
	case REG_A:
		c->ram[REG_A] = v & 0x7f;
		break;
	case REG_B:
		if ((v & B_SET) && !set) {
			/* SET: the clock stops updating the registers */
			render(c, now_secs(c, now), c->frozen);
			set_century(c, now_secs(c, now));
		}
		if (!(v & B_SET) && set) {
			/* SET cleared: the clock runs from what was written
			 * (in the format in force when it was written) */
			c->offset += (s64)parse(c, c->frozen) - (s64)now_secs(c, now);
		}
		c->ram[REG_B] = v;
		break;
	case REG_C:
	case REG_D:
		break; /* read-only */
	default:
		c->ram[i] = v;
		break;
	}
}
