/*
 * Unmodified (hvm) partitions: how one is created and started from a Linux
 * bzImage or a Multiboot kernel, and how its exits reach the virtual
 * platform of hvm.h.  The generic code (partition.c, vmexit.c, sched.c)
 * calls these for partitions of kind hvm.
 *
 * Guest-physical layout: RAM from 0 to the configured size, all of it
 * mapped; the loaders' data (zero page, command line, GDT, page tables) and
 * the ACPI tables live in the reserved 0x9fc00-0x100000 hole of the e820
 * map; the local APIC page 0xfee00000 and every other address outside RAM
 * are unmapped, so accesses there exit and are emulated.
 */
#ifndef PARTITA_HVM_PLATFORM_H
#define PARTITA_HVM_PLATFORM_H

#include "kernel/types.h"
#include "kernel/virt.h"

struct partition;
struct boot_info;

/* The ACPI tables are at HVM_ACPI_GPA (kernel/hvm/acpi_tables.h). */

/** Allocates the platform and maps RAM.  0 or an error (logged). */
int hvm_partition_create(struct partition *p, const struct boot_info *bi);

/** Loads the kernel (and initrd) into fresh RAM, builds the ACPI tables,
 *  resets the devices and the vCPU.  0 or an error (logged). */
int hvm_partition_start(struct partition *p);

/** Handles an exit of an hvm partition (everything but hypercalls). */
void hvm_handle_exit(struct partition *p, struct vm_exit *e);

/**
 * Before each entry: advances the device timers, injects the next pending
 * interrupt if the guest can take it (or asks for an interrupt window),
 * wakes a halted vCPU that has one.  Returns the time of the next device
 * timer event (0 if none), which the scheduler arms within the window.
 */
u64 hvm_before_entry(struct partition *p, u64 now);

/** True while the vCPU waits in HLT for an interrupt. */
bool hvm_halted(const struct partition *p);

#endif
