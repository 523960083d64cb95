/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Unmodified (hvm) partitions: how they are created and started from a
 * Linux bzImage or a Multiboot kernel (boot.c: hvm_image), and how their
 * exits reach the virtual platform of hvm.h (platform.c: hvm_exits).  The
 * generic code reaches both through hvm_kind (kernel/kind.h).
 *
 * Guest-physical layout: RAM from 0 to the configured size, all of it
 * mapped; the loaders' data (zero page, command line, GDT, page tables) and
 * the ACPI tables live in the reserved 0x9fc00-0x100000 hole of the e820
 * map; the local APIC page 0xfee00000 and every other address outside RAM
 * are unmapped, so accesses there exit and are emulated.
 */
#ifndef PARTITA_HVM_PLATFORM_H
#define PARTITA_HVM_PLATFORM_H

#include "kernel/kind.h"

struct config_partition;
struct config_error;
struct boot_info;

enum hvm_format { HVM_FORMAT_NONE, HVM_FORMAT_BZIMAGE, HVM_FORMAT_MULTIBOOT };

/* The ACPI tables are at HVM_ACPI_GPA (kernel/hvm/acpi_tables.h). */

extern const struct kind_image hvm_image;

/**
 * What only the image's format shows wrong in an hvm partition's config,
 * checked at boot once the files are loaded: an initrd for a Multiboot
 * kernel (its files are modules), a module for a Linux bzImage (its
 * ramdisk is the initrd).  Returns 0 (also when the image is missing or of
 * no known format: the partition's creation reports that), or -E_INVAL
 * with err's line and reason filled.
 */
int hvm_boot_check_config(const struct config_partition *c, const struct boot_info *bi,
			  struct config_error *err);
extern const struct kind_exits hvm_exits;

#endif
