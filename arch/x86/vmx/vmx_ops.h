/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The raw VMX instructions (Intel SDM Vol. 3C §31.3, "VMX Instruction
 * Reference"): VMXON, VMCLEAR, VMPTRLD, VMREAD, VMWRITE, INVEPT, INVVPID.
 * VMLAUNCH and VMRESUME live in vmx_entry.S, where the general registers are
 * swapped.  Only the VMX back end includes this file.
 *
 * Each instruction reports failure in RFLAGS (§31.2, "Conventions"): CF=1 is
 * VMfailInvalid (no current VMCS), ZF=1 is VMfailValid (the reason is in the
 * current VMCS's VM-instruction error field).  The wrappers return true on
 * success.
 */
#ifndef PARTITA_VMX_OPS_H
#define PARTITA_VMX_OPS_H

#include "arch/x86/vmx/vmcs.h"
#include "kernel/lib/types.h"

static inline bool vmx_on(u64 pa)
{
	bool fail;

	asm volatile("vmxon %1; setna %0" : "=q"(fail) : "m"(pa) : "cc", "memory");
	return !fail;
}

static inline void vmx_off(void)
{
	asm volatile("vmxoff" ::: "cc", "memory");
}

static inline bool vmx_clear(u64 pa)
{
	bool fail;

	asm volatile("vmclear %1; setna %0" : "=q"(fail) : "m"(pa) : "cc", "memory");
	return !fail;
}

static inline bool vmx_ptrld(u64 pa)
{
	bool fail;

	asm volatile("vmptrld %1; setna %0" : "=q"(fail) : "m"(pa) : "cc", "memory");
	return !fail;
}

static inline bool vmx_read(enum vmcs_field field, u64 *value)
{
	bool fail;
	u64 v;

	asm volatile("vmread %2, %1; setna %0" : "=q"(fail), "=r"(v) : "r"((u64)field) : "cc");
	*value = v;
	return !fail;
}

static inline bool vmx_write(enum vmcs_field field, u64 value)
{
	bool fail;

	asm volatile("vmwrite %2, %1; setna %0"
		     : "=q"(fail)
		     : "r"((u64)field), "r"(value)
		     : "cc", "memory");
	return !fail;
}

struct invept_desc {
	u64 eptp;
	u64 reserved;
};

struct invvpid_desc {
	u64 vpid; /* 15:0; the rest must be 0 */
	u64 linear_address;
};

static inline bool vmx_invept(u64 type, u64 eptp)
{
	struct invept_desc d = { eptp, 0 };
	bool fail;

	asm volatile("invept %1, %2; setna %0" : "=q"(fail) : "m"(d), "r"(type) : "cc", "memory");
	return !fail;
}

static inline bool vmx_invvpid(u64 type, u16 vpid)
{
	struct invvpid_desc d = { vpid, 0 };
	bool fail;

	asm volatile("invvpid %1, %2; setna %0" : "=q"(fail) : "m"(d), "r"(type) : "cc", "memory");
	return !fail;
}

struct guest_regs;
/**
 * Enters the guest of the current VMCS (vmx_entry.S): writes HOST_RSP, loads
 * the guest's general registers from *regs, runs VMLAUNCH (launched false) or
 * VMRESUME (launched true), and at the VM exit stores the guest's registers
 * back into *regs.  Returns 0 after a VM exit, 1 if the instruction failed
 * with VMfailInvalid, 2 with VMfailValid (the VMCS's VM-instruction error
 * says why); on failure *regs is unchanged.
 */
int vmx_enter(struct guest_regs *regs, bool launched);

/** The VM-exit entry point (vmx_entry.S): the VMCS's HOST_RIP. */
void vmx_exit_stub(void);

#endif
