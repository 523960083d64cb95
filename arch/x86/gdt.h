/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The core's segmentation: one GDT with a flat 64-bit code and data segment
 * and a TSS whose interrupt stack table (IST) gives the double fault, NMI
 * and machine check handlers their own known-good stacks.  In 64-bit mode
 * segmentation only matters for CS (the L bit), the TSS (RSP0 and IST) and
 * the selectors the virtualization back ends save as host state.
 */
#ifndef PARTITA_ARCH_X86_GDT_H
#define PARTITA_ARCH_X86_GDT_H

#include "kernel/lib/types.h"

#define GDT_KERNEL_CS 0x08
#define GDT_KERNEL_DS 0x10
#define GDT_TSS 0x18 /* 16-byte system descriptor: occupies slots 3 and 4 */

/* IST slots used by the IDT (traps.c); numbered 1..7 as in the gate. */
#define IST_DOUBLE_FAULT 1
#define IST_NMI 2
#define IST_MACHINE_CHECK 3

#define IST_STACK_SIZE KiB(16)

/** Size in bytes of the 64-bit TSS (Intel SDM Vol. 3A §8.7, Figure 8-11). */
#define TSS_SIZE 104

/**
 * Loads CPU cpu's own GDT and TSS on the calling CPU: LGDT, a far return to
 * reload CS, DS, ES and SS loaded with GDT_KERNEL_DS (FS and GS with the
 * null selector), then LTR.  ist_top holds the tops of its double fault,
 * NMI and machine check stacks.  Call once per CPU, first thing, before
 * percpu_init_cpu() (the null GS load may clear the GS base).  Cannot fail.
 */
void gdt_init_cpu(unsigned cpu, const u64 ist_top[3]);

/** gdt_init_cpu() for the boot CPU (CPU 0), with its IST stacks from the
 *  image. */
void gdt_init(void);

/** The linear address of the calling CPU's GDT (host state of VMX/SVM). */
u64 gdt_base(void);

/** The GDT limit as loaded into GDTR. */
u16 gdt_limit(void);

/** The linear address of the calling CPU's TSS (VMX HOST_TR_BASE). */
u64 gdt_tss_base(void);

#endif
