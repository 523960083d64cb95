/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Partitions: their memory, their vCPU and their life cycle.  This file and
 * partition.c own a partition's state: no other file assigns `state` or the
 * scheduling fields (`yielded`, `pending_events`, `wait_deadline`, the start
 * progress); they ask partition.c to change them.
 *
 * Life cycle (partition.c has the one table of allowed transitions):
 *
 *   create ok -> STOPPED --start--> STARTING --its windows clear and load
 *                  ^                    |        its memory--> RUNNABLE
 *                  |                    v                        |  ^
 *                stop              (stop, fault)          wait/halt  wake
 *                                                               v  |
 *   RUNNABLE, WAITING --fault--> FAULTED (--restart--> STARTING)  WAITING
 *                     --exit---> EXITED
 *                     --stop---> STOPPED
 *   create failed -> UNUSABLE (never runs)
 *
 * Guest-physical layout of a paravirtual partition: kernel/pv_image.c; of an
 * unmodified one: kernel/hvm/linux_boot.h.  Host side: a partition's RAM is
 * one contiguous, 2 MiB aligned block from the page allocator, mapped at gpa
 * 0 by its own NPT/EPT; nothing else of the machine is mapped there.
 *
 * Locking: a partition's state is changed only by the CPU it is pinned to
 * (its config's `cpu`), which needs no lock; other CPUs only OR event bits
 * into pending_events (atomics) and kick that CPU (partition.c).
 */
#ifndef PARTITA_PARTITION_H
#define PARTITA_PARTITION_H

#include "boot/boot_info.h"
#include "kernel/abi/partita.h"
#include "kernel/config.h"
#include "kernel/console.h"
#include "kernel/cpu_policy.h"
#include "kernel/image.h"
#include "kernel/virt.h"

struct pci_device;
struct hvm;
struct partition_kind;

/** Where a partition is in its life cycle (partition.c). */
enum partition_state {
	PARTITION_UNUSABLE, /* its creation failed: it never runs */
	PARTITION_STOPPED,  /* created and not started, or stopped by control */
	PARTITION_STARTING, /* a start is under way, in its own windows */
	PARTITION_RUNNABLE, /* runs in its windows */
	PARTITION_WAITING,  /* in HC_WAIT, or (hvm) in HLT: until an event */
	PARTITION_FAULTED,  /* stopped by a fault, not restarted */
	PARTITION_EXITED,   /* ended itself (HC_SHUTDOWN, debug exit, S5) */
	PARTITION_STATE_COUNT
};

/** What the scheduler should do with a partition in its window. */
enum partition_action {
	PARTITION_IDLE,	      /* nothing to run: idle until *until (or the end) */
	PARTITION_START_STEP, /* continue its start (partition_start_step) */
	PARTITION_RUN,	      /* run its vCPU */
};

/* How many hypercalls copy enough to need a time check (hypercall.c). */
#define HC_COSTLY_CALLS 4

struct partition {
	u32 id;
	const struct config_partition *cfg;
	const struct partition_kind *kind;

	/* Life cycle: partition.c only. */
	enum partition_state state;
	bool yielded;		     /* gave up the rest of its current window */
	u32 pending_events;	     /* event bits not yet taken by HC_WAIT */
	u64 wait_deadline;	     /* ns; 0: none */
	u64 cleared;		     /* bytes of RAM cleared for the start under way */
	u64 slice_ns;		     /* what clearing one slice takes, on average */
	u64 start_ns;		     /* what the last start took after its clearing */
	const char *start_requester; /* the partition that asked, or NULL */
	u64 boot_count;
	u32 restarts;
	s64 exit_code;
	char stop_reason[96];

	/* Memory and translation. */
	hpa_t ram; /* host base of its RAM */
	u64 ram_size;
	u64 ram_host;		  /* bytes of that block: ram_size, less an instance's image */
	struct image_layer layer; /* an instance's private layer (kernel/image.h) */
	u64 map_end;		  /* end of RAM and channels: what the guest maps */
	struct slat slat;
	struct vcpu vcpu;

	/* Its image (kind-specific loaders fill these). */
	const struct boot_module *image;
	const struct boot_module *initrd;
	const struct boot_module *modules[CONFIG_MAX_MODULES]; /* hvm: Multiboot modules */
	u64 entry;
	u64 image_end;
	hpa_t start_info;		/* pv: the page behind PV_START_INFO_GPA */
	struct hvm *hvm;		/* hvm: its virtual platform */
	int hvm_format;			/* hvm: a bzImage or a Multiboot kernel */
	bool hlt_reported;		/* HLT with IF=0 was logged in this boot */
	struct msr_state msrs;		/* hvm: the MSRs the policy emulates */
	const struct boot_module *disk; /* hvm: virtio-blk's image, or NULL */
	hpa_t disk_layer;		/* hvm: its copy-on-write layer (0: none) */
	u64 disk_layer_size;

	struct pci_device *devices[PARTITA_MAX_DEVICES]; /* passed through */
	unsigned device_count;

	/* Accounting (the exit path and the scheduler). */
	struct partita_partition_stats stats; /* cpu_time_ns: see cpu_tsc */
	u64 cpu_tsc;			      /* TSC cycles it ran */
	u64 exit_max_tsc;		      /* its slowest exit handler in this window */
	u64 exit_guard_tsc;		      /* the same over past windows, decaying */
	u64 exit_guard_ns;		      /* what the scheduler makes of it (sched.c) */
	u64 run_until_tsc;		      /* when its current run ends (the exit path) */
	/* The copying hypercalls (hypercall.c): what each took at most
	 * (decaying), and whether one was deferred to its next window. */
	u64 hc_cost_tsc[HC_COSTLY_CALLS];
	bool hc_deferred;
	struct console console;
};

extern struct partition partitions[CONFIG_MAX_PARTITIONS];
extern unsigned partition_count;
/** Counts state changes of all partitions (read-only outside partition.c):
 *  who caches a conclusion about the states compares it. */
extern u64 partition_state_changes;

/* ------------------------------------------------------------ creation -- */

/**
 * Creates every partition of the config: memory, second-level tables,
 * channels, devices, vCPU, then starts each one created (its first start is
 * done at once, not in its windows: nothing runs yet).  A partition that
 * cannot be created is reported with the step that failed, everything it
 * had allocated is returned, and it is left UNUSABLE; the others go on.
 * Returns the number of partitions started.
 */
unsigned partitions_create(const struct config *cfg, const struct boot_info *bi);

/**
 * Returns everything p owns to the machine (memory, tables, vCPU, device
 * ownership); p becomes UNUSABLE.  For run-time removal and for a failed
 * creation.
 */
void partition_destroy(struct partition *p);

/** True if p is a config [slot]: free (UNUSABLE) or holding a partition
 *  made at run time. */
bool partition_is_slot(const struct partition *p);

/** The name of slot p in the config (p's own name while it is free). */
const char *partition_slot_name(const struct partition *p);

/**
 * Creates a pv partition named name from the loaded image image, with
 * cmdline, in the free slot p (on p's CPU), and asks for its start (done
 * in the slot's windows).  by names the caller for the log.  Returns 0,
 * -E_BUSY (p holds one), -E_NOENT (no such image), or the creation's
 * error (-E_INVAL for an image that does not fit, -E_NOMEM): then the
 * slot is free again and nothing of the attempt remains.
 */
int partition_create_in_slot(struct partition *p, const char *name, const char *image,
			     const char *cmdline, const char *by);

/** Destroys the partition slot p holds (on p's CPU) and frees the slot.
 *  Returns 0, or -E_NOENT if the slot is free. */
int partition_destroy_in_slot(struct partition *p, const char *by);

/* --------------------------------------------------------- transitions -- */

/**
 * Asks for p to be started (STOPPED, FAULTED, EXITED, or running: then it is
 * stopped first) from its image.  The work (clearing and reloading its
 * memory) is done in its own windows (partition_start_step), never in the
 * window of whoever asked.  by names the partition that asked, for the log,
 * or NULL for a restart after a fault.  Returns 0, or -E_NOTSUP if p is
 * UNUSABLE.
 */
int partition_request_start(struct partition *p, const char *by);

/** partition_request_start, counted as a restart (HC_PARTITION_CTL's
 *  restart; partition_fault counts the restarts after faults). */
int partition_request_restart(struct partition *p, const char *by);

/**
 * Continues the start of a STARTING partition until it is done or until the
 * deadline (ns) is near.  Returns true when p became RUNNABLE (or failed to
 * start: FAULTED), false when there is more to do in a later window.
 */
bool partition_start_step(struct partition *p, u64 deadline);

/** Stops a live partition (not UNUSABLE): "[hv] partition NAME stopped:
 *  REASON"; its devices stop mastering the bus. */
void partition_stop(struct partition *p, const char *reason);

/** Stops p for a fault, then restarts it if its config says `restart`. */
void partition_fault(struct partition *p, const char *fmt, ...) __printf(2, 3);

/** p ended itself with code (why: "exited with code 3", "powered off"):
 *  EXITED; the run ends if p is the config's end_on_exit partition. */
void partition_exit(struct partition *p, s64 code, const char *why);

/**
 * HC_WAIT (pv) or HLT (hvm, deadline 0): if an event is pending, returns its
 * bits at once (and clears them), else p becomes WAITING until
 * partition_signal / partition_wake or the deadline (ns, 0: none), and the
 * call returns 0.
 */
u32 partition_wait(struct partition *p, u64 deadline);

/** Raises event bits for p (a channel's peer, a device): a WAITING pv
 *  partition wakes with them in RAX. */
void partition_signal(struct partition *p, u32 bits);

/** Wakes a WAITING partition without events (hvm: an interrupt came). */
void partition_wake(struct partition *p);

/** p gives up the rest of its current window. */
void partition_yield(struct partition *p);

/** The scheduler: p's window begins (it is no longer yielded). */
void partition_window_begins(struct partition *p);

/* ------------------------------------------------------------- queries -- */

/**
 * What to do with p in its window at time now (ns): run it, continue its
 * start, or idle until *until (its wait deadline; 0 for the window's end).
 * A WAITING partition whose deadline passed is woken here.
 */
enum partition_action partition_next_action(struct partition *p, u64 now, u64 *until);

/** True while p is RUNNABLE or WAITING (it may touch memory and devices). */
bool partition_is_live(const struct partition *p);

/** True if the state machine allows from -> to (partition.c's table). */
bool partition_transition_allowed(enum partition_state from, enum partition_state to);

/** The ABI's name of a state (enum partita_state). */
enum partita_state partition_abi_state(const struct partition *p);

/**
 * Whether the run is over: no partition is RUNNABLE, WAITING or STARTING.
 * If so, *code is the run's exit code: HV_EXIT_FAULT if one faulted, else
 * the first non-zero exit code, else 0.
 */
bool partitions_all_ended(int *code);

/** Writes the schedule's epoch into every paravirtual start-info page. */
void partitions_publish_epoch(u64 epoch_ns);

/** Translates a checked guest-physical address of p's RAM to a pointer. */
void *partition_gpa_ptr(struct partition *p, u64 gpa);

/**
 * The hypervisor's pointer to a checked range [gpa, gpa + len) of p's RAM,
 * to read, or with write to write (an instance's shared image pages in it
 * are copied first: kernel/image.h).  NULL if the range is not contiguous
 * in host memory or its copies do not fit the instance's budget.
 */
void *partition_gpa_range(struct partition *p, u64 gpa, u64 len, bool write);

struct partition *partition_by_id(u32 id);

/** Fills the ABI's public view of a partition. */
void partition_info(const struct partition *p, struct partita_partition_info *out);

#endif
