/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Consoles: the partitions' and the hypervisor's own, and the one serial line
 * they share.
 *
 * What a partition writes is cut into lines; each whole line is queued in the
 * partition's output queue as "[name] text\r\n".  Lines the hypervisor prints
 * about a partition (a fault, an unknown port, a #UD it injected) go into the
 * same queue as "[hv] ..." lines, rate-limited per partition and per kind,
 * with a count of what was suppressed.  The hypervisor's own lines (boot,
 * scheduler) have a queue of their own, the hv console.
 *
 * Temporal isolation (DESIGN.md): writing to a UART costs time, a lot of it
 * at 115,200 baud (87 us a byte), so nothing is ever printed synchronously
 * once partitions run.  A queue is drained only in its owner's time: in the
 * owner's windows, or in idle time, never in another partition's window.
 * Draining never waits for the UART: it fills the transmit FIFO while the
 * UART says it has room and stops at a deadline, so its cost is bounded by
 * the deadline, not by the line's length or the baud rate.  Lines are never
 * interleaved on the serial line: once a line has started, only its queue
 * may continue until the line ends.
 *
 * A full queue refuses bytes (the caller's write takes fewer bytes, or the
 * virtual UART shows its transmitter busy); nothing is dropped silently.
 *
 * Locking: a queue has one writer (its partition's CPU, or the CPU that
 * holds the log's lock for the hv console) and its readers, on any CPU,
 * hold the serial line's lock (log.c); the writer publishes `queued` with
 * a release store after the bytes, readers load it with acquire.
 */
#ifndef PARTITA_CONSOLE_H
#define PARTITA_CONSOLE_H

#include "kernel/lib/types.h"

#define CONSOLE_LINE_MAX 200
#define CONSOLE_TAIL 4096
#define CONSOLE_QUEUE 16384 /* bytes of queued output lines per console */
#define CONSOLE_INPUT 256   /* bytes of typed input waiting for the partition */
/* The most one completed line takes in a queue: "[" name "] " or "[hv] ",
 * the text, "\r\n", and a "(N suppressed)" note. */
#define CONSOLE_HV_LINE_MAX 256 /* the hypervisor's own lines */
#define CONSOLE_LINE_WORST (CONSOLE_HV_LINE_MAX + 64)

/** What a guest-triggered hypervisor line is about, for rate limiting. */
enum log_kind {
	LOG_KIND_OTHER, /* any line printed while handling its exits */
	LOG_KIND_LIFE,	/* stopped, restarted, started: always printed */
	LOG_KIND_UD,	/* #UD injected for a virtualization instruction */
	LOG_KIND_IO,	/* unknown or unemulated ports */
	LOG_KIND_MMIO,	/* unknown MMIO */
	LOG_KIND_MSR,	/* MSR accesses answered with #GP */
	LOG_KIND_HLT,	/* HLT with interrupts off */
	LOG_KIND_COUNT
};

/* A token bucket per kind (console.c has the rates: a burst of lines at
 * once, then a few a second); the rest are counted and the count is shown
 * with the next line that is printed. */

struct log_limit {
	u64 refilled_ns;
	u32 tokens;
	u32 suppressed;
};

struct console {
	const char *name;
	/* The line being assembled (the partition's bytes, not yet a line). */
	char line[CONSOLE_LINE_MAX];
	u32 line_len;
	/* The last CONSOLE_TAIL bytes, for HC_CONSOLE_READ (a ring). */
	char tail[CONSOLE_TAIL];
	u64 total;
	/* Queued output: whole lines, FIFO; head and tail count bytes ever
	 * queued and sent (one writer, readers under the serial lock). */
	char queue[CONSOLE_QUEUE];
	u64 queued;
	u64 sent;
	u64 suppressed_total; /* guest-triggered [hv] lines not printed */
	bool unlimited;	      /* the hv console: its own lines are not limited */
	struct log_limit limits[LOG_KIND_COUNT];
	/* Typed input (the console's focus, log.c): a ring with one producer,
	 * the CPU that polls the machine's UART (under the serial lock), and
	 * one consumer, the partition's device model (its virtual 16550).
	 * Bytes that find it full, or that are typed to a partition with no
	 * input path, are counted in input_dropped. */
	u8 input[CONSOLE_INPUT];
	u64 input_put, input_got;
	u64 input_dropped;
	bool takes_input; /* it has a receiver (an hvm partition's 16550) */
	bool raw_default; /* raw = yes: raw whenever it has the focus */
	u64 held_dropped; /* lines dropped while another had the terminal raw */
	unsigned cpu;	  /* the CPU its partition runs on: the one that polls */
};

/**
 * Where queued bytes go: the machine's UART, and later other sinks.  room()
 * says how many bytes put() can take now without waiting (0: busy); it is
 * never asked to wait.  Host tests plug in their own.
 */
struct console_sink {
	unsigned (*room)(void);
	void (*put)(u8 byte);
};

/** Sets the sink that console_drain feeds (the UART at boot). */
void console_set_sink(const struct console_sink *sink);

/**
 * A second reader of every byte sent to the sink (the framebuffer console,
 * kernel/screen.c).  put() takes a byte and must be cheap (no drawing);
 * paint() does the drawing, under the drain's deadline: console_drain calls
 * it once at its end (idle false: the drain's owner pays only for what its
 * own bytes caused), console_drain_sync with no deadline, and
 * console_mirror_idle in idle time (idle true: anything left).  Both are
 * called with the console's lock held.
 */
struct console_mirror {
	void (*put)(u8 byte);
	void (*paint)(u64 deadline_tsc, bool idle);
	void (*report)(void); /* logs what it cost, at the end of a run */
};

/** Sets the mirror (NULL: none). */
void console_set_mirror(const struct console_mirror *mirror);

/** Lets the mirror draw what is left until deadline_tsc: for idle time. */
void console_mirror_idle(u64 deadline_tsc);

/** Lets the mirror log its figures (the end of a run; not under the lock). */
void console_mirror_report(void);

void console_init(struct console *c, const char *name);

/** Bytes free in c's queue. */
u64 console_room(const struct console *c);

/** True if c has queued bytes not yet sent (inline: the exit path asks on
 *  every exit). */
static inline bool console_pending(const struct console *c)
{
	return __atomic_load_n(&c->queued, __ATOMIC_ACQUIRE) != c->sent;
}

/**
 * Takes up to len bytes from a partition into its console.  Carriage
 * returns are dropped; other control characters but tab become '?'; bytes
 * 0x80-0xff go through only as well-formed UTF-8 that is not a C1 control
 * (U+0080-U+009F), else '?', so a guest cannot drive the operator's
 * terminal.  A line ends at '\n' or after CONSOLE_LINE_MAX bytes.  Stops
 * before a byte that would complete a line for which the queue has no room,
 * and after the first line completed at or past deadline_tsc (so the call
 * costs a bounded time whatever len is); returns the number of bytes taken.
 */
u64 console_write(struct console *c, const char *data, u64 len, u64 deadline_tsc);

/** Queues an unfinished line (e.g. when its partition stops); false if the
 *  queue has no room for it (it stays in the line buffer). */
bool console_flush(struct console *c);

/**
 * Asks whether a "[hv]" line of kind about c's partition may be printed at
 * time now_ns: the rate limit allows it and the queue has room.  If not, it
 * is counted as suppressed.  Cheap: callers ask before formatting a line.
 */
bool console_hv_admit(struct console *c, enum log_kind kind, u64 now_ns);

/** Counts a line of kind as suppressed without asking (its maker had no
 *  time left to format it). */
void console_hv_suppress(struct console *c, enum log_kind kind);

/**
 * Queues "[hv] text" in c's queue, with the count of the lines of kind
 * suppressed since the last one ("(N similar lines suppressed)").  The
 * caller was admitted (or c is unlimited); false if the queue is full.
 */
bool console_hv_line(struct console *c, enum log_kind kind, const char *text, u64 len);

/**
 * Feeds the sink from c's queue until the queue is empty, the sink is busy,
 * another queue's line is still on the wire, or the TSC reaches deadline.
 * Returns true if c's queue is empty afterwards.
 */
bool console_drain(struct console *c, u64 deadline_tsc);

/** True if the sink was busy (no room) the last time a drain stopped. */
bool console_sink_busy(void);

/** Copies the last min(len, kept) bytes of the tail into buf, oldest first;
 *  returns the count. */
u64 console_read_tail(const struct console *c, char *buf, u64 len);

/** The console whose line is on the wire (begun, not ended), or NULL. */
const struct console *console_wire_owner(void);

/** Puts one typed byte into c's input ring; false (and counted as
 *  dropped) if the ring is full or c takes no input. */
bool console_input_put(struct console *c, u8 byte);

/** True if c's input ring holds a byte (the consumer's side). */
static inline bool console_input_pending(const struct console *c)
{
	return __atomic_load_n(&c->input_put, __ATOMIC_ACQUIRE) != c->input_got;
}

/** Takes the oldest typed byte of c: the byte, or -1 if none. */
int console_input_get(struct console *c);

/** What console_focus_key made of a typed byte. */
enum focus_event {
	FOCUS_NONE,    /* swallowed (the first byte of a hot key) */
	FOCUS_BYTE,    /* *out is for the partition with the focus */
	FOCUS_MOVE,    /* the focus moves to partition *out */
	FOCUS_NO_SUCH, /* Ctrl-T digit: no partition *out; the focus stays */
	FOCUS_HELP,    /* Ctrl-T ?: print the hot keys */
	FOCUS_RAW,     /* Ctrl-T r: raw terminal on or off for the focus */
	FOCUS_UNKNOWN, /* Ctrl-T and a key that means nothing (*out) */
};

#define FOCUS_ESCAPE 0x14 /* Ctrl-T */

/** The hot-key reader: where the focus is, and whether Ctrl-T came. */
struct console_focus {
	unsigned current; /* partition index with the focus */
	bool escape;	  /* the last byte was the Ctrl-T that starts a hot key */
};

/**
 * Reads one typed byte.  Ctrl-T starts a hot key: Ctrl-T 0-9 moves the
 * focus to partition 0-9 (config order), Ctrl-T n to the next one
 * (wrapping over count partitions), Ctrl-T r toggles the raw terminal,
 * Ctrl-T ? asks for help, Ctrl-T Ctrl-T
 * gives one literal Ctrl-T to the partition.  Any other byte is the
 * partition's.  Moves f->current on FOCUS_MOVE.
 */
enum focus_event console_focus_key(struct console_focus *f, u8 byte, unsigned count, unsigned *out);

/**
 * Gives c the terminal raw (NULL: gives it back), with a note ("[hv] note"
 * line, NULL: none) queued in c before its raw bytes, or in the old raw
 * console after them.  While c is raw, its bytes are queued as they are
 * (no prefix, no line cutting, no filter: escape sequences reach the
 * terminal whole), and every other console is held: its queue is not
 * drained (but for the end of a line already on the wire), and a line that
 * finds its queue full is dropped and counted in held_dropped instead of
 * stopping the writer.  c's unfinished line is queued first.  When raw
 * ends, "\r\n" and the note are queued in the old raw console, and the
 * others stay held until these are sent, so the held output comes after
 * them.  The caller holds the serial line's lock and runs on the CPU of
 * both consoles' writers (their partitions are not in an exit handler), so
 * each queue keeps one writer.
 */
void console_set_raw(struct console *c, const char *note);

/** The console that has the terminal raw, or NULL. */
struct console *console_raw_owner(void);

/** Sends everything c has queued, waiting for the sink as long as it takes
 *  (only for the end of a run and for panics). */
void console_drain_sync(struct console *c, unsigned (*wait_room)(void));

#endif
