/*
 * Handling of guest exits, written once for both back ends: CPUID, port I/O,
 * MSRs, nested page faults, HLT, hypercalls and the faults that stop a
 * partition.
 */
#ifndef PARTITA_VMEXIT_H
#define PARTITA_VMEXIT_H

#include "kernel/virt.h"

struct partition;

/** Handles one exit of p's vCPU; may stop or restart p. */
void vmexit_handle(struct partition *p, struct vm_exit *exit);

/** Handles a hypercall exit (hypercall.c).  Sets RAX and advances RIP, or
 *  injects #UD for a call from user mode. */
void hypercall_handle(struct partition *p, const struct vm_exit *exit);

/** RDPMC: counters that never count, or #GP (see vmexit.c). */
void vmexit_rdpmc(struct partition *p, const struct vm_exit *e);

/** Emulates CPUID for a partition: the host's values, filtered, plus the
 *  hypervisor leaves of kernel/abi/partita.h. */
void cpuid_emulate(const struct partition *p, u32 leaf, u32 subleaf, u32 out[4]);

#endif
