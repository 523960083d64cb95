/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Byte offsets of the general registers in struct guest_regs
 * (kernel/virt.h), for the back ends' entry stubs in assembly.  virt.h
 * checks them against the structure at compile time.
 */
#ifndef PARTITA_ARCH_X86_GUEST_REGS_H
#define PARTITA_ARCH_X86_GUEST_REGS_H

#define REG_RAX 0
#define REG_RBX 8
#define REG_RCX 16
#define REG_RDX 24
#define REG_RSI 32
#define REG_RDI 40
#define REG_RBP 48
#define REG_R8 56
#define REG_R9 64
#define REG_R10 72
#define REG_R11 80
#define REG_R12 88
#define REG_R13 96
#define REG_R14 104
#define REG_R15 112

#endif
