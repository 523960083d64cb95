/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * creator: the test guest of run-time partitions (HC_PARTITION_CREATE and
 * HC_PARTITION_DESTROY, kernel/abi/partita.h), with the `control`
 * capability.  It checks every error answer, creates a partition from a
 * loaded image into a slot of tests/integration/configs/creator.conf, waits
 * for it to say hello and exit, destroys it, then creates and destroys
 * 1000 more and checks that the hypervisor's free pages are back where
 * they started.
 */
#include "guests/lib/guest.h"
#include "kernel/lib/string.h"

#define CYCLES 1000

static struct partita_create req;
static struct partita_memory_info mem;
static struct partita_partition_info parts[16];

static long create(const char *name, const char *image, const char *slot, const char *cmdline)
{
	memset(&req, 0, sizeof(req));
	strlcpy(req.name, name, sizeof(req.name));
	strlcpy(req.image, image, sizeof(req.image));
	strlcpy(req.slot, slot, sizeof(req.slot));
	strlcpy(req.cmdline, cmdline, sizeof(req.cmdline));
	return hc_call(HC_PARTITION_CREATE, (long)(uintptr_t)&req, 0, 0, 0, 0);
}

static long destroy(long id)
{
	return hc_call(HC_PARTITION_DESTROY, id, 0, 0, 0, 0);
}

static u64 free_pages(u32 self)
{
	GUEST_ASSERT(hc_call(HC_PARTITION_MEMORY, self, (long)(uintptr_t)&mem, 0, 0, 0) == 0);
	return mem.hv_free_pages;
}

static long id_of(const char *name)
{
	long n = hc_call_whole(HC_PARTITION_LIST, (long)(uintptr_t)parts, 16, 0, 0);

	for (long i = 0; i < n; i++)
		if (!strcmp(parts[i].name, name))
			return parts[i].id;
	return -1;
}

static u32 state_of(long id)
{
	long n = hc_call_whole(HC_PARTITION_LIST, (long)(uintptr_t)parts, 16, 0, 0);

	GUEST_ASSERT(id < n);
	return parts[id].state;
}

#define EXPECT(call, want)                                                                   \
	do {                                                                                 \
		long got_ = (call);                                                          \
		if (got_ != (long)(want)) {                                                  \
			printf("[test] FAIL %s:%d: %s = %ld, not %ld\n", __FILE__, __LINE__, \
			       #call, got_, (long)(want));                                   \
			hc_shutdown(1);                                                      \
		}                                                                            \
	} while (0)

int guest_main(const struct partita_start_info *si)
{
	u32 self = si->partition_id;
	long s0 = id_of("s0"), bystander = id_of("bystander");
	u64 base = free_pages(self);

	GUEST_ASSERT(s0 >= 0 && bystander >= 0);
	printf("free pages at the start: %llu\n", (unsigned long long)base);
	/* Every error answer, each leaving nothing made. */
	EXPECT(create("Bad!", "instance.elf", "s0", ""), -PARTITA_E_INVAL);
	EXPECT(create("", "instance.elf", "s0", ""), -PARTITA_E_INVAL);
	EXPECT(create("child", "nothere.elf", "s0", ""), -PARTITA_E_NOENT);
	EXPECT(create("child", "instance.elf", "nosuch", ""), -PARTITA_E_NOENT);
	EXPECT(create("creator", "instance.elf", "s0", ""), -PARTITA_E_EXIST);
	EXPECT(create("s1", "instance.elf", "s0", ""), -PARTITA_E_EXIST);
	EXPECT(create("child", "instance.elf", "big", ""), -PARTITA_E_NOMEM);
	EXPECT(destroy(self), -PARTITA_E_INVAL);
	EXPECT(destroy(bystander), -PARTITA_E_INVAL);
	EXPECT(destroy(s0), -PARTITA_E_NOENT);
	EXPECT(destroy(99), -PARTITA_E_NOENT);
	EXPECT(hc_call(HC_PARTITION_CREATE, 0x1000, 0, 0, 0, 0), -PARTITA_E_FAULT);
	EXPECT(free_pages(self), base);
	printf("error answers ok, free pages unchanged\n");

	/* One that runs: it says hello in its slot's windows and exits. */
	EXPECT(create("child", "instance.elf", "s0", "mode=hello"), s0);
	EXPECT(create("child2", "instance.elf", "s0", ""), -PARTITA_E_BUSY);
	EXPECT(create("child", "instance.elf", "s1", ""), -PARTITA_E_EXIST);
	EXPECT(create("s0", "instance.elf", "s1", ""), -PARTITA_E_EXIST);
	EXPECT(id_of("child"), s0);
	while (state_of(s0) != PARTITA_STATE_EXITED)
		hc_yield();
	EXPECT(destroy(s0), 0);
	EXPECT(id_of("child"), -1);
	EXPECT(id_of("s0"), s0);
	EXPECT(free_pages(self), base);
	printf("created, ran, destroyed: free pages back at %llu\n", (unsigned long long)base);

	for (unsigned i = 0; i < CYCLES; i++) {
		EXPECT(create("cycle", "instance.elf", "s0", "mode=hello"), s0);
		EXPECT(destroy(s0), 0);
		if ((i + 1) % 250 == 0)
			printf("%u create/destroy cycles, free pages %llu\n", i + 1,
			       (unsigned long long)free_pages(self));
	}
	EXPECT(free_pages(self), base);
	printf("%u create/destroy cycles: free pages back at the start's %llu\n", CYCLES,
	       (unsigned long long)base);
	return 0;
}
