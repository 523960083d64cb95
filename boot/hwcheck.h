/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The hardware check: can this PC run Partita?  Run by the loader when the
 * config says `check = yes` in [hypervisor], and by CHECK.EFI
 * (boot/check_main.c), both before ExitBootServices(): they print the
 * report and return to the firmware.
 */
#ifndef PARTITA_BOOT_HWCHECK_H
#define PARTITA_BOOT_HWCHECK_H

#include "boot/efi_glue.h"

/**
 * Prints the report, one "check: ..." line at a time, on the firmware's
 * console (and COM1 when the console has no serial device): CPU vendor;
 * SVM or VMX and whether the firmware disabled it; NPT or EPT and their
 * features; NRIP-save, VPID, unrestricted guest; the IOMMU (IVRS or DMAR);
 * TSC invariance; the CPUs of the MADT; a summary of the memory map; the
 * screen.  The last line is the verdict: "check: verdict: this machine can
 * run Partita" or "... cannot run Partita: <the first reason>".  Returns
 * true if the machine can.
 */
bool hwcheck_run(void);

/** Waits for a key or seconds, whichever comes first, saying so. */
void hwcheck_wait(unsigned seconds);

#endif
