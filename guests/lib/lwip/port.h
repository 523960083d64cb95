/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * lwIP's port to Partita's paravirtual guests: what guests and netifs call
 * besides lwIP's own API.  See port.c.
 */
#ifndef PARTITA_LWIP_PORT_H
#define PARTITA_LWIP_PORT_H

#include "kernel/lib/types.h"

/** A random number for LWIP_RAND(): RDRAND when the CPU has it, else TSC
 *  mixed by a xorshift generator (not for cryptography). */
unsigned int lwip_port_rand(void);

/** Called by LWIP_ASSERT: prints the failure, ends the partition. */
__attribute__((noreturn)) void lwip_port_assert(const char *msg, const char *file, int line);

/** The HC_TIME deadline for hc_wait until lwIP's next timer is due, or 0
 *  (no deadline) when no timer is pending. */
u64 lwip_port_sleep_deadline(void);

int atoi(const char *s);

#endif
