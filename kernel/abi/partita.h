/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Partita's guest ABI: hypercall numbers and the structures paravirtual
 * guests share with the hypervisor.  Included by the core and by guests/lib;
 * nothing else defines ABI.  It is versioned: a change that breaks an old
 * guest raises PARTITA_ABI_MAJOR, an addition raises PARTITA_ABI_MINOR, and
 * every structure's size is fixed by a _Static_assert.
 *
 * Calling convention (DESIGN.md): `vmcall` on Intel, `vmmcall` on AMD (the
 * guest picks from CPUID); number in RAX, arguments in RDI, RSI, RDX, R10, R8;
 * result in RAX, a negative error code (PARTITA_E_*, kernel/abi/errno.h) on failure.
 * Other registers are preserved.  Only from guest CPL 0; from user mode the
 * guest receives #UD.  Every pointer argument is a guest-physical address
 * inside the caller's own memory, checked before use.
 *
 * Discovery: CPUID 0x40000000 returns EAX = highest hypervisor leaf and the
 * signature "PartitaHV\0\0\0" in EBX, ECX, EDX; CPUID 0x40000001 returns EAX =
 * ABI version (major << 16 | minor) and EBX = PARTITA_FEATURE_* bits.
 */
#ifndef PARTITA_ABI_H
#define PARTITA_ABI_H

#include <stdint.h>

#include "kernel/abi/errno.h"

#define PARTITA_ABI_MAJOR 1
#define PARTITA_ABI_MINOR \
	2 /* 1: HC_SCHEDULE_INFO, HC_API_CONFIG, HC_API_FILE;
                             * 2: HC_PARTITION_MEMORY */
#define PARTITA_ABI_VERSION ((PARTITA_ABI_MAJOR << 16) | PARTITA_ABI_MINOR)

#define PARTITA_CPUID_BASE 0x40000000u
#define PARTITA_CPUID_SIGNATURE "PartitaHV\0\0\0"
#define PARTITA_FEATURE_CHANNELS (1u << 0)
#define PARTITA_FEATURE_CONTROL (1u << 1) /* this partition has `control` */

/* Hypercall numbers. */
enum partita_hypercall {
	HC_VERSION = 0,	       /* () -> PARTITA_ABI_VERSION */
	HC_CONSOLE_WRITE = 1,  /* (gpa buf, len) -> bytes taken */
	HC_TIME = 2,	       /* () -> nanoseconds since the hypervisor booted */
	HC_YIELD = 3,	       /* () -> 0: gives up the rest of this window */
	HC_WAIT = 4,	       /* (deadline_ns) -> pending event bits, cleared;
	                         * 0 if the deadline passed first.  deadline 0:
	                         * no deadline.  Returns at once if any are pending. */
	HC_EVENT_SIGNAL = 5,   /* (channel index) -> 0: raises the peer's event */
	HC_PARTITION_INFO = 6, /* (gpa struct partita_partition_info) -> 0, own */
	HC_SHUTDOWN = 7,       /* (exit code) -> does not return */
	HC_PCI_READ = 8,       /* (device index, offset, size) -> value: the
	                         * configuration space of a passed-through device */
	HC_PCI_WRITE = 9,      /* (device index, offset, size, value) -> 0; BARs
	                         * and the expansion ROM are fixed (-E_PERM) */

	/* With the `control` capability only (else -E_PERM).  The calls that
	 * copy kilobytes (HC_PARTITION_LIST, HC_CONSOLE_READ, HC_SCHEDULE_INFO,
	 * HC_API_FILE) may answer -E_AGAIN when too little of the caller's run
	 * is left for them: the caller yields and calls again, and the second
	 * try is made whatever the time (guests/lib: hc_call_whole). */
	HC_PARTITION_LIST = 16,	 /* (gpa info array, count) -> partitions written;
	                         * the number of partitions if count is 0 */
	HC_PARTITION_STATS = 17, /* (id, gpa struct partita_partition_stats) -> 0 */
	HC_CONSOLE_READ = 18,	 /* (id, gpa buf, len) -> bytes: the tail of that
	                         * partition's console, at most len bytes */
	HC_PARTITION_CTL = 19,	 /* (id, PARTITION_CTL_*) -> 0 */
};

#define PARTITION_CTL_STOP 1
#define PARTITION_CTL_START 2
#define PARTITION_CTL_RESTART 3

#define PARTITA_NAME_MAX 32
#define PARTITA_MAX_CHANNELS 8 /* per partition, in the start-info page */
#define PARTITA_MAX_WINDOWS 8  /* per partition, as CONFIG_MAX_WINDOWS */
#define PARTITA_MAX_DEVICES 4  /* passed-through PCI devices per partition */
#define PARTITA_CMDLINE_MAX 256

/** A PCI device passed through to this partition.  Its memory BARs are
 *  mapped at guest-physical == host-physical addresses (gpa below), but for
 *  the page of an MSI-X table; I/O BARs are listed but not accessible.  A
 *  device with MSI or MSI-X (irq != 0) interrupts its partition: the
 *  hypervisor programs and enables its MSI (every MSI-X entry, up to 8), and
 *  each interrupt raises the event bit PARTITA_DEVICE_EVENT(k) for devices[k]
 *  (HC_WAIT returns it).  Writes to its MSI and MSI-X capabilities are
 *  refused.  Without either it is polled. */
#define PARTITA_DEVICE_EVENT(k) (1u << (16 + (k)))
#define PARTITA_DEVICE_IRQ_NONE 0
#define PARTITA_DEVICE_IRQ_MSI 1
#define PARTITA_DEVICE_IRQ_MSIX 2
struct partita_device_info {
	uint8_t bus, dev, fn;
	uint8_t irq; /* PARTITA_DEVICE_IRQ_*: how it interrupts */
	uint16_t vendor_id, device_id;
	uint32_t class_code;
	struct {
		uint64_t gpa; /* 0 if the BAR is absent */
		uint64_t size;
		uint32_t kind; /* 0 none, 1 mem32, 2 mem64, 3 io */
		uint32_t reserved;
	} bars[6];
};
_Static_assert(sizeof(struct partita_device_info) == 160, "ABI");

enum partita_state {
	PARTITA_STATE_STOPPED = 0,
	PARTITA_STATE_RUNNING = 1, /* runnable or running in its windows */
	PARTITA_STATE_WAITING = 2, /* in HC_WAIT */
	PARTITA_STATE_FAULTED = 3, /* stopped by a fault, not restarted */
	PARTITA_STATE_EXITED = 4,  /* stopped by HC_SHUTDOWN */
};

/** A channel as one of its two partitions sees it. */
struct partita_channel_info {
	char name[PARTITA_NAME_MAX];
	uint64_t gpa;  /* shared memory, in this partition's address space */
	uint64_t size; /* bytes */
	uint32_t peer; /* partition id of the other end */
	uint32_t side; /* 0 or 1: which end this partition is */
};
_Static_assert(sizeof(struct partita_channel_info) == 56, "ABI");

/**
 * The start-info page: read-only, mapped into a paravirtual partition at the
 * address passed in RDI at entry.
 */
struct partita_start_info {
	uint32_t magic; /* PARTITA_START_MAGIC */
	uint32_t abi_version;
	uint32_t partition_id;
	uint32_t flags; /* PARTITA_FEATURE_* */
	char name[PARTITA_NAME_MAX];
	uint64_t mem_base; /* guest-physical base of the partition's RAM */
	uint64_t mem_size;
	uint64_t image_end;  /* first free byte after the loaded image */
	uint64_t stack_top;  /* RSP at entry */
	uint64_t tsc_hz;     /* TSC ticks per second */
	uint64_t boot_count; /* 1 at the first start, +1 per restart */
	uint32_t channel_count;
	uint32_t window_count; /* this partition's windows, below */
	struct partita_channel_info channels[PARTITA_MAX_CHANNELS];
	/* The cyclic schedule of this partition's CPU: frame k starts at
	 * epoch_ns + k * frame_ns (HC_TIME's clock). */
	uint64_t frame_ns;
	uint64_t epoch_ns;
	struct {
		uint64_t offset_ns;
		uint64_t length_ns;
	} windows[PARTITA_MAX_WINDOWS];
	/* DMA: a device sees host-physical addresses.  The partition's RAM is
	 * one contiguous host block, so the address to give a device for
	 * guest-physical address g (in RAM) is g + dma_offset. */
	uint64_t dma_offset;
	uint32_t device_count;
	uint32_t reserved2;
	struct partita_device_info devices[PARTITA_MAX_DEVICES];
	char cmdline[PARTITA_CMDLINE_MAX]; /* the config's cmdline, terminated */
};
#define PARTITA_START_MAGIC 0x50525453u /* "STRP" */
_Static_assert(sizeof(struct partita_start_info) == 1608, "ABI");

/** One partition, for HC_PARTITION_INFO and HC_PARTITION_LIST. */
struct partita_partition_info {
	uint32_t id;
	uint32_t state; /* enum partita_state */
	uint32_t kind;	/* 1 pv, 2 hvm */
	uint32_t cpu;
	char name[PARTITA_NAME_MAX];
	uint64_t mem_size;
	uint32_t caps;
	uint32_t restarts;
	int64_t exit_code; /* of the last HC_SHUTDOWN, or -1 */
};
_Static_assert(sizeof(struct partita_partition_info) == 72, "ABI");

enum partita_exit_kind {
	PARTITA_EXIT_HYPERCALL,
	PARTITA_EXIT_CPUID,
	PARTITA_EXIT_IO,
	PARTITA_EXIT_MSR,
	PARTITA_EXIT_MMIO, /* and nested page faults */
	PARTITA_EXIT_HLT,
	PARTITA_EXIT_INTR, /* external interrupt, timer */
	PARTITA_EXIT_OTHER,
	PARTITA_EXIT_KINDS
};

/** Statistics of one partition (HC_PARTITION_STATS). */
struct partita_partition_stats {
	uint64_t exits[PARTITA_EXIT_KINDS];
	uint64_t cpu_time_ns;	    /* time spent running in its windows */
	uint64_t windows;	    /* windows started */
	uint64_t max_start_late_ns; /* worst lateness of a window start */
	uint64_t console_bytes;	    /* total written to its console */
};
_Static_assert(sizeof(struct partita_partition_stats) == 96, "ABI");

/*
 * ABI 1.1: what the management partition (guests/mgmt) needs beyond the
 * control calls above, all with the `control` capability only (else
 * -E_PERM).
 */

/** HC_SCHEDULE_INFO(gpa struct partita_schedule_info) -> 0: the cyclic
 *  schedule of every CPU, and counters of each partition (window-start
 *  lateness, console position). */
#define HC_SCHEDULE_INFO 20
/** HC_API_CONFIG(gpa struct partita_api_config) -> 0: the caller's own
 *  api_* settings from the config. */
#define HC_API_CONFIG 21
/** HC_API_FILE(PARTITA_API_FILE_*, gpa buf, len) -> bytes copied: one of the
 *  caller's own api_* files, whole; -E_NOENT if the config names none,
 *  -E_RANGE if len is smaller than the file (partita_api_config has the
 *  sizes), -E_NOTSUP for a file larger than PARTITA_API_FILE_MAX. */
#define HC_API_FILE 22
#define PARTITA_API_FILE_MAX 65536

/**
 * ABI 1.2: HC_PARTITION_MEMORY(id, gpa struct partita_memory_info) -> 0: a
 * partition's memory by layer (images and instances, README).  A partition
 * may ask about itself; about another only with `control` (else -E_PERM);
 * -E_NOENT for no such id.
 */
#define HC_PARTITION_MEMORY 23

struct partita_memory_info {
	uint64_t mem_size;	/* bytes the partition sees as its RAM */
	uint64_t shared_pages;	/* of them, still the image's shared pages */
	uint64_t private_pages; /* its own (shared + private = mem_size) */
	uint64_t budget_pages;	/* reserved for private copies (cow_budget) */
	uint64_t copy_pages;	/* copies made since its start (of the private) */
	uint64_t cow_faults;	/* copies its writes took, over all its boots */
	uint64_t image_hash;	/* FNV-1a 64 of its image's shared pages at load */
	uint32_t instance;	/* 1 if it is an instance of a shared image */
	uint32_t reserved;
	uint64_t hv_free_pages; /* the hypervisor's free pages now (all CPUs) */
};
_Static_assert(sizeof(struct partita_memory_info) == 72, "ABI");

/**
 * ABI 1.2, with `control` only: run-time partitions in the config's
 * [slot NAME] sections.  HC_PARTITION_CREATE(gpa struct partita_create) ->
 * the new partition's id (the slot's): a pv partition from a loaded image,
 * sharing its pages with every other instance of it, named and with a
 * cmdline, started in the slot's windows.  -E_NOENT: no such slot or
 * image; -E_BUSY: the slot holds a partition; -E_EXIST: the name is taken;
 * -E_INVAL: a bad name, or the image is not a pv ELF that fits the slot;
 * -E_NOMEM: no memory.  A failed call leaves nothing made.
 * HC_PARTITION_DESTROY(id) -> 0: stops a partition created in a slot and
 * returns all its memory; the slot is free again.  -E_NOENT: no such
 * partition (or an empty slot); -E_INVAL: not made in a slot, or the caller.
 */
#define HC_PARTITION_CREATE 24
#define HC_PARTITION_DESTROY 25

struct partita_create {
	char name[PARTITA_NAME_MAX]; /* [a-z0-9_-], 1..31 characters */
	char image[64];		     /* a loaded image's file name */
	char slot[PARTITA_NAME_MAX];
	char cmdline[256];
};
_Static_assert(sizeof(struct partita_create) == 384, "ABI");

#define PARTITA_SCHEDULE_MAX_WINDOWS 128 /* CONFIG_MAX_PARTITIONS * CONFIG_MAX_WINDOWS */
#define PARTITA_SCHEDULE_MAX_PARTITIONS 16

/** One window of the schedule: on `cpu`, from offset_ns for length_ns in
 *  every major frame, owned by partition `partition` (its id). */
struct partita_schedule_window {
	uint32_t partition;
	uint32_t cpu;
	uint64_t offset_ns;
	uint64_t length_ns;
};
_Static_assert(sizeof(struct partita_schedule_window) == 24, "ABI");

/** Counters of one partition that partita_partition_stats lacks: its
 *  window-start lateness as the scheduler measured it (the delay between a
 *  window's planned and actual start), and how far its console has come. */
struct partita_partition_counters {
	uint64_t late_sum_ns;	     /* over every window start since boot */
	uint64_t late_starts;	     /* window starts counted in late_sum_ns */
	uint64_t late_max_last_s_ns; /* the worst start in the last whole second
	                              * of HC_TIME ([now/1s - 1, now/1s) s); 0 if
	                              * none */
	uint64_t console_total;	     /* bytes ever put into its console's tail
	                              * (HC_CONSOLE_READ's last bytes end here;
	                              * carriage returns are not counted) */
};
_Static_assert(sizeof(struct partita_partition_counters) == 32, "ABI");

/** HC_SCHEDULE_INFO's answer.  Every CPU's frame has the same length and
 *  starts at the same epoch: frame k starts at epoch_ns + k * frame_ns. */
struct partita_schedule_info {
	uint64_t frame_ns;
	uint64_t epoch_ns;
	uint64_t now_ns;	  /* HC_TIME when this was written */
	uint32_t window_count;	  /* windows[], by CPU, then by offset */
	uint32_t partition_count; /* counters[], by partition id */
	struct partita_schedule_window windows[PARTITA_SCHEDULE_MAX_WINDOWS];
	struct partita_partition_counters counters[PARTITA_SCHEDULE_MAX_PARTITIONS];
};
_Static_assert(sizeof(struct partita_schedule_info) == 3616, "ABI");

#define PARTITA_API_TLS (1u << 0)	  /* api_tls = yes (the default) */
#define PARTITA_API_PUBLIC_READ (1u << 1) /* api_public_read = yes */

#define PARTITA_API_FILE_CERT 0	 /* api_cert */
#define PARTITA_API_FILE_KEY 1	 /* api_key */
#define PARTITA_API_FILE_TOKEN 2 /* api_token */
#define PARTITA_API_FILES 3

/** HC_API_CONFIG's answer: flags, and the size of each api_* file (0 when
 *  the config names none), indexed by PARTITA_API_FILE_*. */
struct partita_api_config {
	uint32_t flags; /* PARTITA_API_* */
	uint32_t reserved;
	uint64_t file_size[PARTITA_API_FILES];
};
_Static_assert(sizeof(struct partita_api_config) == 32, "ABI");

#endif
