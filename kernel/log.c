/*
 * The core's log on the serial console, and the two ways a run ends:
 * hv_stop() for an orderly end (with an exit code for the emulator's
 * debug-exit device) and panic() for a broken hypervisor invariant.
 *
 * Lines are formatted into a buffer first and written under one lock, so a
 * line is never interleaved with another CPU's or an interrupt's output.
 */
#include "kernel/log.h"
#include "arch/x86/cpu.h"
#include "drivers/uart16550.h"
#include "kernel/lib/format.h"
#include "kernel/lib/string.h"

#include <stdarg.h>

#define LOG_LINE_MAX 256

static volatile int log_lock_word;
static u64 line_tsc_per_byte; /* what a byte of a line costs on the UART */
static volatile bool log_lock_broken;
static int debug_exit_port = -1;

/* Interrupts are disabled while the lock is held: an interrupt handler that
 * logs must not spin on a lock its own CPU holds. */
static u64 log_lock(void)
{
	u64 flags = read_rflags();

	irq_disable();
	while (!log_lock_broken && __atomic_exchange_n(&log_lock_word, 1, __ATOMIC_ACQUIRE))
		cpu_relax();
	return flags;
}

static void log_unlock(u64 flags)
{
	__atomic_store_n(&log_lock_word, 0, __ATOMIC_RELEASE);
	if (flags & (1u << 9))
		irq_enable();
}

/* Keeps a running average of the cost of a byte, from every line printed
 * (the boot's own lines give a first estimate before partitions run). */
static void measure_line(u64 t0, size_t bytes)
{
	u64 per_byte = (rdtsc() - t0) / (bytes ? bytes : 1);

	line_tsc_per_byte = line_tsc_per_byte ? (7 * line_tsc_per_byte + per_byte) / 8 : per_byte;
}

static void log_vwrite(const char *prefix, const char *fmt, va_list ap, bool newline)
{
	char buf[LOG_LINE_MAX];
	size_t plen = strlcpy(buf, prefix, sizeof(buf));
	int n = vsnprintf(buf + plen, sizeof(buf) - plen, fmt, ap);
	size_t len = plen + (size_t)n;

	if (len > sizeof(buf) - 2) {
		/* Truncated: say so rather than lose the end silently. */
		len = sizeof(buf) - 2;
		memcpy(buf + len - 3, "...", 3);
	}
	if (newline)
		buf[len++] = '\n';
	u64 flags = log_lock();
	u64 t0 = rdtsc();
	uart_write(buf, len);
	measure_line(t0, len);
	log_unlock(flags);
}

void log_line(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vwrite("[hv] ", fmt, ap, true);
	va_end(ap);
}

void log_partition_line(const char *name, const char *text, size_t len)
{
	size_t name_len = strlen(name);
	u64 flags = log_lock();
	u64 t0 = rdtsc();

	uart_putc('[');
	uart_write(name, name_len);
	uart_write("] ", 2);
	uart_write(text, len);
	uart_putc('\n');
	measure_line(t0, name_len + len + 4);
	log_unlock(flags);
}

u64 log_tsc_per_byte(void)
{
	return line_tsc_per_byte;
}

void log_raw(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vwrite("", fmt, ap, false);
	va_end(ap);
}

void log_break_lock(void)
{
	log_lock_broken = true;
}

void hv_set_debug_exit(int port)
{
	debug_exit_port = port;
}

/*
 * QEMU names itself in the hypervisor CPUID leaf ("TCGTCGTCGTCG" under TCG,
 * "KVMKVMKVM" under KVM).  There, port 0xf4 is where tests put the
 * isa-debug-exit device; without the device the write is ignored.
 */
static bool running_under_qemu(void)
{
	if (!(cpuid(1, 0).ecx & (1u << 31)))
		return false;
	struct cpuid_regs r = cpuid(0x40000000, 0);
	char sig[13];
	memcpy(sig + 0, &r.ebx, 4);
	memcpy(sig + 4, &r.ecx, 4);
	memcpy(sig + 8, &r.edx, 4);
	sig[12] = '\0';
	return !strcmp(sig, "TCGTCGTCGTCG") || !strncmp(sig, "KVMKVMKVM", 9);
}

void hv_stop(int code, const char *why)
{
	int port = debug_exit_port;

	log_line("run ended: code %d (%s)", code, why);
	if (port < 0 && running_under_qemu())
		port = 0xf4;
	if (port >= 0)
		outb((u16)port, (u8)code);
	for (;;) {
		irq_disable();
		cpu_halt();
	}
}

void panic(const char *fmt, ...)
{
	va_list ap;

	log_break_lock();
	va_start(ap, fmt);
	log_vwrite("[hv] PANIC: ", fmt, ap, true);
	va_end(ap);
	hv_stop(HV_EXIT_PANIC, "panic");
}
