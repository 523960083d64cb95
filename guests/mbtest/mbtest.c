/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * mbtest: a Multiboot kernel of our own (mbtest.elf: Multiboot 1;
 * mbtest2.elf: the same built with a Multiboot 2 header) that checks the
 * virtual platform
 * an hvm partition gives it (kernel/hvm/hvm.h): the boot state, CPUID (the
 * hypervisor bit and leaf 0x40000000 "PartitaHV", no VMX or SVM), the 16550
 * UART (its lines appear on the partition's console), local APIC timer
 * interrupts one-shot and periodic, each interrupt taken once and only with
 * interrupts enabled, the CMOS RTC, an unknown port reading all-ones,
 * (platform.c) the I/O APIC, the MADT, MCFG and PCI, and (bootinfo.c) the
 * boot modules.  Each check prints
 * "mbtest: ok NAME" or "mbtest: FAIL
 * NAME at FILE:LINE"; at the end the kernel writes the number of the first
 * failed check (0: all passed) to the debug-exit port 0xf4.
 *
 * Under QEMU directly (-kernel, no hypervisor) every check but the CPUID
 * signature passes (use -cpu qemu64,-svm, since qemu64 shows SVM).
 */
#include <stdbool.h>
#include <stdint.h>

#include "mbtest.h"

#define COM1 0x3f8
#define DEBUG_EXIT 0xf4
#define UNKNOWN_PORT 0x3a0 /* nothing there on a PC or in a partition */
#define LAPIC 0xfee00000u
#define LAPIC_EOI 0x0b0
#define LAPIC_SVR 0x0f0
#define LAPIC_LVT_TIMER 0x320
#define LAPIC_TIMER_INIT 0x380
#define LAPIC_TIMER_CUR 0x390
#define LAPIC_TIMER_DIV 0x3e0
#define TIMER_VECTOR 0x40
#define SPIN_LIMIT 200000000u /* busy-wait bound for "never happens" */

enum check {
	CHECK_BOOT = 1,
	CHECK_CPUID_HV_BIT,
	CHECK_CPUID_SIGNATURE,
	CHECK_CPUID_NO_VMX_SVM,
	CHECK_UART,
	CHECK_APIC_ONESHOT,
	CHECK_APIC_PERIODIC,
	CHECK_IRQ_ONCE,
	CHECK_RTC,
	CHECK_UNKNOWN_PORT,
	CHECK_MODULES = 30,
};

volatile uint32_t timer_ticks, spurious_count;
volatile uint32_t slow_depth, slow_violations, slow_spin;
void timer_stub(void);
void slow_timer_stub(void);
void spurious_stub(void);
void exception_stub(void);
void mbtest_main(uint32_t magic, uint32_t info);
void mbtest_exception(void);

static unsigned first_failure;

static inline void outb(uint16_t port, uint8_t v)
{
	__asm__ volatile("outb %0, %1" : : "a"(v), "Nd"(port));
}
static inline uint8_t inb(uint16_t port)
{
	uint8_t v;
	__asm__ volatile("inb %1, %0" : "=a"(v) : "Nd"(port));
	return v;
}
static inline uint16_t inw(uint16_t port)
{
	uint16_t v;
	__asm__ volatile("inw %1, %0" : "=a"(v) : "Nd"(port));
	return v;
}
static inline uint32_t inl(uint16_t port)
{
	uint32_t v;
	__asm__ volatile("inl %1, %0" : "=a"(v) : "Nd"(port));
	return v;
}
static inline void cpuid(uint32_t leaf, uint32_t r[4])
{
	__asm__ volatile("cpuid"
			 : "=a"(r[0]), "=b"(r[1]), "=c"(r[2]), "=d"(r[3])
			 : "a"(leaf), "c"(0));
}
static inline uint32_t lapic_read(uint32_t reg)
{
	return *(volatile uint32_t *)(LAPIC + reg);
}
static inline void lapic_write(uint32_t reg, uint32_t v)
{
	*(volatile uint32_t *)(LAPIC + reg) = v;
}

/* ---- Output on the UART. */

static void putc(char c)
{
	for (uint32_t i = 0; i < 100000 && !(inb(COM1 + 5) & 0x20); i++)
		;
	outb(COM1, (uint8_t)c);
}

void puts(const char *s)
{
	while (*s)
		putc(*s++);
}

void putu(uint32_t v)
{
	char b[11];
	int i = 10;
	b[i] = 0;
	do
		b[--i] = (char)('0' + v % 10);
	while (v /= 10);
	puts(b + i);
}

void puthex(uint32_t v)
{
	puts("0x");
	for (int i = 28; i >= 0; i -= 4)
		putc("0123456789abcdef"[(v >> i) & 15]);
}

bool report(unsigned n, const char *name, bool ok, const char *file, int line)
{
	puts(ok ? "mbtest: ok " : "mbtest: FAIL ");
	puts(name);
	if (!ok) {
		puts(" at ");
		puts(file);
		putc(':');
		putu((uint32_t)line);
		if (!first_failure)
			first_failure = n;
	}
	puts("\n");
	return ok;
}
#define CHECK(n, name, cond) report(n, name, (cond), __FILE__, __LINE__)

/* ---- Interrupts: an IDT whose vectors 0-31 report an exception, 0x40 is
 * the APIC timer and the rest are ignored. */

struct idt_entry {
	uint16_t offset_low, selector;
	uint8_t zero, type;
	uint16_t offset_high;
} __attribute__((packed));

static struct idt_entry idt[256] __attribute__((aligned(8)));

void idt_set(unsigned v, void (*fn)(void), uint16_t cs)
{
	if (!cs)
		__asm__ volatile("mov %%cs, %0" : "=r"(cs));
	uint32_t a = (uint32_t)fn;
	idt[v] = (struct idt_entry){ (uint16_t)a, cs, 0, 0x8e /* P, 32-bit interrupt gate */,
				     (uint16_t)(a >> 16) };
}

static void idt_init(void)
{
	uint16_t cs;
	struct {
		uint16_t limit;
		uint32_t base;
	} __attribute__((packed)) idtr = { sizeof(idt) - 1, (uint32_t)idt };

	__asm__ volatile("mov %%cs, %0" : "=r"(cs));
	for (unsigned v = 0; v < 256; v++)
		idt_set(v, v < 32 ? exception_stub : spurious_stub, cs);
	idt_set(TIMER_VECTOR, timer_stub, cs);
	__asm__ volatile("lidt %0" : : "m"(idtr));
}

void mbtest_exception(void)
{
	puts("mbtest: FAIL exception (unexpected CPU exception)\n");
	outb(DEBUG_EXIT, 0x7f);
}

/* ---- The checks. */

static void check_cpuid(void)
{
	uint32_t r[4], sig[3];

	cpuid(1, r);
	bool hv = r[2] & (1u << 31);
	CHECK(CHECK_CPUID_HV_BIT, "cpuid-hypervisor-bit", hv);
	bool vmx = r[2] & (1u << 5);
	cpuid(0x80000000, r);
	bool svm = false;
	if (r[0] >= 0x80000001) {
		cpuid(0x80000001, r);
		svm = r[2] & (1u << 2);
	}
	cpuid(0x40000000, r);
	sig[0] = r[1];
	sig[1] = r[2];
	sig[2] = r[3];
	const char *want = "PartitaHV\0\0\0";
	bool same = true;
	for (int i = 0; i < 12; i++)
		same &= ((const char *)sig)[i] == want[i];
	if (!same) {
		puts("mbtest: leaf 0x40000000 signature: ");
		for (int i = 0; i < 12; i++) {
			char c = ((const char *)sig)[i];
			putc(c >= 32 && c < 127 ? c : '.');
		}
		puts("\n");
	}
	CHECK(CHECK_CPUID_SIGNATURE, "cpuid-signature", hv && same);
	CHECK(CHECK_CPUID_NO_VMX_SVM, "cpuid-no-vmx-svm", !vmx && !svm);
}

static void check_uart(void)
{
	/* A 16550 with nothing queued: LSR shows THRE and TEMT (bits 5, 6),
	 * and is not the all-ones of an absent device. */
	uint8_t lsr = inb(COM1 + 5);
	CHECK(CHECK_UART, "uart", lsr != 0xff && (lsr & 0x60) == 0x60);
}

static void check_apic_timer(void)
{
	/* Intel SDM vol. 3A 10.4.3 (SVR: software enable, bit 8), 10.5.4
	 * (timer: LVT mode bits 17-18, divide configuration, initial and
	 * current count). */
	outb(0x21, 0xff); /* mask both 8259s: only the APIC interrupts */
	outb(0xa1, 0xff);
	idt_init();
	lapic_write(LAPIC_SVR, 0x100 | 0xff);
	lapic_write(LAPIC_TIMER_DIV, 0x3); /* divide by 16 */

	/* One-shot. */
	timer_ticks = 0;
	lapic_write(LAPIC_LVT_TIMER, TIMER_VECTOR);
	lapic_write(LAPIC_TIMER_INIT, 100000);
	bool counting = lapic_read(LAPIC_TIMER_CUR) <= 100000;
	__asm__ volatile("sti");
	for (uint32_t i = 0; i < SPIN_LIMIT && !timer_ticks; i++)
		__asm__ volatile("pause");
	/* It stays at one: wait as long again and see no second tick. */
	for (uint32_t i = 0; i < 2000000 && timer_ticks == 1; i++)
		__asm__ volatile("pause");
	CHECK(CHECK_APIC_ONESHOT, "apic-timer-oneshot",
	      counting && timer_ticks == 1 && lapic_read(LAPIC_TIMER_CUR) == 0);

	/* Periodic: wake from HLT on each tick, five times.  The period
	 * (500000 x 16 bus clocks: 8 ms at QEMU's 1 GHz) is long enough for a
	 * slow emulator (Bochs: about 4 instructions per us) to run more than
	 * the interrupt handler between two ticks. */
	timer_ticks = 0;
	lapic_write(LAPIC_LVT_TIMER, TIMER_VECTOR | (1u << 17));
	lapic_write(LAPIC_TIMER_INIT, 500000);
	for (uint32_t i = 0; i < SPIN_LIMIT && !timer_ticks; i++)
		__asm__ volatile("pause");
	bool first = timer_ticks > 0;
	while (first && timer_ticks < 5)
		__asm__ volatile("hlt");
	__asm__ volatile("cli");
	lapic_write(LAPIC_LVT_TIMER, 1u << 16); /* masked */
	lapic_write(LAPIC_TIMER_INIT, 0);
	CHECK(CHECK_APIC_PERIODIC, "apic-timer-periodic", first && timer_ticks >= 5);
	if (spurious_count) {
		puts("mbtest: note: ");
		putu(spurious_count);
		puts(" interrupts on other vectors\n");
	}
}

/*
 * An external interrupt is taken only at an instruction boundary with
 * RFLAGS.IF set, and once per acceptance (SDM Vol. 3A §6.8.1 "Masking
 * Maskable Hardware Interrupts"; the interrupt gate clears IF, §6.12.1.3).
 * The handler (slow_timer_stub) spins for about 40000 instructions before
 * its EOI, so that the emulator's loop stops (a timer deadline, the end of
 * the partition's window, a kick) while it runs: an interrupt delivered a
 * second time or into code with IF clear, as QEMU's TCG does with an
 * EVENTINJ interrupt (arch/x86/svm/svm.c, svm_irq_offer), shows as a
 * nested entry or a frame with IF clear.  The timer's period is twice the
 * spin's measured time, so the main loop still runs between two ticks.
 */
static void spin(uint32_t n)
{
	__asm__ volatile("1: dec %0\n\tjnz 1b" : "+c"(n));
}

static void check_interrupt_once(void)
{
	timer_ticks = slow_depth = slow_violations = 0;
	slow_spin = 20000;
	lapic_write(LAPIC_TIMER_DIV, 0x3);	/* divide by 16 */
	lapic_write(LAPIC_LVT_TIMER, 1u << 16); /* masked: only counts */
	lapic_write(LAPIC_TIMER_INIT, 0xffffffffu);
	spin(slow_spin);
	uint32_t spin_time = 0xffffffffu - lapic_read(LAPIC_TIMER_CUR);
	uint32_t period = spin_time < 0x10000000u ? 2 * spin_time + 1000 : 0x20000000u;

	idt_set(TIMER_VECTOR, slow_timer_stub, 0);
	lapic_write(LAPIC_LVT_TIMER, TIMER_VECTOR | (1u << 17));
	lapic_write(LAPIC_TIMER_INIT, period);
	__asm__ volatile("sti");
	for (uint32_t i = 0; i < SPIN_LIMIT && timer_ticks < 50; i++)
		__asm__ volatile("pause");
	__asm__ volatile("cli");
	lapic_write(LAPIC_LVT_TIMER, 1u << 16);
	lapic_write(LAPIC_TIMER_INIT, 0);
	idt_set(TIMER_VECTOR, timer_stub, 0);
	puts("mbtest: ");
	putu(timer_ticks);
	puts(" timer interrupts (period ");
	putu(period);
	puts(" x 16 bus clocks), ");
	putu(slow_violations);
	puts(" nested or with IF clear\n");
	CHECK(CHECK_IRQ_ONCE, "interrupt-once", timer_ticks >= 50 && !slow_violations);
}

static uint8_t cmos(uint8_t reg)
{
	outb(0x70, reg);
	return inb(0x71);
}

static void check_rtc(void)
{
	/* MC146818: register A bit 7 is update-in-progress; it is set for
	 * under 2 ms a second, so it must be seen clear. */
	uint32_t i;
	for (i = 0; i < 10000000 && (cmos(0x0a) & 0x80); i++)
		;
	bool uip_clear = !(cmos(0x0a) & 0x80);
	uint8_t b = cmos(0x0b), sec = cmos(0x00), min = cmos(0x02), hour = cmos(0x04);
	uint8_t century = cmos(0x32);
	if (!(b & 0x04)) { /* BCD */
		sec = (uint8_t)((sec >> 4) * 10 + (sec & 15));
		min = (uint8_t)((min >> 4) * 10 + (min & 15));
		century = (uint8_t)((century >> 4) * 10 + (century & 15));
	}
	puts("mbtest: rtc ");
	putu(century);
	puts("xx, time ");
	putu(hour);
	putc(':');
	putu(min);
	putc(':');
	putu(sec);
	puts(", register B ");
	puthex(b);
	puts("\n");
	CHECK(CHECK_RTC, "rtc",
	      uip_clear && sec < 60 && min < 60 && b != 0xff && century >= 19 && century <= 99);
}

static void check_unknown_port(void)
{
	CHECK(CHECK_UNKNOWN_PORT, "unknown-port-all-ones",
	      inb(UNKNOWN_PORT) == 0xff && inw(UNKNOWN_PORT) == 0xffff &&
		      inl(UNKNOWN_PORT) == 0xffffffffu);
}

void mbtest_main(uint32_t magic, uint32_t info)
{
	puts("mbtest: start\n");
	/* Multiboot 1 3.2 / Multiboot 2 3.3: EAX holds the magic, EBX the
	 * information, which must give mem_lower/mem_upper (MB1 flags bit 0,
	 * the MB2 basic memory tag). */
	CHECK(CHECK_BOOT, "multiboot", boot_info_read(magic, info));
	check_cpuid();
	check_uart();
	check_apic_timer();
	check_interrupt_once();
	check_rtc();
	check_unknown_port();
	check_platform();
	check_modules(CHECK_MODULES);
	puts("mbtest: done, first failure ");
	putu(first_failure);
	puts("\n");
	outb(DEBUG_EXIT, (uint8_t)first_failure);
}
