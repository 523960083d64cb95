/*
 * Partition life cycle: creation from the config, start and restart from
 * the image, stop on exit or fault (layout in partition.h).
 */
#include "kernel/partition.h"
#include "arch/x86/clock.h"
#include "arch/x86/pagetable.h"
#include "kernel/errno.h"
#include "drivers/pci.h"
#include "kernel/channel.h"
#include "arch/x86/fpu.h"
#include "arch/x86/vcpu_state.h"
#include "kernel/guest_mem.h"
#include "kernel/hvm/platform.h"
#include "kernel/lib/format.h"
#include "kernel/lib/string.h"
#include "kernel/log.h"
#include "kernel/mm.h"
#include "kernel/sched.h"

#include <stdarg.h>

struct partition partitions[CONFIG_MAX_PARTITIONS];
unsigned partition_count;

void *partition_gpa_ptr(struct partition *p, u64 gpa)
{
	return phys_to_virt(hpa(p->ram.v + gpa));
}

struct partition *partition_by_id(u32 id)
{
	return id < partition_count ? &partitions[id] : NULL;
}

static void copy_segment(void *ctx, u64 paddr, const void *data, u64 filesz, u64 memsz)
{
	struct partition *p = ctx;

	(void)memsz; /* the rest of the segment (bss) is already zero */
	memcpy(partition_gpa_ptr(p, paddr), data, filesz);
}

/* The guest's page tables are built in its own RAM, from PV_PAGE_TABLE_GPA
 * up to the image, with the same builder as the core's tables: a bump
 * allocator hands out the pages. */
struct guest_pt_area {
	struct partition *p;
	u64 next; /* gpa of the next free table page */
};

static void *guest_pt_alloc(void *ctx, u64 *phys)
{
	struct guest_pt_area *a = ctx;

	if (a->next >= PV_IMAGE_BASE)
		return NULL;
	*phys = a->next;
	a->next += PAGE_SIZE;
	return memset(partition_gpa_ptr(a->p, *phys), 0, PAGE_SIZE);
}

static void *guest_pt_virt(void *ctx, u64 phys)
{
	struct guest_pt_area *a = ctx;

	return partition_gpa_ptr(a->p, phys);
}

/* Identity map of RAM and channels (2 MiB pages) and of the memory BARs of
 * its devices (uncached), wherever the firmware put them. */
static int build_guest_page_tables(struct partition *p)
{
	struct guest_pt_area area = { p, PV_PAGE_TABLE_GPA };
	const struct pt_ops ops = { guest_pt_alloc, guest_pt_virt, NULL, &area };
	struct pagetable pt;
	int err;

	if ((err = pt_init(&pt, &pt_format_x86, &ops)) ||
	    (err = pt_map(&pt, 0, 0, ALIGN_UP(p->map_end, LARGE_PAGE_SIZE), PTE_P | PTE_W, true)))
		return err;
	for (unsigned d = 0; d < p->device_count; d++) {
		for (unsigned b = 0; b < 6; b++) {
			const struct pci_bar *bar = &p->devices[d]->bars[b];
			if (bar->kind != PCI_BAR_MEM32 && bar->kind != PCI_BAR_MEM64)
				continue;
			u64 start = ALIGN_DOWN(bar->base, LARGE_PAGE_SIZE);
			u64 end = ALIGN_UP(bar->base + bar->size, LARGE_PAGE_SIZE);
			for (u64 a = start; a < end; a += LARGE_PAGE_SIZE) {
				err = pt_map(&pt, a, a, LARGE_PAGE_SIZE, PTE_P | PTE_W | PTE_PCD | PTE_PWT,
					     true);
				if (err && err != -E_EXIST) /* two BARs in one 2 MiB page */
					return err;
			}
		}
	}
	return 0;
}

static void fill_start_info(struct partition *p)
{
	struct partita_start_info *si = phys_to_virt(p->start_info);
	const struct config_partition *c = p->cfg;

	memset(si, 0, PAGE_SIZE);
	si->magic = PARTITA_START_MAGIC;
	si->abi_version = PARTITA_ABI_VERSION;
	si->partition_id = p->id;
	si->flags = PARTITA_FEATURE_CHANNELS | (c->caps & CAP_CONTROL ? PARTITA_FEATURE_CONTROL : 0);
	strlcpy(si->name, c->name, sizeof(si->name));
	si->mem_base = 0;
	si->mem_size = p->ram_size;
	si->image_end = p->image_end;
	si->stack_top = p->ram_size;
	si->tsc_hz = clock_tsc_hz();
	si->boot_count = p->boot_count;
	si->frame_ns = sched_frame_ns();
	si->epoch_ns = sched_epoch_ns();
	si->channel_count = partition_channel_count(p);
	for (unsigned k = 0; k < si->channel_count; k++) {
		unsigned side = 0;
		const struct channel *ch = partition_channel(p, k, &side);
		struct partita_channel_info *ci = &si->channels[k];
		strlcpy(ci->name, ch->cfg->name, sizeof(ci->name));
		ci->gpa = ch->gpa[side].v;
		ci->size = ch->size;
		ci->peer = ch->ends[!side]->id;
		ci->side = side;
	}
	strlcpy(si->cmdline, c->cmdline, sizeof(si->cmdline));
	si->dma_offset = p->ram.v;
	si->device_count = p->device_count;
	for (unsigned d = 0; d < p->device_count; d++) {
		const struct pci_device *dev = p->devices[d];
		struct partita_device_info *di = &si->devices[d];
		di->bus = dev->bus;
		di->dev = dev->dev;
		di->fn = dev->fn;
		di->vendor_id = dev->vendor_id;
		di->device_id = dev->device_id;
		di->class_code = dev->class_code;
		for (unsigned b = 0; b < 6; b++) {
			di->bars[b].gpa = dev->bars[b].kind == PCI_BAR_IO ? 0 : dev->bars[b].base;
			di->bars[b].size = dev->bars[b].size;
			di->bars[b].kind = dev->bars[b].kind;
		}
	}
	si->window_count = c->window_count;
	for (unsigned w = 0; w < c->window_count && w < PARTITA_MAX_WINDOWS; w++) {
		si->windows[w].offset_ns = c->windows[w].offset_ns;
		si->windows[w].length_ns = c->windows[w].length_ns;
	}
}

int partition_start(struct partition *p)
{
	const void *image = phys_to_virt(hpa(p->image->phys));

	if (p->cfg->kind == PARTITION_HVM) {
		p->boot_count++;
		if (hvm_partition_start(p))
			return -E_INVAL;
		goto started;
	}

	if (p->cleared < p->ram_size)
		memset(phys_to_virt(p->ram), 0, p->ram_size);
	p->cleared = 0;
	guest_elf_segments(image, copy_segment, p);
	if (build_guest_page_tables(p)) {
		partition_stop(p, PARTITA_STATE_FAULTED,
			       "its page tables do not fit below its image (too many devices or too much memory)");
		return -E_NOMEM;
	}
	p->boot_count++;
	fill_start_info(p);

	virt->vcpu_reset(&p->vcpu, VCPU_MODE_LONG);
	p->vcpu.regs.rip = p->entry;
	p->vcpu.regs.rsp = p->ram_size;
	p->vcpu.regs.rdi = PV_START_INFO_GPA;
	p->vcpu.regs.cr3 = PV_PAGE_TABLE_GPA;
	vcpu_state_reset(&p->vcpu.lazy);

started:
	p->state = PARTITA_STATE_RUNNING;
	p->yielded = p->waiting = p->halt_reported = false;
	p->pending_events = 0;
	p->wait_deadline = 0;
	p->exit_code = -1;
	p->stop_reason[0] = '\0';
	return 0;
}

void partition_stop(struct partition *p, enum partita_state state, const char *reason)
{
	/* Its devices stop writing into its memory before that is reused. */
	for (unsigned d = 0; d < p->device_count; d++)
		pci_write(p->devices[d], 0x04, 2, pci_read(p->devices[d], 0x04, 2) & ~4u);
	console_flush(&p->console);
	p->restart_pending = false;
	p->state = state;
	strlcpy(p->stop_reason, reason, sizeof(p->stop_reason));
	log_guest(LOG_KIND_LIFE, "partition %s stopped: %s", p->cfg->name, reason);
}

void partition_fault(struct partition *p, const char *fmt, ...)
{
	char reason[96];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(reason, sizeof(reason), fmt, ap);
	va_end(ap);
	partition_stop(p, PARTITA_STATE_FAULTED, reason);
	if (p->cfg->on_fault == FAULT_RESTART) {
		p->restarts++;
		partition_request_start(p, NULL);
		log_guest(LOG_KIND_LIFE, "partition %s restarted (restart %u)", p->cfg->name,
			  p->restarts);
	}
}

#define CLEAR_SLICE KiB(4)
#define SLICE_GUESS_NS 20000 /* until one slice was timed */

bool partition_clear_step(struct partition *p, u64 deadline)
{
	u8 *ram = phys_to_virt(p->ram);

	while (p->cleared < p->ram_size) {
		u64 t0 = clock_now_ns();
		u64 slice = p->slice_ns ? p->slice_ns : SLICE_GUESS_NS;
		/* Stop while one more slice surely fits before the deadline. */
		if (t0 + 2 * slice >= deadline)
			return false;
		u64 n = MIN(CLEAR_SLICE, p->ram_size - p->cleared);
		memset(ram + p->cleared, 0, n);
		p->cleared += n;
		/* A running average: one slice stretched by the host (an
		 * emulator descheduled) must not stop all further progress. */
		u64 took = clock_now_ns() - t0;
		p->slice_ns = p->slice_ns ? (3 * p->slice_ns + took) / 4 : took;
	}
	/* What is left (copying the image, building its tables) costs about
	 * as much as clearing the image's size: do it only if that fits. */
	u64 rest = (p->image ? p->image->size / CLEAR_SLICE + 4 : 4) *
		   (p->slice_ns ? p->slice_ns : SLICE_GUESS_NS);
	return clock_now_ns() + 2 * rest < deadline;
}

void partition_request_start(struct partition *p, const char *by)
{
	p->cleared = 0;
	p->restart_pending = true;
	p->start_requester = by;
	p->state = PARTITA_STATE_RUNNING;
}

void partitions_publish_epoch(u64 epoch_ns)
{
	for (unsigned i = 0; i < partition_count; i++) {
		struct partition *p = &partitions[i];
		if (p->cfg && p->cfg->kind == PARTITION_PV && p->start_info.v)
			((struct partita_start_info *)phys_to_virt(p->start_info))->epoch_ns = epoch_ns;
	}
}

void partition_info(const struct partition *p, struct partita_partition_info *out)
{
	memset(out, 0, sizeof(*out));
	out->id = p->id;
	out->state = p->state;
	out->kind = p->cfg->kind;
	out->cpu = p->cfg->cpu;
	strlcpy(out->name, p->cfg->name, sizeof(out->name));
	out->mem_size = p->ram_size;
	out->caps = p->cfg->caps;
	out->restarts = p->restarts;
	out->exit_code = p->exit_code;
}

static const struct boot_module *find_module(const struct boot_info *bi, const char *name)
{
	for (u32 i = 0; i < bi->module_count; i++)
		if (!strncmp(bi->modules[i].name, name, sizeof(bi->modules[i].name)))
			return &bi->modules[i];
	return NULL;
}

/* Allocates and maps everything a partition owns.  On failure, what was
 * allocated stays with the stopped partition (it is not reused). */
static int partition_create(struct partition *p, const struct config_partition *c,
			    const struct boot_info *bi)
{
	const char *why = NULL;
	u64 pages;
	int err;

	p->cfg = c;
	p->state = PARTITA_STATE_STOPPED;
	p->exit_code = -1;
	console_init(&p->console, c->name);
	log_register_console(&p->console);
	if (c->kind == PARTITION_HVM)
		return hvm_partition_create(p, bi);
	if (c->memory < PV_MIN_MEMORY || c->memory > PV_MAX_MEMORY) {
		log_line("partition %s: memory must be between %llu MiB and %llu GiB; left stopped",
			 c->name, (unsigned long long)(PV_MIN_MEMORY >> 20),
			 (unsigned long long)(PV_MAX_MEMORY >> 30));
		return -E_RANGE;
	}
	p->image = find_module(bi, c->image);
	p->ram_size = c->memory;
	if (!p->image ||
	    guest_elf_check(phys_to_virt(hpa(p->image->phys)), p->image->size, PV_IMAGE_BASE,
			    p->ram_size - PV_STACK_SIZE, &p->entry, &p->image_end, &why)) {
		log_line("partition %s: image %s refused: %s; left stopped", c->name, c->image,
			 why ? why : "not loaded");
		return -E_INVAL;
	}

	pages = p->ram_size >> PAGE_SHIFT;
	if ((err = page_alloc(pages, LARGE_PAGE_SIZE >> PAGE_SHIFT, &p->ram)) &&
	    (err = page_alloc(pages, 1, &p->ram))) {
		log_line("partition %s: no %llu MiB of contiguous memory left; left stopped",
			 c->name, (unsigned long long)(p->ram_size >> 20));
		return err;
	}
	hpa_t fpu_pages;
	if ((err = page_alloc(ALIGN_UP(sizeof(struct fpu_state), PAGE_SIZE) >> PAGE_SHIFT, 1,
			      &fpu_pages)))
		return err;
	p->vcpu.lazy.fpu = phys_to_virt(fpu_pages);
	if ((err = page_alloc(1, 1, &p->start_info)) || (err = slat_init(&p->slat)) ||
	    (err = slat_map(&p->slat, gpa(PV_START_INFO_GPA), p->start_info, PAGE_SIZE, SLAT_R)) ||
	    (err = slat_map(&p->slat, gpa(PV_RAM_START), hpa(p->ram.v + PV_RAM_START),
			    p->ram_size - PV_RAM_START, SLAT_RWX)) ||
	    (err = virt->vcpu_create(&p->vcpu, VCPU_MODE_LONG, &p->slat))) {
		log_line("partition %s: cannot build its tables (%s); left stopped", c->name,
			 errno_name(err));
		return err;
	}
	p->vcpu.partition = p;
	return 0;
}

/* Guest page tables map 48-bit (canonical, lower half) addresses. */
#define GUEST_MAX_ADDRESS (1ULL << 47)

static struct pci_device *find_device(const struct config_device *cd)
{
	return cd->by_id ? pci_find_id(cd->vendor_id, cd->device_id)
			 : pci_find_bdf(cd->bus, cd->dev, cd->fn);
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
			if (start < ALIGN_UP(p->map_end, LARGE_PAGE_SIZE) || end > GUEST_MAX_ADDRESS) {
				log_line("partition %s: BAR%u of %02x:%02x.%x at %#llx cannot be mapped "
					 "(it overlaps the partition's memory or lies above 128 TiB)",
					 c->name, b, d->bus, d->dev, d->fn, (unsigned long long)bar->base);
				return -E_RANGE;
			}
			/* Two small BARs may share a page: map page by page. */
			for (u64 a = start; a < end; a += PAGE_SIZE) {
				int err = slat_map(&p->slat, gpa(a), hpa(a), PAGE_SIZE,
						   SLAT_R | SLAT_W | SLAT_UC);
				if (err && err != -E_EXIST)
					return err;
			}
		}
		d->owner = p;
		p->devices[p->device_count++] = d;
		log_line("partition %s: owns PCI device %02x:%02x.%x %04x:%04x (polled, DMA trusted)",
			 c->name, d->bus, d->dev, d->fn, d->vendor_id, d->device_id);
	}
	return 0;
}

unsigned partitions_create(const struct config *cfg, const struct boot_info *bi)
{
	unsigned created = 0;
	bool ok[CONFIG_MAX_PARTITIONS];

	partition_count = cfg->partition_count;
	for (unsigned i = 0; i < cfg->partition_count; i++) {
		partitions[i].id = i;
		ok[i] = partition_create(&partitions[i], &cfg->partitions[i], bi) == 0;
	}
	/* Channels need both ends to exist; each end then maps its channels
	 * before its first start, so its page tables cover them. */
	channels_create(cfg);
	for (unsigned i = 0; i < cfg->partition_count; i++) {
		struct partition *p = &partitions[i];
		int err;
		if (!ok[i])
			continue;
		if (p->cfg->kind == PARTITION_HVM && (partition_channel_count(p) || p->cfg->device_count)) {
			log_line("partition %s: channels and devices of hvm partitions are not supported yet; left stopped",
				 p->cfg->name);
			continue;
		}
		if ((err = channels_map(p, &p->map_end))) {
			log_line("partition %s: cannot map its channels (%s); left stopped",
				 p->cfg->name, errno_name(err));
			continue;
		}
		if (map_devices(p)) {
			log_line("partition %s: left stopped", p->cfg->name);
			continue;
		}
		if (partition_start(p))
			continue;
		created++;
		log_line("partition %s: %llu MiB at host %#llx, entry %#llx, second-level tables %llu pages",
			 p->cfg->name, (unsigned long long)(p->ram_size >> 20),
			 (unsigned long long)p->ram.v, (unsigned long long)p->entry,
			 (unsigned long long)p->slat.pt.table_count);
	}
	return created;
}
