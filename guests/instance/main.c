/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * instance: the test guest of images and instances (kernel/image.h).  Many
 * partitions run this one image, each above its own private layer.  Its
 * cmdline picks what it does:
 *
 *   mode=data    checks that its data is the image's, writes its own values
 *                over three pages of it, yields while the other instances
 *                write theirs, and checks that it still sees its own; then
 *                it faults on purpose once, and in its second boot checks
 *                that the restart gave it the image's data again;
 *   mode=all     writes every page of its image (text and rodata too, each
 *                with the byte it holds, then its big table with another
 *                pattern), so every page is a private copy;
 *   mode=greedy  writes page after page of its big table until its small
 *                budget is used up and the hypervisor stops it (a restart
 *                then ends it with 0);
 *   mode=idle    writes its data as mode=data does, then yields forever (for
 *                the management API's view of its layers);
 *   mode=hello   prints one line and exits (a partition created at run time);
 *   mode=bench   times its first writes to eight pages of its big table
 *                (each a copy-on-write fault) against second writes to the
 *                same pages (`make bench`, tests/bench_images.py).
 */
#include "guests/lib/cpu.h"
#include "guests/lib/guest.h"
#include "kernel/lib/string.h"

#define BIG_BYTES (64 * 1024)
#define BIG_FILL 0xa5
#define DATA_WORDS (3 * 512) /* three pages of u64 */

/* 64 KiB of read-only data, so that the image is mostly shared pages. */
__asm__(".section .rodata\n"
	".balign 4096\n"
	".globl big_table\n"
	"big_table: .fill 65536, 1, 0xa5\n"
	".previous\n");
extern const u8 big_table[BIG_BYTES];

/* Initialized, so in .data (shared until written). */
static volatile u64 counter = 42;
static volatile u64 words[DATA_WORDS] __attribute__((aligned(4096))) = { 7, 7, 7 };

static long memory_info(u32 id, struct partita_memory_info *m)
{
	return hc_call(HC_PARTITION_MEMORY, id, (long)(uintptr_t)m, 0, 0, 0);
}

static void report(const struct partita_start_info *si, const char *when)
{
	struct partita_memory_info m;
	long r = memory_info(si->partition_id, &m);

	GUEST_ASSERT(r == 0);
	GUEST_ASSERT(m.instance == 1);
	GUEST_ASSERT(m.shared_pages + m.private_pages == m.mem_size / 4096);
	printf("memory %s: shared %llu private %llu budget %llu copies %llu faults %llu hash %#llx\n",
	       when, (unsigned long long)m.shared_pages, (unsigned long long)m.private_pages,
	       (unsigned long long)m.budget_pages, (unsigned long long)m.copy_pages,
	       (unsigned long long)m.cow_faults, (unsigned long long)m.image_hash);
}

static bool image_data_intact(void)
{
	if (counter != 42)
		return false;
	for (unsigned i = 0; i < DATA_WORDS; i++)
		if (words[i] != (i < 3 ? 7u : 0u))
			return false;
	return true;
}

static int mode_data(const struct partita_start_info *si)
{
	u64 id = si->partition_id;

	GUEST_ASSERT(image_data_intact());
	report(si, "at start");
	if (si->boot_count > 1) {
		printf("boot %llu: fresh layer ok, data is the image's again\n",
		       (unsigned long long)si->boot_count);
		return 0;
	}
	counter = 1000 + id;
	for (unsigned i = 0; i < DATA_WORDS; i++)
		words[i] = id * 100000 + i;
	for (unsigned round = 0; round < 10; round++) {
		hc_yield(); /* the other instances write theirs meanwhile */
		GUEST_ASSERT(counter == 1000 + id);
		for (unsigned i = 0; i < DATA_WORDS; i++)
			GUEST_ASSERT(words[i] == id * 100000 + i);
	}
	for (unsigned i = 0; i < BIG_BYTES; i += 4096)
		GUEST_ASSERT(big_table[i] == BIG_FILL);
	printf("own data ok after 10 rounds\n");
	report(si, "after writing");
	/* A fault on purpose: on_fault = restart gives it a fresh layer. */
	printf("faulting on purpose\n");
	*(volatile u64 *)(uintptr_t)si = 0;
	return 1;
}

static int mode_all(const struct partita_start_info *si)
{
	u64 pages = 0;

	for (uintptr_t a = 0x100000; a < si->image_end; a += 4096, pages++) {
		volatile u8 *b = (volatile u8 *)a;
		*b = *b;
	}
	volatile u8 *big = (volatile u8 *)(uintptr_t)big_table;
	for (unsigned i = 0; i < BIG_BYTES; i++)
		big[i] = 0x5a;
	for (unsigned i = 0; i < BIG_BYTES; i++)
		GUEST_ASSERT(big[i] == 0x5a);
	printf("wrote every page of its image (%llu pages)\n", (unsigned long long)pages);
	report(si, "after writing everywhere");
	return 0;
}

static int mode_greedy(const struct partita_start_info *si)
{
	if (si->boot_count > 1) {
		printf("boot %llu after its budget ran out\n", (unsigned long long)si->boot_count);
		return 0;
	}
	report(si, "at start");
	volatile u8 *big = (volatile u8 *)(uintptr_t)big_table;
	for (unsigned i = 0; i < BIG_BYTES; i += 4096) {
		printf("writing big table page %u\n", i / 4096);
		big[i] = 1;
	}
	printf("[test] FAIL: wrote the whole table beyond its budget\n");
	return 1;
}

static int mode_idle(const struct partita_start_info *si)
{
	counter = 1000 + si->partition_id;
	for (unsigned i = 0; i < DATA_WORDS; i++)
		words[i] = i;
	report(si, "idle");
	printf("idle with its data written\n");
	while (hc_yield() == 0)
		;
	return 1;
}

#define BENCH_PAGES 8

static u64 median(u64 *v, unsigned n)
{
	for (unsigned i = 1; i < n; i++)
		for (unsigned j = i; j > 0 && v[j - 1] > v[j]; j--) {
			u64 t = v[j];
			v[j] = v[j - 1];
			v[j - 1] = t;
		}
	return v[n / 2];
}

static int mode_bench(const struct partita_start_info *si)
{
	volatile u8 *big = (volatile u8 *)(uintptr_t)big_table;
	u64 first[BENCH_PAGES], again[BENCH_PAGES];

	/* Each measured write is alone in its window's time: a yield first,
	 * so that no window end falls inside one. */
	for (unsigned i = 0; i < BENCH_PAGES; i++) {
		hc_yield();
		u64 t0 = rdtsc();
		big[i * 4096] = 1;
		first[i] = rdtsc() - t0;
		u64 t1 = rdtsc();
		big[i * 4096 + 64] = 2;
		again[i] = rdtsc() - t1;
	}
	report(si, "after the bench");
	printf("cow fault: median %llu cycles, a second write to the page %llu cycles\n",
	       (unsigned long long)median(first, BENCH_PAGES),
	       (unsigned long long)median(again, BENCH_PAGES));
	return 0;
}

int guest_main(const struct partita_start_info *si)
{
	if (!strcmp(si->cmdline, "mode=hello")) {
		printf("hello from %s, made at run time (boot %llu)\n", si->name,
		       (unsigned long long)si->boot_count);
		return 0;
	}
	if (!strcmp(si->cmdline, "mode=bench"))
		return mode_bench(si);
	if (!strcmp(si->cmdline, "mode=idle"))
		return mode_idle(si);
	if (!strcmp(si->cmdline, "mode=all"))
		return mode_all(si);
	if (!strcmp(si->cmdline, "mode=greedy"))
		return mode_greedy(si);
	return mode_data(si);
}
