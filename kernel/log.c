/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The core's log on the serial console, and the two ways a run ends:
 * hv_stop() for an orderly end (with an exit code for the emulator's
 * debug-exit device) and panic() for a broken hypervisor invariant.
 *
 * Every line is queued in a console (kernel/console.h) and never printed in
 * another partition's time:
 *   - before partitions run (boot), lines are queued in the hv console and
 *     sent at once, waiting for the UART;
 *   - while a partition's exit is handled (log_set_context), lines are about
 *     that partition: they go into its own queue, rate-limited per kind, and
 *     cost only its own time;
 *   - otherwise (the scheduler's own lines) they go into the hv console's
 *     queue, which the scheduler drains (log_drain_hv);
 *   - at the end of a run and on a panic or CPU exception, everything queued
 *     is sent synchronously, then the last lines.
 * One lock covers the queues' readers and the serial line, so a line is
 * never interleaved with another CPU's or an interrupt's output.
 *
 * The serial line's input has a focus: the partition that typed bytes go
 * to (console.h, console_focus_key; Ctrl-T hot keys move it).  Only the
 * CPU the focused partition runs on polls the UART's receiver
 * (log_poll_input), in idle time and in that partition's own windows, so
 * reading input never costs another partition's time.  Bytes go into the
 * partition's bounded input ring; what finds it full is counted.
 */
#include "kernel/log.h"
#include "arch/x86/clock.h"
#include "arch/x86/cpu.h"
#include "arch/x86/percpu.h"
#include "drivers/uart16550.h"
#include "kernel/console.h"
#include "kernel/lib/format.h"
#include "kernel/lib/string.h"

#include <stdarg.h>

#define LOG_LINE_MAX 256
#define LOG_CONSOLES_MAX 40

static volatile int log_lock_word;
static volatile bool log_lock_broken;
static int debug_exit_port = -1;
static bool log_queued_mode; /* partitions run: never wait */
static struct console hv_console;
/* Per CPU (percpu.h): log_context, the partition whose exit the CPU
 * handles, and log_context_deadline, the TSC at its window's end. */
#define log_context (this_cpu()->log_context)
#define log_context_deadline (this_cpu()->log_context_deadline)
static u64 line_tsc; /* what formatting a line costs */
static struct console *consoles[LOG_CONSOLES_MAX];
static unsigned console_count;
static unsigned drain_next; /* round robin of idle draining */
/* The partitions' consoles in config order (the hot keys' indices), the
 * focus among them, and the receiver's overruns. */
static struct console *input_consoles[LOG_CONSOLES_MAX];
static unsigned input_count;
static struct console_focus focus;
static bool focus_chosen;
static int input_known = -1; /* any_input(): -1 until asked */
static bool raw_wanted;	     /* the focus has the terminal raw (or will, on its CPU) */
static u64 input_overruns;
#define INPUT_BURST 32 /* bytes taken from the UART per poll at most */
#define BANNER_MAX 4
#define BANNER_LEN 160

static const struct console_sink uart_sink = { uart_tx_room, uart_tx_put };

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
	if (flags & RFLAGS_IF)
		irq_enable();
}

void log_init(void)
{
	console_init(&hv_console, "hv");
	hv_console.unlimited = true;
	input_count = 0;
	focus = (struct console_focus){ 0 };
	focus_chosen = false;
	raw_wanted = false;
	input_known = -1;
	console_set_sink(&uart_sink);
	consoles[console_count++] = &hv_console;
}

void log_register_console(struct console *c)
{
	u64 flags = log_lock();

	for (unsigned i = 0; i < console_count; i++)
		if (consoles[i] == c)
			goto out;
	if (console_count < LOG_CONSOLES_MAX)
		consoles[console_count++] = c;
	if (input_count < LOG_CONSOLES_MAX)
		input_consoles[input_count++] = c;
out:
	log_unlock(flags);
}

void log_set_queued(bool queued)
{
	log_queued_mode = queued;
}

struct console *log_set_context(struct console *c, u64 deadline_tsc)
{
	struct console *old = log_context;

	log_context = c;
	log_context_deadline = deadline_tsc;
	return old;
}

static void drain_all_sync(void)
{
	/* The line on the wire first, so it is not cut by another. */
	for (unsigned i = 0; i < console_count; i++)
		if (consoles[i] == console_wire_owner())
			console_drain_sync(consoles[i], uart_tx_wait_room);
	for (unsigned i = 0; i < console_count; i++) {
		console_flush(consoles[i]);
		console_drain_sync(consoles[i], uart_tx_wait_room);
	}
}

static u64 format_line(char *buf, const char *fmt, va_list ap)
{
	int n = vsnprintf(buf, LOG_LINE_MAX, fmt, ap);

	if (n >= LOG_LINE_MAX) {
		memcpy(buf + LOG_LINE_MAX - 4, "...", 4); /* say so, not lose it */
		n = LOG_LINE_MAX - 1;
	}
	return n < 0 ? 0 : (u64)n;
}

static bool log_vline(enum log_kind kind, const char *fmt, va_list ap)
{
	char buf[LOG_LINE_MAX];
	bool queued;

	u64 flags = log_lock();
	if (log_lock_broken || !log_queued_mode) {
		/* Boot, the end of a run, a fatal error: print now, in order. */
		drain_all_sync();
		u64 len = format_line(buf, fmt, ap);
		queued = console_hv_line(&hv_console, kind, buf, len);
		console_drain_sync(&hv_console, uart_tx_wait_room);
		log_unlock(flags);
		return queued;
	}
	struct console *c = log_context ? log_context : &hv_console;
	u64 t0 = rdtsc();
	/* A line about a partition costs that partition's time: not when its
	 * window ends before the line could be made (it is counted as
	 * suppressed instead), and not beyond its rate limit.  Faults are
	 * always printed: they end the partition's run. */
	if (log_context && kind != LOG_KIND_LIFE && t0 + 2 * line_tsc >= log_context_deadline) {
		console_hv_suppress(c, kind);
		queued = false;
	} else if (!console_hv_admit(c, kind, clock_now_ns())) {
		queued = false;
	} else {
		u64 len = format_line(buf, fmt, ap);
		queued = console_hv_line(c, kind, buf, len);
		u64 took = rdtsc() - t0;
		line_tsc = line_tsc ? (7 * line_tsc + took) / 8 : took;
	}
	log_unlock(flags);
	return queued;
}

void log_line(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vline(LOG_KIND_OTHER, fmt, ap);
	va_end(ap);
}

bool log_guest(enum log_kind kind, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	bool queued = log_vline(kind, fmt, ap);
	va_end(ap);
	return queued;
}

bool log_drain(struct console *c, u64 deadline_tsc)
{
	/* Most of the time there is nothing to send: no lock for that. */
	if (!console_pending(c))
		return true;
	u64 flags = log_lock();
	bool empty = console_drain(c, deadline_tsc);

	log_unlock(flags);
	return empty;
}

bool log_hv_pending(void)
{
	return console_pending(&hv_console);
}

bool log_drain_hv(u64 deadline_tsc)
{
	return log_drain(&hv_console, deadline_tsc);
}

bool log_drain_any(u64 deadline_tsc)
{
	bool all_empty = true;

	for (unsigned k = 0; k < console_count && all_empty; k++)
		all_empty = !console_pending(consoles[k]);
	if (all_empty) {
		/* Idle time: what the screen still has to draw (console.h). */
		u64 flags = log_lock();
		console_mirror_idle(deadline_tsc);
		log_unlock(flags);
		return true;
	}
	u64 flags = log_lock();

	/* A line on the wire first: nobody else may send until it ends. */
	for (unsigned k = 0; k < console_count; k++) {
		struct console *c = consoles[(drain_next + k) % console_count];
		if (!console_drain(c, deadline_tsc)) {
			all_empty = false;
			if (console_sink_busy() || rdtsc() >= deadline_tsc)
				break;
		}
	}
	drain_next = (drain_next + 1) % (console_count ? console_count : 1);
	console_mirror_idle(deadline_tsc);
	log_unlock(flags);
	return all_empty;
}

/* The console with the focus; the first one that takes input until a hot
 * key moves it.  NULL if there are no partitions. */
static struct console *focus_console(void)
{
	if (!input_count)
		return NULL;
	if (!focus_chosen) {
		focus.current = 0;
		for (unsigned i = 0; i < input_count; i++)
			if (input_consoles[i]->takes_input) {
				focus.current = i;
				break;
			}
	}
	return input_consoles[focus.current % input_count];
}

/* Whether any partition takes input: if none does, nobody polls (and the
 * hot keys, which could only move the focus between partitions that drop
 * what is typed, are off).  Known once the partitions are made, before the
 * first poll. */
static bool any_input(void)
{
	if (input_known < 0) {
		input_known = 0;
		for (unsigned i = 0; i < input_count; i++)
			if (input_consoles[i]->takes_input)
				input_known = 1;
	}
	return input_known;
}

bool log_input_here(void)
{
	/* Cheapest first: the scheduler asks at every window start. */
	if (!any_input() || !uart_present())
		return false;
	struct console *f = focus_console();
	return f && f->cpu == cpu_index();
}

bool log_input_focus_is(const struct console *c)
{
	return any_input() && focus_console() == c;
}

/* The one-line banner of a focus move. */
static void focus_banner(char *buf, const struct console *from)
{
	const struct console *to = input_consoles[focus.current];
	int n = snprintf(buf, BANNER_LEN, "console: focus on %s (partition %u)", to->name,
			 focus.current);

	if (!to->takes_input)
		n += snprintf(buf + n, BANNER_LEN - (unsigned)n,
			      ": it takes no input, typed bytes are dropped");
	else
		n += snprintf(buf + n, BANNER_LEN - (unsigned)n, "; Ctrl-T ? lists the hot keys");
	if (from && from->takes_input && from->input_dropped)
		snprintf(buf + n, BANNER_LEN - (unsigned)n,
			 " (%llu bytes typed to %s were dropped)",
			 (unsigned long long)from->input_dropped, from->name);
}

/* Gives the terminal raw to the focus, or takes it back, as raw_wanted
 * says: on the CPU of the consoles concerned (console_set_raw), so a move
 * to a partition of another CPU makes it raw at that CPU's next poll.  Both
 * banners go through the raw console's own queue (console_set_raw), since
 * the hv console is held meanwhile. */
static void raw_switch(void)
{
	struct console *raw = console_raw_owner();
	struct console *f = input_consoles[focus.current];
	char line[BANNER_LEN];

	if (raw && (raw != f || !raw_wanted)) {
		u64 dropped = 0;
		for (unsigned i = 0; i < input_count; i++) {
			dropped += input_consoles[i]->held_dropped;
			input_consoles[i]->held_dropped = 0;
		}
		snprintf(line, sizeof(line),
			 "console: %s gave the terminal back; the others' output follows (%llu lines of it dropped)",
			 raw->name, (unsigned long long)dropped);
		console_set_raw(NULL, line);
		raw = NULL;
	}
	if (raw_wanted && !raw && f->cpu == cpu_index()) {
		snprintf(line, sizeof(line),
			 "console: %s has the terminal raw (no prefixes; the others' output is held); Ctrl-T r gives it back",
			 f->name);
		console_set_raw(f, line);
	}
}

unsigned log_poll_input(void)
{
	char banner[BANNER_MAX][BANNER_LEN];
	unsigned banners = 0, delivered = 0;

	if (!log_input_here())
		return 0;
	u64 flags = log_lock();
	if (!focus_chosen) {
		focus_console();
		focus_chosen = true;
		focus_banner(banner[banners++], NULL);
		raw_wanted = input_consoles[focus.current]->raw_default;
	}
	/* A hot key may make a banner: with no room for one more, the rest
	 * waits in the UART for the next poll. */
	for (unsigned i = 0; i < INPUT_BURST && banners < BANNER_MAX; i++) {
		int b = uart_rx_get(&input_overruns);
		if (b < 0)
			break;
		struct console *from = input_consoles[focus.current];
		unsigned out = 0;
		char *line = banner[banners];
		switch (console_focus_key(&focus, (u8)b, input_count, &out)) {
		case FOCUS_NONE:
			continue;
		case FOCUS_BYTE:
			delivered += console_input_put(from, (u8)out);
			continue;
		case FOCUS_MOVE:
			focus_banner(line, from);
			raw_wanted = input_consoles[focus.current]->raw_default;
			break;
		case FOCUS_RAW:
			raw_wanted = !raw_wanted;
			continue; /* raw_switch says so */
		case FOCUS_NO_SUCH:
			snprintf(line, BANNER_LEN,
				 "console: Ctrl-T %u: no partition %u (0-%u); focus stays on %s",
				 out, out, input_count - 1, from->name);
			break;
		case FOCUS_HELP:
			snprintf(line, BANNER_LEN,
				 "console: hot keys: Ctrl-T 0-9 focus on partition 0-9, Ctrl-T n the next, Ctrl-T r raw terminal on/off, Ctrl-T Ctrl-T a literal Ctrl-T, Ctrl-T ? this line");
			break;
		case FOCUS_UNKNOWN:
			snprintf(line, BANNER_LEN,
				 "console: Ctrl-T 0x%02x is no hot key (Ctrl-T ? lists them)", out);
			break;
		}
		banners++;
	}
	raw_switch();
	log_unlock(flags);
	/* log_line takes the lock itself. */
	for (unsigned i = 0; i < banners; i++)
		log_line("%s", banner[i]);
	return delivered;
}

bool log_sink_busy(void)
{
	return console_sink_busy();
}

void log_break_lock(void)
{
	log_lock_broken = true;
}

static bool (*stop_others)(u64 timeout_ns);

void log_set_stop_others(bool (*fn)(u64 timeout_ns))
{
	stop_others = fn;
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
	if (!(cpuid(1, 0).ecx & CPUID1_ECX_HYPERVISOR))
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

	/* The other CPUs stop first: none may still add to a console that
	 * is being sent for the last time.  10 ms is ample for an IPI; a CPU
	 * that does not answer (interrupts off in a stuck handler) is not
	 * waited for. */
	irq_disable();
	if (stop_others && !stop_others(10000000ULL))
		for (;;)
			cpu_halt();
	/* The end of the run: what is queued goes out first, in order. */
	log_context = NULL;
	log_queued_mode = false;
	console_mirror_report(); /* the screen's drawing figures */
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
	char buf[LOG_LINE_MAX];

	log_break_lock();
	log_context = NULL;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	log_line("PANIC: %s", buf);
	hv_stop(HV_EXIT_PANIC, "panic");
}
