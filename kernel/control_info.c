/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * HC_SCHEDULE_INFO, HC_API_CONFIG and HC_API_FILE (see control_info.h):
 * what the management partition needs to draw every CPU's schedule and its
 * lateness (kept by lateness.c), and to set up its HTTPS API from files on
 * the boot volume.  The schedule's epoch is the one the scheduler wrote
 * into the caller's start-info page.
 *
 * The api_* files (certificate, key, token) are boot modules: they stay in
 * the hypervisor's memory, and each is copied only to the partition whose
 * config section names it, and only when it has `control`.
 */
#include "kernel/control_info.h"
#include "kernel/lateness.h"
#include "kernel/errno.h"
#include "kernel/lib/string.h"

static bool window_before(const struct partita_schedule_window *a,
			  const struct partita_schedule_window *b)
{
	return a->cpu != b->cpu ? a->cpu < b->cpu : a->offset_ns < b->offset_ns;
}

void control_info_fill_schedule(const struct config *cfg, struct partita_schedule_info *out)
{
	out->frame_ns = cfg->frame_ns;
	out->window_count = 0;
	for (unsigned p = 0; p < cfg->partition_count; p++) {
		const struct config_partition *cp = &cfg->partitions[p];
		for (unsigned w = 0; w < cp->window_count; w++) {
			struct partita_schedule_window sw = {
				.partition = p,
				.cpu = cp->cpu,
				.offset_ns = cp->windows[w].offset_ns,
				.length_ns = cp->windows[w].length_ns,
			};
			unsigned i = out->window_count;
			if (i == PARTITA_SCHEDULE_MAX_WINDOWS)
				return; /* cannot happen: the config holds at most as many */
			/* Insertion sort: a few dozen windows, once per call. */
			for (; i > 0 && window_before(&sw, &out->windows[i - 1]); i--)
				out->windows[i] = out->windows[i - 1];
			out->windows[i] = sw;
			out->window_count++;
		}
	}
}

#if !defined(PARTITA_HOST) || defined(PARTITA_FAKE_ARCH)

#include "arch/x86/clock.h"
#include "boot/boot_info.h"
#include "kernel/guest_mem.h"
#include "kernel/mm.h"
#include "kernel/partition.h"
#include "kernel/pv_image.h"

_Static_assert(PARTITA_SCHEDULE_MAX_WINDOWS >= CONFIG_MAX_PARTITIONS * CONFIG_MAX_WINDOWS,
	       "every configured window fits in HC_SCHEDULE_INFO");
_Static_assert(PARTITA_SCHEDULE_MAX_PARTITIONS >= CONFIG_MAX_PARTITIONS,
	       "every partition fits in HC_SCHEDULE_INFO");

static const struct config *config;
/* The api_* files of each partition, by PARTITA_API_FILE_*; NULL if none. */
static const struct boot_module *api_files[CONFIG_MAX_PARTITIONS][PARTITA_API_FILES];

/* The module named name, or NULL when the key was not given. */
static const struct boot_module *find_module(const struct boot_info *bi, const char *name)
{
	return name[0] ? boot_find_module(bi, name) : NULL;
}

void control_info_init(const struct config *cfg, const struct boot_info *bi)
{
	config = cfg;
	for (unsigned i = 0; i < cfg->partition_count; i++) {
		const struct config_api *a = &cfg->partitions[i].api;
		api_files[i][PARTITA_API_FILE_CERT] = find_module(bi, a->cert);
		api_files[i][PARTITA_API_FILE_KEY] = find_module(bi, a->key);
		api_files[i][PARTITA_API_FILE_TOKEN] = find_module(bi, a->token);
	}
}

/* A pointer to [gpa, gpa + len) of p's RAM, or NULL. */
static void *guest_buffer(struct partition *p, u64 gpa, u64 len)
{
	if (guest_range_check(gpa, len, PV_RAM_START, p->ram_size))
		return NULL;
	return partition_gpa_range(p, gpa, len, true);
}

static bool has_control(const struct partition *p)
{
	return config && (p->cfg->caps & CAP_CONTROL);
}

s64 control_info_schedule(struct partition *p, u64 buf)
{
	struct partita_schedule_info *out;
	u64 now = clock_now_ns();

	if (!has_control(p))
		return -E_PERM;
	out = guest_buffer(p, buf, sizeof(*out));
	if (!out)
		return -E_FAULT;
	memset(out, 0, sizeof(*out));
	control_info_fill_schedule(config, out);
	out->epoch_ns =
		p->start_info.v ?
			((const struct partita_start_info *)phys_to_virt(p->start_info))->epoch_ns :
			0;
	out->now_ns = now;
	out->partition_count = config->partition_count;
	for (unsigned i = 0; i < config->partition_count; i++) {
		lateness_report(lateness_of(i), now, &out->counters[i]);
		out->counters[i].console_total = i < partition_count ? partitions[i].console.total :
								       0;
	}
	return 0;
}

s64 control_info_api_config(struct partition *p, u64 buf)
{
	const struct config_api *a = &p->cfg->api;
	struct partita_api_config *out;

	if (!has_control(p))
		return -E_PERM;
	out = guest_buffer(p, buf, sizeof(*out));
	if (!out)
		return -E_FAULT;
	memset(out, 0, sizeof(*out));
	out->flags = (a->tls ? PARTITA_API_TLS : 0) |
		     (a->public_read ? PARTITA_API_PUBLIC_READ : 0);
	for (unsigned f = 0; f < PARTITA_API_FILES; f++) {
		const struct boot_module *m = api_files[p->id][f];
		out->file_size[f] = m ? m->size : 0;
	}
	return 0;
}

s64 control_info_api_file(struct partition *p, u64 which, u64 buf, u64 len)
{
	const struct boot_module *m;
	void *out;

	if (!has_control(p))
		return -E_PERM;
	if (which >= PARTITA_API_FILES)
		return -E_INVAL;
	m = api_files[p->id][which];
	if (!m)
		return -E_NOENT;
	if (m->size > PARTITA_API_FILE_MAX)
		return -E_NOTSUP; /* a copy that long would not fit one exit's budget */
	if (len < m->size)
		return -E_RANGE;
	out = guest_buffer(p, buf, m->size);
	if (!out)
		return -E_FAULT;
	memcpy(out, phys_to_virt(hpa(m->phys)), m->size);
	return (s64)m->size;
}

#endif
