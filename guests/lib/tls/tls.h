/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * guests/lib/tls: what a paravirtual guest needs around mbedTLS (built from
 * Debian's source package with guests/lib/tls/mbedtls_config.h) and lwIP's
 * altcp_tls: entropy from the CPU (entropy.c) and the C library functions
 * mbedTLS calls that the runtime lacks (libc.c: calloc and free over an
 * arena of the guest's own, strstr).
 */
#ifndef PARTITA_GUEST_TLS_H
#define PARTITA_GUEST_TLS_H

#include "kernel/lib/types.h"

/** The most one write to an altcp_tls connection may carry: mbedTLS
 *  encrypts at most one record (MBEDTLS_SSL_OUT_CONTENT_LEN) per call, and
 *  lwIP's adapter treats a shorter write as a failure. */
#define TLS_WRITE_MAX 4096

/**
 * Finds the CPU's random number instructions: RDSEED, else RDRAND (each
 * checked in CPUID and tried once).  Returns 0, or -PARTITA_E_NOTSUP when the CPU
 * has neither (TLS must not be used then).  Idempotent.
 */
int tls_entropy_init(void);

/** "RDSEED" or "RDRAND" after a successful tls_entropy_init(), else NULL. */
const char *tls_entropy_source(void);

/** Fills buf with len bytes from the CPU's source.  Returns 0, -PARTITA_E_NOTSUP
 *  (no source: tls_entropy_init() failed or was not called) or -PARTITA_E_IO (the
 *  instruction kept failing). */
int tls_random(void *buf, size_t len);

/** The arena behind calloc/free: bytes in use now, at most so far, and its
 *  size. */
struct tls_alloc_stats {
	size_t in_use, peak, size, failures;
};
void tls_alloc_stats(struct tls_alloc_stats *out);

#endif
