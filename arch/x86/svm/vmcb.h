/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The VMCB (AMD APM Vol. 2 Appendix B, "Layout of VMCB"): a 4 KiB page with
 * the control area at offset 0 and the state-save area at 0x400.  Only the
 * fields Partita uses are named; offsets are checked at compile time.
 */
#ifndef PARTITA_SVM_VMCB_H
#define PARTITA_SVM_VMCB_H

#include <stddef.h>

#include "kernel/lib/types.h"

struct vmcb_seg {
	u16 selector;
	u16 attrib; /* type:4 S:1 DPL:2 P:1 AVL:1 L:1 DB:1 G:1 */
	u32 limit;
	u64 base;
} __packed;

struct vmcb_control {
	u32 intercept_cr;	  /* 0x000: bits 0-15 reads, 16-31 writes */
	u32 intercept_dr;	  /* 0x004 */
	u32 intercept_exceptions; /* 0x008: one bit per vector */
	u32 intercept_misc1;	  /* 0x00c */
	u32 intercept_misc2;	  /* 0x010 */
	u32 intercept_misc3;	  /* 0x014 */
	u8 reserved1[0x03c - 0x018];
	u16 pause_filter_threshold; /* 0x03c */
	u16 pause_filter_count;	    /* 0x03e */
	u64 iopm_base_pa;	    /* 0x040 */
	u64 msrpm_base_pa;	    /* 0x048 */
	u64 tsc_offset;		    /* 0x050 */
	u32 asid;		    /* 0x058 */
	u8 tlb_control;		    /* 0x05c */
	u8 reserved2[3];
	u64 int_ctl;	   /* 0x060: V_TPR, V_IRQ, V_INTR_MASKING, vector */
	u64 int_state;	   /* 0x068: bit 0 interrupt shadow */
	u64 exit_code;	   /* 0x070 */
	u64 exit_info1;	   /* 0x078 */
	u64 exit_info2;	   /* 0x080 */
	u64 exit_int_info; /* 0x088 */
	u64 np_enable;	   /* 0x090: bit 0 nested paging */
	u8 reserved3[0x0a8 - 0x098];
	u64 event_inj; /* 0x0a8 */
	u64 n_cr3;     /* 0x0b0 */
	u64 virt_ext;  /* 0x0b8 */
	u32 clean;     /* 0x0c0: VMCB clean bits */
	u32 reserved4;
	u64 next_rip;	   /* 0x0c8: with NRIP-save */
	u8 insn_len;	   /* 0x0d0: with decode assists */
	u8 insn_bytes[15]; /* 0x0d1 */
	u8 reserved5[0x400 - 0x0e0];
} __packed;

struct vmcb_save {
	struct vmcb_seg es, cs, ss, ds, fs, gs, gdtr, ldtr, idtr, tr; /* 0x400 */
	u8 reserved1[0x4cb - 0x4a0];
	u8 cpl; /* 0x4cb */
	u32 reserved2;
	u64 efer; /* 0x4d0 */
	u8 reserved3[0x548 - 0x4d8];
	u64 cr4;    /* 0x548 */
	u64 cr3;    /* 0x550 */
	u64 cr0;    /* 0x558 */
	u64 dr7;    /* 0x560 */
	u64 dr6;    /* 0x568 */
	u64 rflags; /* 0x570 */
	u64 rip;    /* 0x578 */
	u8 reserved4[0x5d8 - 0x580];
	u64 rsp; /* 0x5d8 */
	u8 reserved5[0x5f8 - 0x5e0];
	u64 rax;					/* 0x5f8 */
	u64 star, lstar, cstar, sfmask, kernel_gs_base; /* 0x600 */
	u64 sysenter_cs, sysenter_esp, sysenter_eip;	/* 0x628 */
	u64 cr2;					/* 0x640 */
	u8 reserved6[0x668 - 0x648];
	u64 g_pat; /* 0x668 */
	u8 reserved7[0x1000 - 0x670];
} __packed;

struct vmcb {
	struct vmcb_control control;
	struct vmcb_save save;
} __packed;

_Static_assert(sizeof(struct vmcb) == 4096, "VMCB is one page");
_Static_assert(offsetof(struct vmcb, control.exit_code) == 0x070, "VMCB layout");
_Static_assert(offsetof(struct vmcb, control.event_inj) == 0x0a8, "VMCB layout");
_Static_assert(offsetof(struct vmcb, control.next_rip) == 0x0c8, "VMCB layout");
_Static_assert(offsetof(struct vmcb, save.cpl) == 0x4cb, "VMCB layout");
_Static_assert(offsetof(struct vmcb, save.efer) == 0x4d0, "VMCB layout");
_Static_assert(offsetof(struct vmcb, save.rip) == 0x578, "VMCB layout");
_Static_assert(offsetof(struct vmcb, save.rsp) == 0x5d8, "VMCB layout");
_Static_assert(offsetof(struct vmcb, save.rax) == 0x5f8, "VMCB layout");
_Static_assert(offsetof(struct vmcb, save.cr2) == 0x640, "VMCB layout");
_Static_assert(offsetof(struct vmcb, save.g_pat) == 0x668, "VMCB layout");

/* intercept_cr (offset 0x000): reads in bits 0-15, writes in 16-31 */
#define SVM_INTERCEPT_CR8_READ (1u << 8)
#define SVM_INTERCEPT_CR8_WRITE (1u << 24)
/* intercept_misc1 (APM Vol. 2 Appendix B, offset 0x00c) */
#define SVM_INTERCEPT_INTR (1u << 0)
#define SVM_INTERCEPT_NMI (1u << 1)
#define SVM_INTERCEPT_SMI (1u << 2)
#define SVM_INTERCEPT_INIT (1u << 3)
#define SVM_INTERCEPT_VINTR (1u << 4)
#define SVM_INTERCEPT_RDPMC (1u << 15)
#define SVM_INTERCEPT_CPUID (1u << 18)
#define SVM_INTERCEPT_IRET (1u << 20)
#define SVM_INTERCEPT_INVD (1u << 22)
#define SVM_INTERCEPT_HLT (1u << 24)
#define SVM_INTERCEPT_INVLPGA (1u << 26)
#define SVM_INTERCEPT_IOIO (1u << 27)
#define SVM_INTERCEPT_MSR (1u << 28)
#define SVM_INTERCEPT_TASK_SWITCH (1u << 29)
#define SVM_INTERCEPT_SHUTDOWN (1u << 31)
/* intercept_misc2 (offset 0x010) */
#define SVM_INTERCEPT_VMRUN (1u << 0)
#define SVM_INTERCEPT_VMMCALL (1u << 1)
#define SVM_INTERCEPT_VMLOAD (1u << 2)
#define SVM_INTERCEPT_VMSAVE (1u << 3)
#define SVM_INTERCEPT_STGI (1u << 4)
#define SVM_INTERCEPT_CLGI (1u << 5)
#define SVM_INTERCEPT_SKINIT (1u << 6)
#define SVM_INTERCEPT_MONITOR (1u << 10)
#define SVM_INTERCEPT_MWAIT (1u << 11)
#define SVM_INTERCEPT_MWAIT_COND (1u << 12)
#define SVM_INTERCEPT_XSETBV (1u << 13)

/* int_ctl (with the vector at offset 0x064: bits 39:32 here) */
#define SVM_V_IRQ (1ULL << 8)
#define SVM_V_INTR_PRIO(p) ((u64)((p)&0xf) << 16)
#define SVM_V_INTR_PRIO_MASK (0xfULL << 16)
#define SVM_V_IGN_TPR (1ULL << 20)
#define SVM_V_INTR_MASKING (1ULL << 24)
#define SVM_V_INTR_VECTOR(v) ((u64)((v)&0xff) << 32)
#define SVM_V_INTR_VECTOR_MASK (0xffULL << 32)

/* event_inj (APM Vol. 2 §15.20) */
#define SVM_EVTINJ_VALID (1ULL << 31)
#define SVM_EVTINJ_ERROR_VALID (1ULL << 11)
#define SVM_EVTINJ_TYPE_INTR (0ULL << 8)
#define SVM_EVTINJ_TYPE_NMI (2ULL << 8)
#define SVM_EVTINJ_TYPE_EXCEPTION (3ULL << 8)
#define SVM_EVTINJ_TYPE_MASK (7ULL << 8)
#define SVM_EVTINJ_VECTOR_MASK 0xffULL

/* Exit codes (APM Vol. 2 Appendix C) */
#define SVM_EXIT_READ_CR8 0x08
#define SVM_EXIT_WRITE_CR8 0x18
#define SVM_EXIT_EXCP_BASE 0x40
#define SVM_EXIT_INTR 0x60
#define SVM_EXIT_NMI 0x61
#define SVM_EXIT_SMI 0x62
#define SVM_EXIT_INIT 0x63
#define SVM_EXIT_VINTR 0x64
#define SVM_EXIT_RDPMC 0x6f
#define SVM_EXIT_CPUID 0x72
#define SVM_EXIT_IRET 0x74
#define SVM_EXIT_HLT 0x78
#define SVM_EXIT_INVLPGA 0x7a
#define SVM_EXIT_IOIO 0x7b
#define SVM_EXIT_MSR 0x7c
#define SVM_EXIT_TASK_SWITCH 0x7d
#define SVM_EXIT_SHUTDOWN 0x7f
#define SVM_EXIT_VMRUN 0x80
#define SVM_EXIT_VMMCALL 0x81
#define SVM_EXIT_VMLOAD 0x82
#define SVM_EXIT_VMSAVE 0x83
#define SVM_EXIT_STGI 0x84
#define SVM_EXIT_CLGI 0x85
#define SVM_EXIT_SKINIT 0x86
#define SVM_EXIT_MONITOR 0x8a
#define SVM_EXIT_MWAIT 0x8b
#define SVM_EXIT_MWAIT_COND 0x8c
#define SVM_EXIT_XSETBV 0x8d
#define SVM_EXIT_NPF 0x400
#define SVM_EXIT_INVALID ((u64)-1)

#endif
