/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Decoding of the x86 instructions an unmodified guest uses to touch MMIO
 * (local APIC, I/O APIC, HPET): enough to learn the access's length,
 * direction, size, register and immediate, and to complete it against the
 * guest's registers.  The faulting guest-physical address comes from the
 * nested page fault, so addressing forms (ModRM, SIB, displacement,
 * RIP-relative) are only measured, never computed.
 *
 * Handled (Intel SDM Vol. 2A/2B, instruction reference):
 *   88/89  MOV r/m, r        8A/8B  MOV r, r/m       C6/0 C7/0 MOV r/m, imm
 *   A0-A3  MOV AL/eAX <-> moffs (32-bit kernels use absolute addresses)
 *   0F B6/B7 MOVZX           0F BE/BF MOVSX
 *   08-0B OR, 20-23 AND, 30-33 XOR (r/m,r and r,r/m), 80/81/83 /1 /4 /6
 *   84/85 TEST r/m, r        F6/0 F7/0 TEST r/m, imm
 *   86/87 XCHG r/m, r
 * Prefixes: 66 (operand size), REX (W R X B, 64-bit mode only, must come
 * last), segment overrides and LOCK (ignored).  Refused: 67 (address size),
 * F2/F3 (no string instruction is handled), everything else.
 */
#ifndef PARTITA_HVM_DECODE_H
#define PARTITA_HVM_DECODE_H

#include "kernel/lib/types.h"

#define DECODE_MAX_LEN 15 /* SDM Vol. 2A §2.3.11: longest legal instruction */

/** The code's default operand/address size (CS.L, CS.D; SDM Vol. 3A §5.2). */
enum decode_mode { DECODE_MODE_16, DECODE_MODE_32, DECODE_MODE_64 };

enum decode_op {
	DECODE_OP_LOAD,	 /* reg <- mem (with zero/sign extension if set) */
	DECODE_OP_STORE, /* mem <- reg, or mem <- imm when has_imm */
	DECODE_OP_OR,	 /* mem <- mem op (reg or imm); flags */
	DECODE_OP_AND,
	DECODE_OP_XOR,
	DECODE_OP_OR_LOAD, /* reg <- reg op mem; flags (0A/0B, 22/23, 32/33) */
	DECODE_OP_AND_LOAD,
	DECODE_OP_XOR_LOAD,
	DECODE_OP_TEST, /* flags of mem & (reg or imm); memory only read */
	DECODE_OP_XCHG, /* reg <-> mem */
};

/** A decoded memory-access instruction. */
struct decoded_insn {
	u8 len; /* bytes, to advance RIP by */
	enum decode_op op;
	u8 size;	  /* bytes of the memory access: 1, 2, 4 or 8 */
	u8 reg_size;	  /* bytes of the register operand (MOVZX/MOVSX: the
	                    * destination's size, else == size) */
	u8 reg;		  /* register number 0-15 (RAX=0 ... R15=15) */
	bool reg_high8;	  /* AH/CH/DH/BH: bits 15:8 of register reg */
	bool sign_extend; /* MOVSX: memory value sign-extended into reg */
	bool has_imm;	  /* the source is imm, not reg */
	u64 imm;	  /* immediate, sign-extended to size bytes */
	bool mem_read;	  /* the access reads memory */
	bool mem_write;	  /* the access writes memory */
};

/**
 * Decodes the instruction at bytes[0..len) (len may exceed the instruction;
 * at most DECODE_MAX_LEN bytes are looked at).  Returns 0 with *out filled,
 * -E_RANGE if the bytes end before the instruction does (fetch more),
 * -E_INVAL if the instruction is malformed for an MMIO access (longer than
 * 15 bytes, a register operand instead of memory), -E_NOTSUP if it is not
 * one of those handled.
 */
int decode_insn(const u8 *bytes, unsigned len, enum decode_mode mode, struct decoded_insn *out);

struct guest_regs;

/** Memory callbacks for decode_emulate: the access is at the faulting gpa. */
struct decode_mem_ops {
	u64 (*read)(void *ctx, unsigned size);
	void (*write)(void *ctx, unsigned size, u64 value);
};

/**
 * Completes a decoded instruction against the guest's registers: calls
 * read/write for the memory side as the instruction does (read first for
 * read-modify-write), updates the destination register with the x86 rules
 * (a 32-bit result zero-extends to 64 bits, 8/16-bit results keep the other
 * bits; SDM Vol. 1 §3.4.1.1), RFLAGS for OR/AND/XOR/TEST (CF=OF=0, SF ZF PF
 * from the result, AF undefined and left alone), and advances RIP by len.
 */
void decode_emulate(const struct decoded_insn *d, struct guest_regs *regs,
		    const struct decode_mem_ops *ops, void *ctx);

/** The value of register reg as the decoded instruction sees it (size bytes,
 *  or AH..BH when high8). */
u64 decode_reg_get(const struct guest_regs *regs, unsigned reg, unsigned size, bool high8);

/** Writes a size-byte value into register reg with the x86 rules above. */
void decode_reg_set(struct guest_regs *regs, unsigned reg, unsigned size, bool high8, u64 value);

/** A MOV to or from a control register. */
struct decoded_mov_cr {
	u8 len;	    /* bytes, prefixes included */
	bool write; /* MOV to CRn (0F 22), else from (0F 20) */
	u8 cr;	    /* ModRM.reg with REX.R; 8 for AMD's LOCK MOV CR0 */
	u8 gpr;	    /* ModRM.rm with REX.B (0-15, RAX=0) */
};

/**
 * Decodes MOV CRn, r / MOV r, CRn (0F 20 /r, 0F 22 /r: SDM Vol. 2B "MOV -
 * Move to/from Control Registers"; AMD APM Vol. 3 "MOV CRn" for LOCK as
 * CR8 in other modes), for an intercepted CR access whose register the
 * CPU did not report (SVM without decode assists).  ModRM.mod is ignored
 * (the operand is always a register).  0, -E_RANGE if the bytes end
 * first, -E_NOTSUP for any other instruction.
 */
int decode_mov_cr(const u8 *bytes, unsigned len, enum decode_mode mode, struct decoded_mov_cr *out);

#endif
