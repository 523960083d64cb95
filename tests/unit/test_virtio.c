/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Unit tests of the virtio devices of hvm partitions: the split-virtqueue
 * walker (kernel/hvm/virtq.c) against hostile rings (indices, loops,
 * buffers outside RAM, wrapping addresses, indirect descriptors, order of
 * readable and writable buffers), the modern PCI transport
 * (virtio_pci.c: capabilities, feature negotiation, queue setup, MSI-X and
 * INTx) driven through the BAR as a driver does, and virtio-blk
 * (virtio_blk.c) over a base image and a copy-on-write layer: reads,
 * writes, flush, requests past the end, a full layer, a read-only disk.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "kernel/errno.h"
#include "kernel/hvm/virtio_blk.h"
#include "kernel/hvm/vlapic.h"
#include "kernel/lib/bytes.h"
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

bool log_guest(enum log_kind kind, const char *fmt, ...)
{
	va_list ap;
	(void)kind;
	va_start(ap, fmt);
	vsnprintf(last_log, sizeof(last_log), fmt, ap);
	va_end(ap);
	log_count++;
	return true;
}

/* ------------------------------------------------------ guest memory -- */

#define RAM_SIZE (1u << 20)
#define Q 8 /* queue size used by the ring tests */
#define DESC_GPA 0x1000
#define AVAIL_GPA 0x2000
#define USED_GPA 0x3000
#define DATA_GPA 0x10000

static u8 *ram;
static struct virtq_mem mem;
static struct virtq q;
static struct virtq_chain chain;

static void put_desc(unsigned i, u64 addr, u32 len, u16 flags, u16 next)
{
	u8 *d = ram + DESC_GPA + 16 * i;
	wr64(d, 0, addr);
	wr32(d, 8, len);
	wr16(d, 12, flags);
	wr16(d, 14, next);
}

static void offer(u16 head)
{
	u16 idx = rd16(ram, AVAIL_GPA + 2);
	wr16(ram, AVAIL_GPA + 4 + 2 * (idx % q.size), head);
	wr16(ram, AVAIL_GPA + 2, (u16)(idx + 1));
}

static int ring_setup(void **state)
{
	(void)state;
	ram = calloc(1, RAM_SIZE);
	mem = (struct virtq_mem){ ram, RAM_SIZE, 0 };
	virtq_reset(&q, Q);
	q.desc_gpa = DESC_GPA;
	q.avail_gpa = AVAIL_GPA;
	q.used_gpa = USED_GPA;
	const char *why;
	assert_int_equal(virtq_enable(&q, &mem, Q, &why), 0);
	log_count = 0;
	return 0;
}

static int ring_teardown(void **state)
{
	(void)state;
	free(ram);
	return 0;
}

static void test_mem_ptr(void **state)
{
	(void)state;
	u8 base[16];
	struct virtq_mem m = { base, 0x1000, 0 };
	assert_ptr_equal(virtq_mem_ptr(&m, 0, 0x1000), base);
	assert_null(virtq_mem_ptr(&m, 0, 0x1001));
	assert_null(virtq_mem_ptr(&m, 0xfff, 2));
	assert_null(virtq_mem_ptr(&m, 0x10, 0));
	assert_null(virtq_mem_ptr(&m, ~0ULL, 2)); /* wraps */
	assert_null(virtq_mem_ptr(&m, 0x800, ~0ULL));
	assert_null(virtq_mem_ptr(&m, GiB(4), 1)); /* nothing above 4 GiB */
	struct virtq_mem h = { base, 0x1000, GiB(4) + 0x1000 };
	assert_ptr_equal(virtq_mem_ptr(&h, GiB(4), 0x1000), base + GiB(4));
	assert_null(virtq_mem_ptr(&h, GiB(4) - 1, 2)); /* across the hole */
	assert_null(virtq_mem_ptr(&h, GiB(4) + 0xfff, 2));
}

static void test_enable_checks(void **state)
{
	(void)state;
	const char *why = NULL;
	struct virtq t;

	virtq_reset(&t, Q);
	t.desc_gpa = DESC_GPA;
	t.avail_gpa = AVAIL_GPA;
	t.used_gpa = USED_GPA;
	t.size = 6; /* not a power of two */
	assert_int_equal(virtq_enable(&t, &mem, Q, &why), -E_INVAL);
	t.size = 16; /* above the maximum */
	assert_int_equal(virtq_enable(&t, &mem, Q, &why), -E_INVAL);
	t.size = 0;
	assert_int_equal(virtq_enable(&t, &mem, Q, &why), -E_INVAL);
	t.size = Q;
	t.desc_gpa = DESC_GPA + 8; /* misaligned */
	assert_int_equal(virtq_enable(&t, &mem, Q, &why), -E_INVAL);
	t.desc_gpa = RAM_SIZE - 16 * Q + 16; /* runs past RAM */
	assert_int_equal(virtq_enable(&t, &mem, Q, &why), -E_INVAL);
	assert_false(t.enabled);
	t.desc_gpa = DESC_GPA;
	t.used_gpa = ~0ULL & ~3ULL; /* wraps */
	assert_int_equal(virtq_enable(&t, &mem, Q, &why), -E_INVAL);
	t.used_gpa = RAM_SIZE - (4 + 8 * Q + 2) + 4; /* avail_event past RAM */
	assert_int_equal(virtq_enable(&t, &mem, Q, &why), -E_INVAL);
	t.used_gpa = RAM_SIZE - (4 + 8 * Q + 2) - 2; /* just fits (4-aligned) */
	assert_int_equal(virtq_enable(&t, &mem, Q, &why), 0);
}

static void test_pop_push(void **state)
{
	(void)state;
	const char *why = NULL;

	assert_int_equal(virtq_pop(&q, &mem, &chain, &why), 0); /* empty */
	put_desc(3, DATA_GPA, 16, VIRTQ_DESC_F_NEXT, 5);
	put_desc(5, DATA_GPA + 0x100, 100, VIRTQ_DESC_F_NEXT | VIRTQ_DESC_F_WRITE, 0);
	put_desc(0, DATA_GPA + 0x200, 1, VIRTQ_DESC_F_WRITE, 7);
	offer(3);
	assert_int_equal(virtq_pop(&q, &mem, &chain, &why), 1);
	assert_int_equal(chain.head, 3);
	assert_int_equal(chain.count, 3);
	assert_int_equal(chain.readable, 16);
	assert_int_equal(chain.writable, 101);
	assert_ptr_equal(chain.seg[1].host, ram + DATA_GPA + 0x100);
	assert_int_equal(virtq_pop(&q, &mem, &chain, &why), 0);
	virtq_push(&q, 3, 42);
	assert_int_equal(rd16(ram, USED_GPA + 2), 1);
	assert_int_equal(rd32(ram, USED_GPA + 4), 3);
	assert_int_equal(rd32(ram, USED_GPA + 8), 42);
	assert_true(virtq_should_notify(&q));
	assert_false(virtq_should_notify(&q)); /* nothing new since */
	/* NO_INTERRUPT (without the event index) */
	wr16(ram, AVAIL_GPA, VIRTQ_AVAIL_F_NO_INTERRUPT);
	offer(3);
	assert_int_equal(virtq_pop(&q, &mem, &chain, &why), 1);
	virtq_push(&q, 3, 1);
	assert_false(virtq_should_notify(&q));
}

static void test_chain_copy(void **state)
{
	(void)state;
	const char *why = NULL;
	u8 buf[8];

	put_desc(0, DATA_GPA, 3, VIRTQ_DESC_F_NEXT, 1);
	put_desc(1, DATA_GPA + 0x10, 5, VIRTQ_DESC_F_NEXT, 2);
	put_desc(2, DATA_GPA + 0x20, 4, VIRTQ_DESC_F_WRITE, 0);
	memcpy(ram + DATA_GPA, "abc", 3);
	memcpy(ram + DATA_GPA + 0x10, "defgh", 5);
	offer(0);
	assert_int_equal(virtq_pop(&q, &mem, &chain, &why), 1);
	assert_int_equal(virtq_chain_read(&chain, 1, buf, 6), 6);
	assert_memory_equal(buf, "bcdefg", 6);
	assert_int_equal(virtq_chain_read(&chain, 6, buf, 8), 2); /* ends first */
	assert_int_equal(virtq_chain_write(&chain, 2, "xyz", 3), 2);
	assert_memory_equal(ram + DATA_GPA + 0x22, "xy", 2);
}

/* Each hostile ring is refused with a reason, and nothing is taken. */
static void expect_refused(void)
{
	const char *why = NULL;
	u16 before = q.last_avail;
	assert_int_equal(virtq_pop(&q, &mem, &chain, &why), -E_INVAL);
	assert_non_null(why);
	assert_int_equal(q.last_avail, before);
}

static void test_hostile_head(void **state)
{
	(void)state;
	offer(Q); /* outside the table */
	expect_refused();
}

static void test_hostile_avail_idx(void **state)
{
	(void)state;
	wr16(ram, AVAIL_GPA + 2, Q + 1); /* more than the queue holds */
	expect_refused();
	wr16(ram, AVAIL_GPA + 2, 0xffff); /* "negative" */
	expect_refused();
}

static void test_hostile_loop(void **state)
{
	(void)state;
	put_desc(0, DATA_GPA, 4, VIRTQ_DESC_F_NEXT, 1);
	put_desc(1, DATA_GPA, 4, VIRTQ_DESC_F_NEXT, 0);
	offer(0);
	expect_refused();
	/* a loop of empty descriptors too */
	ring_teardown(NULL);
	ring_setup(NULL);
	put_desc(2, 0, 0, VIRTQ_DESC_F_NEXT, 2);
	offer(2);
	expect_refused();
}

static void test_hostile_next(void **state)
{
	(void)state;
	put_desc(0, DATA_GPA, 4, VIRTQ_DESC_F_NEXT, 0x1234);
	offer(0);
	expect_refused();
}

static void test_hostile_buffers(void **state)
{
	(void)state;
	static const struct {
		u64 addr;
		u32 len;
	} bad[] = {
		{ RAM_SIZE, 1 },	   /* just past RAM */
		{ RAM_SIZE - 1, 2 },	   /* straddles the end */
		{ ~0ULL - 1, 4 },	   /* wraps */
		{ 0, 0xffffffffu },	   /* huge */
		{ GiB(4), 16 },		   /* no high RAM */
		{ 0xfee00000ULL, 4 },	   /* the local APIC, not RAM */
		{ 0x8000000000000000, 1 }, /* far away */
	};
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		ring_setup(NULL);
		put_desc(0, DATA_GPA, 16, VIRTQ_DESC_F_NEXT, 1);
		put_desc(1, bad[i].addr, bad[i].len, VIRTQ_DESC_F_WRITE, 0);
		offer(0);
		expect_refused();
		ring_teardown(NULL);
	}
}

static void test_hostile_order_and_indirect(void **state)
{
	(void)state;
	put_desc(0, DATA_GPA, 4, VIRTQ_DESC_F_NEXT | VIRTQ_DESC_F_WRITE, 1);
	put_desc(1, DATA_GPA, 4, 0, 0); /* readable after writable */
	offer(0);
	expect_refused();
	ring_teardown(NULL);
	ring_setup(NULL);
	put_desc(0, DATA_GPA, 16, VIRTQ_DESC_F_INDIRECT, 0);
	offer(0);
	expect_refused();
}

/* Random rings: whatever the guest writes, the walker never reads or
 * hands out memory outside RAM (ASan watches the reads), and every buffer
 * it returns lies inside RAM. */
static void test_random_rings(void **state)
{
	(void)state;
	srand(13);
	for (int round = 0; round < 20000; round++) {
		for (unsigned i = 0; i < Q; i++) {
			u64 addr = (u64)rand() % (RAM_SIZE + 64);
			if (rand() % 8 == 0)
				addr = ~0ULL - (u64)(rand() % 64);
			put_desc(i, addr, (u32)(rand() % 4 ? rand() % 4096 : rand()),
				 (u16)(rand() % 8), (u16)(rand() % 12));
		}
		wr16(ram, AVAIL_GPA + 2, (u16)(q.last_avail + rand() % 12));
		for (unsigned i = 0; i < Q; i++)
			wr16(ram, AVAIL_GPA + 4 + 2 * i, (u16)(rand() % 10));
		const char *why;
		int got = virtq_pop(&q, &mem, &chain, &why);
		if (got == 1) {
			assert_true(chain.count <= Q);
			for (unsigned i = 0; i < chain.count; i++) {
				const struct virtq_seg *s = &chain.seg[i];
				assert_true(s->host >= ram && s->host + s->len <= ram + RAM_SIZE);
			}
			virtq_push(&q, chain.head, 0);
		} else if (got < 0) {
			assert_int_equal(got, -E_INVAL);
			q.last_avail = rd16(ram, AVAIL_GPA + 2); /* a reset, in effect */
		}
	}
}

static void test_event_idx(void **state)
{
	(void)state;
	const char *why;

	q.event_idx = true;
	put_desc(0, DATA_GPA, 1, VIRTQ_DESC_F_WRITE, 0);
	for (int i = 0; i < 3; i++)
		offer(0);
	/* the driver wants an interrupt when used passes 1 (used_event 1) */
	wr16(ram, AVAIL_GPA + 4 + 2 * Q, 1);
	assert_int_equal(virtq_pop(&q, &mem, &chain, &why), 1);
	virtq_push(&q, 0, 1);
	assert_false(virtq_should_notify(&q)); /* used 1: event 1 not passed */
	assert_int_equal(virtq_pop(&q, &mem, &chain, &why), 1);
	virtq_push(&q, 0, 1);
	assert_true(virtq_should_notify(&q)); /* used 2: passed */
	/* one entry is still available: publish says to look again */
	assert_true(virtq_publish_avail_event(&q));
	assert_int_equal(rd16(ram, USED_GPA + 4 + 8 * Q), 2); /* avail_event */
	assert_int_equal(virtq_pop(&q, &mem, &chain, &why), 1);
	assert_false(virtq_publish_avail_event(&q));
	assert_int_equal(rd16(ram, USED_GPA + 4 + 8 * Q), 3);
}

/* ----------------------------------------------------- the disk layer -- */

#define DISK_SIZE (64 * 1024 + 512) /* 16 blocks and a short one */

static u8 *base, *base_copy, *layer_mem;

static int disk_setup(void **state)
{
	(void)state;
	base = malloc(DISK_SIZE);
	base_copy = malloc(DISK_SIZE);
	for (unsigned i = 0; i < DISK_SIZE; i++)
		base[i] = (u8)(i * 7 + 3);
	memcpy(base_copy, base, DISK_SIZE);
	layer_mem = aligned_alloc(4096, 4096 * 8);
	return 0;
}

static int disk_teardown(void **state)
{
	(void)state;
	assert_memory_equal(base, base_copy, DISK_SIZE); /* never written */
	free(base);
	free(base_copy);
	free(layer_mem);
	return 0;
}

static void test_layer(void **state)
{
	(void)state;
	struct blk_disk d;
	u8 buf[8192], want[8192];

	assert_int_equal(blk_layer_map_bytes(DISK_SIZE), 4096);
	assert_int_equal(blk_disk_init(&d, base, DISK_SIZE - 1, layer_mem, 4096 * 8), -E_INVAL);
	assert_int_equal(blk_disk_init(&d, base, DISK_SIZE, layer_mem, 4096), -E_INVAL);
	assert_int_equal(blk_disk_init(&d, base, DISK_SIZE, layer_mem + 8, 4096 * 7), -E_INVAL);
	/* a map page and 3 slots */
	assert_int_equal(blk_disk_init(&d, base, DISK_SIZE, layer_mem, 4096 * 4), 0);
	assert_int_equal(d.layer.slot_count, 3);
	assert_int_equal(blk_disk_read(&d, 100, buf, 5000), 0);
	assert_memory_equal(buf, base + 100, 5000);
	/* a write across two blocks: both copied, then overwritten */
	memset(want, 0xab, 300);
	assert_int_equal(blk_disk_write(&d, 4096 - 100, want, 300), 0);
	assert_int_equal(d.layer.slots_used, 2);
	assert_int_equal(blk_disk_read(&d, 0, buf, 8192), 0);
	memcpy(want, base, 8192);
	memset(want + 4096 - 100, 0xab, 300);
	assert_memory_equal(buf, want, 8192);
	/* the short last block: copied, its tail reads as the base (zero
	 * past the disk is never visible) */
	assert_int_equal(blk_disk_write(&d, DISK_SIZE - 512, (const u8 *)"z", 1), 0);
	assert_int_equal(blk_disk_read(&d, DISK_SIZE - 512, buf, 512), 0);
	assert_int_equal(buf[0], 'z');
	assert_memory_equal(buf + 1, base + DISK_SIZE - 511, 511);
	/* full: the fourth block is refused */
	assert_int_equal(blk_disk_write(&d, 5 * 4096, (const u8 *)"q", 1), -E_NOSPC);
	assert_int_equal(d.layer.full_refusals, 1);
	/* written blocks still take writes */
	assert_int_equal(blk_disk_write(&d, 10, (const u8 *)"w", 1), 0);
	/* past the end */
	assert_int_equal(blk_disk_read(&d, DISK_SIZE - 1, buf, 2), -E_RANGE);
	assert_int_equal(blk_disk_write(&d, DISK_SIZE, (const u8 *)"x", 1), -E_RANGE);
	assert_int_equal(blk_disk_read(&d, ~0ULL, buf, 2), -E_RANGE);
	/* a new init forgets the layer */
	assert_int_equal(blk_disk_init(&d, base, DISK_SIZE, layer_mem, 4096 * 4), 0);
	assert_int_equal(blk_disk_read(&d, 0, buf, 8192), 0);
	assert_memory_equal(buf, base, 8192);
	/* read-only */
	assert_int_equal(blk_disk_init(&d, base, DISK_SIZE, NULL, 0), 0);
	assert_int_equal(blk_disk_write(&d, 0, (const u8 *)"x", 1), -E_PERM);
}

/* ------------------------------------ virtio-blk through its PCI BARs -- */

static struct vlapic lapic;
static struct vpci bus;
static struct virtio_blk blk;
#define BAR0 (VPCI_MMIO_BASE + VIRTIO_BLK_SLOT * 0x100000ULL)
#define BAR1 (BAR0 + 0x10000)
#define BQ 256
#define REQ_GPA 0x20000
#define STATUS_GPA 0x21000
#define BUF_GPA 0x30000

static u64 mmio_rd(u64 gpa, unsigned size)
{
	u64 v = 0;
	assert_true(vpci_mmio(&bus, gpa, size, false, &v));
	return v;
}

static void mmio_wr(u64 gpa, unsigned size, u64 v)
{
	assert_true(vpci_mmio(&bus, gpa, size, true, &v));
}

static u32 cfg_rd(unsigned reg, unsigned size)
{
	return vpci_cfg_read(&bus, 0, VPCI_DEVFN(VIRTIO_BLK_SLOT, 0), reg, size);
}

static void cfg_wr(unsigned reg, unsigned size, u32 v)
{
	vpci_cfg_write(&bus, 0, VPCI_DEVFN(VIRTIO_BLK_SLOT, 0), reg, size, v);
}

static int blk_setup_with(u8 *layer, u64 layer_size)
{
	ram = calloc(1, RAM_SIZE);
	mem = (struct virtq_mem){ ram, RAM_SIZE, 0 };
	vlapic_reset(&lapic, "linux", 1000000000ULL, 0);
	vlapic_mmio_write(&lapic, 0, APIC_SVR, 4, APIC_SVR_ENABLE | 0xff);
	vpci_reset(&bus, &lapic, "linux");
	log_count = 0;
	return virtio_blk_attach(&blk, &bus, &mem, "linux", base, DISK_SIZE, layer, layer_size);
}

static int blk_setup(void **state)
{
	disk_setup(state);
	assert_int_equal(blk_setup_with(layer_mem, 4096 * 8), 0);
	return 0;
}

static int blk_teardown(void **state)
{
	free(ram);
	return disk_teardown(state);
}

/* Finds the virtio capability of type in the list. */
static unsigned find_cap(u8 type)
{
	for (unsigned off = cfg_rd(PCI_CAP_PTR, 1); off; off = cfg_rd(off + 1, 1))
		if (cfg_rd(off, 1) == PCI_CAP_ID_VNDR && cfg_rd(off + 3, 1) == type)
			return off;
	return 0;
}

/* The driver's side of 3.1.1, as Linux's virtio_pci_modern does it. */
static void driver_init(u64 accept, bool msix)
{
	mmio_wr(BAR0 + 0x14, 1, 0); /* reset */
	mmio_wr(BAR0 + 0x14, 1, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER);
	mmio_wr(BAR0 + 0x08, 4, 0);
	mmio_wr(BAR0 + 0x0c, 4, (u32)accept);
	mmio_wr(BAR0 + 0x08, 4, 1);
	mmio_wr(BAR0 + 0x0c, 4, (u32)(accept >> 32));
	mmio_wr(BAR0 + 0x14, 1,
		VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER | VIRTIO_STATUS_FEATURES_OK);
	if (msix) {
		cfg_wr(blk.vdev.pci.msix_cap + 2, 2, 1u << 15);
		/* vector 1: address 0xfee00000, vector 0x41; unmasked */
		mmio_wr(BAR1 + 16, 4, 0xfee00000);
		mmio_wr(BAR1 + 24, 4, 0x41);
		mmio_wr(BAR1 + 28, 4, 0);
		mmio_wr(BAR0 + 0x10, 2, 0);
	}
	mmio_wr(BAR0 + 0x16, 2, 0);
	assert_int_equal(mmio_rd(BAR0 + 0x18, 2), BQ);
	mmio_wr(BAR0 + 0x1a, 2, msix ? 1 : VIRTIO_MSI_NO_VECTOR);
	mmio_wr(BAR0 + 0x20, 4, DESC_GPA);
	mmio_wr(BAR0 + 0x24, 4, 0);
	mmio_wr(BAR0 + 0x28, 4, AVAIL_GPA);
	mmio_wr(BAR0 + 0x2c, 4, 0);
	mmio_wr(BAR0 + 0x30, 4, USED_GPA);
	mmio_wr(BAR0 + 0x34, 4, 0);
	mmio_wr(BAR0 + 0x1c, 2, 1);
	mmio_wr(BAR0 + 0x14, 1,
		VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER | VIRTIO_STATUS_FEATURES_OK |
			VIRTIO_STATUS_DRIVER_OK);
}

static u16 avail_idx, used_seen;

static void bput_desc(unsigned i, u64 addr, u32 len, u16 flags, u16 next)
{
	u8 *d = ram + DESC_GPA + 16 * i;
	wr64(d, 0, addr);
	wr32(d, 8, len);
	wr16(d, 12, flags);
	wr16(d, 14, next);
}

/* One request: header, data (len bytes at BUF_GPA, device-writable for
 * IN), status.  Returns the status byte, and the used length. */
static int submit(u32 type, u64 sector, u32 len, u32 *used_len)
{
	wr32(ram, REQ_GPA, type);
	wr32(ram, REQ_GPA + 4, 0);
	wr64(ram, REQ_GPA + 8, sector);
	ram[STATUS_GPA] = 0xee;
	bool in = type != VIRTIO_BLK_T_OUT;
	bput_desc(0, REQ_GPA, 16, VIRTQ_DESC_F_NEXT, len ? 1 : 2);
	bput_desc(1, BUF_GPA, len, VIRTQ_DESC_F_NEXT | (in ? VIRTQ_DESC_F_WRITE : 0), 2);
	bput_desc(2, STATUS_GPA, 1, VIRTQ_DESC_F_WRITE, 0);
	wr16(ram, AVAIL_GPA + 4 + 2 * (avail_idx % BQ), 0);
	wr16(ram, AVAIL_GPA + 2, ++avail_idx);
	mmio_wr(BAR0 + VIRTIO_NOTIFY_OFF, 2, 0);
	u16 used = rd16(ram, USED_GPA + 2);
	if (used == used_seen)
		return -1; /* not answered */
	if (used_len)
		*used_len = rd32(ram, USED_GPA + 8 + 8 * (used_seen % BQ));
	used_seen = used;
	return ram[STATUS_GPA];
}

static void test_blk_pci(void **state)
{
	(void)state;
	assert_int_equal(cfg_rd(0, 4), 0x10421af4u);
	assert_int_equal(cfg_rd(PCI_REVISION, 1), 1);
	assert_int_equal(cfg_rd(0x2e, 2), 0x1042);
	assert_int_equal(cfg_rd(PCI_BAR0, 4), BAR0);
	/* BAR sizing */
	cfg_wr(PCI_BAR0, 4, 0xffffffff);
	assert_int_equal(cfg_rd(PCI_BAR0, 4), (u32) ~(VIRTIO_BAR0_SIZE - 1));
	cfg_wr(PCI_BAR0, 4, (u32)BAR0);
	cfg_wr(PCI_COMMAND, 2, PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER);
	unsigned c = find_cap(1), n = find_cap(2), i = find_cap(3), d = find_cap(4);
	assert_true(c && n && i && d);
	assert_int_equal(cfg_rd(c + 2, 1), 16);
	assert_int_equal(cfg_rd(n + 2, 1), 20);
	assert_int_equal(cfg_rd(n + 4, 1), 0); /* BAR 0 */
	assert_int_equal(cfg_rd(n + 8, 4), VIRTIO_NOTIFY_OFF);
	assert_int_equal(cfg_rd(n + 16, 4), VIRTIO_NOTIFY_MULT);
	assert_int_equal(cfg_rd(i + 8, 4), VIRTIO_ISR_OFF);
	assert_int_equal(cfg_rd(d + 8, 4), VIRTIO_DEVICE_OFF);
	/* features: VERSION_1 (bit 32), EVENT_IDX, FLUSH, SEG_MAX; not RO */
	mmio_wr(BAR0 + 0, 4, 1);
	assert_int_equal(mmio_rd(BAR0 + 4, 4), 1);
	mmio_wr(BAR0 + 0, 4, 0);
	u32 f = (u32)mmio_rd(BAR0 + 4, 4);
	assert_true(f & (1u << 29) && f & (1u << 9) && f & (1u << 2));
	assert_false(f & (1u << 5));
	/* capacity in the device configuration */
	assert_int_equal(mmio_rd(BAR0 + VIRTIO_DEVICE_OFF, 8), DISK_SIZE / 512);
	/* a driver without VERSION_1 does not get FEATURES_OK */
	driver_init(0, false);
	assert_false(mmio_rd(BAR0 + 0x14, 1) & VIRTIO_STATUS_FEATURES_OK);
	/* one that asks for a feature not offered neither */
	driver_init(VIRTIO_F_VERSION_1 | VIRTIO_BLK_F_RO, false);
	assert_false(mmio_rd(BAR0 + 0x14, 1) & VIRTIO_STATUS_FEATURES_OK);
	driver_init(VIRTIO_F_VERSION_1 | VIRTIO_BLK_F_FLUSH, false);
	assert_true(mmio_rd(BAR0 + 0x14, 1) & VIRTIO_STATUS_DRIVER_OK);
	/* a queue that does not exist reads size 0 */
	mmio_wr(BAR0 + 0x16, 2, 1);
	assert_int_equal(mmio_rd(BAR0 + 0x18, 2), 0);
	/* odd accesses are answered, never trusted */
	for (u64 off = 0; off < VIRTIO_BAR0_SIZE; off += 7)
		mmio_rd(BAR0 + off, 1 << (off % 4));
}

static void test_blk_requests(void **state)
{
	(void)state;
	u32 used = 0;
	cfg_wr(PCI_COMMAND, 2, PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER);
	avail_idx = used_seen = 0;
	driver_init(VIRTIO_F_VERSION_1 | VIRTIO_BLK_F_FLUSH | VIRTIO_F_EVENT_IDX, true);
	/* read sectors 2-9 */
	assert_int_equal(submit(VIRTIO_BLK_T_IN, 2, 4096, &used), VIRTIO_BLK_S_OK);
	assert_int_equal(used, 4097);
	assert_memory_equal(ram + BUF_GPA, base + 1024, 4096);
	/* the MSI-X vector 0x41 reached the local APIC (used_event 0) */
	assert_int_equal(vlapic_pending(&lapic), 0x41);
	/* write, read back */
	memset(ram + BUF_GPA, 0x5a, 1024);
	assert_int_equal(submit(VIRTIO_BLK_T_OUT, 8, 1024, &used), VIRTIO_BLK_S_OK);
	assert_int_equal(used, 1);
	memset(ram + BUF_GPA, 0, 4096);
	assert_int_equal(submit(VIRTIO_BLK_T_IN, 7, 2048, NULL), VIRTIO_BLK_S_OK);
	assert_memory_equal(ram + BUF_GPA, base + 7 * 512, 512);
	for (int k = 0; k < 1024; k++)
		assert_int_equal(ram[BUF_GPA + 512 + k], 0x5a);
	assert_memory_equal(ram + BUF_GPA + 1536, base + 10 * 512, 512);
	/* flush, get ID, unknown type */
	assert_int_equal(submit(VIRTIO_BLK_T_FLUSH, 0, 0, NULL), VIRTIO_BLK_S_OK);
	assert_int_equal(blk.flushes, 1);
	assert_int_equal(submit(VIRTIO_BLK_T_GET_ID, 0, 20, &used), VIRTIO_BLK_S_OK);
	assert_memory_equal(ram + BUF_GPA, "partita-linux", 14);
	assert_int_equal(submit(99, 0, 0, NULL), VIRTIO_BLK_S_UNSUPP);
	/* past the end, partly past, huge sector, not whole sectors */
	u64 last = DISK_SIZE / 512;
	assert_int_equal(submit(VIRTIO_BLK_T_OUT, last, 512, NULL), VIRTIO_BLK_S_IOERR);
	assert_int_equal(submit(VIRTIO_BLK_T_IN, last - 1, 1024, NULL), VIRTIO_BLK_S_IOERR);
	assert_int_equal(submit(VIRTIO_BLK_T_OUT, ~0ULL / 256, 512, NULL), VIRTIO_BLK_S_IOERR);
	assert_int_equal(submit(VIRTIO_BLK_T_OUT, 0, 100, NULL), VIRTIO_BLK_S_IOERR);
	/* fill the layer (7 slots): the eighth block fails, with one log */
	int fails = 0;
	for (u64 s = 0; s < last; s += 8)
		fails += submit(VIRTIO_BLK_T_OUT, s, 512, NULL) == VIRTIO_BLK_S_IOERR;
	assert_int_equal(fails, 17 - 7);
	assert_int_equal(blk.disk.layer.slots_used, 7);
	assert_non_null(strstr(last_log, "layer is full"));
	assert_false(blk.vdev.stopped);
}

static void test_blk_hostile(void **state)
{
	(void)state;
	cfg_wr(PCI_COMMAND, 2, PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER);
	avail_idx = used_seen = 0;
	driver_init(VIRTIO_F_VERSION_1, false);
	/* a buffer outside RAM: the device stops, with a log line */
	bput_desc(0, REQ_GPA, 16, VIRTQ_DESC_F_NEXT, 1);
	bput_desc(1, RAM_SIZE - 8, 512, VIRTQ_DESC_F_NEXT | VIRTQ_DESC_F_WRITE, 2);
	bput_desc(2, STATUS_GPA, 1, VIRTQ_DESC_F_WRITE, 0);
	wr16(ram, AVAIL_GPA + 4, 0);
	wr16(ram, AVAIL_GPA + 2, ++avail_idx);
	int logs = log_count;
	mmio_wr(BAR0 + VIRTIO_NOTIFY_OFF, 2, 0);
	assert_true(blk.vdev.stopped);
	assert_int_equal(log_count, logs + 1);
	assert_non_null(strstr(last_log, "virtio-blk stopped"));
	assert_true(mmio_rd(BAR0 + 0x14, 1) & VIRTIO_STATUS_NEEDS_RESET);
	/* INTx: the config change is in the ISR (bit 1), read clears it */
	assert_int_equal(mmio_rd(BAR0 + VIRTIO_ISR_OFF, 1), 2);
	assert_int_equal(mmio_rd(BAR0 + VIRTIO_ISR_OFF, 1), 0);
	/* ignored until reset; a reset and a new init work again */
	assert_int_equal(submit(VIRTIO_BLK_T_IN, 0, 512, NULL), -1);
	avail_idx = used_seen = 0;
	memset(ram + AVAIL_GPA, 0, 0x1000);
	memset(ram + USED_GPA, 0, 0x1000);
	driver_init(VIRTIO_F_VERSION_1, false);
	assert_false(blk.vdev.stopped);
	assert_int_equal(submit(VIRTIO_BLK_T_IN, 0, 512, NULL), VIRTIO_BLK_S_OK);
	assert_int_equal(mmio_rd(BAR0 + VIRTIO_ISR_OFF, 1), 1);
	/* a request with no status byte stops it */
	bput_desc(0, REQ_GPA, 16, 0, 0);
	wr16(ram, AVAIL_GPA + 4 + 2 * (avail_idx % BQ), 0);
	wr16(ram, AVAIL_GPA + 2, ++avail_idx);
	mmio_wr(BAR0 + VIRTIO_NOTIFY_OFF, 2, 0);
	assert_true(blk.vdev.stopped);
	/* rings outside RAM are refused at enable */
	mmio_wr(BAR0 + 0x14, 1, 0);
	mmio_wr(BAR0 + 0x16, 2, 0);
	mmio_wr(BAR0 + 0x20, 4, RAM_SIZE - 16);
	mmio_wr(BAR0 + 0x1c, 2, 1);
	assert_true(blk.vdev.stopped);
	assert_int_equal(mmio_rd(BAR0 + 0x1c, 2), 0);
}

/* One exit copies about 2 MiB; the rest waits for virtio_blk_poll.  And a
 * buffer larger than size_max (16 KiB) is an I/O error. */
static void test_blk_work_bound(void **state)
{
	(void)state;
	cfg_wr(PCI_COMMAND, 2, PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER);
	avail_idx = used_seen = 0;
	driver_init(VIRTIO_F_VERSION_1, false);
	assert_int_equal(mmio_rd(BAR0 + VIRTIO_DEVICE_OFF + 8, 4), 16384); /* size_max */
	assert_int_equal(submit(VIRTIO_BLK_T_IN, 0, 16384, NULL), VIRTIO_BLK_S_OK);
	assert_int_equal(submit(VIRTIO_BLK_T_IN, 0, 32768, NULL), VIRTIO_BLK_S_IOERR);
	used_seen = rd16(ram, USED_GPA + 2);
	/* 100 requests of 32 KiB + 17 bytes each, two descriptors apiece */
	wr32(ram, REQ_GPA, VIRTIO_BLK_T_IN);
	for (unsigned r = 0; r < 100; r++) {
		bput_desc(2 * r, REQ_GPA, 16, VIRTQ_DESC_F_NEXT, (u16)(2 * r + 1));
		bput_desc(2 * r + 1, BUF_GPA, 32769, VIRTQ_DESC_F_WRITE, 0);
		wr16(ram, AVAIL_GPA + 4 + 2 * (avail_idx % BQ), (u16)(2 * r));
		avail_idx++;
	}
	wr16(ram, AVAIL_GPA + 2, avail_idx);
	mmio_wr(BAR0 + VIRTIO_NOTIFY_OFF, 2, 0);
	assert_int_equal((u16)(rd16(ram, USED_GPA + 2) - used_seen), 64);
	assert_true(blk.pending);
	assert_false(virtio_blk_poll(&blk));
	assert_int_equal((u16)(rd16(ram, USED_GPA + 2) - used_seen), 100);
	assert_false(virtio_blk_poll(&blk));
}

static void test_blk_read_only(void **state)
{
	(void)state;
	free(ram);
	assert_int_equal(blk_setup_with(NULL, 0), 0);
	cfg_wr(PCI_COMMAND, 2, PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER);
	mmio_wr(BAR0 + 0, 4, 0);
	assert_true(mmio_rd(BAR0 + 4, 4) & (1u << 5)); /* VIRTIO_BLK_F_RO */
	avail_idx = used_seen = 0;
	driver_init(VIRTIO_F_VERSION_1 | VIRTIO_BLK_F_RO, false);
	assert_int_equal(submit(VIRTIO_BLK_T_OUT, 0, 512, NULL), VIRTIO_BLK_S_IOERR);
	assert_int_equal(submit(VIRTIO_BLK_T_IN, 0, 512, NULL), VIRTIO_BLK_S_OK);
	assert_memory_equal(ram + BUF_GPA, base, 512);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_mem_ptr),
		cmocka_unit_test_setup_teardown(test_enable_checks, ring_setup, ring_teardown),
		cmocka_unit_test_setup_teardown(test_pop_push, ring_setup, ring_teardown),
		cmocka_unit_test_setup_teardown(test_chain_copy, ring_setup, ring_teardown),
		cmocka_unit_test_setup_teardown(test_hostile_head, ring_setup, ring_teardown),
		cmocka_unit_test_setup_teardown(test_hostile_avail_idx, ring_setup, ring_teardown),
		cmocka_unit_test_setup_teardown(test_hostile_loop, ring_setup, ring_teardown),
		cmocka_unit_test_setup_teardown(test_hostile_next, ring_setup, ring_teardown),
		cmocka_unit_test(test_hostile_buffers),
		cmocka_unit_test_setup_teardown(test_hostile_order_and_indirect, ring_setup,
						ring_teardown),
		cmocka_unit_test_setup_teardown(test_random_rings, ring_setup, ring_teardown),
		cmocka_unit_test_setup_teardown(test_event_idx, ring_setup, ring_teardown),
		cmocka_unit_test_setup_teardown(test_layer, disk_setup, disk_teardown),
		cmocka_unit_test_setup_teardown(test_blk_pci, blk_setup, blk_teardown),
		cmocka_unit_test_setup_teardown(test_blk_requests, blk_setup, blk_teardown),
		cmocka_unit_test_setup_teardown(test_blk_hostile, blk_setup, blk_teardown),
		cmocka_unit_test_setup_teardown(test_blk_work_bound, blk_setup, blk_teardown),
		cmocka_unit_test_setup_teardown(test_blk_read_only, blk_setup, blk_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
