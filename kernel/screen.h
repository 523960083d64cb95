/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The framebuffer console of the core (kernel/screen.c): the serial
 * console's lines and a status row of the partitions, on the screen the
 * firmware set up.
 */
#ifndef PARTITA_SCREEN_H
#define PARTITA_SCREEN_H

#include "boot/boot_info.h"

/** Takes over the framebuffer of bi (if there is one the core can use),
 *  clears it and mirrors the console onto it from now on.  Logs nothing:
 *  it runs before the first line, so that the screen shows them all. */
void screen_init(const struct boot_info *bi);

/** Logs what screen_init found: the screen in use, or why not. */
void screen_log(void);

/** True if the screen shows the console. */
bool screen_active(void);

/** Stops drawing if the config passed the framebuffer's PCI device through
 *  to a partition (call once the partitions exist). */
void screen_check_devices(void);

/** Logs what drawing cost: cells, paints, the longest paint. */
void screen_report(void);

#endif
