/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * CPU exceptions and interrupts of the core: the IDT, the register frame the
 * assembly stubs (isr.S) build, and the table of interrupt handlers.  Every
 * one of the 256 vectors enters through its own stub and one C dispatcher;
 * an exception, or an interrupt nobody registered, prints a full register
 * dump and backtrace and ends the run.
 */
#ifndef PARTITA_ARCH_X86_TRAPS_H
#define PARTITA_ARCH_X86_TRAPS_H

#include "kernel/lib/types.h"

#define TRAP_FIRST_IRQ 32  /* vectors below are architectural exceptions */
#define TRAP_SPURIOUS 0xff /* the local APIC's spurious vector (lapic.c) */

/* Exception vectors (Intel SDM Vol. 3A §6.3.1, Table 6-1). */
#define TRAP_DE 0
#define TRAP_DB 1
#define TRAP_NMI 2
#define TRAP_BP 3
#define TRAP_UD 6
#define TRAP_DF 8
#define TRAP_GP 13
#define TRAP_PF 14
#define TRAP_MC 18

/**
 * The registers saved on entry, lowest address first.  isr.S pushes the
 * general registers (RAX first, R15 last) below the vector number, the error
 * code (0 when the CPU pushes none) and the CPU's own interrupt frame.  The
 * layout is shared with isr.S: change both together.
 */
struct trap_frame {
	u64 r15, r14, r13, r12, r11, r10, r9, r8;
	u64 rbp, rdi, rsi, rdx, rcx, rbx, rax;
	u64 vector;
	u64 error_code;
	/* Pushed by the CPU (Intel SDM Vol. 3A §6.14.2, Figure 6-9). */
	u64 rip, cs, rflags, rsp, ss;
};

_Static_assert(sizeof(struct trap_frame) == 22 * 8, "trap_frame layout (isr.S)");

/** An interrupt handler.  It runs with interrupts disabled and must send
 *  the local APIC its EOI itself (lapic_eoi()) when the source needs one. */
typedef void (*irq_handler_t)(struct trap_frame *f);

/**
 * Builds the boot CPU's IDT (all 256 vectors as interrupt gates, i.e. IF
 * cleared on entry; #DF, NMI and #MC on their IST stacks) and loads it.
 * Call once on the boot CPU after gdt_init() and percpu_init_cpu(0).
 * Cannot fail.
 */
void traps_init(void);

/** Gives the calling CPU its own copy of the boot CPU's IDT and loads it
 *  (after its GDT and GS base are set). */
void traps_load(void);

/**
 * Installs h for an interrupt vector.
 * Returns 0, -E_INVAL if vector is not in 32..254 or h is NULL, -E_BUSY if
 * the vector already has a handler.
 */
int irq_register(unsigned vector, irq_handler_t h);

/** Removes the handler of vector (no-op if none).  Returns 0 or -E_INVAL. */
int irq_unregister(unsigned vector);

/** The linear address of the calling CPU's IDT (VMX HOST_IDTR_BASE). */
u64 traps_idt_base(void);

/** The architectural name of an exception vector ("#PF"), or "IRQ". */
const char *trap_name(unsigned vector);

/**
 * Prints the register dump and backtrace of f and ends the run with
 * HV_EXIT_PANIC; also what the dispatcher does for every exception.  A fault
 * while dumping prints one short line and stops; a third halts outright.
 */
void trap_fatal(struct trap_frame *f, const char *why) __noreturn;

#endif
