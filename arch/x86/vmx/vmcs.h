/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * VMCS field encodings, control bits, exit reasons and capability MSRs of
 * Intel VMX.  References: Intel SDM Vol. 3D Appendix B ("Field Encoding in
 * VMCS"), Vol. 3C chapter 26 ("Virtual Machine Control Structures"), Appendix A
 * ("VMX Capability Reporting Facility") and Appendix C ("VMX Basic Exit
 * Reasons").  Only what Partita uses is named.  The VMCS itself is opaque
 * (its layout is the processor's): it is read and written with VMREAD and
 * VMWRITE only (vmx_ops.h).
 */
#ifndef PARTITA_VMX_VMCS_H
#define PARTITA_VMX_VMCS_H

/* ---- Capability MSRs (SDM Vol. 3D Appendix A) ---------------------------- */
#define MSR_IA32_VMX_BASIC 0x480
#define MSR_IA32_VMX_PINBASED_CTLS 0x481
#define MSR_IA32_VMX_PROCBASED_CTLS 0x482
#define MSR_IA32_VMX_EXIT_CTLS 0x483
#define MSR_IA32_VMX_ENTRY_CTLS 0x484
#define MSR_IA32_VMX_MISC 0x485
#define MSR_IA32_VMX_CR0_FIXED0 0x486
#define MSR_IA32_VMX_CR0_FIXED1 0x487
#define MSR_IA32_VMX_CR4_FIXED0 0x488
#define MSR_IA32_VMX_CR4_FIXED1 0x489
#define MSR_IA32_VMX_PROCBASED_CTLS2 0x48b
#define MSR_IA32_VMX_EPT_VPID_CAP 0x48c
#define MSR_IA32_VMX_TRUE_PINBASED_CTLS 0x48d
#define MSR_IA32_VMX_TRUE_PROCBASED_CTLS 0x48e
#define MSR_IA32_VMX_TRUE_EXIT_CTLS 0x48f
#define MSR_IA32_VMX_TRUE_ENTRY_CTLS 0x490

/* IA32_FEATURE_CONTROL (SDM Vol. 3C §25.7 "Enabling and Entering VMX
 * Operation") */
#define FEATURE_CONTROL_LOCK (1ULL << 0)
#define FEATURE_CONTROL_VMXON_IN_SMX (1ULL << 1)
#define FEATURE_CONTROL_VMXON_OUTSIDE_SMX (1ULL << 2)

/* IA32_VMX_BASIC (Appendix A.1) */
#define VMX_BASIC_REVISION(b) ((u32)(b)&0x7fffffffu)
#define VMX_BASIC_REGION_SIZE(b) ((u32)((b) >> 32) & 0x1fffu)
#define VMX_BASIC_32BIT_ADDR (1ULL << 48)
#define VMX_BASIC_MEMTYPE(b) ((u32)((b) >> 50) & 0xfu)
#define VMX_BASIC_TRUE_CTLS (1ULL << 55)

/* IA32_VMX_MISC (Appendix A.6) */
#define VMX_MISC_PREEMPT_RATE(m) ((u32)(m)&0x1fu)
#define VMX_MISC_STORE_LMA (1ULL << 5)

/* IA32_VMX_EPT_VPID_CAP (Appendix A.10) */
#define EPT_CAP_EXEC_ONLY (1ULL << 0)
#define EPT_CAP_WALK_4 (1ULL << 6)
#define EPT_CAP_WB (1ULL << 14)
#define EPT_CAP_2M (1ULL << 16)
#define EPT_CAP_INVEPT (1ULL << 20)
#define EPT_CAP_INVEPT_SINGLE (1ULL << 25)
#define EPT_CAP_INVEPT_ALL (1ULL << 26)
#define VPID_CAP_INVVPID (1ULL << 32)
#define VPID_CAP_INVVPID_SINGLE (1ULL << 41)
#define VPID_CAP_INVVPID_ALL (1ULL << 42)

/* INVEPT / INVVPID types (SDM Vol. 3C §29.4.3, §31.3 "INVEPT", "INVVPID") */
#define INVEPT_SINGLE 1
#define INVEPT_ALL 2
#define INVVPID_SINGLE 1
#define INVVPID_ALL 2

/* ---- Control bits (SDM Vol. 3C §26.6 - §26.8) ---------------------------- */
/* Pin-based VM-execution controls (§26.6.1) */
#define PIN_EXTINT_EXITING (1u << 0)
#define PIN_NMI_EXITING (1u << 3)
#define PIN_VIRTUAL_NMIS (1u << 5)
#define PIN_PREEMPT_TIMER (1u << 6)

/* Primary processor-based VM-execution controls (§26.6.2) */
#define CPU_INTR_WINDOW_EXITING (1u << 2)
#define CPU_USE_TSC_OFFSETTING (1u << 3)
#define CPU_HLT_EXITING (1u << 7)
#define CPU_INVLPG_EXITING (1u << 9)
#define CPU_MWAIT_EXITING (1u << 10)
#define CPU_RDPMC_EXITING (1u << 11)
#define CPU_RDTSC_EXITING (1u << 12)
#define CPU_CR3_LOAD_EXITING (1u << 15)
#define CPU_CR3_STORE_EXITING (1u << 16)
#define CPU_CR8_LOAD_EXITING (1u << 19)
#define CPU_CR8_STORE_EXITING (1u << 20)
#define CPU_NMI_WINDOW_EXITING (1u << 22)
#define CPU_MOV_DR_EXITING (1u << 23)
#define CPU_UNCOND_IO_EXITING (1u << 24)
#define CPU_USE_IO_BITMAPS (1u << 25)
#define CPU_USE_MSR_BITMAPS (1u << 28)
#define CPU_MONITOR_EXITING (1u << 29)
#define CPU_SECONDARY_CONTROLS (1u << 31)

/* Secondary processor-based VM-execution controls (§26.6.2) */
#define CPU2_ENABLE_EPT (1u << 1)
#define CPU2_ENABLE_RDTSCP (1u << 3)
#define CPU2_ENABLE_VPID (1u << 5)
#define CPU2_UNRESTRICTED_GUEST (1u << 7)
#define CPU2_ENABLE_INVPCID (1u << 12)
#define CPU2_ENABLE_VMFUNC (1u << 13)
#define CPU2_ENABLE_XSAVES (1u << 20)

/* VM-exit controls (§26.7.1) */
#define EXIT_SAVE_DEBUG_CONTROLS (1u << 2)
#define EXIT_HOST_ADDR_SPACE_SIZE (1u << 9)
#define EXIT_ACK_INTR_ON_EXIT (1u << 15)
#define EXIT_SAVE_IA32_PAT (1u << 18)
#define EXIT_LOAD_IA32_PAT (1u << 19)
#define EXIT_SAVE_IA32_EFER (1u << 20)
#define EXIT_LOAD_IA32_EFER (1u << 21)
#define EXIT_SAVE_PREEMPT_TIMER (1u << 22)

/* VM-entry controls (§26.8.1) */
#define ENTRY_LOAD_DEBUG_CONTROLS (1u << 2)
#define ENTRY_IA32E_MODE_GUEST (1u << 9)
#define ENTRY_LOAD_IA32_PAT (1u << 14)
#define ENTRY_LOAD_IA32_EFER (1u << 15)

/* Interruption-information fields (§26.8.3 entry, §26.9.2 exit, §26.9.3
 * IDT-vectoring): vector 7:0, type 10:8, error code valid 11, valid 31. */
#define INTR_INFO_VECTOR(x) ((x)&0xffu)
#define INTR_INFO_TYPE(x) (((x) >> 8) & 7u)
#define INTR_INFO_DELIVER_CODE (1u << 11)
#define INTR_INFO_VALID (1u << 31)
/* exit interruption information and EPT-violation qualification: the
 * exit came in an IRET that had ended NMI blocking */
#define NMI_UNBLOCKED_BY_IRET (1u << 12)
#define INTR_TYPE_EXT_INTR 0u
#define INTR_TYPE_NMI 2u
#define INTR_TYPE_HW_EXCEPTION 3u
#define INTR_TYPE_SW_INTR 4u
#define INTR_TYPE_PRIV_SW_EXCEPTION 5u
#define INTR_TYPE_SW_EXCEPTION 6u

/* Segment access rights in the VMCS (§26.4.1): the descriptor's
 * type:4 S:1 DPL:2 P:1, reserved 11:8, AVL:12 L:13 D/B:14 G:15, and bit 16
 * "segment unusable". */
#define AR_TYPE(ar) ((ar)&0xfu)
#define AR_S (1u << 4)
#define AR_DPL(ar) (((ar) >> 5) & 3u)
#define AR_P (1u << 7)
#define AR_L (1u << 13)
#define AR_DB (1u << 14)
#define AR_G (1u << 15)
#define AR_UNUSABLE (1u << 16)

/* ---- Field encodings (SDM Vol. 3D Appendix B) ---------------------------- */
enum vmcs_field {
	/* 16-bit control, guest and host fields (B.1) */
	VIRTUAL_PROCESSOR_ID = 0x0000,
	GUEST_ES_SELECTOR = 0x0800,
	GUEST_CS_SELECTOR = 0x0802,
	GUEST_SS_SELECTOR = 0x0804,
	GUEST_DS_SELECTOR = 0x0806,
	GUEST_FS_SELECTOR = 0x0808,
	GUEST_GS_SELECTOR = 0x080a,
	GUEST_LDTR_SELECTOR = 0x080c,
	GUEST_TR_SELECTOR = 0x080e,
	HOST_ES_SELECTOR = 0x0c00,
	HOST_CS_SELECTOR = 0x0c02,
	HOST_SS_SELECTOR = 0x0c04,
	HOST_DS_SELECTOR = 0x0c06,
	HOST_FS_SELECTOR = 0x0c08,
	HOST_GS_SELECTOR = 0x0c0a,
	HOST_TR_SELECTOR = 0x0c0c,

	/* 64-bit fields (B.2) */
	IO_BITMAP_A = 0x2000,
	IO_BITMAP_B = 0x2002,
	MSR_BITMAP = 0x2004,
	VM_EXIT_MSR_STORE_ADDR = 0x2006,
	VM_EXIT_MSR_LOAD_ADDR = 0x2008,
	VM_ENTRY_MSR_LOAD_ADDR = 0x200a,
	TSC_OFFSET = 0x2010,
	EPT_POINTER = 0x201a,
	XSS_EXIT_BITMAP = 0x202c,
	GUEST_PHYSICAL_ADDRESS = 0x2400,
	VMCS_LINK_POINTER = 0x2800,
	GUEST_IA32_DEBUGCTL = 0x2802,
	GUEST_IA32_PAT = 0x2804,
	GUEST_IA32_EFER = 0x2806,
	HOST_IA32_PAT = 0x2c00,
	HOST_IA32_EFER = 0x2c02,

	/* 32-bit fields (B.3) */
	PIN_BASED_VM_EXEC_CONTROL = 0x4000,
	CPU_BASED_VM_EXEC_CONTROL = 0x4002,
	EXCEPTION_BITMAP = 0x4004,
	PAGE_FAULT_ERROR_CODE_MASK = 0x4006,
	PAGE_FAULT_ERROR_CODE_MATCH = 0x4008,
	CR3_TARGET_COUNT = 0x400a,
	VM_EXIT_CONTROLS = 0x400c,
	VM_EXIT_MSR_STORE_COUNT = 0x400e,
	VM_EXIT_MSR_LOAD_COUNT = 0x4010,
	VM_ENTRY_CONTROLS = 0x4012,
	VM_ENTRY_MSR_LOAD_COUNT = 0x4014,
	VM_ENTRY_INTR_INFO = 0x4016,
	VM_ENTRY_EXCEPTION_ERROR_CODE = 0x4018,
	VM_ENTRY_INSTRUCTION_LEN = 0x401a,
	TPR_THRESHOLD = 0x401c,
	SECONDARY_VM_EXEC_CONTROL = 0x401e,
	VM_INSTRUCTION_ERROR = 0x4400,
	VM_EXIT_REASON = 0x4402,
	VM_EXIT_INTR_INFO = 0x4404,
	VM_EXIT_INTR_ERROR_CODE = 0x4406,
	IDT_VECTORING_INFO = 0x4408,
	IDT_VECTORING_ERROR_CODE = 0x440a,
	VM_EXIT_INSTRUCTION_LEN = 0x440c,
	VMX_INSTRUCTION_INFO = 0x440e,
	GUEST_ES_LIMIT = 0x4800,
	GUEST_CS_LIMIT = 0x4802,
	GUEST_SS_LIMIT = 0x4804,
	GUEST_DS_LIMIT = 0x4806,
	GUEST_FS_LIMIT = 0x4808,
	GUEST_GS_LIMIT = 0x480a,
	GUEST_LDTR_LIMIT = 0x480c,
	GUEST_TR_LIMIT = 0x480e,
	GUEST_GDTR_LIMIT = 0x4810,
	GUEST_IDTR_LIMIT = 0x4812,
	GUEST_ES_AR = 0x4814,
	GUEST_CS_AR = 0x4816,
	GUEST_SS_AR = 0x4818,
	GUEST_DS_AR = 0x481a,
	GUEST_FS_AR = 0x481c,
	GUEST_GS_AR = 0x481e,
	GUEST_LDTR_AR = 0x4820,
	GUEST_TR_AR = 0x4822,
	GUEST_INTERRUPTIBILITY = 0x4824,
	GUEST_ACTIVITY_STATE = 0x4826,
	GUEST_SYSENTER_CS = 0x482a,
	VMX_PREEMPTION_TIMER_VALUE = 0x482e,
	HOST_IA32_SYSENTER_CS = 0x4c00,

	/* Natural-width fields (B.4) */
	CR0_GUEST_HOST_MASK = 0x6000,
	CR4_GUEST_HOST_MASK = 0x6002,
	CR0_READ_SHADOW = 0x6004,
	CR4_READ_SHADOW = 0x6006,
	EXIT_QUALIFICATION = 0x6400,
	GUEST_LINEAR_ADDRESS = 0x640a,
	GUEST_CR0 = 0x6800,
	GUEST_CR3 = 0x6802,
	GUEST_CR4 = 0x6804,
	GUEST_ES_BASE = 0x6806,
	GUEST_CS_BASE = 0x6808,
	GUEST_SS_BASE = 0x680a,
	GUEST_DS_BASE = 0x680c,
	GUEST_FS_BASE = 0x680e,
	GUEST_GS_BASE = 0x6810,
	GUEST_LDTR_BASE = 0x6812,
	GUEST_TR_BASE = 0x6814,
	GUEST_GDTR_BASE = 0x6816,
	GUEST_IDTR_BASE = 0x6818,
	GUEST_DR7 = 0x681a,
	GUEST_RSP = 0x681c,
	GUEST_RIP = 0x681e,
	GUEST_RFLAGS = 0x6820,
	GUEST_PENDING_DBG_EXCEPTIONS = 0x6822,
	GUEST_SYSENTER_ESP = 0x6824,
	GUEST_SYSENTER_EIP = 0x6826,
	HOST_CR0 = 0x6c00,
	HOST_CR3 = 0x6c02,
	HOST_CR4 = 0x6c04,
	HOST_FS_BASE = 0x6c06,
	HOST_GS_BASE = 0x6c08,
	HOST_TR_BASE = 0x6c0a,
	HOST_GDTR_BASE = 0x6c0c,
	HOST_IDTR_BASE = 0x6c0e,
	HOST_IA32_SYSENTER_ESP = 0x6c10,
	HOST_IA32_SYSENTER_EIP = 0x6c12,
	HOST_RSP = 0x6c14,
	HOST_RIP = 0x6c16,
};

/* ---- Basic exit reasons (SDM Vol. 3D Appendix C) ------------------------- */
#define EXIT_REASON_EXCEPTION_NMI 0
#define EXIT_REASON_EXTERNAL_INTERRUPT 1
#define EXIT_REASON_TRIPLE_FAULT 2
#define EXIT_REASON_INIT 3
#define EXIT_REASON_SIPI 4
#define EXIT_REASON_INTERRUPT_WINDOW 7
#define EXIT_REASON_NMI_WINDOW 8
#define EXIT_REASON_TASK_SWITCH 9
#define EXIT_REASON_CPUID 10
#define EXIT_REASON_GETSEC 11
#define EXIT_REASON_HLT 12
#define EXIT_REASON_INVD 13
#define EXIT_REASON_INVLPG 14
#define EXIT_REASON_RDPMC 15
#define EXIT_REASON_RDTSC 16
#define EXIT_REASON_RSM 17
#define EXIT_REASON_VMCALL 18
#define EXIT_REASON_VMCLEAR 19
#define EXIT_REASON_VMLAUNCH 20
#define EXIT_REASON_VMPTRLD 21
#define EXIT_REASON_VMPTRST 22
#define EXIT_REASON_VMREAD 23
#define EXIT_REASON_VMRESUME 24
#define EXIT_REASON_VMWRITE 25
#define EXIT_REASON_VMXOFF 26
#define EXIT_REASON_VMXON 27
#define EXIT_REASON_CR_ACCESS 28
#define EXIT_REASON_DR_ACCESS 29
#define EXIT_REASON_IO_INSTRUCTION 30
#define EXIT_REASON_MSR_READ 31
#define EXIT_REASON_MSR_WRITE 32
#define EXIT_REASON_INVALID_STATE 33
#define EXIT_REASON_MSR_LOADING 34
#define EXIT_REASON_MWAIT 36
#define EXIT_REASON_MONITOR_TRAP 37
#define EXIT_REASON_MONITOR 39
#define EXIT_REASON_PAUSE 40
#define EXIT_REASON_MCE_DURING_ENTRY 41
#define EXIT_REASON_EPT_VIOLATION 48
#define EXIT_REASON_EPT_MISCONFIG 49
#define EXIT_REASON_INVEPT 50
#define EXIT_REASON_RDTSCP 51
#define EXIT_REASON_PREEMPTION_TIMER 52
#define EXIT_REASON_INVVPID 53
#define EXIT_REASON_WBINVD 54
#define EXIT_REASON_XSETBV 55
#define EXIT_REASON_VMFUNC 59

/* Exit reason field (§26.9.1): basic reason 15:0, bit 31 "VM-entry
 * failure". */
#define EXIT_REASON_BASIC(r) ((r)&0xffffu)
#define EXIT_REASON_ENTRY_FAILURE (1u << 31)

/* Exit qualification of control-register accesses (§28.2.1, Table 28-3):
 * the register in 3:0, the access type in 5:4, the general register of a MOV
 * in 11:8, the LMSW source operand in 31:16. */
#define CR_QUAL_CR(q) ((unsigned)(q)&0xfu)
#define CR_QUAL_TYPE(q) (((unsigned)(q) >> 4) & 3u)
#define CR_QUAL_GPR(q) (((unsigned)(q) >> 8) & 0xfu)
#define CR_QUAL_LMSW_DATA(q) ((u16)((q) >> 16))
#define CR_ACCESS_MOV_TO 0
#define CR_ACCESS_MOV_FROM 1
#define CR_ACCESS_CLTS 2
#define CR_ACCESS_LMSW 3

/* Guest interruptibility state (§26.4.2) */
#define INTR_BLOCK_STI (1u << 0)
#define INTR_BLOCK_MOV_SS (1u << 1)
#define INTR_BLOCK_NMI (1u << 3) /* virtual-NMI blocking, with virtual NMIs */

/* EPT entries (SDM Vol. 3C §29.3.2) */
#define EPT_R (1ULL << 0)
#define EPT_W (1ULL << 1)
#define EPT_X (1ULL << 2)
#define EPT_MT_WB (6ULL << 3) /* memory type of a leaf, bits 5:3 */
#define EPT_MT_UC (0ULL << 3)
#define EPT_IGNORE_PAT (1ULL << 6)
#define EPT_LARGE (1ULL << 7)

/* EPTP (§26.6.11): memory type 2:0, page-walk length minus one 5:3. */
#define EPTP_WB 6ULL
#define EPTP_WALK_4 (3ULL << 3)

#endif
