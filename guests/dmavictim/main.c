/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * dmavictim: the partition a DMA attack aims at.  It fills a buffer of its
 * own RAM with a pattern, hashes it, prints where the buffer is (for the
 * test that tells the attacker), raises the event of its channel 0 (the
 * attacker waits for it), waits for that channel's event in turn (the
 * attacker raises it when done), hashes the buffer again and reports
 * whether anything changed it.  Exits 0 if unchanged, 1 if changed.
 */
#include "guests/lib/guest.h"

#define BUF_SIZE (3u << 20)

static u8 buf[BUF_SIZE] __aligned(4096);

/* FNV-1a, 64 bits. */
static u64 hash(const u8 *p, u64 n)
{
	u64 h = 0xcbf29ce484222325ULL;

	for (u64 i = 0; i < n; i++)
		h = (h ^ p[i]) * 0x100000001b3ULL;
	return h;
}

int guest_main(const struct partita_start_info *si)
{
	u64 x = 0x9e3779b97f4a7c15ULL ^ si->partition_id;

	for (u64 i = 0; i < BUF_SIZE; i += 8) {
		x ^= x << 13, x ^= x >> 7, x ^= x << 17; /* xorshift64 */
		for (unsigned b = 0; b < 8; b++)
			buf[i + b] = (u8)(x >> (8 * b));
	}
	u64 before = hash(buf, BUF_SIZE);
	printf("buffer at gpa %#llx, %u KiB, last page at gpa %#llx, hash %016llx\n",
	       (unsigned long long)(uintptr_t)buf, BUF_SIZE >> 10,
	       (unsigned long long)(uintptr_t)(buf + BUF_SIZE - 4096), (unsigned long long)before);
	hc_event_signal(0); /* the attacker may go */
	while (!(hc_wait(0) & 1))
		;
	u64 after = hash(buf, BUF_SIZE);
	if (after == before) {
		printf("memory unchanged after the attack (hash %016llx)\n",
		       (unsigned long long)after);
		return 0;
	}
	printf("memory CHANGED by the attack (hash %016llx, was %016llx)\n",
	       (unsigned long long)after, (unsigned long long)before);
	return 1;
}
