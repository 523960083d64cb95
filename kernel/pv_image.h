/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The image side of paravirtual partitions (the kind_image hooks of pv_kind,
 * kernel/kind.h): a static ELF64 program loaded at guest-physical addresses,
 * with identity page tables and a read-only start-info page built by the
 * hypervisor.
 *
 * Guest-physical layout of a paravirtual partition of M bytes (identity
 * mapped by the guest page tables the hypervisor builds):
 *
 *   0x000000  unmapped: a null-pointer access stops the partition
 *   0x001000  start-info page, read-only (hypervisor-owned, not guest RAM)
 *   0x002000  guest page tables (identity maps of RAM, channels and device
 *             BARs), in guest RAM, up to the image
 *   0x100000  the ELF image (PV_IMAGE_BASE), then its bss
 *   ...       free
 *   M         top of the stack (RSP at entry), growing down
 *   M'        channels, from M rounded up to 2 MiB (kernel/channel.h)
 */
#ifndef PARTITA_PV_IMAGE_H
#define PARTITA_PV_IMAGE_H

#include "kernel/kind.h"

#define PV_START_INFO_GPA 0x1000ULL
#define PV_PAGE_TABLE_GPA 0x2000ULL
#define PV_IMAGE_BASE 0x100000ULL
#define PV_RAM_START 0x2000ULL /* hypercall pointers must be at or above */
#define PV_STACK_SIZE KiB(64)
#define PV_MIN_MEMORY MiB(2)
#define PV_MAX_MEMORY GiB(16)

extern const struct kind_image pv_image;

#endif
