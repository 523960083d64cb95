/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * guests/lib: x86 instructions a paravirtual guest may want, as inline
 * functions (header only).  Reading the TSC is free (not intercepted); the
 * port, MSR and SVM instructions here are what a well-behaved guest never
 * runs: the hypervisor stops a partition that uses them (port 0x80 aside),
 * and they exist for test guests such as guests/attack.
 */
#ifndef PARTITA_GUEST_CPU_H
#define PARTITA_GUEST_CPU_H

#include "kernel/lib/types.h"

static inline u64 rdtsc(void)
{
	u32 lo, hi;

	asm volatile("rdtsc" : "=a"(lo), "=d"(hi));
	return ((u64)hi << 32) | lo;
}

static inline void cpu_relax(void)
{
	asm volatile("pause" ::: "memory");
}

static inline u8 inb(u16 port)
{
	u8 v;

	asm volatile("inb %1, %0" : "=a"(v) : "Nd"(port));
	return v;
}

static inline void outb(u16 port, u8 v)
{
	asm volatile("outb %0, %1" : : "a"(v), "Nd"(port));
}

static inline u64 rdmsr(u32 msr)
{
	u32 lo, hi;

	asm volatile("rdmsr" : "=a"(lo), "=d"(hi) : "c"(msr));
	return ((u64)hi << 32) | lo;
}

static inline void wrmsr(u32 msr, u64 v)
{
	asm volatile("wrmsr" : : "c"(msr), "a"((u32)v), "d"((u32)(v >> 32)) : "memory");
}

static inline u64 read_cr3(void)
{
	u64 v;

	asm volatile("mov %%cr3, %0" : "=r"(v));
	return v;
}

static inline void write_cr3(u64 v)
{
	asm volatile("mov %0, %%cr3" : : "r"(v) : "memory");
}

/** A descriptor-table register image, for sidt/lidt and sgdt/lgdt. */
struct __packed desc_ptr {
	u16 limit;
	u64 base;
};

static inline void sidt(struct desc_ptr *d)
{
	asm volatile("sidt %0" : "=m"(*d));
}
static inline void lidt(const struct desc_ptr *d)
{
	asm volatile("lidt %0" : : "m"(*d));
}

/* Nanoseconds <-> TSC ticks without 128-bit division (the guests do not link
 * libgcc): exact for any hz below 18 GHz. */
static inline u64 tsc_to_ns(u64 ticks, u64 hz)
{
	return ticks / hz * 1000000000ULL + ticks % hz * 1000000000ULL / hz;
}

static inline u64 ns_to_tsc(u64 ns, u64 hz)
{
	return ns / 1000000000ULL * hz + ns % 1000000000ULL * hz / 1000000000ULL;
}

#endif
