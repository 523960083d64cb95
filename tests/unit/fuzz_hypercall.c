/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The hypercall decoder under libFuzzer (issue 9, item 7): random registers
 * into the hypercalls of real partitions on the fake machine (fake_arch.c,
 * fake_virt.c), with ASan and UBSan.  An input is a run of records, each
 * one call: who calls (a byte: one of three partitions, one with the
 * `control` capability; its top bit asks for guest user mode) and RAX,
 * RDI, RSI, RDX, R10 (8 bytes each, little endian).  Each call goes through
 * the one exit path (vmexit_handle) after hypercall_dispatch was asked the
 * same with a snapshot around it: a call that fails (other than -E_AGAIN,
 * which yields by contract) must have changed nothing in any partition, in
 * the caller's RAM or in the device's configuration space.  A panic, a
 * sanitizer report or a changed byte is a crash.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernel/errno.h"
#include "kernel/hypercall.h"
#include "kernel/log.h"
#include "kernel/mm.h"
#include "kernel/partition.h"
#include "kernel/vmexit.h"
#include "tests/unit/fake_arch.h"
#include "tests/unit/fake_virt.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const conf =
	"[hypervisor]\nframe = 10ms\n"
	"[partition p]\nkind = pv\nmemory = 2M\nimage = p.elf\nwindow = 0ms 3ms\n"
	"device = 00:03.0\ntrusted = yes\n"
	"[partition ctl]\nkind = pv\nmemory = 2M\nimage = c.elf\nwindow = 4ms 2ms\n"
	"caps = control\n"
	"[partition q]\nkind = pv\nmemory = 2M\nimage = q.elf\nwindow = 7ms 1ms\n"
	"[channel pq]\nbetween = p q\n";

static struct partition *who[3];
static struct pci_device *dev;
static struct partition before[CONFIG_MAX_PARTITIONS];
static u8 *ram_before;
static u8 pci_before[4096];

static void setup(void)
{
	fake_machine_reset();
	dev = fake_pci_add(0, 3, 0, 0x1af4, 0x1041);
	dev->bars[0] = (struct pci_bar){ PCI_BAR_MEM64, 0xfe000000, 0x4000, true };
	fake_create(conf);
	who[0] = fake_partition("p");
	who[1] = fake_partition("ctl");
	who[2] = fake_partition("q");
	ram_before = malloc(MiB(2));
	if (!ram_before)
		abort();
}

/* Each call is made by a partition that runs, in its window. */
static void revive(struct partition *x)
{
	if (x->state == PARTITION_WAITING)
		partition_wake(x);
	if (x->state != PARTITION_RUNNABLE) {
		partition_request_start(x, NULL);
		partition_start_step(x, ~0ULL);
	}
	if (x->state != PARTITION_RUNNABLE)
		abort();
	partition_window_begins(x);
	x->run_until_tsc = fake_tsc() + 30000;
	/* Its console drained, so writes are not refused for a full queue. */
	log_drain(&x->console, ~0ULL);
	fake_serial_clear();
}

static u64 get64(const uint8_t *b)
{
	u64 v;

	memcpy(&v, b, 8);
	return v;
}

#define RECORD (1 + 5 * 8)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static bool ready;

	if (!ready) {
		setup();
		ready = true;
	}
	for (; size >= RECORD; data += RECORD, size -= RECORD) {
		struct partition *x = who[data[0] % 3];
		u64 nr = get64(data + 1), a0 = get64(data + 9), a1 = get64(data + 17),
		    a2 = get64(data + 25), a3 = get64(data + 33);
		/* Mostly numbers that exist, so the arguments get looked at. */
		if (!(data[0] & 0x40))
			nr &= 31;
		for (unsigned i = 0; i < 3; i++)
			revive(who[i]);
		memcpy(before, partitions, sizeof(before));
		memcpy(ram_before, phys_to_virt(x->ram), x->ram_size);
		memcpy(pci_before, fake_pci_config(dev), sizeof(pci_before));
		s64 r = hypercall_dispatch(x, nr, a0, a1, a2, a3);
		if (r < 0 && r != -E_AGAIN &&
		    (memcmp(before, partitions, sizeof(before)) ||
		     memcmp(ram_before, phys_to_virt(x->ram), x->ram_size) ||
		     memcmp(pci_before, fake_pci_config(dev), sizeof(pci_before)))) {
			fprintf(stderr,
				"hypercall %llu(%#llx, %#llx, %#llx, %#llx) by %s failed (%lld) "
				"and changed something\n",
				(unsigned long long)nr, (unsigned long long)a0,
				(unsigned long long)a1, (unsigned long long)a2,
				(unsigned long long)a3, x->cfg->name, (long long)r);
			abort();
		}
		/* The same call through the exit path, as the guest makes it. */
		revive(x);
		struct fake_exit e = { .set = FAKE_RAX | FAKE_RDI | FAKE_RSI | FAKE_RDX | FAKE_R10 |
					      FAKE_CPL,
				       .rax = nr,
				       .rdi = a0,
				       .rsi = a1,
				       .rdx = a2,
				       .r10 = a3,
				       .cpl = data[0] & 0x80 ? 3 : 0 };
		e.e.reason = VMEXIT_HYPERCALL;
		e.e.insn_len = 3;
		fake_push(x, &e);
		struct vm_exit exit;
		svm_ops.run(&x->vcpu, &exit);
		vmexit_handle(x, &exit);
	}
	return 0;
}
