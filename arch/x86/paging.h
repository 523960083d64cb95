/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The core's own page tables (the memory map is drawn in kernel/mm.h).
 */
#ifndef PARTITA_ARCH_X86_PAGING_H
#define PARTITA_ARCH_X86_PAGING_H

#include "kernel/lib/types.h"

/**
 * Builds the core's page tables, replacing the loader's: the direct map of
 * all physical memory up to max(4 GiB, top of RAM) in 2 MiB pages
 * (write-back where there is RAM, uncached elsewhere, never executable), and
 * the core image in 4 KiB pages with text read-only, rodata read-only and
 * non-executable, data and bss non-executable.  Turns on EFER.NXE and CR0.WP
 * and loads CR3.  Returns 0 or -E_NOMEM (the loader's tables stay then).
 */
int paging_init(void);

/** CR3 value of the core's tables (for the back ends' host state). */
u64 paging_root(void);

#endif
