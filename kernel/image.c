/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Shared images and the private layers of their instances (see image.h for
 * the layers, the layout and the locking): loading an image once, mapping
 * it read-only into each instance's second-level tables, the copy on an
 * instance's first write to a page, dropping the copies at a restart, and
 * the hypervisor's own access to an instance's memory.
 */
#include "kernel/image.h"
#include "arch/x86/cpu.h"
#include "kernel/config.h"
#include "kernel/errno.h"
#include "kernel/guest_mem.h"
#include "kernel/lib/elf.h"
#include "kernel/lib/format.h"
#include "kernel/lib/string.h"
#include "kernel/log.h"
#include "kernel/mm.h"
#include "kernel/partition.h"
#include "kernel/pv_image.h"

static struct image images[CONFIG_MAX_PARTITIONS];

u64 image_hash(const void *data, u64 n)
{
	const u64 *w = data;
	u64 h = 0xcbf29ce484222325ULL; /* FNV-1a 64's offset basis and prime */

	/* A word at a time: 8 times fewer steps than bytes. */
	for (u64 i = 0; i < n / 8; i++)
		h = (h ^ w[i]) * 0x100000001b3ULL;
	return h;
}

static u64 pages_of(u64 bytes)
{
	return ALIGN_UP(bytes, PAGE_SIZE) >> PAGE_SHIFT;
}

static const void *module_bytes(const struct boot_module *m)
{
	return phys_to_virt(hpa(m->phys));
}

/* ------------------------------------------------------------ planning -- */

struct span {
	u64 lo, hi; /* of the file bytes */
};

static void file_span(void *ctx, u64 paddr, const void *data, u64 filesz, u64 memsz)
{
	struct span *s = ctx;

	(void)data;
	(void)memsz;
	if (!filesz)
		return;
	s->lo = MIN(s->lo, ALIGN_DOWN(paddr, PAGE_SIZE));
	s->hi = MAX(s->hi, ALIGN_UP(paddr + filesz, PAGE_SIZE));
}

static u64 writable_pages(const struct boot_module *m, u64 lo, u64 hi)
{
	u64 n = 0;

	for (u64 a = lo; a < hi; a += PAGE_SIZE)
		n += elf64_writable_at(module_bytes(m), ELF_PADDR, a, a + PAGE_SIZE);
	return n;
}

int image_plan(struct partition *p, const struct boot_module *m, const char **why)
{
	const struct config_partition *c = p->cfg;
	struct image_layer *l = &p->layer;
	struct span s = { UINT64_MAX, 0 };

	memset(l, 0, sizeof(*l));
	p->ram_host = p->ram_size;
	if (!c->shared_image)
		return 0;
	/* The image was checked (guest_elf_check): its segments lie in
	 * [PV_IMAGE_BASE, ram_size - PV_STACK_SIZE). */
	guest_elf_segments(module_bytes(m), file_span, &s);
	if (s.hi <= s.lo) {
		*why = "its image has no file bytes to share";
		return -E_INVAL;
	}
	l->lo = s.lo;
	l->hi = s.hi;
	u64 pages = (s.hi - s.lo) >> PAGE_SHIFT;
	l->pool_pages = c->cow_budget_set ? c->cow_budget >> PAGE_SHIFT :
					    writable_pages(m, s.lo, s.hi);
	/* More than a copy of every page could never be used. */
	l->pool_pages = MIN(l->pool_pages, pages);
	p->ram_host = p->ram_size - (s.hi - s.lo);
	return 0;
}

/* ------------------------------------------------------------- loading -- */

struct load {
	u8 *pages;
	u64 lo;
};

static void copy_file_bytes(void *ctx, u64 paddr, const void *data, u64 filesz, u64 memsz)
{
	struct load *ld = ctx;

	(void)memsz; /* the rest of a page is zero (page_alloc) */
	if (filesz)
		memcpy(ld->pages + (paddr - ld->lo), data, filesz);
}

/* The image of module m for the range [lo, hi): the loaded one, or a new
 * one.  Several instances of one file share one image if their ranges
 * agree (they do: the range follows from the file). */
static struct image *image_get(const struct boot_module *m, u64 lo, u64 hi, const char **why)
{
	struct image *free = NULL;

	for (unsigned i = 0; i < ARRAY_SIZE(images); i++) {
		struct image *im = &images[i];
		if (im->module == m && im->gpa == lo && im->page_count == (hi - lo) >> PAGE_SHIFT)
			return im;
		if (!im->module && !free)
			free = im;
	}
	if (!free) {
		*why = "too many images";
		return NULL;
	}
	free->page_count = (hi - lo) >> PAGE_SHIFT;
	if (page_alloc(free->page_count, 1, &free->pages)) {
		*why = "no memory for its image's shared pages";
		return NULL;
	}
	struct load ld = { phys_to_virt(free->pages), lo };
	guest_elf_segments(module_bytes(m), copy_file_bytes, &ld);
	free->module = m;
	free->gpa = lo;
	free->writable_pages = writable_pages(m, lo, hi);
	free->hash = image_hash(ld.pages, free->page_count * PAGE_SIZE);
	free->users = 0;
	log_line("image %s: loaded once, %llu pages shared (guest-physical %#llx-%#llx), "
		 "hash %#llx",
		 m->name, (unsigned long long)free->page_count, (unsigned long long)lo,
		 (unsigned long long)hi, (unsigned long long)free->hash);
	return free;
}

static void image_put(struct image *im)
{
	if (--im->users)
		return;
	page_free(im->pages, im->page_count);
	memset(im, 0, sizeof(*im));
}

static hpa_t shared_page(const struct image_layer *l, u64 index)
{
	return hpa(l->image->pages.v + index * PAGE_SIZE);
}

int image_attach(struct partition *p, const char **why)
{
	struct image_layer *l = &p->layer;
	u64 S = l->hi - l->lo;
	int err;

	if (!p->cfg->shared_image)
		return 0;
	l->image = image_get(p->image, l->lo, l->hi, why);
	if (!l->image)
		return -E_NOMEM;
	l->image->users++;
	*why = "no memory for its cow_budget";
	if (l->pool_pages && (err = page_alloc(l->pool_pages, 1, &l->pool)))
		goto err_image;
	l->slot_map_pages = pages_of(l->pool_pages * sizeof(u32));
	if (l->slot_map_pages && (err = page_alloc(l->slot_map_pages, 1, &l->slot_pa)))
		goto err_pool;
	l->slot_of = l->slot_map_pages ? phys_to_virt(l->slot_pa) : NULL;
	l->used = 0;
	/* Private below the image, the image's pages read-only (each its own
	 * 4 KiB leaf, so one can be replaced by a copy), private above. */
	*why = "cannot map its memory";
	if ((err = slat_map(&p->slat, gpa(PV_RAM_START), hpa(p->ram.v + PV_RAM_START),
			    l->lo - PV_RAM_START, SLAT_RWX)))
		goto err_slots;
	for (u64 i = 0; i < S >> PAGE_SHIFT; i++) {
		if ((err = slat_map(&p->slat, gpa(l->lo + i * PAGE_SIZE), shared_page(l, i),
				    PAGE_SIZE, SLAT_R | SLAT_X)))
			goto err_slots;
	}
	if ((err = slat_map(&p->slat, gpa(l->hi), hpa(p->ram.v + l->lo), p->ram_size - l->hi,
			    SLAT_RWX)))
		goto err_slots;
	log_line("partition %s: instance of image %s: %llu pages shared, %llu private, "
		 "cow budget %llu pages",
		 p->cfg->name, p->image->name, (unsigned long long)(S >> PAGE_SHIFT),
		 (unsigned long long)(p->ram_host >> PAGE_SHIFT),
		 (unsigned long long)l->pool_pages);
	return 0;

	/* The second-level tables are destroyed by the caller. */
err_slots:
	if (l->slot_map_pages)
		page_free(l->slot_pa, l->slot_map_pages);
err_pool:
	if (l->pool_pages)
		page_free(l->pool, l->pool_pages);
err_image:
	image_put(l->image);
	l->image = NULL;
	return err;
}

void image_detach(struct partition *p)
{
	struct image_layer *l = &p->layer;

	if (!l->image)
		return;
	if (l->slot_map_pages)
		page_free(l->slot_pa, l->slot_map_pages);
	if (l->pool_pages)
		page_free(l->pool, l->pool_pages);
	image_put(l->image);
	l->image = NULL;
	l->slot_of = NULL;
	l->used = 0;
}

/* ------------------------------------------------- copies and dropping -- */

/* Where image page index of p is now: its shared page or p's copy. */
static hpa_t backing(const struct partition *p, u64 index)
{
	const struct image_layer *l = &p->layer;
	u64 pa = 0, flags, size;

	if (pt_lookup(&p->slat.pt, l->lo + index * PAGE_SIZE, &pa, &flags, &size))
		return shared_page(l, index); /* not reached: every page is mapped */
	return hpa(pa);
}

static bool is_copy(const struct partition *p, u64 index)
{
	return backing(p, index).v != shared_page(&p->layer, index).v;
}

/* Replaces the leaf of image page index (4 KiB, always present) by pa with
 * rights.  The tables for it exist, so neither call can fail. */
static void remap(struct partition *p, u64 index, hpa_t pa, unsigned rights)
{
	gpa_t g = gpa(p->layer.lo + index * PAGE_SIZE);

	if (slat_unmap(&p->slat, g, PAGE_SIZE) || slat_map(&p->slat, g, pa, PAGE_SIZE, rights))
		panic("partition %s: cannot remap image page %#llx", p->cfg->name,
		      (unsigned long long)g.v);
	/* The old translation may be cached (AMD APM Vol. 2 §15.16 TLB
	 * control, Intel SDM Vol. 3C §29.4.3): the next entry flushes this
	 * vCPU's guest-physical and combined mappings. */
	p->vcpu.tlb_flush = true;
}

/* Gives p its private copy of image page index.  0 or -E_NOMEM. */
static int make_copy(struct partition *p, u64 index)
{
	struct image_layer *l = &p->layer;

	if (l->used >= l->pool_pages)
		return -E_NOMEM;
	hpa_t copy = hpa(l->pool.v + l->used * PAGE_SIZE);
	memcpy(phys_to_virt(copy), phys_to_virt(shared_page(l, index)), PAGE_SIZE);
	l->slot_of[l->used++] = (u32)index;
	remap(p, index, copy, SLAT_RWX);
	return 0;
}

void image_layer_drop(struct partition *p)
{
	struct image_layer *l = &p->layer;

	if (!l->image)
		return;
	for (u64 k = 0; k < l->used; k++)
		remap(p, l->slot_of[k], shared_page(l, l->slot_of[k]), SLAT_R | SLAT_X);
	l->used = 0;
	l->cow_faults_boot = 0;
}

int image_npf(struct partition *p, const struct vm_exit *e, char *why, size_t why_size)
{
	struct image_layer *l = &p->layer;
	u64 g = e->npf.gpa;

	/* A write to a page that is mapped (read-only): AMD APM Vol. 2
	 * §15.25.6 (EXITINFO1 P and RW), Intel SDM Vol. 3C §28.2.1 (the
	 * qualification's access and the entry's rights). */
	if (!l->image || !e->npf.write || !e->npf.present || g < l->lo || g >= l->hi)
		return 0;
	u64 index = (g - l->lo) >> PAGE_SHIFT;
	if (is_copy(p, index))
		return 0; /* a copy is writable: this fault is something else */
	u64 t0 = rdtsc();
	if (make_copy(p, index)) {
		snprintf(why, why_size,
			 "write to shared image page %#llx (rip %#llx): its cow_budget of %llu "
			 "pages is used up",
			 (unsigned long long)ALIGN_DOWN(g, PAGE_SIZE),
			 (unsigned long long)p->vcpu.regs.rip, (unsigned long long)l->pool_pages);
		return -E_NOMEM;
	}
	l->cow_faults++;
	l->cow_faults_boot++;
	l->fault_tsc = rdtsc() - t0;
	return 1;
}

void *image_gpa_range(struct partition *p, u64 gpa_addr, u64 len, bool write)
{
	struct image_layer *l = &p->layer;
	u64 end = gpa_addr + (len ? len : 1);

	if (end <= l->lo)
		return phys_to_virt(hpa(p->ram.v + gpa_addr));
	if (gpa_addr >= l->hi)
		return phys_to_virt(hpa(p->ram.v + gpa_addr - (l->hi - l->lo)));
	if (gpa_addr < l->lo || end > l->hi)
		return NULL; /* across the image's edge: two host blocks */
	u64 first = (gpa_addr - l->lo) >> PAGE_SHIFT, last = (end - 1 - l->lo) >> PAGE_SHIFT;
	if (write) {
		u64 need = 0;
		for (u64 i = first; i <= last; i++)
			need += !is_copy(p, i);
		if (need > l->pool_pages - l->used)
			return NULL;
		for (u64 i = first; i <= last; i++)
			if (!is_copy(p, i))
				make_copy(p, i);
	}
	hpa_t base = backing(p, first);
	for (u64 i = first + 1; i <= last; i++)
		if (backing(p, i).v != base.v + (i - first) * PAGE_SIZE)
			return NULL;
	return (u8 *)phys_to_virt(base) + (gpa_addr & (PAGE_SIZE - 1));
}

/* ---------------------------------------------------------- accounting -- */

void image_counts(const struct partition *p, u64 *shared, u64 *private_pages, u64 *budget)
{
	const struct image_layer *l = &p->layer;

	if (!l->image) {
		*shared = 0;
		*private_pages = p->ram_size >> PAGE_SHIFT;
		*budget = 0;
		return;
	}
	*shared = ((l->hi - l->lo) >> PAGE_SHIFT) - l->used;
	*private_pages = (p->ram_host >> PAGE_SHIFT) + l->used;
	*budget = l->pool_pages;
}

void images_report(void)
{
	for (unsigned i = 0; i < ARRAY_SIZE(images); i++) {
		const struct image *im = &images[i];
		u64 priv = 0, budget = 0, whole = 0;
		unsigned n = 0;

		if (!im->module)
			continue;
		for (unsigned k = 0; k < partition_count; k++) {
			const struct partition *q = &partitions[k];
			if (q->layer.image != im)
				continue;
			n++;
			priv += q->ram_host >> PAGE_SHIFT;
			budget += q->layer.pool_pages;
			whole += q->ram_size >> PAGE_SHIFT;
		}
		u64 held = im->page_count + priv + budget;
		log_line("image %s: %u instances hold %llu pages (%llu shared once, %llu private, "
			 "%llu budget); as %u separate loads %llu pages, %llu saved",
			 im->module->name, n, (unsigned long long)held,
			 (unsigned long long)im->page_count, (unsigned long long)priv,
			 (unsigned long long)budget, n, (unsigned long long)whole,
			 (unsigned long long)(whole > held ? whole - held : 0));
	}
}

void images_check(void)
{
	for (unsigned i = 0; i < ARRAY_SIZE(images); i++) {
		const struct image *im = &images[i];
		if (!im->module)
			continue;
		u64 h = image_hash(phys_to_virt(im->pages), im->page_count * PAGE_SIZE);
		log_line("image %s: shared pages' hash at the end %#llx, %s", im->module->name,
			 (unsigned long long)h,
			 h == im->hash ? "unchanged since load" : "CHANGED since load");
	}
}
