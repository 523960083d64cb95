/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Images and instances: one copy of a paravirtual ELF image shared, read
 * only, by every partition made from it (`instances = N`, `from = NAME`),
 * and above it a private layer per instance.  The instance sees one whole
 * memory; underneath, each page of it is either
 *
 *   private   its own RAM: everything outside the image's file bytes (page
 *             tables, bss, heap, stack), from the start;
 *   shared    a page of the image, mapped read-only (and executable) by its
 *             second-level tables, the same host page in every instance;
 *   a copy    a shared page the instance wrote: the write took a
 *             second-level write fault (SVM #NPF, VMX EPT violation, both as
 *             VMEXIT_NPF), and image_npf gave it a private copy from its
 *             budget (`cow_budget`, reserved at creation), mapped writable
 *             in place of the shared page.
 *
 * Guest-physical layout of an instance of M bytes (pv_image.h for the
 * rest): [0, lo) private, [lo, hi) the image's pages (shared or copies),
 * [hi, M) private, where lo..hi covers every segment's file bytes, page
 * aligned.  Host side: the private parts are one block of M - (hi - lo)
 * bytes (gpa g < lo at ram + g, g >= hi at ram + g - (hi - lo)); the copies
 * are the budget's pages, handed out in order and all taken back when the
 * instance starts again (a restart drops its layer: it costs what the
 * instance wrote, not the image).
 *
 * Shared pages are never written: not by an instance (its tables map them
 * read-only), not by the hypervisor (a hypercall that writes guest memory
 * asks image_gpa_range for the range with write set, which makes the copies
 * first).  Each image keeps a hash of its pages from its load, and the
 * pages are hashed again at the end of the run (images_check).
 *
 * Locking: an image is built at boot and then only read (its user count
 * changes at creation and destruction, on the boot CPU); a layer belongs to
 * its partition and is changed only on that partition's CPU.
 */
#ifndef PARTITA_IMAGE_H
#define PARTITA_IMAGE_H

#include <stddef.h>

#include "kernel/lib/types.h"

struct partition;
struct vm_exit;
struct boot_module;

/** One shared image: the pages of an ELF's file bytes, loaded once. */
struct image {
	const struct boot_module *module; /* NULL: the slot is free */
	hpa_t pages;			  /* page_count contiguous pages */
	u64 gpa;			  /* guest-physical address of the first */
	u64 page_count;
	u64 writable_pages; /* of them, in writable segments: the default budget */
	u64 hash;	    /* FNV-1a 64 of the pages at load */
	unsigned users;	    /* instances attached */
};

/** An instance's private layer (part of struct partition). */
struct image_layer {
	struct image *image; /* NULL: not an instance */
	u64 lo, hi;	     /* the image's guest-physical range */
	hpa_t pool;	     /* the budget: pool_pages contiguous pages */
	u64 pool_pages;
	u64 used;      /* copies made since its start */
	u32 *slot_of;  /* slot k (pool page k) holds a copy of image page slot_of[k] */
	hpa_t slot_pa; /* the page(s) of slot_of */
	u64 slot_map_pages;
	u64 cow_faults;	     /* copies made by its own writes, over all boots */
	u64 cow_faults_boot; /* the same, this boot */
	u64 fault_tsc;	     /* TSC cycles of the last copy (image_npf) */
};

/**
 * At check time (allocates nothing): if p's config shares its image, finds
 * the image's range in the module, and sets p->ram_host (the host RAM its
 * private parts take) and p->layer.lo/hi.  Returns 0, or -E_INVAL with a
 * reason (no file bytes to share, or the budget is larger than the image).
 */
int image_plan(struct partition *p, const struct boot_module *m, const char **why);

/**
 * At creation, after the RAM and second-level tables exist: loads the
 * image on its first use (its pages, their hash), reserves p's budget and
 * maps p's memory (private parts read-write, the image's pages read-only).
 * Returns 0, or -E_NOMEM with a reason; undone by image_detach.
 */
int image_attach(struct partition *p, const char **why);

/** Returns p's budget and, with its last user, the image's pages. */
void image_detach(struct partition *p);

/** At every start of p: every copy is mapped back to its shared page and
 *  the budget is whole again (the layer dropped). */
void image_layer_drop(struct partition *p);

/**
 * A second-level fault of p (e->reason VMEXIT_NPF).  Returns 1 if it was a
 * write to a shared page and p has a private copy now (it re-enters and
 * the write completes on the copy), 0 if the fault is not an instance's
 * write to its image (the caller reports it as before), or -E_NOMEM if the
 * budget is used up: the caller faults p with the reason put in why.
 */
int image_npf(struct partition *p, const struct vm_exit *e, char *why, size_t why_size);

/**
 * The hypervisor's pointer to [gpa, gpa + len) of instance p (len >= 1;
 * the range was checked against its memory).  With write, the shared
 * pages in the range are copied first.  NULL if the range is not one
 * contiguous block of host memory (it crosses from the image into private
 * RAM, or over copies that are not adjacent) or, with write, the budget
 * does not cover it.
 */
void *image_gpa_range(struct partition *p, u64 gpa, u64 len, bool write);

/** p's pages by layer: shared (still the image's), private (its own RAM
 *  and its copies; shared + private is its memory), and its budget. */
void image_counts(const struct partition *p, u64 *shared, u64 *private_pages, u64 *budget);

/** Logs each image: its instances, its pages (once) and their hash, the
 *  instances' private pages and budgets, against separate loads. */
void images_report(void);

/** At the end of the run (no partition can run any more): hashes each
 *  image's pages again and logs whether they are unchanged since load.
 *  Not done earlier: hashing an image takes longer than a short window
 *  in an emulator, and nothing may cost a partition's time outside it. */
void images_check(void);

/** The images' hash: FNV-1a 64 over the n / 8 little-endian 64-bit words
 *  at data (n a multiple of 8; pure, for the host tests). */
u64 image_hash(const void *data, u64 n);

#endif
