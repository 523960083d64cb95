/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * What differs between the two kinds of partition, paravirtual (pv) and
 * unmodified (hvm), as one const policy per kind (kind.c).  Generic code has
 * one creation sequence (partition.c) and one exit path (vmexit.c); where a
 * kind differs, they call its hooks:
 *
 *   image  how it is checked, created, started and destroyed: called by
 *          partition.c; the hooks fill the partition's fields and return an
 *          error with a reason, and never change its life-cycle state
 *          (kernel/pv_image.c, kernel/hvm/boot.c);
 *   exits  how its exits are answered: called by vmexit.c; the hooks may
 *          stop, fault or end the partition through partition.c
 *          (kernel/pv.c, kernel/hvm/platform.c).
 */
#ifndef PARTITA_KIND_H
#define PARTITA_KIND_H

#include "kernel/lib/types.h"
#include "kernel/virt.h"

struct partition;
struct boot_info;
struct cpu_view;

/** What a start needs to know that the partition does not hold. */
struct kind_start {
	u64 frame_ns;	/* the schedule of its CPU */
	u64 epoch_ns;	/* 0 until the schedule starts */
	u64 dma_offset; /* what its devices add to a guest-physical address */
};

struct kind_image {
	/** Finds and checks the image (and initrd) in bi, sets ram_size,
	 *  map_end and the vCPU's mode in *vcfg; allocates nothing. */
	int (*check)(struct partition *p, const struct boot_info *bi, struct vcpu_config *vcfg,
		     const char **why);
	/** Allocates the kind's own state and maps RAM (the partition's RAM
	 *  and slat exist).  Undone by destroy. */
	int (*create)(struct partition *p, const char **why);
	void (*destroy)(struct partition *p);
	/** Loads the image into p's RAM (already all zero) and resets the
	 *  vCPU to the image's entry state. */
	int (*start)(struct partition *p, const struct kind_start *ks, const char **why);
	/** Bytes a start copies after clearing (its time estimate). */
	u64 (*start_bytes)(const struct partition *p);
};

struct kind_exits {
	/* Each answers one exit of its kind; NULL: the generic default. */
	void (*io)(struct partition *p, const struct vm_exit *e);
	void (*msr)(struct partition *p, const struct vm_exit *e);
	void (*npf)(struct partition *p, const struct vm_exit *e);
	void (*hlt)(struct partition *p, const struct vm_exit *e);
	void (*hypercall)(struct partition *p, const struct vm_exit *e);
	void (*xsetbv)(struct partition *p, const struct vm_exit *e);
	/** MOV to/from CR8 (VMEXIT_CR8, virt.h); NULL: the exit stops the
	 *  partition (only hvm vCPUs have it). */
	void (*cr8)(struct partition *p, const struct vm_exit *e);
	/** The number of prefix bytes before the opcode at the guest's RIP,
	 *  for an exit whose insn_len is unprefixed (virt.h); NULL: none
	 *  (a paravirtual guest uses the plain encodings). */
	u32 (*insn_prefixes)(struct partition *p);
	/** The guest took the interrupt the kind offered (vm_exit.irq_taken,
	 *  virt.h): called first at such an exit, before it is handled. */
	void (*irq_taken)(struct partition *p, u8 vector);
	/** Fills the kind's part of the guest state CPUID depends on (hvm:
	 *  the local APIC's state, the vCPU count); NULL: the defaults. */
	void (*cpu_view)(const struct partition *p, struct cpu_view *v);
	/**
	 * Before the scheduler decides about p at time now: advances its
	 * devices, wakes it (partition_wake) if an interrupt came, and, if it
	 * is RUNNABLE, queues the interrupt it can take.  Returns the time of
	 * its next device event (0: none), which ends its next run.  NULL for
	 * kinds without devices.
	 */
	u64 (*prepare)(struct partition *p, u64 now);
	/** Every exit goes back to the scheduler (its devices need a look);
	 *  else exits that need no decision re-enter at once. */
	bool back_to_scheduler;
	/** A guest that XSETBVs without an exit (see vmexit.c) may keep
	 *  a valid XCR0 (hvm); else it is stopped (pv). */
	bool xcr0_own;
};

struct partition_kind {
	const char *name; /* "pv", "hvm" */
	const struct kind_image *image;
	const struct kind_exits *exits;
};

extern const struct kind_exits pv_exits; /* kernel/pv.c */
extern const struct partition_kind pv_kind;
extern const struct partition_kind hvm_kind;

/** The kind of a config_partition's `kind` value. */
const struct partition_kind *kind_of(int config_kind);

#endif
