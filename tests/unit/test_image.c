/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Host tests of images and instances (kernel/image.c) on the fake machine:
 * instances from one config section share one copy of their image, mapped
 * read-only; a write fault (a VMEXIT_NPF through the real exit path) gives
 * the writer a private copy from its budget and nobody else; the
 * hypervisor's own writes (a hypercall into the image's data) copy first;
 * an exhausted budget stops the partition with its reason; a restart drops
 * the copies; destroying every instance returns every page.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernel/abi/partita.h"
#include "kernel/errno.h"
#include "kernel/hypercall.h"
#include "kernel/image.h"
#include "kernel/log.h"
#include "kernel/mm.h"
#include "kernel/partition.h"
#include "kernel/pv_image.h"
#include "kernel/vmexit.h"
#include "tests/unit/fake_arch.h"
#include "tests/unit/fake_virt.h"

/* fake_add_pv_image: one RWX segment at 1 MiB, 0x100 file bytes (hlt),
 * memsz 0x2000: one shared page, one private bss page. */
static const char *const conf =
	"[hypervisor]\nframe = 10ms\n"
	"[partition web]\nkind = pv\nmemory = 2M\nimage = w.elf\nwindow = 0ms 1ms\n"
	"instances = 3\n"
	"[partition tight]\nfrom = web\nwindow = 5ms 1ms\ncow_budget = 0\n"
	"[partition solo]\nkind = pv\nmemory = 2M\nimage = w.elf\nwindow = 7ms 1ms\n";

#define SHARED_GPA 0x100000ULL

static struct partition *w0, *w1, *w2, *tight, *solo;

static void setup(void)
{
	assert_int_equal(fake_create(conf), 5);
	w0 = fake_partition("web-0");
	w1 = fake_partition("web-1");
	w2 = fake_partition("web-2");
	tight = fake_partition("tight");
	solo = fake_partition("solo");
}

static u64 backing(struct partition *p, u64 g, u64 *flags)
{
	u64 pa, f, size;

	assert_int_equal(pt_lookup(&p->slat.pt, g, &pa, &f, &size), 0);
	assert_int_equal(size, 4096);
	if (flags)
		*flags = f;
	return pa;
}

static void write_fault(struct partition *p, u64 g)
{
	struct vm_exit e = { .reason = VMEXIT_NPF };

	e.npf.gpa = g;
	e.npf.write = true;
	e.npf.present = true;
	vmexit_handle(p, &e);
}

static u64 shared_hash(const struct partition *p)
{
	const struct image *im = p->layer.image;

	return image_hash(phys_to_virt(im->pages), im->page_count * PAGE_SIZE);
}

FAKE_TEST(instances_share_one_read_only_copy)
{
	setup();
	assert_non_null(w0->layer.image);
	assert_ptr_equal(w0->layer.image, w1->layer.image);
	assert_ptr_equal(w0->layer.image, tight->layer.image);
	assert_null(solo->layer.image); /* its own section: a separate load */
	assert_int_equal(w0->layer.image->page_count, 1);
	assert_int_equal(w0->layer.image->users, 4);
	assert_int_equal(w0->ram_host, MiB(2) - PAGE_SIZE);
	assert_int_equal(solo->ram_host, MiB(2));
	u64 fl0, fl1;
	u64 a = backing(w0, SHARED_GPA, &fl0), b = backing(w1, SHARED_GPA, &fl1);
	assert_int_equal(a, b);
	assert_int_equal(a, w0->layer.image->pages.v);
	assert_false(fl0 & PTE_W);
	assert_false(fl0 & PTE_NX);
	/* The image's bytes, and the private page after them. */
	assert_int_equal(*(u8 *)partition_gpa_ptr(w0, SHARED_GPA), 0xf4);
	assert_int_equal(backing(w0, SHARED_GPA + PAGE_SIZE, NULL), w0->ram.v + SHARED_GPA);
	assert_int_equal(backing(w0, 0x2000, NULL), w0->ram.v + 0x2000);
	u64 sh, pr, bu;
	image_counts(w0, &sh, &pr, &bu);
	assert_int_equal(sh, 1);
	assert_int_equal(pr, 511);
	assert_int_equal(bu, 1); /* the writable segment's page */
	image_counts(tight, &sh, &pr, &bu);
	assert_int_equal(bu, 0);
	fake_expect_serial("image w.elf: 4 instances hold 2048 pages (1 shared once, 2044 "
			   "private, 3 budget); as 4 separate loads 2048 pages, 0 saved");
}

FAKE_TEST(a_write_fault_gives_the_writer_a_copy)
{
	setup();
	u64 h = shared_hash(w0), shared = backing(w0, SHARED_GPA, NULL);
	write_fault(w0, SHARED_GPA + 0x10);
	assert_int_equal(w0->state, PARTITION_RUNNABLE);
	u64 fl;
	u64 copy = backing(w0, SHARED_GPA, &fl);
	assert_int_not_equal(copy, shared);
	assert_int_equal(copy, w0->layer.pool.v);
	assert_true(fl & PTE_W);
	assert_true(w0->vcpu.tlb_flush);
	assert_int_equal(w0->layer.cow_faults, 1);
	/* The copy holds the image's bytes; writing it changes nobody else. */
	u8 *mine = partition_gpa_ptr(w0, SHARED_GPA);
	assert_int_equal(mine[0], 0xf4);
	mine[0] = 0x90;
	assert_int_equal(*(u8 *)partition_gpa_ptr(w1, SHARED_GPA), 0xf4);
	assert_int_equal(backing(w1, SHARED_GPA, NULL), shared);
	assert_int_equal(shared_hash(w0), h);
	u64 sh, pr, bu;
	image_counts(w0, &sh, &pr, &bu);
	assert_int_equal(sh, 0);
	assert_int_equal(pr, 512);
	/* A write fault elsewhere is not the image's: reported as before. */
	write_fault(w1, 0x40000000);
	assert_int_equal(w1->state, PARTITION_FAULTED);
}

FAKE_TEST(an_empty_budget_stops_the_partition)
{
	setup();
	u64 h = shared_hash(tight);
	write_fault(tight, SHARED_GPA + 8);
	assert_int_equal(tight->state, PARTITION_FAULTED);
	fake_expect_serial("partition tight stopped: write to shared image page 0x100000 (rip "
			   "0x100000): its cow_budget of 0 pages is used up");
	assert_int_equal(shared_hash(tight), h);
	assert_int_equal(backing(tight, SHARED_GPA, NULL), tight->layer.image->pages.v);
}

FAKE_TEST(hypervisor_writes_copy_first)
{
	setup();
	u64 h = shared_hash(w0);
	/* HC_PARTITION_INFO into the image's page: the copy is made first. */
	assert_int_equal(hypercall_dispatch(w2, HC_PARTITION_INFO, SHARED_GPA + 0x80, 0, 0, 0), 0);
	assert_int_equal(shared_hash(w0), h);
	const struct partita_partition_info *info = partition_gpa_ptr(w2, SHARED_GPA + 0x80);
	assert_string_equal(info->name, "web-2");
	assert_int_equal(w2->layer.used, 1);
	assert_int_equal(w2->layer.cow_faults, 0); /* not its own write */
	/* Without a budget the call fails and changes nothing. */
	assert_int_equal(hypercall_dispatch(tight, HC_PARTITION_INFO, SHARED_GPA + 0x80, 0, 0, 0),
			 -E_FAULT);
	assert_int_equal(shared_hash(w0), h);
	assert_int_equal(tight->state, PARTITION_RUNNABLE);
	/* Reading needs no copy; a range across the image's edge is refused. */
	assert_int_equal(hypercall_dispatch(tight, HC_CONSOLE_WRITE, SHARED_GPA, 0, 0, 0), 0);
	assert_null(partition_gpa_range(tight, SHARED_GPA + PAGE_SIZE - 8, 16, false));
	assert_non_null(partition_gpa_range(tight, SHARED_GPA + 8, 16, false));
	/* HC_PARTITION_MEMORY: its own counts, another's only with control. */
	struct partita_memory_info *m = partition_gpa_ptr(w2, 0x150000);
	assert_int_equal(hypercall_dispatch(w2, HC_PARTITION_MEMORY, w2->id, 0x150000, 0, 0), 0);
	assert_int_equal(m->shared_pages, 0);
	assert_int_equal(m->private_pages, 512);
	assert_int_equal(m->copy_pages, 1);
	assert_int_equal(m->budget_pages, 1);
	assert_int_equal(m->instance, 1);
	assert_int_equal(m->image_hash, h);
	assert_int_equal(hypercall_dispatch(w2, HC_PARTITION_MEMORY, w1->id, 0x150000, 0, 0),
			 -E_PERM);
	/* Without control another id is refused before it is looked up, so the
	 * answer does not tell which ids exist. */
	assert_int_equal(hypercall_dispatch(w2, HC_PARTITION_MEMORY, 99, 0x150000, 0, 0), -E_PERM);
	assert_int_equal(hypercall_dispatch(w2, HC_PARTITION_MEMORY, w2->id, 0x1000, 0, 0),
			 -E_FAULT);
	assert_int_equal(hypercall_dispatch(solo, HC_PARTITION_MEMORY, solo->id, 0x150000, 0, 0),
			 0);
	m = partition_gpa_ptr(solo, 0x150000);
	assert_int_equal(m->instance, 0);
	assert_int_equal(m->private_pages, 512);
	assert_int_equal(m->shared_pages, 0);
}

FAKE_TEST(a_restart_drops_the_layer)
{
	setup();
	u64 shared = backing(w0, SHARED_GPA, NULL);
	write_fault(w0, SHARED_GPA);
	*(u8 *)partition_gpa_ptr(w0, SHARED_GPA) = 0x90;
	*(u8 *)partition_gpa_ptr(w0, SHARED_GPA + PAGE_SIZE) = 0x55; /* bss */
	assert_int_equal(partition_request_restart(w0, "test"), 0);
	assert_true(partition_start_step(w0, ~0ULL));
	assert_int_equal(w0->state, PARTITION_RUNNABLE);
	assert_int_equal(backing(w0, SHARED_GPA, NULL), shared);
	assert_int_equal(w0->layer.used, 0);
	assert_int_equal(*(u8 *)partition_gpa_ptr(w0, SHARED_GPA), 0xf4);
	assert_int_equal(*(u8 *)partition_gpa_ptr(w0, SHARED_GPA + PAGE_SIZE), 0);
	/* And the budget is whole again. */
	write_fault(w0, SHARED_GPA);
	assert_int_equal(w0->state, PARTITION_RUNNABLE);
	assert_int_equal(w0->layer.cow_faults, 2);
}

FAKE_TEST(destroying_every_instance_returns_every_page)
{
	fake_parse(conf, &fake_cfg);
	fake_add_pv_image("w.elf");
	u64 before = fake_free_pages();
	assert_int_equal(partitions_create(&fake_cfg, &fake_bi), 5);
	w0 = fake_partition("web-0");
	write_fault(w0, SHARED_GPA);
	assert_true(fake_free_pages() < before);
	for (unsigned i = 0; i < partition_count; i++)
		partition_destroy(&partitions[i]);
	assert_int_equal(fake_free_pages(), before);
}

static const char *const slot_conf =
	"[hypervisor]\nframe = 10ms\n"
	"[partition ctl]\nkind = pv\nmemory = 2M\nimage = c.elf\nwindow = 0ms 2ms\n"
	"caps = control\n"
	"[partition plain]\nkind = pv\nmemory = 2M\nimage = p.elf\nwindow = 2ms 1ms\n"
	"[slot s0]\nmemory = 2M\nwindow = 4ms 1ms\nimage = w.elf\n"
	"[slot huge]\nmemory = 8G\n";

static s64 create(struct partition *by, const char *name, const char *image, const char *slot)
{
	struct partita_create *req = partition_gpa_ptr(by, 0x180000);

	memset(req, 0, sizeof(*req));
	strcpy(req->name, name);
	strcpy(req->image, image);
	strcpy(req->slot, slot);
	strcpy(req->cmdline, "x=1");
	return hypercall_dispatch(by, HC_PARTITION_CREATE, 0x180000, 0, 0, 0);
}

FAKE_TEST(slots_create_and_destroy)
{
	fake_parse(slot_conf, &fake_cfg);
	fake_add_pv_image("c.elf");
	fake_add_pv_image("p.elf");
	fake_add_pv_image("w.elf");
	assert_int_equal(partitions_create(&fake_cfg, &fake_bi), 2);
	struct partition *ctl = fake_partition("ctl"), *plain = fake_partition("plain");
	struct partition *s0 = fake_partition("s0");
	assert_int_equal(s0->state, PARTITION_UNUSABLE);
	assert_true(partition_is_slot(s0));
	u64 base = fake_free_pages();
	/* Every refusal, each leaving nothing made. */
	assert_int_equal(create(plain, "a", "w.elf", "s0"), -E_PERM);
	assert_int_equal(create(ctl, "A", "w.elf", "s0"), -E_INVAL);
	assert_int_equal(create(ctl, "a", "none.elf", "s0"), -E_NOENT);
	assert_int_equal(create(ctl, "a", "w.elf", "s9"), -E_NOENT);
	assert_int_equal(create(ctl, "plain", "w.elf", "s0"), -E_EXIST);
	assert_int_equal(create(ctl, "huge", "w.elf", "s0"), -E_EXIST);
	assert_int_equal(create(ctl, "a", "w.elf", "huge"), -E_NOMEM);
	assert_int_equal(hypercall_dispatch(ctl, HC_PARTITION_DESTROY, s0->id, 0, 0, 0), -E_NOENT);
	assert_int_equal(hypercall_dispatch(ctl, HC_PARTITION_DESTROY, plain->id, 0, 0, 0),
			 -E_INVAL);
	assert_int_equal(fake_free_pages(), base);
	/* With control, an id that names no partition is -E_NOENT. */
	assert_int_equal(hypercall_dispatch(ctl, HC_PARTITION_MEMORY, 99, 0x150000, 0, 0),
			 -E_NOENT);
	assert_int_equal(hypercall_dispatch(plain, HC_PARTITION_MEMORY, 99, 0x150000, 0, 0),
			 -E_PERM);
	/* Made, an instance of its image, started in the slot's windows. */
	assert_int_equal(create(ctl, "web", "w.elf", "s0"), s0->id);
	assert_string_equal(s0->cfg->name, "web");
	assert_string_equal(s0->cfg->cmdline, "x=1");
	assert_int_equal(s0->state, PARTITION_STARTING);
	assert_non_null(s0->layer.image);
	assert_int_equal(create(ctl, "web2", "w.elf", "s0"), -E_BUSY);
	assert_int_equal(create(ctl, "web", "w.elf", "huge"), -E_EXIST);
	assert_true(partition_start_step(s0, ~0ULL));
	assert_int_equal(s0->state, PARTITION_RUNNABLE);
	assert_int_equal(hypercall_dispatch(ctl, HC_PARTITION_DESTROY, s0->id, 0, 0, 0), 0);
	assert_int_equal(s0->state, PARTITION_UNUSABLE);
	assert_string_equal(s0->cfg->name, "s0");
	assert_int_equal(fake_free_pages(), base);
	for (unsigned i = 0; i < 100; i++) {
		assert_int_equal(create(ctl, "cycle", "w.elf", "s0"), s0->id);
		assert_int_equal(hypercall_dispatch(ctl, HC_PARTITION_DESTROY, s0->id, 0, 0, 0), 0);
	}
	assert_int_equal(fake_free_pages(), base);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(instances_share_one_read_only_copy),
		cmocka_unit_test(a_write_fault_gives_the_writer_a_copy),
		cmocka_unit_test(an_empty_budget_stops_the_partition),
		cmocka_unit_test(hypervisor_writes_copy_first),
		cmocka_unit_test(a_restart_drops_the_layer),
		cmocka_unit_test(destroying_every_instance_returns_every_page),
		cmocka_unit_test(slots_create_and_destroy),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
