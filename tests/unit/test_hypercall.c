/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Host tests of the hypercalls (kernel/hypercall.c) on the fake machine,
 * against real partitions from a real config: every argument check and
 * error return, with hostile values (pointers into the start-info page,
 * past the end of RAM, wrapping around, lengths near 2^64, unknown numbers
 * and operations), the capability checks of the control calls, and, for
 * every call that fails, that it changed nothing: every partition's bytes,
 * the callers' RAM and the devices' configuration spaces are compared
 * before and after.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernel/abi/partita.h"
#include "kernel/errno.h"
#include "kernel/hypercall.h"
#include "kernel/log.h"
#include "kernel/mm.h"
#include "kernel/devirq.h"
#include "kernel/partition.h"
#include "kernel/pv_image.h"
#include "kernel/vmexit.h"
#include "tests/unit/fake_arch.h"
#include "tests/unit/fake_virt.h"

static const char *const conf =
	"[hypervisor]\nframe = 10ms\n"
	"[partition p]\nkind = pv\nmemory = 2M\nimage = p.elf\nwindow = 0ms 3ms\n"
	"device = 00:03.0\ntrusted = yes\n"
	"[partition ctl]\nkind = pv\nmemory = 2M\nimage = c.elf\nwindow = 4ms 2ms\n"
	"caps = control\n"
	"[partition q]\nkind = pv\nmemory = 2M\nimage = q.elf\nwindow = 7ms 1ms\n"
	"[partition bad]\nkind = pv\nmemory = 32G\nimage = q.elf\nwindow = 9ms 1ms\n"
	"[channel pq]\nbetween = p q\n";

static struct partition *p, *ctl, *q, *bad;
static struct pci_device *dev;

static void setup(void)
{
	dev = fake_pci_add(0, 3, 0, 0x1af4, 0x1041);
	dev->bars[0] = (struct pci_bar){ PCI_BAR_MEM64, 0xfe000000, 0x4000, true };
	fake_pci_config(dev)[0x10] = 0x0c;
	fake_create(conf);
	p = fake_partition("p");
	ctl = fake_partition("ctl");
	q = fake_partition("q");
	bad = fake_partition("bad");
	assert_int_equal(bad->state, PARTITION_UNUSABLE);
	/* As the exit path sets it while a partition runs. */
	p->run_until_tsc = ctl->run_until_tsc = q->run_until_tsc = ~0ULL / 2;
}

/* ------------------------------------------- "a failed call changes nothing" -- */

struct snapshot {
	struct partition parts[CONFIG_MAX_PARTITIONS];
	u8 *ram[CONFIG_MAX_PARTITIONS];
	u8 pci[4096];
};

static struct snapshot snap;

static void take(void)
{
	memcpy(snap.parts, partitions, sizeof(snap.parts));
	for (unsigned i = 0; i < partition_count; i++) {
		free(snap.ram[i]);
		snap.ram[i] = NULL;
		if (partitions[i].ram.v) {
			snap.ram[i] = malloc(partitions[i].ram_size);
			memcpy(snap.ram[i], phys_to_virt(partitions[i].ram),
			       partitions[i].ram_size);
		}
	}
	memcpy(snap.pci, fake_pci_config(dev), 4096);
}

static void unchanged(const char *what)
{
	for (unsigned i = 0; i < partition_count; i++) {
		if (memcmp(&snap.parts[i], &partitions[i], sizeof(partitions[i])))
			fail_msg("%s changed partition %s", what, partitions[i].cfg->name);
		if (snap.ram[i] &&
		    memcmp(snap.ram[i], phys_to_virt(partitions[i].ram), partitions[i].ram_size))
			fail_msg("%s changed the RAM of partition %s", what,
				 partitions[i].cfg->name);
	}
	if (memcmp(snap.pci, fake_pci_config(dev), 4096))
		fail_msg("%s changed the device's configuration space", what);
}

/* A call that must fail with err and change nothing. */
static void refused(struct partition *who, u64 nr, u64 a0, u64 a1, u64 a2, u64 a3, s64 err)
{
	char what[128];

	snprintf(what, sizeof(what), "call %llu(%#llx, %#llx, %#llx, %#llx) by %s",
		 (unsigned long long)nr, (unsigned long long)a0, (unsigned long long)a1,
		 (unsigned long long)a2, (unsigned long long)a3, who->cfg->name);
	take();
	s64 r = hypercall_dispatch(who, nr, a0, a1, a2, a3);
	if (r != err)
		fail_msg("%s returned %lld, not %lld", what, (long long)r, (long long)err);
	unchanged(what);
}

static s64 call(struct partition *who, u64 nr, u64 a0, u64 a1, u64 a2, u64 a3)
{
	return hypercall_dispatch(who, nr, a0, a1, a2, a3);
}

/* Guest pointers no call may accept for an object of size bytes in a
 * partition of ram bytes. */
static unsigned hostile_pointers(u64 ram, u64 size, u64 out[16])
{
	unsigned n = 0;

	out[n++] = 0;
	out[n++] = 1;
	out[n++] = PV_START_INFO_GPA; /* the read-only start-info */
	out[n++] = PV_RAM_START - 1;  /* straddles its start */
	out[n++] = ram - size + 1;    /* runs past the end */
	out[n++] = ram;
	out[n++] = ram + 0x1000;
	out[n++] = MiB(2) * 8; /* where a channel is mapped */
	out[n++] = ~0ULL;
	out[n++] = ~0ULL - size + 2; /* wraps around */
	out[n++] = 1ULL << 63;
	out[n++] = (1ULL << 63) + PV_IMAGE_BASE;
	out[n++] = ~0ULL - ram + PV_IMAGE_BASE; /* + ram wraps into RAM */
	return n;
}

/* ----------------------------------------------------------------- tests -- */

FAKE_TEST(hc_unknown_numbers_are_nosys)
{
	static const u64 nrs[] = {
		10,	    11,	  12, 13,  14,	15,	    HC_PARTITION_DESTROY + 1,
		26,	    63,	  64, 255, 256, 1ULL << 32, (1ULL << 32) + HC_VERSION,
		1ULL << 63, ~0ULL
	};
	u32 caps;

	setup();
	for (unsigned i = 0; i < ARRAY_SIZE(nrs); i++) {
		refused(p, nrs[i], 0, 0, 0, 0, -E_NOSYS);
		refused(ctl, nrs[i], 1, 2, 3, 4, -E_NOSYS);
		assert_false(hypercall_needs(nrs[i], &caps));
	}
}

FAKE_TEST(hc_control_calls_need_the_capability)
{
	setup();
	for (u64 nr = 0; nr < 64; nr++) {
		u32 caps = 0;
		if (!hypercall_needs(nr, &caps))
			continue;
		/* Exactly the calls 16-22, 24 and 25 need `control` (ABI 1.1
		 * added 20-22: schedule, API config and files; 1.2 added 24
		 * and 25: create and destroy in a slot). */
		assert_int_equal(caps, (nr >= HC_PARTITION_LIST && nr <= HC_API_FILE) ||
						       nr == HC_PARTITION_CREATE ||
						       nr == HC_PARTITION_DESTROY ?
					       CAP_CONTROL :
					       0);
		if (!caps)
			continue;
		/* Refused before any argument is looked at, however good. */
		refused(p, nr, 0, 0, 0, 0, -E_PERM);
		refused(p, nr, q->id, PV_IMAGE_BASE, 64, 0, -E_PERM);
		refused(q, nr, p->id, PARTITION_CTL_STOP, 0, 0, -E_PERM);
	}
	assert_int_equal(p->state, PARTITION_RUNNABLE);
}

FAKE_TEST(hc_version_and_time)
{
	setup();
	assert_int_equal(call(p, HC_VERSION, ~0ULL, ~0ULL, ~0ULL, ~0ULL), PARTITA_ABI_VERSION);
	fake_advance_ns(123456);
	assert_int_equal(call(p, HC_TIME, 0, 0, 0, 0), 123456);
}

FAKE_TEST(hc_console_write)
{
	u64 bad_ptrs[16];

	setup();
	char *buf = partition_gpa_ptr(p, PV_IMAGE_BASE);
	memcpy(buf, "line one\nline two\n", 18);
	unsigned n = hostile_pointers(p->ram_size, 1, bad_ptrs);
	for (unsigned i = 0; i < n; i++) {
		refused(p, HC_CONSOLE_WRITE, bad_ptrs[i], 1, 0, 0, -E_FAULT);
		refused(p, HC_CONSOLE_WRITE, bad_ptrs[i], ~0ULL, 0, 0, -E_FAULT);
	}
	/* A length past the end of RAM: only CONSOLE_WRITE_MAX (4096) bytes
	 * are looked at, and those must lie in RAM. */
	refused(p, HC_CONSOLE_WRITE, p->ram_size - 100, 4096, 0, 0, -E_FAULT);
	assert_int_equal(call(p, HC_CONSOLE_WRITE, PV_IMAGE_BASE, 0, 0, 0), 0);
	assert_int_equal(call(p, HC_CONSOLE_WRITE, PV_IMAGE_BASE, 18, 0, 0), 18);
	assert_int_equal(p->stats.console_bytes, 18);
	/* ~0 bytes from a good pointer: at most 4096 taken (the zeros
	 * after the text are taken as one long cut line). */
	s64 r = call(p, HC_CONSOLE_WRITE, PV_IMAGE_BASE, ~0ULL, 0, 0);
	assert_in_range(r, 1, 4096);
	/* A full queue takes nothing: -E_AGAIN, and p yields. */
	memset(buf, 'x', 4096);
	for (int i = 0; i < 64; i++)
		buf[64 * i + 63] = '\n';
	while ((r = call(p, HC_CONSOLE_WRITE, PV_IMAGE_BASE, 4096, 0, 0)) > 0)
		;
	assert_int_equal(r, -E_AGAIN);
	assert_true(p->yielded);
	/* Its console's tail holds what it wrote. */
	char tail[32];
	assert_int_equal(call(ctl, HC_CONSOLE_READ, p->id, 0, 0, 0), -E_FAULT);
	char *out = partition_gpa_ptr(ctl, PV_IMAGE_BASE);
	assert_int_equal(call(ctl, HC_CONSOLE_READ, p->id, PV_IMAGE_BASE, 8, 0), 8);
	memcpy(tail, out, 8);
	assert_memory_equal(tail, "xxxxxxxx", 8);
}

FAKE_TEST(hc_yield_and_wait)
{
	setup();
	assert_int_equal(call(p, HC_YIELD, 0, 0, 0, 0), 0);
	assert_true(p->yielded);
	/* A deadline in the past returns at once. */
	fake_advance_ns(1000);
	assert_int_equal(call(q, HC_WAIT, 999, 0, 0, 0), 0);
	assert_int_equal(q->state, PARTITION_RUNNABLE);
	/* Pending events are returned and cleared. */
	partition_signal(q, 0x5);
	assert_int_equal(call(q, HC_WAIT, ~0ULL, 0, 0, 0), 0x5);
	assert_int_equal(q->state, PARTITION_RUNNABLE);
	/* Else it waits (the deadline ~0: practically none). */
	assert_int_equal(call(q, HC_WAIT, ~0ULL, 0, 0, 0), 0);
	assert_int_equal(q->state, PARTITION_WAITING);
	assert_int_equal(q->wait_deadline, ~0ULL);
}

FAKE_TEST(hc_event_signal)
{
	static const u64 bad_channels[] = { 1, 2, 15, 16, 31, 32, 1ULL << 32, 1ULL << 63, ~0ULL };

	setup();
	for (unsigned i = 0; i < ARRAY_SIZE(bad_channels); i++) {
		refused(p, HC_EVENT_SIGNAL, bad_channels[i], 0, 0, 0, -E_NOENT);
		refused(ctl, HC_EVENT_SIGNAL, bad_channels[i] - 1, 0, 0, 0, -E_NOENT);
	}
	refused(ctl, HC_EVENT_SIGNAL, 0, 0, 0, 0, -E_NOENT); /* ctl has none */
	assert_int_equal(call(p, HC_EVENT_SIGNAL, 0, 0, 0, 0), 0);
	assert_int_equal(q->pending_events, 1);
	assert_int_equal(call(q, HC_EVENT_SIGNAL, 0, 0, 0, 0), 0);
	assert_int_equal(p->pending_events, 1);
	/* A waiting peer wakes with the bit. */
	call(q, HC_WAIT, 0, 0, 0, 0); /* takes the pending bit */
	assert_int_equal(call(q, HC_WAIT, 0, 0, 0, 0), 0);
	assert_int_equal(q->state, PARTITION_WAITING);
	assert_int_equal(call(p, HC_EVENT_SIGNAL, 0, 0, 0, 0), 0);
	assert_int_equal(q->state, PARTITION_RUNNABLE);
	assert_int_equal(q->vcpu.regs.rax, 1);
}

FAKE_TEST(hc_partition_info)
{
	u64 bad_ptrs[16];

	setup();
	unsigned n = hostile_pointers(p->ram_size, sizeof(struct partita_partition_info), bad_ptrs);
	for (unsigned i = 0; i < n; i++)
		refused(p, HC_PARTITION_INFO, bad_ptrs[i], 0, 0, 0, -E_FAULT);
	u64 at = p->ram_size - sizeof(struct partita_partition_info);
	assert_int_equal(call(p, HC_PARTITION_INFO, at, ~0ULL, ~0ULL, ~0ULL), 0);
	const struct partita_partition_info *info = partition_gpa_ptr(p, at);
	assert_int_equal(info->id, p->id);
	assert_string_equal(info->name, "p");
	assert_int_equal(info->state, PARTITA_STATE_RUNNING);
	assert_int_equal(info->mem_size, MiB(2));
	assert_int_equal(info->kind, 1);
	assert_int_equal(info->exit_code, -1);
}

FAKE_TEST(hc_shutdown)
{
	setup();
	assert_int_equal(call(q, HC_SHUTDOWN, ~0ULL, 0, 0, 0), 0);
	assert_int_equal(q->state, PARTITION_EXITED);
	assert_int_equal(q->exit_code, -1);
	fake_expect_serial("partition q stopped: exited with code -1");
	assert_int_equal(call(p, HC_SHUTDOWN, 0x1234, 0, 0, 0), 0);
	assert_int_equal(p->exit_code, 0x1234);
}

FAKE_TEST(hc_pci_config_access)
{
	static const u64 bad_sizes[] = { 0, 3, 5, 8, 16, 1ULL << 32, ~0ULL };
	static const u64 bad_offsets[] = { 4096, 4097, 1ULL << 32, ~0ULL - 3 };

	setup();
	refused(q, HC_PCI_READ, 0, 0, 4, 0, -E_NOENT); /* q has no device */
	refused(p, HC_PCI_READ, 1, 0, 4, 0, -E_NOENT);
	refused(p, HC_PCI_READ, ~0ULL, 0, 4, 0, -E_NOENT);
	refused(p, HC_PCI_WRITE, 1ULL << 32, 4, 2, 0, -E_NOENT);
	for (unsigned i = 0; i < ARRAY_SIZE(bad_sizes); i++) {
		refused(p, HC_PCI_READ, 0, 0, bad_sizes[i], 0, -E_INVAL);
		refused(p, HC_PCI_WRITE, 0, 4, bad_sizes[i], 0, -E_INVAL);
	}
	for (unsigned i = 0; i < ARRAY_SIZE(bad_offsets); i++) {
		refused(p, HC_PCI_READ, 0, bad_offsets[i], 4, 0, -E_INVAL);
		refused(p, HC_PCI_WRITE, 0, bad_offsets[i], 1, 0xff, -E_INVAL);
	}
	refused(p, HC_PCI_READ, 0, 1, 2, 0, -E_INVAL); /* misaligned */
	refused(p, HC_PCI_READ, 0, 2, 4, 0, -E_INVAL);
	/* The BARs and the expansion ROM stay where the firmware put them. */
	for (u64 off = 0x10; off < 0x28; off++)
		refused(p, HC_PCI_WRITE, 0, off, 1, 0, -E_PERM);
	for (u64 off = 0x30; off < 0x34; off += 2)
		refused(p, HC_PCI_WRITE, 0, off, 2, 0, -E_PERM);
	assert_int_equal(call(p, HC_PCI_READ, 0, 0, 4, 0), 0x10411af4);
	assert_int_equal(call(p, HC_PCI_READ, 0, 0x10, 1, 0), 0x0c);
	assert_int_equal(call(p, HC_PCI_READ, 0, 4092, 4, 0), 0); /* ECAM: 4 KiB */
	assert_int_equal(call(p, HC_PCI_WRITE, 0, 0x04, 2, 0x0106), 0);
	assert_int_equal(pci_read(dev, 0x04, 2), 0x0106);
	assert_int_equal(call(p, HC_PCI_WRITE, 0, 0x3c, 1, 0x1ff), 0); /* 8 bits written */
	assert_int_equal(pci_read(dev, 0x3c, 2), 0xff);
	assert_int_equal(call(p, HC_PCI_WRITE, 0, 0x28, 4, 0xdead), 0);
}

/* A device with an MSI capability (64-bit, per-vector masking) at 0x40:
 * the hypervisor programs it, the partition may not write it, its
 * interrupt becomes the owner's event bit, and it is masked outside the
 * owner's windows (kernel/devirq.h). */
FAKE_TEST(device_msi_routed_to_owner)
{
	dev = fake_pci_add(0, 3, 0, 0x1234, 0x11e8);
	u8 *cfg = fake_pci_config(dev);
	cfg[0x06] = 0x10; /* capability list */
	cfg[0x34] = 0x40;
	cfg[0x40] = 0x05;	 /* MSI, last capability */
	cfg[0x42] = 0x80 | 0x02; /* 64-bit, 2 vectors capable ... */
	cfg[0x43] = 0x01;	 /* ... per-vector masking */
	fake_create(conf);
	p = fake_partition("p");
	q = fake_partition("q");
	p->run_until_tsc = q->run_until_tsc = ~0ULL / 2;
	assert_int_equal(p->state, PARTITION_RUNNABLE);
	/* One vector, enabled, a message to the owner's CPU (0, no IOMMU). */
	assert_int_equal(pci_read(dev, 0x42, 2) & 0x71, 0x01);
	assert_int_equal(pci_read(dev, 0x44, 4), 0xfee00000);
	assert_int_equal(pci_read(dev, 0x48, 4), 0);
	unsigned vector = pci_read(dev, 0x4c, 2);
	assert_true(vector >= DEVIRQ_VECTOR_BASE && vector < DEVIRQ_VECTOR_BASE + DEVIRQ_MAX);
	assert_int_equal(devirq_device_irq(dev), PARTITA_DEVICE_IRQ_MSI);
	/* The capability is the hypervisor's, the rest of the space is not. */
	for (u64 off = 0x40; off < 0x58; off++)
		refused(p, HC_PCI_WRITE, 0, off, 1, 0, -E_PERM);
	assert_int_equal(call(p, HC_PCI_WRITE, 0, 0x58, 4, 0x1234), 0);
	/* Its interrupt: recorded by the handler, raised by the scheduler. */
	u32 bits = 0;
	devirq_time_of(p);
	assert_false(devirq_raised());
	fake_raise_irq(vector);
	assert_true(devirq_raised());
	assert_ptr_equal(devirq_take(&bits), p);
	assert_int_equal(bits, PARTITA_DEVICE_EVENT(0));
	assert_null(devirq_take(&bits));
	assert_int_equal(devirq_count(p, 0), 1);
	/* Another partition's time: masked at the device; p's: unmasked. */
	devirq_time_of(q);
	assert_int_equal(pci_read(dev, 0x50, 4), 1);
	devirq_time_of(p);
	assert_int_equal(pci_read(dev, 0x50, 4), 0);
	/* Stopped: MSI disabled. */
	partition_stop(p, "test");
	assert_int_equal(pci_read(dev, 0x42, 2) & 1, 0);
}

FAKE_TEST(hc_partition_list)
{
	u64 bad_ptrs[16];

	setup();
	assert_int_equal(call(ctl, HC_PARTITION_LIST, 0, 0, 0, 0), 4);
	assert_int_equal(call(ctl, HC_PARTITION_LIST, ~0ULL, 0, 0, 0), 4);
	unsigned n = hostile_pointers(ctl->ram_size, 4 * sizeof(struct partita_partition_info),
				      bad_ptrs);
	for (unsigned i = 0; i < n; i++) {
		refused(ctl, HC_PARTITION_LIST, bad_ptrs[i], 4, 0, 0, -E_FAULT);
		refused(ctl, HC_PARTITION_LIST, bad_ptrs[i], ~0ULL, 0, 0, -E_FAULT);
	}
	/* A count beyond the partitions: as many as there are. */
	u64 at = ctl->ram_size - 4 * sizeof(struct partita_partition_info);
	assert_int_equal(call(ctl, HC_PARTITION_LIST, at, ~0ULL, 0, 0), 4);
	const struct partita_partition_info *info = partition_gpa_ptr(ctl, at);
	assert_string_equal(info[0].name, "p");
	assert_string_equal(info[3].name, "bad");
	assert_int_equal(info[3].state, PARTITA_STATE_STOPPED);
	assert_int_equal(info[1].caps, CAP_CONTROL);
	/* Fewer than there are. */
	memset((void *)info, 0, 4 * sizeof(*info));
	assert_int_equal(call(ctl, HC_PARTITION_LIST, at, 2, 0, 0), 2);
	assert_string_equal(info[1].name, "ctl");
	assert_int_equal(info[2].name[0], 0);
}

FAKE_TEST(hc_partition_stats)
{
	u64 bad_ptrs[16];

	setup();
	refused(ctl, HC_PARTITION_STATS, 4, PV_IMAGE_BASE, 0, 0, -E_NOENT);
	refused(ctl, HC_PARTITION_STATS, ~0ULL, PV_IMAGE_BASE, 0, 0, -E_NOENT);
	refused(ctl, HC_PARTITION_STATS, 1ULL << 32, PV_IMAGE_BASE, 0, 0, -E_NOENT);
	unsigned n =
		hostile_pointers(ctl->ram_size, sizeof(struct partita_partition_stats), bad_ptrs);
	for (unsigned i = 0; i < n; i++)
		refused(ctl, HC_PARTITION_STATS, p->id, bad_ptrs[i], 0, 0, -E_FAULT);
	p->stats.windows = 7;
	p->stats.exits[PARTITA_EXIT_CPUID] = 3;
	p->cpu_tsc = 3000;
	assert_int_equal(call(ctl, HC_PARTITION_STATS, p->id, PV_IMAGE_BASE, 0, 0), 0);
	const struct partita_partition_stats *st = partition_gpa_ptr(ctl, PV_IMAGE_BASE);
	assert_int_equal(st->windows, 7);
	assert_int_equal(st->exits[PARTITA_EXIT_CPUID], 3);
	assert_int_equal(st->cpu_time_ns, 1000);
	/* An unusable partition's stats can be read (all zero). */
	assert_int_equal(call(ctl, HC_PARTITION_STATS, bad->id, PV_IMAGE_BASE, 0, 0), 0);
	assert_int_equal(st->windows, 0);
}

FAKE_TEST(hc_console_read)
{
	u64 bad_ptrs[16];

	setup();
	refused(ctl, HC_CONSOLE_READ, 4, PV_IMAGE_BASE, 16, 0, -E_NOENT);
	refused(ctl, HC_CONSOLE_READ, ~0ULL, PV_IMAGE_BASE, 16, 0, -E_NOENT);
	unsigned n = hostile_pointers(ctl->ram_size, 16, bad_ptrs);
	for (unsigned i = 0; i < n; i++)
		refused(ctl, HC_CONSOLE_READ, p->id, bad_ptrs[i], 16, 0, -E_FAULT);
	/* A length beyond the tail is cut to CONSOLE_TAIL, which must fit. */
	refused(ctl, HC_CONSOLE_READ, p->id, ctl->ram_size - CONSOLE_TAIL + 1, ~0ULL, 0, -E_FAULT);
	memcpy(partition_gpa_ptr(p, PV_IMAGE_BASE), "abc\n", 4);
	call(p, HC_CONSOLE_WRITE, PV_IMAGE_BASE, 4, 0, 0);
	u64 at = ctl->ram_size - CONSOLE_TAIL;
	assert_int_equal(call(ctl, HC_CONSOLE_READ, p->id, at, ~0ULL, 0), 4);
	assert_memory_equal(partition_gpa_ptr(ctl, at), "abc\n", 4);
	assert_int_equal(call(ctl, HC_CONSOLE_READ, p->id, at, 0, 0), 0);
}

FAKE_TEST(hc_partition_ctl)
{
	static const u64 bad_ops[] = { 0, 4, 5, 1ULL << 32, ~0ULL };

	setup();
	refused(ctl, HC_PARTITION_CTL, 4, PARTITION_CTL_STOP, 0, 0, -E_NOENT);
	refused(ctl, HC_PARTITION_CTL, ~0ULL, PARTITION_CTL_STOP, 0, 0, -E_NOENT);
	refused(ctl, HC_PARTITION_CTL, (1ULL << 32) + p->id, PARTITION_CTL_STOP, 0, 0, -E_NOENT);
	for (unsigned i = 0; i < ARRAY_SIZE(bad_ops); i++)
		refused(ctl, HC_PARTITION_CTL, p->id, bad_ops[i], 0, 0, -E_INVAL);
	refused(ctl, HC_PARTITION_CTL, ctl->id, PARTITION_CTL_STOP, 0, 0, -E_INVAL);
	refused(ctl, HC_PARTITION_CTL, ctl->id, PARTITION_CTL_RESTART, 0, 0, -E_INVAL);
	refused(ctl, HC_PARTITION_CTL, bad->id, PARTITION_CTL_START, 0, 0, -E_NOTSUP);
	refused(ctl, HC_PARTITION_CTL, p->id, PARTITION_CTL_START, 0, 0, -E_BUSY);

	/* Stop, then a stop of a stopped one does nothing, then start. */
	assert_int_equal(call(ctl, HC_PARTITION_CTL, p->id, PARTITION_CTL_STOP, 0, 0), 0);
	assert_int_equal(p->state, PARTITION_STOPPED);
	fake_expect_serial("partition p stopped: stopped by partition ctl");
	take();
	assert_int_equal(call(ctl, HC_PARTITION_CTL, p->id, PARTITION_CTL_STOP, 0, 0), 0);
	unchanged("a stop of a stopped partition");
	assert_int_equal(call(ctl, HC_PARTITION_CTL, p->id, PARTITION_CTL_START, 0, 0), 0);
	assert_int_equal(p->state, PARTITION_STARTING);
	assert_ptr_equal(p->start_requester, ctl->cfg->name);
	/* A starting partition is busy for START, but may be restarted. */
	refused(ctl, HC_PARTITION_CTL, p->id, PARTITION_CTL_START, 0, 0, -E_BUSY);
	assert_true(partition_start_step(p, ~0ULL));
	assert_int_equal(p->boot_count, 2);
	/* Restart of a running one: stopped, counted, started again. */
	assert_int_equal(call(ctl, HC_PARTITION_CTL, p->id, PARTITION_CTL_RESTART, 0, 0), 0);
	assert_int_equal(p->state, PARTITION_STARTING);
	assert_int_equal(p->restarts, 1);
	fake_expect_serial("partition p stopped: restarted by partition ctl");
	/* Restart of an exited one. */
	call(q, HC_SHUTDOWN, 3, 0, 0, 0);
	assert_int_equal(call(ctl, HC_PARTITION_CTL, q->id, PARTITION_CTL_RESTART, 0, 0), 0);
	assert_int_equal(q->state, PARTITION_STARTING);
	assert_int_equal(q->restarts, 1);
}

/* Through the exit path: a hypercall from guest user mode raises #UD and
 * changes nothing else; from CPL 0 the result lands in RAX and RIP moves. */
FAKE_TEST(hc_user_mode_hypercall_is_ud)
{
	setup();
	struct fake_exit x = { .set = FAKE_RAX | FAKE_CPL, .rax = HC_VERSION, .cpl = 3 };
	x.e.reason = VMEXIT_HYPERCALL;
	x.e.insn_len = 3;
	fake_push(q, &x);
	u64 rip = q->vcpu.regs.rip;
	struct vm_exit e;
	svm_ops.run(&q->vcpu, &e);
	vmexit_handle(q, &e);
	assert_int_equal(fake_vcpu(q)->injects, 1);
	assert_int_equal(fake_vcpu(q)->inject_vector, 6);
	assert_int_equal(q->vcpu.regs.rax, HC_VERSION);
	assert_int_equal(q->vcpu.regs.rip, rip);
	fake_push_hypercall(q, HC_VERSION, 0, 0, 0, 0);
	q->vcpu.regs.cpl = 0;
	svm_ops.run(&q->vcpu, &e);
	vmexit_handle(q, &e);
	assert_int_equal(q->vcpu.regs.rax, PARTITA_ABI_VERSION);
	assert_int_equal(q->vcpu.regs.rip, rip + 3);
	assert_int_equal(q->stats.exits[PARTITA_EXIT_HYPERCALL], 2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(hc_unknown_numbers_are_nosys),
		cmocka_unit_test(hc_control_calls_need_the_capability),
		cmocka_unit_test(hc_version_and_time),
		cmocka_unit_test(hc_console_write),
		cmocka_unit_test(hc_yield_and_wait),
		cmocka_unit_test(hc_event_signal),
		cmocka_unit_test(hc_partition_info),
		cmocka_unit_test(hc_shutdown),
		cmocka_unit_test(hc_pci_config_access),
		cmocka_unit_test(hc_partition_list),
		cmocka_unit_test(hc_partition_stats),
		cmocka_unit_test(hc_console_read),
		cmocka_unit_test(hc_partition_ctl),
		cmocka_unit_test(device_msi_routed_to_owner),
		cmocka_unit_test(hc_user_mode_hypercall_is_ud),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
