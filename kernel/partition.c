/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The partition life cycle (see partition.h): the one table of allowed state
 * transitions, the functions that make them, the creation sequence with its
 * unwinding, starts done in the partition's own windows, and the queries the
 * scheduler and the control hypercalls use.  Kind-specific steps (loading a
 * paravirtual ELF, booting Linux) are the kind's image hooks (kernel/kind.h),
 * which fill fields and return errors; every state change happens here.
 *
 * Locking: see partition.h.  A partition's state is changed only by the
 * CPU it is pinned to (`cpu =`), so it needs no lock; the one exception is
 * pending_events, which any CPU may OR bits into (atomics) before it kicks
 * the owner CPU (smp_kick), which takes them at its next decision.
 */
#include "kernel/partition.h"
#include "arch/x86/clock.h"
#include "arch/x86/fpu.h"
#include "arch/x86/percpu.h"
#include "arch/x86/smp.h"
#include "arch/x86/vcpu_state.h"
#include "drivers/pci.h"
#include "kernel/channel.h"
#include "kernel/cpu_policy.h"
#include "kernel/devirq.h"
#include "kernel/dma.h"
#include "kernel/image.h"
#include "kernel/errno.h"
#include "kernel/kind.h"
#include "kernel/lib/format.h"
#include "kernel/lib/string.h"
#include "kernel/log.h"
#include "kernel/mm.h"

#include <stdarg.h>

struct partition partitions[CONFIG_MAX_PARTITIONS];
unsigned partition_count;

static const struct config *config; /* end_on_exit, frame */
static u64 epoch_ns;		    /* 0 until the schedule starts */

/* ------------------------------------------------------ the state table -- */

#define S(x) (1u << PARTITION_##x)
#define LIVE (S(STARTING) | S(RUNNABLE) | S(WAITING))

/* allowed[from]: the states a partition may go to from `from`. */
static const u32 allowed[PARTITION_STATE_COUNT] = {
	/* create succeeded */
	[PARTITION_UNUSABLE] = S(STOPPED),
	[PARTITION_STOPPED] = S(STARTING) | S(UNUSABLE),
	/* done, stopped, failed, or asked to start again */
	[PARTITION_STARTING] = S(RUNNABLE) | S(STOPPED) | S(FAULTED) | S(STARTING),
	[PARTITION_RUNNABLE] = S(WAITING) | S(STOPPED) | S(FAULTED) | S(EXITED) | S(STARTING),
	[PARTITION_WAITING] = S(RUNNABLE) | S(STOPPED) | S(FAULTED) | S(EXITED) | S(STARTING),
	[PARTITION_FAULTED] = S(STARTING) | S(UNUSABLE),
	[PARTITION_EXITED] = S(STARTING) | S(UNUSABLE),
};

static const char *const state_names[PARTITION_STATE_COUNT] = {
	"unusable", "stopped", "starting", "runnable", "waiting", "faulted", "exited",
};

bool partition_transition_allowed(enum partition_state from, enum partition_state to)
{
	return from < PARTITION_STATE_COUNT && to < PARTITION_STATE_COUNT &&
	       (allowed[from] >> to & 1);
}

/* The only assignment of `state`: a transition the table does not allow is
 * a hypervisor bug. */
u64 partition_state_changes;

static void set_state(struct partition *p, enum partition_state to)
{
	if (!partition_transition_allowed(p->state, to))
		panic("partition %s: no transition from %s to %s", p->cfg ? p->cfg->name : "?",
		      state_names[p->state], state_names[to]);
	p->state = to;
	__atomic_add_fetch(&partition_state_changes, 1, __ATOMIC_RELEASE);
}

static bool in(const struct partition *p, u32 states)
{
	return states >> p->state & 1;
}

/* ------------------------------------------------------------- helpers -- */

void *partition_gpa_ptr(struct partition *p, u64 gpa)
{
	if (p->layer.image)
		return image_gpa_range(p, gpa, 1, false);
	return phys_to_virt(hpa(p->ram.v + gpa));
}

void *partition_gpa_range(struct partition *p, u64 gpa, u64 len, bool write)
{
	if (p->layer.image)
		return image_gpa_range(p, gpa, len, write);
	return phys_to_virt(hpa(p->ram.v + gpa));
}

struct partition *partition_by_id(u32 id)
{
	return id < partition_count ? &partitions[id] : NULL;
}

bool partition_is_live(const struct partition *p)
{
	return in(p, S(RUNNABLE) | S(WAITING));
}

enum partita_state partition_abi_state(const struct partition *p)
{
	switch (p->state) {
	case PARTITION_STARTING:
	case PARTITION_RUNNABLE:
		return PARTITA_STATE_RUNNING;
	case PARTITION_WAITING:
		return PARTITA_STATE_WAITING;
	case PARTITION_FAULTED:
		return PARTITA_STATE_FAULTED;
	case PARTITION_EXITED:
		return PARTITA_STATE_EXITED;
	default:
		return PARTITA_STATE_STOPPED;
	}
}

void partition_info(const struct partition *p, struct partita_partition_info *out)
{
	memset(out, 0, sizeof(*out));
	out->id = p->id;
	out->state = partition_abi_state(p);
	out->kind = p->cfg->kind;
	out->cpu = p->cfg->cpu;
	strlcpy(out->name, p->cfg->name, sizeof(out->name));
	out->mem_size = p->ram_size;
	out->caps = p->cfg->caps;
	out->restarts = p->restarts;
	out->exit_code = p->exit_code;
}

void partitions_publish_epoch(u64 epoch)
{
	epoch_ns = epoch;
	for (unsigned i = 0; i < partition_count; i++) {
		struct partition *p = &partitions[i];
		if (p->kind == &pv_kind && p->start_info.v)
			((struct partita_start_info *)phys_to_virt(p->start_info))->epoch_ns =
				epoch;
	}
}

bool partitions_all_ended(int *code)
{
	*code = HV_EXIT_OK;
	for (unsigned i = 0; i < partition_count; i++) {
		const struct partition *p = &partitions[i];
		if (in(p, LIVE))
			return false;
		if (p->state == PARTITION_FAULTED)
			*code = HV_EXIT_FAULT;
		else if (p->state == PARTITION_EXITED && p->exit_code && *code == HV_EXIT_OK)
			*code = (int)(p->exit_code & 0x7f);
	}
	images_check(); /* the run is over: outside every window */
	return true;
}

/* ---------------------------------------------------------------- stop -- */

/* What a partition leaves behind when it stops running: its devices stop
 * writing into its memory before that is reused, its unfinished console
 * line goes out. */
static void quiesce(struct partition *p)
{
	devirq_partition_stop(p);
	for (unsigned d = 0; d < p->device_count; d++)
		pci_write(p->devices[d], 0x04, 2, pci_read(p->devices[d], 0x04, 2) & ~4u);
	dma_partition_stop(p);
	console_flush(&p->console);
}

static void stop_as(struct partition *p, enum partition_state to, const char *reason)
{
	quiesce(p);
	set_state(p, to);
	p->yielded = false;
	strlcpy(p->stop_reason, reason, sizeof(p->stop_reason));
	log_guest(LOG_KIND_LIFE, "partition %s stopped: %s", p->cfg->name, reason);
}

void partition_stop(struct partition *p, const char *reason)
{
	if (in(p, LIVE))
		stop_as(p, PARTITION_STOPPED, reason);
}

void partition_fault(struct partition *p, const char *fmt, ...)
{
	char reason[96];
	va_list ap;

	if (!in(p, LIVE))
		return; /* already stopped (two reports of one fault) */
	va_start(ap, fmt);
	vsnprintf(reason, sizeof(reason), fmt, ap);
	va_end(ap);
	stop_as(p, PARTITION_FAULTED, reason);
	if (p->cfg->on_fault == FAULT_RESTART) {
		p->restarts++;
		partition_request_start(p, NULL);
		log_guest(LOG_KIND_LIFE, "partition %s restarted (restart %u)", p->cfg->name,
			  p->restarts);
	}
}

void partition_exit(struct partition *p, s64 code, const char *why)
{
	if (!partition_is_live(p))
		return;
	p->exit_code = code;
	stop_as(p, PARTITION_EXITED, why);
	if (config && config->end_on_exit[0] && !strcmp(config->end_on_exit, p->cfg->name))
		hv_stop((int)(code & 0x7f), "the end_on_exit partition exited");
}

/* --------------------------------------------------------------- start -- */

int partition_request_start(struct partition *p, const char *by)
{
	if (p->state == PARTITION_UNUSABLE)
		return -E_NOTSUP;
	if (partition_is_live(p))
		stop_as(p, PARTITION_STOPPED, "restarted");
	set_state(p, PARTITION_STARTING);
	p->cleared = 0;
	p->start_requester = by;
	return 0;
}

int partition_request_restart(struct partition *p, const char *by)
{
	if (p->state == PARTITION_UNUSABLE)
		return -E_NOTSUP;
	p->restarts++;
	return partition_request_start(p, by);
}

/* The start proper, on RAM that is all zero: the kind loads the image and
 * resets the vCPU; then the partition runs from its first instruction. */
static void start_now(struct partition *p)
{
	const char *why = "error";
	int err;

	if (p->cleared < p->ram_host)
		memset(phys_to_virt(p->ram), 0, p->ram_host);
	p->cleared = 0;
	p->boot_count++;
	p->pending_events = 0;
	p->wait_deadline = 0;
	p->exit_code = -1;
	p->stop_reason[0] = '\0';
	p->hlt_reported = false;
	vcpu_state_reset(&p->vcpu.lazy);
	msr_state_reset(&p->msrs);
	p->vcpu.tsc_offset = 0;
	struct kind_start ks = { config ? config->frame_ns : 0, epoch_ns, dma_offset(p) };
	if ((err = p->kind->image->start(p, &ks, &why))) {
		stop_as(p, PARTITION_FAULTED, why);
		return;
	}
	if ((err = dma_partition_start(p))) {
		stop_as(p, PARTITION_FAULTED,
			err == -E_PERM ?
				"its devices' DMA cannot be isolated and it is not trusted" :
				"its devices cannot be attached to its IOMMU domain");
		return;
	}
	if (devirq_partition_start(p)) {
		stop_as(p, PARTITION_FAULTED, "its devices' interrupts cannot be routed");
		return;
	}
	set_state(p, PARTITION_RUNNABLE);
	p->yielded = false;
}

#define CLEAR_SLICE KiB(4)
#define SLICE_GUESS_NS 20000 /* until one slice was timed */

bool partition_start_step(struct partition *p, u64 deadline)
{
	u8 *ram = phys_to_virt(p->ram);

	if (p->state != PARTITION_STARTING)
		return true;
	while (p->cleared < p->ram_host) {
		u64 t0 = clock_now_ns();
		u64 slice = p->slice_ns ? p->slice_ns : SLICE_GUESS_NS;
		/* Stop while one more slice surely fits before the deadline. */
		if (t0 + 2 * slice >= deadline)
			return false;
		u64 n = MIN(CLEAR_SLICE, p->ram_host - p->cleared);
		memset(ram + p->cleared, 0, n);
		p->cleared += n;
		/* A running average: one slice stretched by the host (an
		 * emulator descheduled) must not stop all further progress. */
		u64 took = clock_now_ns() - t0;
		p->slice_ns = p->slice_ns ? (3 * p->slice_ns + took) / 4 : took;
	}
	/* What is left (copying the image, building its tables) is done in
	 * one piece, only where it fits: it takes what it took the last time
	 * (plus a quarter), or before that, about as much as clearing the
	 * image's size.  Not twice that: with a slow slice (an emulator)
	 * the doubled guess outgrew a 1 ms window, and a partition that
	 * restarts on a fault never started again. */
	u64 slice = p->slice_ns ? p->slice_ns : SLICE_GUESS_NS;
	u64 rest = p->start_ns ? p->start_ns + p->start_ns / 4 :
				 (p->kind->image->start_bytes(p) / CLEAR_SLICE + 4) * slice;
	u64 t0 = clock_now_ns();
	if (t0 + rest + 2 * slice >= deadline) {
		/* Refused, once per window: the estimate shrinks by a quarter,
		 * so a guess larger than any of its windows (a slow emulator,
		 * a short window) is tried in the end, and then measured. */
		p->start_ns = rest - rest / 4;
		return false;
	}
	start_now(p);
	p->start_ns = clock_now_ns() - t0;
	if (p->state == PARTITION_RUNNABLE && p->start_requester)
		log_guest(LOG_KIND_LIFE, "partition %s started by partition %s (boot %llu)",
			  p->cfg->name, p->start_requester, (unsigned long long)p->boot_count);
	return true;
}

/* ------------------------------------------------------ waits and events -- */

u32 partition_wait(struct partition *p, u64 deadline)
{
	u32 ev = __atomic_exchange_n(&p->pending_events, 0, __ATOMIC_SEQ_CST);

	if (ev)
		return ev;
	if (deadline && clock_now_ns() >= deadline)
		return 0;
	set_state(p, PARTITION_WAITING);
	p->wait_deadline = deadline;
	return 0; /* replaced by the events when it wakes */
}

/* pv: RAX, the result of its HC_WAIT, holds the events it wakes with. */
static void wake(struct partition *p, bool with_events)
{
	set_state(p, PARTITION_RUNNABLE);
	p->wait_deadline = 0;
	if (with_events)
		p->vcpu.regs.rax = __atomic_exchange_n(&p->pending_events, 0, __ATOMIC_SEQ_CST);
}

void partition_signal(struct partition *p, u32 bits)
{
	if (p->state == PARTITION_UNUSABLE)
		return;
	__atomic_or_fetch(&p->pending_events, bits, __ATOMIC_SEQ_CST);
	if (p->cfg->cpu != cpu_index()) {
		/* Its CPU wakes it: the kick ends that CPU's halt or its guest's
		 * run, and partition_next_action finds the events. */
		smp_kick(p->cfg->cpu);
		return;
	}
	if (p->state == PARTITION_WAITING && p->kind == &pv_kind)
		wake(p, true);
}

void partition_wake(struct partition *p)
{
	if (p->state == PARTITION_WAITING)
		wake(p, false);
}

void partition_yield(struct partition *p)
{
	if (p->state == PARTITION_RUNNABLE)
		p->yielded = true;
}

void partition_window_begins(struct partition *p)
{
	p->yielded = false;
}

enum partition_action partition_next_action(struct partition *p, u64 now, u64 *until)
{
	*until = 0;
	switch (p->state) {
	case PARTITION_STARTING:
		return PARTITION_START_STEP;
	case PARTITION_WAITING:
		/* Events another CPU raised (partition_signal). */
		if (p->kind == &pv_kind && __atomic_load_n(&p->pending_events, __ATOMIC_SEQ_CST)) {
			wake(p, true);
			return p->yielded ? PARTITION_IDLE : PARTITION_RUN;
		}
		if (!p->wait_deadline || now < p->wait_deadline) {
			*until = p->wait_deadline;
			return PARTITION_IDLE;
		}
		wake(p, p->kind == &pv_kind); /* the deadline: HC_WAIT returns 0 */
		fallthrough;
	case PARTITION_RUNNABLE:
		return p->yielded ? PARTITION_IDLE : PARTITION_RUN;
	default:
		return PARTITION_IDLE;
	}
}

/* ------------------------------------------------------------ creation -- */

/* Guest page tables map 48-bit (canonical, lower half) addresses. */
#define GUEST_MAX_ADDRESS (1ULL << 47)

static struct pci_device *find_device(const struct config_device *cd)
{
	return cd->by_id ? pci_find_id(cd->vendor_id, cd->device_id) :
			   pci_find_bdf(cd->bus, cd->dev, cd->fn);
}

static void release_devices(struct partition *p)
{
	for (unsigned i = 0; i < p->device_count; i++)
		p->devices[i]->owner = NULL;
	p->device_count = 0;
}

/* Passes the config's devices through: their memory BARs are mapped at
 * gpa == hpa, uncached; the device then belongs to p alone. */
static int map_devices(struct partition *p)
{
	const struct config_partition *c = p->cfg;

	for (unsigned i = 0; i < c->device_count; i++) {
		const struct config_device *cd = &c->devices[i];
		struct pci_device *d = find_device(cd);
		if (!d) {
			log_line("partition %s: device on config line %u not found on this machine",
				 c->name, cd->line);
			return -E_NOENT;
		}
		if (d->owner) {
			log_line("partition %s: device %02x:%02x.%x already belongs to %s", c->name,
				 d->bus, d->dev, d->fn, d->owner->cfg->name);
			return -E_BUSY;
		}
		for (unsigned b = 0; b < 6; b++) {
			const struct pci_bar *bar = &d->bars[b];
			if (bar->kind != PCI_BAR_MEM32 && bar->kind != PCI_BAR_MEM64)
				continue;
			u64 start = ALIGN_DOWN(bar->base, PAGE_SIZE);
			u64 end = ALIGN_UP(bar->base + bar->size, PAGE_SIZE);
			if (start < ALIGN_UP(p->map_end, LARGE_PAGE_SIZE) ||
			    end > GUEST_MAX_ADDRESS) {
				log_line("partition %s: BAR%u of %02x:%02x.%x at %#llx cannot be mapped "
					 "(it overlaps the partition's memory or lies above 128 TiB)",
					 c->name, b, d->bus, d->dev, d->fn,
					 (unsigned long long)bar->base);
				return -E_RANGE;
			}
			/* Two small BARs may share a page: map page by page.
			 * The MSI-X table's page is the hypervisor's. */
			for (u64 a = start; a < end; a += PAGE_SIZE) {
				if (devirq_page_hidden(d, a))
					continue;
				int err = slat_map(&p->slat, gpa(a), hpa(a), PAGE_SIZE,
						   SLAT_R | SLAT_W | SLAT_UC);
				if (err && err != -E_EXIST)
					return err;
			}
		}
		d->owner = p;
		p->devices[p->device_count++] = d;
		log_line("partition %s: owns PCI device %02x:%02x.%x %04x:%04x", c->name, d->bus,
			 d->dev, d->fn, d->vendor_id, d->device_id);
	}
	return 0;
}

static u64 pages_of(u64 bytes)
{
	return ALIGN_UP(bytes, PAGE_SIZE) >> PAGE_SHIFT;
}

/*
 * The one creation sequence.  Each step that allocates is undone, in
 * reverse order, when a later one fails; the log names the step and why.
 */
static int partition_create(struct partition *p, const struct boot_info *bi)
{
	const struct config_partition *c = p->cfg;
	struct vcpu_config vcfg = { VCPU_MODE_LONG, false, NULL, 0 };
	const char *why = NULL, *step;
	hpa_t fpu;
	int err;

	step = "checking its image";
	if ((err = p->kind->image->check(p, bi, &vcfg, &why)))
		goto fail;
	if (!p->ram_host)
		p->ram_host = p->ram_size; /* the kind shares nothing */
	step = "allocating its memory";
	why = "not enough contiguous memory left";
	if ((err = page_alloc(pages_of(p->ram_host), LARGE_PAGE_SIZE >> PAGE_SHIFT, &p->ram)) &&
	    (err = page_alloc(pages_of(p->ram_host), 1, &p->ram)))
		goto fail;
	step = "allocating its FPU state";
	why = "no memory left";
	if ((err = page_alloc(pages_of(sizeof(struct fpu_state)), 1, &fpu)))
		goto err_ram;
	p->vcpu.lazy.fpu = phys_to_virt(fpu);
	step = "building its second-level tables";
	if ((err = slat_init(&p->slat)))
		goto err_fpu;
	step = "setting up its platform";
	if ((err = p->kind->image->create(p, &why)))
		goto err_slat;
	step = "mapping its channels";
	why = "no memory for their tables";
	if ((err = channels_map(p, &p->map_end)))
		goto err_kind;
	step = "taking its devices";
	why = "see above";
	if ((err = map_devices(p)))
		goto err_devices;
	step = "isolating its devices' DMA";
	if ((err = dma_partition_create(p)))
		goto err_devices;
	devirq_partition_create(p); /* a device it cannot route stays polled */
	step = "creating its vCPU";
	why = errno_name(err);
	if (vcfg.hvm) {
		vcfg.direct_msrs = cpu_policy_direct_msrs;
		vcfg.direct_msr_count = cpu_policy_direct_msr_count;
	}
	if ((err = virt->vcpu_create(&p->vcpu, &vcfg, &p->slat))) {
		why = errno_name(err);
		goto err_dma;
	}
	p->vcpu.partition = p;
	set_state(p, PARTITION_STOPPED);
	return 0;

err_dma:
	devirq_partition_destroy(p);
	dma_partition_destroy(p);
err_devices:
	release_devices(p);
err_kind:
	p->kind->image->destroy(p);
err_slat:
	slat_destroy(&p->slat);
err_fpu:
	page_free(fpu, pages_of(sizeof(struct fpu_state)));
	p->vcpu.lazy.fpu = NULL;
err_ram:
	page_free(p->ram, pages_of(p->ram_host));
	p->ram.v = 0;
fail:
	log_line("partition %s: %s failed: %s (%s)", c->name, step, why ? why : "error",
		 errno_name(err));
	log_line("partition %s: left stopped", c->name);
	return err;
}

void partition_destroy(struct partition *p)
{
	if (p->state == PARTITION_UNUSABLE)
		return;
	if (in(p, LIVE))
		stop_as(p, PARTITION_STOPPED, "destroyed");
	virt->vcpu_destroy(&p->vcpu);
	vcpu_state_forget(&p->vcpu.lazy);
	devirq_partition_destroy(p);
	dma_partition_destroy(p);
	release_devices(p);
	p->kind->image->destroy(p);
	slat_destroy(&p->slat);
	page_free(virt_to_phys(p->vcpu.lazy.fpu), pages_of(sizeof(struct fpu_state)));
	p->vcpu.lazy.fpu = NULL;
	page_free(p->ram, pages_of(p->ram_host));
	p->ram.v = 0;
	set_state(p, PARTITION_UNUSABLE);
}

/* ----------------------------------------------------- run-time slots -- */

static const struct boot_info *boot; /* the modules: loaded images */
/* What a slot's partition is made of while it holds one (its config
 * entry is the free slot's). */
static struct config_partition slot_cfg[CONFIG_MAX_PARTITIONS];

bool partition_is_slot(const struct partition *p)
{
	return config && p->id < config->partition_count && config->partitions[p->id].slot;
}

const char *partition_slot_name(const struct partition *p)
{
	return config->partitions[p->id].name;
}

/* p as partitions_create leaves it before its creation, with cfg c.  A
 * slot keeps its console (keep_console): what its last partition printed
 * is still queued, each line with its own name, and may be on the wire. */
static void partition_reset(struct partition *p, u32 id, const struct config_partition *c,
			    bool keep_console)
{
	_Static_assert(offsetof(struct partition, console) + sizeof(struct console) ==
			       sizeof(struct partition),
		       "the console is the last field of struct partition");
	memset(p, 0, offsetof(struct partition, console));
	p->id = id;
	p->cfg = c;
	p->kind = kind_of(c->kind);
	p->state = PARTITION_UNUSABLE;
	p->exit_code = -1;
	if (keep_console) {
		p->console.name = c->name;
		return;
	}
	console_init(&p->console, c->name);
	p->console.cpu = c->cpu; /* where its typed input is polled */
	p->console.raw_default = c->raw;
	log_register_console(&p->console);
}

int partition_create_in_slot(struct partition *p, const char *name, const char *image,
			     const char *cmdline, const char *by)
{
	const struct config_partition *free_slot = &config->partitions[p->id];
	struct config_partition *c = &slot_cfg[p->id];
	int err;

	if (p->state != PARTITION_UNUSABLE)
		return -E_BUSY;
	if (!boot_find_module(boot, image))
		return -E_NOENT;
	*c = *free_slot;
	strlcpy(c->name, name, sizeof(c->name));
	strlcpy(c->group, name, sizeof(c->group));
	strlcpy(c->image, image, sizeof(c->image));
	strlcpy(c->cmdline, cmdline, sizeof(c->cmdline));
	c->kind = PARTITION_PV;
	c->shared_image = true;
	partition_reset(p, p->id, c, true);
	if ((err = partition_create(p, boot))) {
		partition_reset(p, p->id, free_slot, true);
		return err;
	}
	partition_request_start(p, by);
	log_guest(LOG_KIND_LIFE, "partition %s created in slot %s from %s by partition %s", name,
		  free_slot->name, image, by);
	return 0;
}

int partition_destroy_in_slot(struct partition *p, const char *by)
{
	const struct config_partition *free_slot = &config->partitions[p->id];

	if (p->state == PARTITION_UNUSABLE)
		return -E_NOENT;
	log_guest(LOG_KIND_LIFE, "partition %s destroyed by partition %s, slot %s free",
		  p->cfg->name, by, free_slot->name);
	partition_destroy(p);
	partition_reset(p, p->id, free_slot, true);
	return 0;
}

unsigned partitions_create(const struct config *cfg, const struct boot_info *bi)
{
	unsigned started = 0;

	config = cfg;
	boot = bi;
	partition_count = cfg->partition_count;
	for (unsigned i = 0; i < cfg->partition_count; i++)
		partition_reset(&partitions[i], i, &cfg->partitions[i], false);
	/* Channels need both ends to exist; each end maps its channels when
	 * it is created, so its page tables cover them. */
	channels_create(cfg);
	for (unsigned i = 0; i < cfg->partition_count; i++) {
		struct partition *p = &partitions[i];
		if (p->cfg->slot) {
			log_line("slot %s: free, cpu %u, %llu MiB, for partitions made at run time",
				 p->cfg->name, p->cfg->cpu,
				 (unsigned long long)(p->cfg->memory >> 20));
			continue;
		}
		if (partition_create(p, bi))
			continue;
		/* The first start: nothing runs yet, so it is done now. */
		partition_request_start(p, NULL);
		start_now(p);
		if (p->state != PARTITION_RUNNABLE)
			continue;
		started++;
		log_line("partition %s: %llu MiB at host %#llx, entry %#llx, second-level tables %llu pages",
			 p->cfg->name, (unsigned long long)(p->ram_size >> 20),
			 (unsigned long long)p->ram.v, (unsigned long long)p->entry,
			 (unsigned long long)p->slat.pt.table_count);
	}
	images_report();
	return started;
}
