/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * What the parts of the Multiboot test kernel share (mbtest.c: output,
 * check reports, the IDT; platform.c: the I/O APIC, ACPI and PCI checks).
 */
#ifndef MBTEST_H
#define MBTEST_H

#include <stdbool.h>
#include <stdint.h>

void puts(const char *s);
void putu(uint32_t v);
void puthex(uint32_t v);
/* Prints "mbtest: ok NAME" or "mbtest: FAIL NAME at FILE:LINE"; the first
 * failed check's number n becomes the exit code. */
bool report(unsigned n, const char *name, bool ok, const char *file, int line);
void idt_set(unsigned v, void (*fn)(void), uint16_t cs);

/* platform.c: the I/O APIC (registers, PIT on pin 2, a level interrupt
 * with remote IRR and EOI), the MADT and MCFG, and PCI configuration space
 * through 0xcf8/0xcfc and ECAM.  Their check numbers start at 40. */
void check_platform(void);

/* bootinfo.c: reads the Multiboot 1 or 2 information (by the magic) and
 * prints it; false unless the magic is known and memory is given.  Then
 * check_modules reports check n, "modules". */
bool boot_info_read(uint32_t magic, uint32_t info);
void check_modules(unsigned n);

#endif
