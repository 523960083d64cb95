/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Shared-memory channels between two partitions (see channel.h).
 */
#include "kernel/channel.h"
#include "kernel/errno.h"
#include "kernel/lib/string.h"
#include "kernel/log.h"
#include "kernel/mm.h"
#include "kernel/partition.h"

static struct channel channels[CONFIG_MAX_CHANNELS];
static unsigned channel_count;

static struct partition *partition_named(const char *name)
{
	for (unsigned i = 0; i < partition_count; i++)
		if (partitions[i].cfg && !strcmp(partitions[i].cfg->name, name))
			return &partitions[i];
	return NULL;
}

unsigned channels_create(const struct config *cfg)
{
	for (unsigned i = 0; i < cfg->channel_count; i++) {
		const struct config_channel *cc = &cfg->channels[i];
		struct channel *ch = &channels[channel_count];
		hpa_t mem;

		if (page_alloc(cc->size >> PAGE_SHIFT, 1, &mem)) {
			log_line("channel %s: no %llu KiB of memory left; left out", cc->name,
				 (unsigned long long)(cc->size >> 10));
			continue;
		}
		struct partition *a = partition_named(cc->ends[0]);
		struct partition *b = partition_named(cc->ends[1]);
		if (partition_channel_count(a) >= PARTITA_MAX_CHANNELS ||
		    partition_channel_count(b) >= PARTITA_MAX_CHANNELS) {
			log_line("channel %s: a partition may have at most %d channels; left out",
				 cc->name, PARTITA_MAX_CHANNELS);
			page_free(mem, cc->size >> PAGE_SHIFT);
			continue;
		}
		ch->cfg = cc;
		ch->mem = mem;
		ch->size = cc->size;
		for (int e = 0; e < 2; e++) {
			ch->ends[e] = partition_named(cc->ends[e]);
			ch->index[e] = partition_channel_count(ch->ends[e]);
		}
		channel_count++;
	}
	return channel_count;
}

unsigned partition_channel_count(const struct partition *p)
{
	unsigned n = 0;

	for (unsigned i = 0; i < channel_count; i++)
		n += (channels[i].ends[0] == p) + (channels[i].ends[1] == p);
	return n;
}

struct channel *partition_channel(const struct partition *p, unsigned k, unsigned *side)
{
	for (unsigned i = 0; i < channel_count; i++)
		for (unsigned e = 0; e < 2; e++)
			if (channels[i].ends[e] == p && channels[i].index[e] == k) {
				*side = e;
				return &channels[i];
			}
	return NULL;
}

int channels_map(struct partition *p, u64 *end)
{
	u64 at = ALIGN_UP(p->ram_size, LARGE_PAGE_SIZE);
	unsigned n = partition_channel_count(p);

	for (unsigned k = 0; k < n; k++) {
		unsigned side = 0;
		struct channel *ch = partition_channel(p, k, &side);
		int err = slat_map(&p->slat, gpa(at), ch->mem, ch->size, SLAT_R | SLAT_W);
		if (err)
			return err;
		ch->gpa[side] = gpa(at);
		at = ALIGN_UP(at + ch->size, LARGE_PAGE_SIZE);
	}
	*end = at;
	return 0;
}

struct partition *channel_peer_event(struct partition *p, u64 k, u32 *bit)
{
	unsigned side = 0;
	struct channel *ch;

	if (k >= partition_channel_count(p))
		return NULL;
	ch = partition_channel(p, (unsigned)k, &side);
	*bit = 1u << ch->index[!side];
	ch->signals[side]++;
	return ch->ends[!side];
}
