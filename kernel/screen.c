/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The machine's screen: the framebuffer the firmware left (boot_info.fb)
 * shows the same lines as the serial console, under a status row with the
 * partitions, their state and their CPU (drivers/fbcon.h draws them).
 *
 * It is the console's mirror (kernel/console.h): every byte sent to the
 * UART is also put into the screen's grid, and the drawing is done when
 * the console says, under the console's lock and the drain's deadline:
 *   - in a drain of a partition's queue, in its own time, at most the cells
 *     its own bytes changed (a line that scrolls: a screen's worth) and in
 *     all at most a quarter of its window, so one partition's output never
 *     costs another's time and a partition that prints still runs;
 *   - in idle time, and when the console is synchronous (boot, the end of a
 *     run, a panic), whatever is left.
 * Without a UART (the scratch-register test fails) the screen is the only
 * console.
 *
 * The framebuffer is device memory outside every partition's RAM: partition
 * memory comes from the allocator, which holds only usable RAM (and
 * memory.c keeps the framebuffer out of it even if a firmware calls it
 * usable); it is mapped into a partition only if the config passes its PCI
 * device through, and then the screen stops drawing on it.
 */
#include "kernel/screen.h"
#include "arch/x86/clock.h"
#include "arch/x86/cpu.h"
#include "drivers/fbcon.h"
#include "drivers/pci.h"
#include "kernel/console.h"
#include "kernel/lib/format.h"
#include "kernel/lib/string.h"
#include "kernel/log.h"
#include "kernel/mm.h"
#include "kernel/partition.h"

#define PARTITA_BANNER "Partita"
/* The direct map covers at least the first 4 GiB from the first
 * instruction on (the loader's tables, then arch/x86/paging.c). */
#define DIRECT_MAP_MIN GiB(4)

static struct fbcon con;
static bool active;
static u64 fb_base, fb_size;
static u32 fb_width, fb_height;
static char why_not[128];
static u64 seen_changes = ~0ULL;
static u64 status_tsc; /* what remaking the status row costs: the most seen,
			* lowered when it keeps the row from being remade */
/* The painting a partition's window still allows (TSC cycles), and the
 * deadline of that window's drains. */
static u64 window_deadline, window_allowance;

static void mirror_put(u8 byte)
{
	if (active)
		fbcon_put(&con, byte);
}

/* The state as the status row shows it: long, or short when the long
 * form of every partition does not fit. */
static const char *state_name(u32 state, bool brief)
{
	switch (state) {
	case PARTITA_STATE_STOPPED:
		return brief ? "stop" : "stopped";
	case PARTITA_STATE_RUNNING:
		return brief ? "run" : "running";
	case PARTITA_STATE_WAITING:
		return brief ? "wait" : "waiting";
	case PARTITA_STATE_FAULTED:
		return brief ? "!FAULT!" : "!faulted!";
	case PARTITA_STATE_EXITED:
		return brief ? "exit" : "exited";
	default:
		return "?";
	}
}

static size_t status_text(char *text, size_t size, bool brief)
{
	size_t len = (size_t)snprintf(text, size, " %s", PARTITA_BANNER);

	if (!partition_count)
		len += (size_t)snprintf(text + len, size - len, " | booting");
	for (unsigned i = 0; i < partition_count && len < size; i++) {
		struct partita_partition_info info;
		partition_info(&partitions[i], &info);
		len += (size_t)snprintf(text + len, size - len,
					brief ? " %s@%u %s" : " | %s cpu%u %s", info.name, info.cpu,
					state_name(info.state, brief));
	}
	return len;
}

/* The status row: " Partita | name cpuN state | ..." (or, when that is
 * too long, " Partita name@N state ..."), remade when a
 * partition's state changed and there is time for it before the deadline
 * (what it costs is measured: the highest seen). */
static void refresh_status(u64 deadline_tsc)
{
	char text[FBCON_STATUS_MAX + 1];
	size_t len;
	u64 t0 = rdtsc();

	if (seen_changes == partition_state_changes)
		return;
	if (t0 + status_tsc >= deadline_tsc) {
		/* Refused for the estimate alone: lower it (one stretched
		 * measurement must not keep the row stale for good). */
		if (t0 < deadline_tsc)
			status_tsc -= status_tsc / 16;
		return;
	}
	seen_changes = partition_state_changes;
	len = status_text(text, sizeof(text), false);
	/* '!' marks are not shown: they do not count. */
	for (const char *c = text; *c; c++)
		len -= *c == '!';
	if (len > con.cols)
		status_text(text, sizeof(text), true);
	fbcon_set_status(&con, text);
	status_tsc = MAX(status_tsc, rdtsc() - t0);
}

static void mirror_paint(u64 deadline_tsc, bool idle)
{
	if (!active)
		return;
	refresh_status(deadline_tsc);
	u64 credit = fbcon_take_credit(&con);
	if (idle) {
		fbcon_paint(&con, deadline_tsc, ~0ULL);
		return;
	}
	/* In a partition's time: what its bytes caused (the status row is
	 * everybody's and always may be redrawn), and in all of a window at
	 * most a quarter of the time the window had left at its first drain,
	 * so that a partition that prints a line in each window still runs in
	 * it.  Idle time does the rest.  The drains of one window share its
	 * deadline, or an earlier one (the exit guard grows); a later deadline
	 * is a new window. */
	u64 now = rdtsc();
	if (now >= deadline_tsc)
		return;
	if (deadline_tsc > window_deadline) {
		window_deadline = deadline_tsc;
		window_allowance = (deadline_tsc - now) / 4;
	}
	if (!window_allowance)
		return;
	fbcon_paint(&con, MIN(deadline_tsc, now + window_allowance), credit + con.cols);
	u64 took = rdtsc() - now;
	window_allowance = took < window_allowance ? window_allowance - took : 0;
}

static const struct console_mirror screen_mirror = { mirror_put, mirror_paint, screen_report };

void screen_init(const struct boot_info *bi)
{
	const struct boot_framebuffer *fb = &bi->fb;

	if (fb->format == BOOT_FB_NONE || !fb->base) {
		snprintf(why_not, sizeof(why_not), "no linear framebuffer from the firmware");
		return;
	}
	if (fb->base + fb->size > DIRECT_MAP_MIN || fb->size < (u64)fb->stride * fb->height) {
		snprintf(why_not, sizeof(why_not),
			 "framebuffer at %#llx (%llu KiB) not used: it must lie below 4 GiB and hold %u lines of %u bytes",
			 (unsigned long long)fb->base, (unsigned long long)(fb->size >> 10),
			 fb->height, fb->stride);
		return;
	}
	if (fbcon_init(&con, phys_to_virt(hpa(fb->base)), fb->width, fb->height, fb->stride,
		       fb->format)) {
		snprintf(why_not, sizeof(why_not),
			 "framebuffer %ux%u (stride %u, format %u) not usable", fb->width,
			 fb->height, fb->stride, fb->format);
		return;
	}
	fb_base = fb->base;
	fb_size = fb->size;
	fb_width = fb->width;
	fb_height = fb->height;
	active = true;
	console_set_mirror(&screen_mirror);
}

void screen_log(void)
{
	if (!active) {
		log_line("screen: %s", why_not);
		return;
	}
	log_line("screen: %ux%u framebuffer at %#llx, %ux%u text in font %s (%ux%u), clearing took %llu cycles a cell",
		 fb_width, fb_height, (unsigned long long)fb_base, con.cols, con.rows,
		 con.font->name, con.font->width, con.font->height,
		 (unsigned long long)con.stats.cell_tsc);
}

bool screen_active(void)
{
	return active;
}

void screen_check_devices(void)
{
	if (!active)
		return;
	for (unsigned i = 0; i < pci_device_count(); i++) {
		const struct pci_device *d = pci_device_at(i);
		if (!d->owner)
			continue;
		for (unsigned b = 0; b < ARRAY_SIZE(d->bars); b++) {
			const struct pci_bar *bar = &d->bars[b];
			if (!bar->size || bar->base >= fb_base + fb_size ||
			    fb_base >= bar->base + bar->size)
				continue;
			/* Its owner draws on it now: the screen leaves it,
			 * with a last line (boot is synchronous: drawn at
			 * once). */
			log_line("screen: the framebuffer is BAR%u of %02x:%02x.%u, given to partition %s: the screen console stops",
				 b, d->bus, d->dev, d->fn, d->owner->cfg->name);
			active = false;
			console_set_mirror(NULL);
			return;
		}
	}
}

void screen_report(void)
{
	if (!active)
		return;
	const struct fbcon_stats *s = &con.stats;
	log_line("screen: %llu cells drawn in %llu paints (%llu cut short by a deadline or budget), %llu scrolls, a cell %llu ns, longest paint %llu us",
		 (unsigned long long)s->cells_drawn, (unsigned long long)s->paints,
		 (unsigned long long)s->cut_short, (unsigned long long)s->scrolls,
		 (unsigned long long)clock_tsc_to_ns(s->cell_tsc),
		 (unsigned long long)(clock_tsc_to_ns(s->max_paint_tsc) / 1000));
}
