/*
 * Partitions: their memory, their vCPU, their life cycle.
 *
 * Guest-physical layout of a paravirtual partition of M bytes (identity
 * mapped by the guest page tables the hypervisor builds):
 *
 *   0x000000  unmapped: a null-pointer access stops the partition
 *   0x001000  start-info page, read-only (hypervisor-owned, not guest RAM)
 *   0x002000  guest page tables (identity maps of RAM, channels and device
 *             BARs), in guest RAM, up to the image
 *   0x100000  the ELF image (PV_IMAGE_BASE), then its bss
 *   ...       free
 *   M         top of the stack (RSP at entry), growing down
 *   M'        channels, from M rounded up to 2 MiB (kernel/channel.h)
 *
 * Host side: the partition's RAM is one contiguous, 2 MiB aligned block from
 * the page allocator, mapped at gpa 0 by its own NPT/EPT; nothing else of the
 * machine is mapped there.
 */
#ifndef PARTITA_PARTITION_H
#define PARTITA_PARTITION_H

#include "boot/boot_info.h"
#include "kernel/abi/partita.h"
#include "kernel/config.h"
#include "kernel/console.h"
#include "kernel/virt.h"

struct pci_device;
struct hvm;

#define PV_START_INFO_GPA 0x1000ULL
#define PV_PAGE_TABLE_GPA 0x2000ULL
#define PV_IMAGE_BASE 0x100000ULL
#define PV_RAM_START 0x2000ULL   /* hypercall pointers must be at or above */
#define PV_STACK_SIZE KiB(64)
#define PV_MIN_MEMORY MiB(2)
#define PV_MAX_MEMORY GiB(16)

struct partition {
	u32 id;
	const struct config_partition *cfg;
	const struct boot_module *image;
	enum partita_state state;

	hpa_t ram;        /* host base of its RAM */
	u64 ram_size;
	hpa_t start_info; /* the page behind PV_START_INFO_GPA */
	struct slat slat;
	struct vcpu vcpu;
	u64 entry;
	u64 image_end;
	u64 map_end;      /* end of RAM and channels: what the guest maps */

	u64 boot_count;
	u32 restarts;
	s64 exit_code;
	char stop_reason[96];

	/* Scheduling state. */
	bool yielded;        /* gave up the rest of the current window */
	bool waiting;        /* in HC_WAIT */
	u64 wait_deadline;   /* ns since boot, 0: none */
	u32 pending_events;
	bool halt_reported;
	bool restart_pending; /* start it at the beginning of its next window */
	const char *start_requester; /* the partition that asked, or NULL */
	u64 cleared;          /* bytes of RAM cleared for the pending start */
	u64 slice_ns;         /* average time clearing one slice takes */

	/* Unmodified guests (kind hvm): kernel/hvm/platform.h. */
	struct hvm *hvm;
	const struct boot_module *initrd;
	int hvm_format;   /* what the image is: a bzImage or Multiboot */
	bool halted;      /* in HLT, waiting for an interrupt */
	bool halted_forever_reported;

	struct pci_device *devices[PARTITA_MAX_DEVICES]; /* passed through */
	unsigned device_count;

	struct partita_partition_stats stats; /* cpu_time_ns: see cpu_tsc */
	u64 cpu_tsc;      /* TSC cycles it ran, as counted by the scheduler */
	u64 exit_max_tsc;   /* its slowest exit handler in this window */
	u64 exit_guard_tsc; /* the same over past windows, decaying (sched.c) */
	struct console console;
};

extern struct partition partitions[CONFIG_MAX_PARTITIONS];
extern unsigned partition_count;

/**
 * Creates every partition of the config: memory, second-level tables, vCPU,
 * image.  A partition that cannot be created is reported and left stopped;
 * the others go on.  Returns the number created.
 */
unsigned partitions_create(const struct config *cfg, const struct boot_info *bi);

/** Starts a created or stopped partition from its image. 0 or an error. */
int partition_start(struct partition *p);

/**
 * Asks for p to be started from its image at the beginning of its next
 * window, so the work (clearing and reloading its memory) is done in its own
 * time, not in the window of whoever asked.  by names the partition that
 * asked (for the log), or NULL for a restart after a fault.
 */
void partition_request_start(struct partition *p, const char *by);

/**
 * Clears the RAM of a partition whose start is pending, in slices, until
 * done or until deadline (ns) is near.  Returns true when all of it is clear
 * and the rest of the start (partition_start, which then skips clearing)
 * fits before the deadline.
 */
bool partition_clear_step(struct partition *p, u64 deadline);

/** Stops a partition: reason is printed as "[hv] partition NAME stopped:
 *  REASON".  state is PARTITA_STATE_FAULTED or PARTITA_STATE_EXITED. */
void partition_stop(struct partition *p, enum partita_state state, const char *reason);

/** Stops for a fault, then restarts if the config says `restart`. */
void partition_fault(struct partition *p, const char *fmt, ...) __printf(2, 3);

/** Writes the schedule's epoch into every paravirtual start-info page. */
void partitions_publish_epoch(u64 epoch_ns);

/** Translates a checked guest-physical address of p's RAM to a pointer. */
void *partition_gpa_ptr(struct partition *p, u64 gpa);

struct partition *partition_by_id(u32 id);

/** Fills the ABI's public view of a partition. */
void partition_info(const struct partition *p, struct partita_partition_info *out);

#endif
