/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * hcfuzz: random hypercalls, "calls=N" of them (default 500000), from a
 * fixed seed, with random numbers (in and out of range, negative, huge) and
 * random and edge arguments: 0, -1, huge values, unaligned ones, pointers
 * into its own RAM, into its start-info page, just past its RAM, and into
 * the canary pages around its buffer.  It checks what the ABI promises
 * (kernel/abi/partita.h): an unknown number gives -PARTITA_E_NOSYS, a control call
 * without the capability -PARTITA_E_PERM, a pointer that is not all in its RAM, or
 * an output into its read-only start-info page, -PARTITA_E_FAULT; and at the end
 * that the canary pages are intact (no call wrote more than it was given).
 * It prints a FAIL line for each broken promise (the first few) and its
 * counts: calls by number and results by kind.
 *
 * What would end or stall it is avoided and counted as "avoided":
 * HC_SHUTDOWN; HC_PARTITION_CTL on a partition that exists with a valid
 * operation (with `control` it could stop the ticker or itself); HC_WAIT
 * with no deadline or a far one (it has no channel to be woken by); most
 * HC_YIELDs (each gives up the rest of its window).  Outputs that would
 * land in its own RAM outside its buffer are moved into the buffer, and
 * console writes of its own RAM are made short text (the console must not
 * drown the run).
 *
 * With `control`, after its calls it waits for every other hcfuzz
 * partition to exit and for the ticker (a partition named "ticker") to
 * print a summary after that, prints that summary line, and exits: the
 * case's end.
 */
#include "guests/lib/cpu.h"
#include "guests/lib/guest.h"
#include "kernel/lib/string.h"

#define ARENA_SIZE (16 * 1024)
_Static_assert(sizeof(struct partita_schedule_info) <= ARENA_SIZE,
	       "HC_SCHEDULE_INFO's answer fits the arena the fuzzer lets calls write");
#define CANARY_SIZE (2 * 4096)
#define MAX_REPORTS 10

/* canary | arena | canary, page aligned */
static u8 region[CANARY_SIZE + ARENA_SIZE + CANARY_SIZE] __aligned(4096);
#define ARENA (region + CANARY_SIZE)
#define CANARY_BYTE(i) ((u8)(0xa5 ^ (i) ^ ((i) >> 8)))

static u64 rng;
static u64 rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

static const struct partita_start_info *si;
static u64 mem_size, si_page; /* its RAM's size, the start-info page */

static u64 edge_value(void)
{
	u64 arena = (u64)(uintptr_t)ARENA;
	const u64 e[] = {
		0,
		1,
		~0ULL,
		~0ULL - 7,
		1ULL << 63,
		0x7fffffffffffffffULL,
		0xffffffffULL,
		0x100000000ULL,
		0x0000ffffffffffffULL,
		0xffff800000000000ULL,
		si_page,
		si_page + 8,
		si_page + 4095,
		mem_size,
		mem_size - 1,
		mem_size - 8,
		mem_size + 4096,
		2 * mem_size,
		arena,
		arena + 3,
		arena + ARENA_SIZE - 1,
		arena + ARENA_SIZE - 72,
		arena - 1,
		arena - 4096,
		arena + ARENA_SIZE,
		arena + ARENA_SIZE + 4095,
		0x1fff,
		0x2000,
		4096,
		72,
		96,
		4096,
		4097,
	};
	return e[rnd() % ARRAY_SIZE(e)];
}

static u64 arg_value(void)
{
	switch (rnd() % 8) {
	case 0:
	case 1:
	case 2:
		return edge_value();
	case 3:
		return rnd() % 64;
	case 4:
		return (u64)(uintptr_t)ARENA + rnd() % ARENA_SIZE;
	case 5:
		return rnd() % mem_size; /* anywhere in its RAM */
	default:
		return rnd();
	}
}

static u64 nr_value(void)
{
	switch (rnd() % 10) {
	case 0:
		return 20 + rnd() % 1000;
	case 1:
		return rnd();
	case 2:
		return -(u64)(1 + rnd() % 4);
	default:
		return rnd() % 20;
	}
}

/* Whether [p, p+len) lies in its RAM as the ABI sees it (from gpa 0x2000). */
static bool in_ram(u64 p, u64 len)
{
	return p >= 0x2000 && p < mem_size && len <= mem_size - p;
}

static bool touches_ram(u64 p, u64 len)
{
	u64 end = len > ~0ULL - p ? ~0ULL : p + len;
	return end > 0x2000 && p < mem_size;
}

/* An output of len bytes at *p: kept if it cannot land in its own RAM
 * outside the arena, else moved into the arena (len then fits). */
static void fix_output(u64 *p, u64 *len)
{
	u64 arena = (u64)(uintptr_t)ARENA;

	if (!touches_ram(*p, *len))
		return;
	if (*p >= arena && *len <= ARENA_SIZE && *p - arena <= ARENA_SIZE - *len)
		return;
	if (*len > ARENA_SIZE)
		*len = rnd() % ARENA_SIZE;
	*p = arena + rnd() % (ARENA_SIZE - *len + 1);
}

enum { R_OK, R_NOSYS, R_PERM, R_FAULT, R_INVAL, R_NOENT, R_AGAIN, R_OTHER, R_KINDS };
static const char *const rnames[] = { "ok",	 "E_NOSYS", "E_PERM",  "E_FAULT",
				      "E_INVAL", "E_NOENT", "E_AGAIN", "other error" };
static u64 results[R_KINDS], by_nr[21], avoided, violations, reports;

static int kind(long r)
{
	switch (r) {
	case -PARTITA_E_NOSYS:
		return R_NOSYS;
	case -PARTITA_E_PERM:
		return R_PERM;
	case -PARTITA_E_FAULT:
		return R_FAULT;
	case -PARTITA_E_INVAL:
		return R_INVAL;
	case -PARTITA_E_NOENT:
		return R_NOENT;
	case -PARTITA_E_AGAIN:
		return R_AGAIN;
	default:
		return r >= 0 ? R_OK : R_OTHER;
	}
}

static void violation(u64 nr, const u64 *a, long r, const char *want)
{
	violations++;
	if (reports++ < MAX_REPORTS)
		printf("FAIL hypercall %#llx (%#llx, %#llx, %#llx, %#llx, %#llx) returned %ld, expected %s\n",
		       (unsigned long long)nr, (unsigned long long)a[0], (unsigned long long)a[1],
		       (unsigned long long)a[2], (unsigned long long)a[3], (unsigned long long)a[4],
		       r, want);
}

static const char text[] = "hcfuzz console write\n";
static u64 cached_ns;

/* One call; false if it was avoided. */
static bool one_call(bool control, u32 self, u32 partitions)
{
	u64 nr = nr_value(), a[5];

	for (int i = 0; i < 5; i++)
		a[i] = arg_value();
	u64 out_len = 0;
	int out_arg = -1; /* the argument that is an output pointer */
	bool out_checked = true;
	switch (nr) {
	case HC_SHUTDOWN:
		avoided++;
		return false;
	case HC_YIELD:
		if (rnd() % 1000) {
			avoided++;
			return false;
		}
		break;
	case HC_WAIT:
		/* in the past, or at most 20 us ahead */
		a[0] = rnd() % 2 ? 1 + rnd() % 1000 : cached_ns + rnd() % 20000;
		break;
	case HC_CONSOLE_WRITE:
		if (touches_ram(a[0], a[1])) {
			a[0] = (u64)(uintptr_t)text;
			a[1] = rnd() % 64 ? 0 : sizeof(text) - 1;
		}
		break;
	case HC_PARTITION_INFO:
		out_arg = 0, out_len = sizeof(struct partita_partition_info);
		break;
	case HC_PARTITION_LIST:
		if (a[1] > ARENA_SIZE / sizeof(struct partita_partition_info) &&
		    touches_ram(a[0], 1))
			a[1] = rnd() % 8;
		out_arg = 0, out_len = a[1] * sizeof(struct partita_partition_info);
		out_checked = a[1] != 0;
		break;
	case HC_PARTITION_STATS:
		out_arg = 1, out_len = sizeof(struct partita_partition_stats);
		out_checked = a[0] < partitions;
		break;
	case HC_CONSOLE_READ:
		out_arg = 1, out_len = a[2];
		if (touches_ram(a[1], a[2]) && a[2] > ARENA_SIZE)
			a[2] = out_len = rnd() % ARENA_SIZE;
		out_checked = a[0] < partitions && a[2] != 0;
		break;
	case HC_SCHEDULE_INFO:
		out_arg = 0, out_len = sizeof(struct partita_schedule_info);
		break;
	case HC_API_CONFIG:
		out_arg = 0, out_len = sizeof(struct partita_api_config);
		break;
	case HC_API_FILE:
		/* No api_* file in this config: the call may refuse before it
		 * looks at the buffer, so only its canaries are checked. */
		if (touches_ram(a[1], a[2]) && a[2] > ARENA_SIZE)
			a[2] = rnd() % ARENA_SIZE;
		out_arg = 1, out_len = a[2];
		out_checked = false;
		break;
	case HC_PARTITION_CTL:
		if (control && a[0] < partitions && a[1] >= 1 && a[1] <= 3) {
			avoided++;
			return false;
		}
		break;
	}
	if (out_arg >= 0)
		fix_output(&a[out_arg], &out_len);
	if (nr == HC_CONSOLE_READ || nr == HC_API_FILE)
		a[2] = out_len;
	if (nr == HC_PARTITION_LIST && out_len / sizeof(struct partita_partition_info) < a[1])
		a[1] = out_len / sizeof(struct partita_partition_info);

	long r = hc_call((long)nr, (long)a[0], (long)a[1], (long)a[2], (long)a[3], (long)a[4]);
	results[kind(r)]++;
	by_nr[nr < 20 ? nr : 20]++;

	/* The ABI's promises. */
	/* ABI 1.1: the control calls are 16-22; ABI 1.2 adds 23-25, of which
	 * HC_PARTITION_MEMORY answers a partition about itself without
	 * `control`. */
	bool own_memory = nr == HC_PARTITION_MEMORY && a[0] == self;
	bool known = nr <= HC_PCI_WRITE || (nr >= HC_PARTITION_LIST && nr <= HC_PARTITION_DESTROY);
	if (!known && r != -PARTITA_E_NOSYS)
		violation(nr, a, r, "-E_NOSYS (unknown number)");
	else if (known && nr >= HC_PARTITION_LIST && !control && !own_memory &&
		 r != -PARTITA_E_PERM)
		violation(nr, a, r, "-E_PERM (no control capability)");
	else if (out_arg >= 0 && out_checked && (control || nr < HC_PARTITION_LIST) && out_len &&
		 !in_ram(a[out_arg], out_len) && r >= 0)
		violation(nr, a, r, "-E_FAULT (output outside its RAM)");
	else if (out_arg >= 0 && out_checked && (control || nr < HC_PARTITION_LIST) && out_len &&
		 a[out_arg] < si_page + 4096 && a[out_arg] + out_len > si_page && r >= 0)
		violation(nr, a, r, "-E_FAULT (output into the start-info page)");
	else if (nr == HC_CONSOLE_WRITE && a[1] && !in_ram(a[0], a[1]) && r >= 0)
		violation(nr, a, r, "-E_FAULT (console write from outside its RAM)");
	return true;
}

static u64 cmdline_u64(const char *key, u64 def)
{
	size_t n = strlen(key);

	for (const char *p = si->cmdline; *p; p++)
		if ((p == si->cmdline || p[-1] == ' ') && !strncmp(p, key, n)) {
			u64 v = 0;
			for (p += n; *p >= '0' && *p <= '9'; p++)
				v = v * 10 + (u64)(*p - '0');
			return v;
		}
	return def;
}

/* The last "N window starts" line in the tail of partition id's console,
 * into line; its N, or 0. */
static u64 ticker_summary(u32 id, char *line, size_t size)
{
	static char tail[4096];
	long n = hc_call(HC_CONSOLE_READ, id, (long)(uintptr_t)tail, sizeof(tail) - 1, 0, 0);
	u64 best = 0;

	if (n <= 0)
		return 0;
	tail[n] = 0;
	for (char *p = tail; *p;) {
		char *e = strchr(p, '\n');
		if (!e)
			break;
		*e = 0;
		const char *q = p;
		u64 v = 0;
		while (*q >= '0' && *q <= '9')
			v = v * 10 + (u64)(*q++ - '0');
		if (q != p && !strncmp(q, " window starts", 14)) {
			best = v;
			strlcpy(line, p, size);
		}
		p = e + 1;
	}
	return best;
}

static void wait_for_the_others(u32 self)
{
	static struct partita_partition_info list[16];
	char line[200] = "";
	long n;
	u32 ticker = ~0u;

	for (;;) {
		bool running = false;
		n = hc_call(HC_PARTITION_LIST, (long)(uintptr_t)list, 16, 0, 0, 0);
		for (long i = 0; i < n; i++) {
			if (!strcmp(list[i].name, "ticker"))
				ticker = list[i].id;
			if (list[i].id != self && !strncmp(list[i].name, "hcfuzz", 6) &&
			    list[i].state != PARTITA_STATE_EXITED &&
			    list[i].state != PARTITA_STATE_FAULTED &&
			    list[i].state != PARTITA_STATE_STOPPED)
				running = true;
		}
		if (!running)
			break;
		hc_yield();
	}
	if (ticker == ~0u) {
		printf("no partition named ticker\n");
		return;
	}
	u64 before = ticker_summary(ticker, line, sizeof(line));
	while (ticker_summary(ticker, line, sizeof(line)) <= before)
		hc_yield();
	printf("ticker after the fuzzing: %s\n", line);
}

int guest_main(const struct partita_start_info *start)
{
	si = start;
	mem_size = si->mem_size;
	si_page = (u64)(uintptr_t)si;
	bool control = si->flags & PARTITA_FEATURE_CONTROL;
	u64 calls = cmdline_u64("calls=", 500000);
	rng = cmdline_u64("seed=", 1) * 0x9e3779b97f4a7c15ULL | 1;
	u32 partitions = control ? (u32)hc_call(HC_PARTITION_LIST, 0, 0, 0, 0, 0) : 16;

	for (u64 i = 0; i < sizeof(region); i++)
		region[i] = CANARY_BYTE(i);
	printf("%s control: %llu calls, seed %llu, buffer %#llx+%#x between canary pages\n",
	       control ? "with" : "without", (unsigned long long)calls,
	       (unsigned long long)cmdline_u64("seed=", 1), (unsigned long long)(uintptr_t)ARENA,
	       ARENA_SIZE);
	u64 made = 0, tries = 0;
	while (made < calls) {
		if ((tries++ & 1023) == 0)
			cached_ns = hc_time();
		made += one_call(control, si->partition_id, partitions);
	}
	u64 bad = 0;
	for (u64 i = 0; i < sizeof(region); i++)
		if ((i < CANARY_SIZE || i >= CANARY_SIZE + ARENA_SIZE) &&
		    region[i] != CANARY_BYTE(i)) {
			if (!bad++)
				printf("FAIL canary byte at %#llx changed: %#x, expected %#x\n",
				       (unsigned long long)(uintptr_t)(region + i), region[i],
				       CANARY_BYTE(i));
		}
	printf("%llu calls, %llu avoided; by number: ", (unsigned long long)made,
	       (unsigned long long)avoided);
	for (int i = 0; i <= 20; i++)
		printf("%s%llu", i ? " " : "", (unsigned long long)by_nr[i]);
	printf(" (0-19, other)\n");
	printf("results:");
	for (int k = 0; k < R_KINDS; k++)
		printf(" %s %llu", rnames[k], (unsigned long long)results[k]);
	printf("\n");
	printf("hcfuzz %s control: %llu calls, %llu violations, canaries %s\n",
	       control ? "with" : "without", (unsigned long long)made,
	       (unsigned long long)violations, bad ? "BROKEN" : "intact");
	if (control)
		wait_for_the_others(si->partition_id);
	return violations || bad ? 1 : 0;
}
