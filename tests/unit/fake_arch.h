/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * A fake machine for host tests of the generic core (as Hafnium's
 * arch/fake): the real kernel/partition.c, sched.c, vmexit.c, hypercall.c,
 * channel.c, pv.c, cpu_policy.c, log.c, dma.c and kernel/hvm/ link against
 * it and run as a host program (with the real TSC time base, arch/x86/tsc.c).
 * It stands in for what the core gets from the CPU and the board: the TSC
 * and a one-shot timer that the test advances, interrupts, ports, CPUID, XCR0, the serial port (whose bytes the
 * test reads back), the page allocator (the real palloc.c over a host
 * arena), boot modules, PCI devices and an IOMMU.  The virtualization back
 * end is fake_virt.c.
 *
 * Built with -DPARTITA_FAKE_ARCH, which makes arch/x86/cpu.h and fpu.h
 * declare their instructions as functions defined here.
 *
 * Every test runs in a child process of its own (FAKE_TEST), so the core's
 * static state starts fresh; the end of a run (hv_stop, panic) is caught
 * with FAKE_EXPECT_STOP.
 */
#ifndef PARTITA_TESTS_FAKE_ARCH_H
#define PARTITA_TESTS_FAKE_ARCH_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "boot/boot_info.h"
#include "drivers/pci.h"
#include "kernel/config.h"
#include "kernel/lib/types.h"

/* ------------------------------------------------------------- the TSC -- */

#define FAKE_TSC_HZ 3000000000ULL /* 3 GHz: ns and TSC cycles differ */

/** The fake TSC (cycles) and the core's clock (ns since "boot"). */
u64 fake_tsc(void);
u64 fake_now_ns(void);
/** Moves time forward (never back). */
void fake_advance_ns(u64 ns);
/** Moves the TSC to t if that is later. */
void fake_set_tsc(u64 t);
/** Cycles every rdtsc() adds after it is read (0: time moves only when the
 *  test or a guest run moves it); for exit handlers that take time. */
extern u64 fake_rdtsc_step;

/* ------------------------------------------------ timer and interrupts -- */

/** The one-shot timer the scheduler armed: its TSC deadline, or 0. */
extern u64 fake_timer_deadline;
/** True if the timer fired and its interrupt was not taken yet. */
bool fake_irq_pending(void);
/** Interrupts taken so far (the timer's). */
extern unsigned fake_irq_count;
/** Halts so far (cpu_wait_irq). */
extern unsigned fake_halt_count;

/* ---------------------------------------------------------- the CPUs -- */

/** How many CPUs are up (1 unless a test says otherwise, before it creates
 *  its partitions) and which one runs now: this_cpu() is percpu[fake_cpu].
 *  The CPUs share the one clock and the one timer above; a test steps each
 *  in turn. */
extern unsigned fake_cpus;
extern unsigned fake_cpu;

/* ---------------------------------------------------- the end of a run -- */

extern jmp_buf fake_stop_env;
extern bool fake_stop_armed;
extern int fake_stop_code; /* written to the debug-exit port; -1: none */

/**
 * Runs stmt, which must end the run (hv_stop or panic: the fake CPU halts
 * for good); the test goes on after it.  Fails if stmt returns.
 */
#define FAKE_EXPECT_STOP(stmt)                                                     \
	do {                                                                       \
		fake_stop_code = -1;                                               \
		if (setjmp(fake_stop_env) == 0) {                                  \
			fake_stop_armed = true;                                    \
			stmt;                                                      \
			fake_stop_armed = false;                                   \
			fail_msg("%s returned; the run should have ended", #stmt); \
		}                                                                  \
		fake_stop_armed = false;                                           \
	} while (0)

/* ------------------------------------------------------ the serial port -- */

/** Everything written to the UART so far (terminated). */
const char *fake_serial(void);
void fake_serial_clear(void);
/** Queues s as bytes typed on the serial line (uart_rx_get). */
void fake_serial_type(const char *s);
/** Fails the test unless the serial output holds s. */
void fake_expect_serial(const char *s);
/** True if the serial output holds s. */
bool fake_serial_has(const char *s);
/** How many times s occurs in the serial output. */
unsigned fake_serial_count(const char *s);

/* ------------------------------------------------------------ memory -- */

/** The arena the page allocator hands out (2 MiB aligned). */
void fake_memory_init(u64 bytes);
/** Pages free in the page allocator now. */
u64 fake_free_pages(void);
/** The next n page_alloc calls succeed, then they fail (~0: never fail). */
extern u64 fake_alloc_budget;

/** A host pointer as the core's host-physical address, and back. */
hpa_t fake_hpa(const void *p);

/* -------------------------------------------------------- boot modules -- */

/** The boot_info the tests hand to partitions_create. */
extern struct boot_info fake_bi;
/** Adds a file to fake_bi's modules (copied, page aligned). */
void fake_add_module(const char *name, const void *data, u64 size);
/** A paravirtual ELF64 image (one PT_LOAD at 1 MiB, entry at 1 MiB). */
void fake_add_pv_image(const char *name);
/** A Multiboot 1 kernel (address fields, loads at 1 MiB). */
void fake_add_multiboot_image(const char *name);

/* ---------------------------------------------------------------- CPUID -- */

enum fake_cpu { FAKE_CPU_AMD, FAKE_CPU_INTEL };
/** Picks the host CPU that cpuid() and fake_host_cpuid answer for. */
void fake_cpu_set(enum fake_cpu which);
/** The host's CPUID (what cpu_policy_init reads). */
void fake_host_cpuid(u32 leaf, u32 subleaf, u32 out[4]);

/** XSAVE: fpu_has_xsave and the XCR0 register (XGETBV/XSETBV). */
extern u64 fake_xcr0;

/* ------------------------------------------------------------ PCI, IOMMU -- */

/** Adds a PCI device with a 4 KiB configuration space (all zero, but the
 *  IDs and header type); returns it. */
struct pci_device *fake_pci_add(u8 bus, u8 dev, u8 fn, u16 vendor, u16 device);
/** Its configuration space, to read back what the core wrote. */
u8 *fake_pci_config(struct pci_device *d);

/** An IOMMU is present and covers every device (false: none). */
extern bool fake_iommu_present;
/** Queues a blocked DMA of device bdf for the IOMMU's next fault poll. */
void fake_iommu_fault(u16 bdf, u64 addr, bool write);
/** Domains alive now. */
extern unsigned fake_iommu_domains;

/* --------------------------------------------------------------- setup -- */

/** Parses a config (fails the test if it is refused). */
void fake_parse(const char *text, struct config *cfg);

/** The config of the last fake_create (static storage). */
extern struct config fake_cfg;
/**
 * Parses text, adds an image for each partition (a pv ELF or a Multiboot
 * kernel, by its kind) and creates the partitions (partitions_create).
 * Returns the number started.
 */
unsigned fake_create(const char *text);
/** The partition of that name (fails the test if there is none). */
struct partition *fake_partition(const char *name);

/** Resets the fake machine: time 0, a 64 MiB arena, an AMD CPU, the log's
 *  console, the CPU policy, the fake back end.  FAKE_TEST calls it. */
void fake_machine_reset(void);

/** Runs body in a child process (fresh static state in the core) and fails
 *  the calling test if the child fails. */
void fake_isolated(void (*body)(void), const char *name);

/** Runs the handler registered for vector as if it arrived (it must have one). */
void fake_raise_irq(unsigned vector);

#define FAKE_TEST(name)                            \
	static void name##_body(void);             \
	static void name(void **state)             \
	{                                          \
		(void)state;                       \
		fake_isolated(name##_body, #name); \
	}                                          \
	static void name##_body(void)

#endif
