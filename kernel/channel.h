/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Channels: a region of shared memory mapped into exactly two partitions,
 * plus an event in each direction.  The memory is allocated once at boot and
 * kept across restarts of either end (the guests' ring protocol copes with a
 * peer that starts over).  Each partition sees its channels, in config order,
 * in its start-info page; the event bit for channel k of a partition is 1 << k.
 *
 * Guest-physical placement: a partition's channels follow its RAM, from
 * ALIGN_UP(RAM, 2 MiB), each at a 2 MiB boundary, so the guest page tables
 * (which map up to the end of the last channel) need no 4 KiB pages.
 */
#ifndef PARTITA_CHANNEL_H
#define PARTITA_CHANNEL_H

#include "kernel/config.h"
#include "kernel/lib/types.h"

struct partition;

struct channel {
	const struct config_channel *cfg;
	hpa_t mem;
	u64 size;
	struct partition *ends[2];
	unsigned index[2]; /* the channel's index in each end's list */
	gpa_t gpa[2];	   /* where each end sees it */
	u64 signals[2];	   /* events raised by each end */
};

/** Allocates the memory of every channel of the config (after the
 *  partitions exist).  A channel that cannot be made is reported and left
 *  out.  Returns the number made. */
unsigned channels_create(const struct config *cfg);

/** The channels of p, for its start-info page and HC_EVENT_SIGNAL. */
unsigned partition_channel_count(const struct partition *p);
struct channel *partition_channel(const struct partition *p, unsigned k, unsigned *side);

/** Maps p's channels into its second-level tables; returns the end of the
 *  highest one (the guest page tables must reach it), or an error. */
int channels_map(struct partition *p, u64 *end);

/** HC_EVENT_SIGNAL from p on its channel k: raises the peer's event.
 *  0, or -E_NOENT for a channel p does not have. */
/** The partition at the other end of p's channel k and the event bit to
 *  raise there (counted as a signal), or NULL if p has no channel k. */
struct partition *channel_peer_event(struct partition *p, u64 k, u32 *bit);

#endif
