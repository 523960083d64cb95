/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The hypercall ABI of kernel/abi/partita.h, for paravirtual partitions.
 * One table lists every call: its handler and the capability it needs; a
 * number the table does not list is -E_NOSYS, and a call whose capability
 * the caller lacks is -E_PERM, both before any argument is looked at.
 *
 * Each handler first checks every argument without side effects, then acts
 * (seL4's decode/invoke split): a call that returns an error has changed
 * nothing.  Pointers are guest-physical and must lie inside the caller's RAM
 * (guest_range_check); lengths are bounded, so no call costs more than a
 * bounded time (kernel/console.h for console writes).
 */
#include "kernel/hypercall.h"
#include "arch/x86/clock.h"
#include "arch/x86/cpu.h"
#include "arch/x86/smp.h"
#include "drivers/pci.h"
#include "kernel/channel.h"
#include "kernel/control_info.h"
#include "kernel/devirq.h"
#include "kernel/errno.h"
#include "kernel/guest_mem.h"
#include "kernel/image.h"
#include "kernel/lib/format.h"
#include "kernel/lib/string.h"
#include "kernel/mm.h"
#include "kernel/partition.h"
#include "kernel/pv_image.h"
#include "kernel/virt.h"

#define CONSOLE_WRITE_MAX 4096	/* bytes looked at by one HC_CONSOLE_WRITE */
#define EXIT_BUDGET_NS 10000ULL /* what a call whose work the guest sizes may take */

/* Returns a pointer to [gpa, gpa+len) of p's RAM, or NULL. */
static void *guest_buffer(struct partition *p, u64 gpa, u64 len)
{
	if (guest_range_check(gpa, len, PV_RAM_START, p->ram_size))
		return NULL;
	return partition_gpa_range(p, gpa, len, true);
}

/* The same, for a buffer the call only reads. */
static const void *guest_input(struct partition *p, u64 gpa, u64 len)
{
	if (guest_range_check(gpa, len, PV_RAM_START, p->ram_size))
		return NULL;
	return partition_gpa_range(p, gpa, len, false);
}

/* A call's arguments are the caller's RDI, RSI, RDX and R10 (partita.h),
 * read where the exit left them: nothing is copied on the way in. */
static inline u64 arg0(const struct guest_regs *a)
{
	return a->rdi;
}

static inline u64 arg1(const struct guest_regs *a)
{
	return a->rsi;
}

static inline u64 arg2(const struct guest_regs *a)
{
	return a->rdx;
}

static inline u64 arg3(const struct guest_regs *a)
{
	return a->r10;
}

static s64 hc_version(struct partition *p, const struct guest_regs *a)
{
	(void)p;
	(void)a;
	return PARTITA_ABI_VERSION;
}

/*
 * Takes what the partition's console queue has room for, for at most
 * EXIT_BUDGET_NS (or until its run ends); the lines go out in its own
 * windows (the scheduler sends them before it re-enters the partition) or
 * in idle time, never in another's.  A full queue takes nothing: -E_AGAIN,
 * and the partition gives up the rest of its window.
 */
static s64 hc_console_write(struct partition *p, const struct guest_regs *a)
{
	u64 n = MIN(arg1(a), (u64)CONSOLE_WRITE_MAX);
	const char *data = guest_input(p, arg0(a), n);

	if (!data)
		return -E_FAULT;
	u64 now = rdtsc(), budget = now + clock_ns_to_tsc(EXIT_BUDGET_NS);
	u64 until = MIN(budget, p->run_until_tsc > now ? p->run_until_tsc : now);
	u64 taken = console_write(&p->console, data, n, until);
	p->stats.console_bytes += taken;
	if (n && !taken) {
		partition_yield(p);
		return -E_AGAIN;
	}
	return (s64)taken;
}

static s64 hc_time(struct partition *p, const struct guest_regs *a)
{
	(void)p;
	(void)a;
	return (s64)clock_now_ns();
}

static s64 hc_yield(struct partition *p, const struct guest_regs *a)
{
	(void)a;
	partition_yield(p);
	return 0;
}

static s64 hc_wait(struct partition *p, const struct guest_regs *a)
{
	return partition_wait(p, arg0(a));
}

static s64 hc_event_signal(struct partition *p, const struct guest_regs *a)
{
	u32 bit;
	struct partition *peer = channel_peer_event(p, arg0(a), &bit);

	if (!peer)
		return -E_NOENT;
	partition_signal(peer, bit);
	return 0;
}

static s64 hc_partition_info(struct partition *p, const struct guest_regs *a)
{
	struct partita_partition_info *out = guest_buffer(p, arg0(a), sizeof(*out));

	if (!out)
		return -E_FAULT;
	partition_info(p, out);
	return 0;
}

static s64 hc_shutdown(struct partition *p, const struct guest_regs *a)
{
	char why[48];

	snprintf(why, sizeof(why), "exited with code %lld", (long long)(s64)arg0(a));
	partition_exit(p, (s64)arg0(a), why);
	return 0; /* not seen: the partition has ended */
}

/* Configuration space of the caller's own devices only.  The BARs and the
 * expansion ROM stay where the firmware put them: they are mapped into the
 * partition at those addresses. */
static s64 pci_access(struct partition *p, u64 index, u64 offset, u64 size, u64 value, bool write)
{
	unsigned limit = pci_has_ecam() ? 4096 : 256;

	if (index >= p->device_count)
		return -E_NOENT;
	if ((size != 1 && size != 2 && size != 4) || offset >= limit || offset % size)
		return -E_INVAL;
	const struct pci_device *d = p->devices[index];
	if (!write)
		return pci_read(d, (unsigned)offset, (unsigned)size);
	if ((d->header_type & 0x7f) == 0 &&
	    ((offset >= 0x10 && offset < 0x28) || (offset >= 0x30 && offset < 0x34)))
		return -E_PERM;
	if (!devirq_config_write_allowed(d, (unsigned)offset, (unsigned)size))
		return -E_PERM; /* its MSI/MSI-X: the hypervisor's (kernel/devirq.h) */
	pci_write(d, (unsigned)offset, (unsigned)size, (u32)value);
	return 0;
}

static s64 hc_pci_read(struct partition *p, const struct guest_regs *a)
{
	return pci_access(p, arg0(a), arg1(a), arg2(a), 0, false);
}

static s64 hc_pci_write(struct partition *p, const struct guest_regs *a)
{
	return pci_access(p, arg0(a), arg1(a), arg2(a), arg3(a), true);
}

static s64 hc_partition_list(struct partition *p, const struct guest_regs *a)
{
	u64 count = arg1(a);

	if (count == 0)
		return partition_count;
	count = MIN(count, (u64)partition_count);
	struct partita_partition_info *out = guest_buffer(p, arg0(a), count * sizeof(*out));
	if (!out)
		return -E_FAULT;
	for (u64 i = 0; i < count; i++)
		partition_info(&partitions[i], &out[i]);
	return (s64)count;
}

/* How long a control call waits for the target partition's CPU. */
#define CTL_TIMEOUT_NS 50000000ULL /* 50 ms */

struct stats_request {
	struct partition *t;
	struct partita_partition_stats stats;
};

static void stats_snapshot(void *arg)
{
	struct stats_request *r = arg;

	r->stats = r->t->stats;
	r->stats.cpu_time_ns = clock_tsc_to_ns(r->t->cpu_tsc);
}

static s64 hc_partition_stats(struct partition *p, const struct guest_regs *a)
{
	struct partition *t = arg0(a) < partition_count ? &partitions[arg0(a)] : NULL;
	struct partita_partition_stats *out;

	if (!t)
		return -E_NOENT;
	out = guest_buffer(p, arg1(a), sizeof(*out));
	if (!out)
		return -E_FAULT;
	/* A consistent snapshot: taken by t's CPU, between two of its
	 * decisions. */
	struct stats_request r = { .t = t };
	int err = smp_call(t->cfg->cpu, stats_snapshot, &r, CTL_TIMEOUT_NS);
	if (err)
		return err;
	*out = r.stats;
	return 0;
}

static s64 hc_console_read(struct partition *p, const struct guest_regs *a)
{
	struct partition *t = arg0(a) < partition_count ? &partitions[arg0(a)] : NULL;
	u64 len = MIN(arg2(a), (u64)CONSOLE_TAIL);
	char *out;

	if (!t)
		return -E_NOENT;
	out = guest_buffer(p, arg1(a), len);
	if (!out)
		return -E_FAULT;
	return (s64)console_read_tail(&t->console, out, len);
}

struct ctl_request {
	struct partition *p, *t;
	u64 op;
	s64 result;
};

/* Runs on t's CPU (smp_call). */
static void ctl_apply(void *arg)
{
	struct ctl_request *r = arg;
	struct partition *p = r->p, *t = r->t;
	u64 op = r->op;
	bool running = partition_is_live(t) || t->state == PARTITION_STARTING;

	r->result = 0;
	if (op == PARTITION_CTL_START && running) {
		r->result = -E_BUSY;
		return;
	}
	if (running && op != PARTITION_CTL_START) {
		char why[64];
		snprintf(why, sizeof(why), "%s by partition %s",
			 op == PARTITION_CTL_STOP ? "stopped" : "restarted", p->cfg->name);
		partition_stop(t, why);
	}
	if (op == PARTITION_CTL_RESTART)
		partition_request_restart(t, p->cfg->name);
	else if (op == PARTITION_CTL_START)
		partition_request_start(t, p->cfg->name);
}

static s64 hc_partition_ctl(struct partition *p, const struct guest_regs *a)
{
	struct partition *t = arg0(a) < partition_count ? &partitions[arg0(a)] : NULL;
	u64 op = arg1(a);

	if (!t)
		return -E_NOENT;
	if (op != PARTITION_CTL_STOP && op != PARTITION_CTL_START && op != PARTITION_CTL_RESTART)
		return -E_INVAL;
	if (t == p)
		return -E_INVAL; /* a partition ends itself with HC_SHUTDOWN */
	if (t->state == PARTITION_UNUSABLE)
		return -E_NOTSUP; /* it could not be created */
	/* t's state belongs to its CPU: the change is made there (smp_call),
	 * at once, as a kick ends what that CPU does. */
	struct ctl_request r = { p, t, op, 0 };
	int err = smp_call(t->cfg->cpu, ctl_apply, &r, CTL_TIMEOUT_NS);
	return err ? err : r.result;
}

/* The three calls of ABI 1.1 are kernel/control_info.c's. */
static s64 hc_schedule_info(struct partition *p, const struct guest_regs *a)
{
	return control_info_schedule(p, arg0(a));
}

static s64 hc_api_config(struct partition *p, const struct guest_regs *a)
{
	return control_info_api_config(p, arg0(a));
}

static s64 hc_api_file(struct partition *p, const struct guest_regs *a)
{
	return control_info_api_file(p, arg0(a), arg1(a), arg2(a));
}

/* ABI 1.2: a partition's memory by layer (kernel/image.h).  The layer's
 * counts change only on the partition's own CPU; read from another, they
 * may be one copy behind. */
static s64 hc_partition_memory(struct partition *p, const struct guest_regs *a)
{
	struct partition *t = arg0(a) < partition_count ? &partitions[arg0(a)] : NULL;
	struct partita_memory_info *out;
	u64 shared, priv, budget;

	/* Without `control`, another id is refused before it is looked up:
	 * the answer must not tell which ids exist. */
	if (t != p && !(p->cfg->caps & CAP_CONTROL))
		return -E_PERM;
	if (!t)
		return -E_NOENT;
	out = guest_buffer(p, arg1(a), sizeof(*out));
	if (!out)
		return -E_FAULT;
	image_counts(t, &shared, &priv, &budget);
	memset(out, 0, sizeof(*out));
	out->mem_size = t->ram_size;
	out->shared_pages = shared;
	out->private_pages = priv;
	out->budget_pages = budget;
	out->copy_pages = t->layer.used;
	out->cow_faults = t->layer.cow_faults;
	out->image_hash = t->layer.image ? t->layer.image->hash : 0;
	out->instance = t->layer.image != NULL;
	struct memory_stats ms;
	memory_get_stats(&ms);
	out->hv_free_pages = ms.free_bytes >> PAGE_SHIFT;
	return 0;
}

/* A name as the config allows: [a-z0-9_-], 1..31 characters, terminated. */
static bool good_name(const char *s, size_t size)
{
	size_t n = strnlen(s, size);

	if (n == 0 || n >= size || n > CONFIG_NAME_MAX - 1)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '_' ||
		      s[i] == '-'))
			return false;
	return true;
}

/* A partition's name or a slot's: one namespace. */
static bool name_taken(const char *name)
{
	for (unsigned i = 0; i < partition_count; i++)
		if (!strcmp(partitions[i].cfg->name, name) ||
		    (partition_is_slot(&partitions[i]) &&
		     !strcmp(partition_slot_name(&partitions[i]), name)))
			return true;
	return false;
}

struct create_request {
	struct partition *p, *slot;
	const struct partita_create *req;
	s64 result;
};

/* Runs on the slot's CPU (smp_call): its state belongs to that CPU. */
static void create_apply(void *arg)
{
	struct create_request *r = arg;
	int err = partition_create_in_slot(r->slot, r->req->name, r->req->image, r->req->cmdline,
					   r->p->cfg->name);

	r->result = err ? (s64)err : (s64)r->slot->id;
}

/* ABI 1.2: a partition from a loaded image into a free slot. */
static s64 hc_partition_create(struct partition *p, const struct guest_regs *a)
{
	const struct partita_create *in = guest_input(p, arg0(a), sizeof(*in));
	struct partita_create req;

	if (!in)
		return -E_FAULT;
	req = *in; /* the guest cannot change it under the checks */
	if (!good_name(req.name, sizeof(req.name)) || !good_name(req.slot, sizeof(req.slot)) ||
	    strnlen(req.image, sizeof(req.image)) >= sizeof(req.image) ||
	    strnlen(req.cmdline, sizeof(req.cmdline)) >= sizeof(req.cmdline))
		return -E_INVAL;
	struct partition *slot = NULL;
	for (unsigned i = 0; i < partition_count && !slot; i++)
		if (partition_is_slot(&partitions[i]) &&
		    !strcmp(partition_slot_name(&partitions[i]), req.slot))
			slot = &partitions[i];
	if (!slot)
		return -E_NOENT;
	if (name_taken(req.name))
		return -E_EXIST;
	struct create_request r = { p, slot, &req, 0 };
	int err = smp_call(slot->cfg->cpu, create_apply, &r, CTL_TIMEOUT_NS);
	return err ? err : r.result;
}

struct destroy_request {
	struct partition *p, *t;
	s64 result;
};

static void destroy_apply(void *arg)
{
	struct destroy_request *r = arg;

	r->result = partition_destroy_in_slot(r->t, r->p->cfg->name);
}

static s64 hc_partition_destroy(struct partition *p, const struct guest_regs *a)
{
	struct partition *t = arg0(a) < partition_count ? &partitions[arg0(a)] : NULL;

	if (!t)
		return -E_NOENT;
	if (!partition_is_slot(t) || t == p)
		return -E_INVAL;
	struct destroy_request r = { p, t, 0 };
	int err = smp_call(t->cfg->cpu, destroy_apply, &r, CTL_TIMEOUT_NS);
	return err ? err : r.result;
}

/* The calls, by number.  caps: what the caller must hold (CAP_*); costly:
 * 1 + its slot in partition.hc_cost_tsc for a call that copies kilobytes
 * (see costly_call), 0 for the others. */
static const struct {
	s64 (*fn)(struct partition *p, const struct guest_regs *a);
	u32 caps;
	u8 costly;
} calls[] = {
	[HC_VERSION] = { hc_version, 0, 0 },
	[HC_CONSOLE_WRITE] = { hc_console_write, 0, 0 },
	[HC_TIME] = { hc_time, 0, 0 },
	[HC_YIELD] = { hc_yield, 0, 0 },
	[HC_WAIT] = { hc_wait, 0, 0 },
	[HC_EVENT_SIGNAL] = { hc_event_signal, 0, 0 },
	[HC_PARTITION_INFO] = { hc_partition_info, 0, 0 },
	[HC_SHUTDOWN] = { hc_shutdown, 0, 0 },
	[HC_PCI_READ] = { hc_pci_read, 0, 0 },
	[HC_PCI_WRITE] = { hc_pci_write, 0, 0 },
	[HC_PARTITION_LIST] = { hc_partition_list, CAP_CONTROL, 2 },
	[HC_PARTITION_STATS] = { hc_partition_stats, CAP_CONTROL, 0 },
	[HC_CONSOLE_READ] = { hc_console_read, CAP_CONTROL, 1 },
	[HC_PARTITION_CTL] = { hc_partition_ctl, CAP_CONTROL, 0 },
	[HC_SCHEDULE_INFO] = { hc_schedule_info, CAP_CONTROL, 3 },
	[HC_API_CONFIG] = { hc_api_config, CAP_CONTROL, 0 },
	[HC_API_FILE] = { hc_api_file, CAP_CONTROL, 4 },
	[HC_PARTITION_MEMORY] = { hc_partition_memory, 0, 0 },
	[HC_PARTITION_CREATE] = { hc_partition_create, CAP_CONTROL, 0 },
	[HC_PARTITION_DESTROY] = { hc_partition_destroy, CAP_CONTROL, 0 },
};

bool hypercall_needs(u64 nr, u32 *caps)
{
	if (nr >= ARRAY_SIZE(calls) || !calls[nr].fn)
		return false;
	*caps = calls[nr].caps;
	return true;
}

_Static_assert(HC_COSTLY_CALLS == 4, "partition.hc_cost_tsc has a slot per costly call");

/*
 * A call that copies kilobytes (a console tail, the schedule, an API file)
 * costs tens of microseconds where instructions are slow (an emulator).  So
 * that it never runs past the caller's run into a neighbour's window, it is
 * made only if what it took before fits before the run's end; else it
 * answers -E_AGAIN (the ABI's "try again in your next window") and is made
 * at the next try whatever the time, so it always completes.  What it took
 * is learnt per partition and call, and forgotten slowly.
 */
static s64 costly_call(struct partition *p, u64 nr, const struct guest_regs *args)
{
	u64 *cost = &p->hc_cost_tsc[calls[nr].costly - 1];
	u64 start = rdtsc();

	if (!p->hc_deferred && p->run_until_tsc && start + *cost > p->run_until_tsc) {
		p->hc_deferred = true;
		return -E_AGAIN;
	}
	p->hc_deferred = false;
	s64 r = calls[nr].fn(p, args);
	u64 took = rdtsc() - start;
	*cost = took > *cost ? took : *cost - *cost / 16;
	return r;
}

/* The table lookup, inlined into both entry points below. */
static inline s64 dispatch(struct partition *p, u64 nr, const struct guest_regs *args)
{
	if (nr >= ARRAY_SIZE(calls) || !calls[nr].fn)
		return -E_NOSYS;
	/* Most calls need no capability and copy little: one test. */
	if (calls[nr].caps | calls[nr].costly) {
		if ((calls[nr].caps & p->cfg->caps) != calls[nr].caps)
			return -E_PERM;
		if (calls[nr].costly)
			return costly_call(p, nr, args);
	}
	return calls[nr].fn(p, args);
}

s64 hypercall_dispatch(struct partition *p, u64 nr, u64 a0, u64 a1, u64 a2, u64 a3)
{
	const struct guest_regs args = { .rdi = a0, .rsi = a1, .rdx = a2, .r10 = a3 };

	return dispatch(p, nr, &args);
}

void hypercall_exit(struct partition *p, const struct vm_exit *e)
{
	struct guest_regs *r = &p->vcpu.regs;

	/* DESIGN.md: hypercalls from guest user mode are undefined. */
	if (r->cpl != 0) {
		virt->inject(&p->vcpu, EVENT_EXCEPTION, VECTOR_UD, false, 0);
		return;
	}
	/* RIP moves past VMCALL/VMMCALL before the call (no handler reads
	 * it), so nothing of e is needed once the handler has run. */
	r->rip += e->insn_len;
	r->rax = (u64)dispatch(p, r->rax, r);
}
