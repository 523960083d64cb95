/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * What a control partition learns beyond the partition calls of
 * hypercall.c (ABI 1.1, kernel/abi/partita.h): the cyclic schedule of every
 * CPU with each partition's window-start lateness and console position
 * (HC_SCHEDULE_INFO), and
 * its own management-API settings and files (HC_API_CONFIG, HC_API_FILE).
 * The pure parts (filling the schedule from the config, the lateness
 * buckets) are separate functions, unit-tested on the host.
 */
#ifndef PARTITA_CONTROL_INFO_H
#define PARTITA_CONTROL_INFO_H

#include "kernel/abi/partita.h"
#include "kernel/config.h"
#include "kernel/lib/types.h"

struct boot_info;
struct partition;

/** Fills frame_ns, window_count and windows[] from the config: every CPU's
 *  windows, sorted by CPU, then offset.  Pure. */
void control_info_fill_schedule(const struct config *cfg, struct partita_schedule_info *out);

/** Remembers the config and finds the api_* files among the boot modules
 *  (the loader loaded them; main.c has checked they are there). */
void control_info_init(const struct config *cfg, const struct boot_info *bi);

/** HC_SCHEDULE_INFO, HC_API_CONFIG and HC_API_FILE for partition p (its
 *  `control` capability is checked here).  Return 0 (bytes for
 *  HC_API_FILE) or a negative error; nothing is written on error. */
s64 control_info_schedule(struct partition *p, u64 buf);
s64 control_info_api_config(struct partition *p, u64 buf);
s64 control_info_api_file(struct partition *p, u64 which, u64 buf, u64 len);

#endif
