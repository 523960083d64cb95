/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The assert.h of the freestanding lwIP and mbedTLS builds.  mbedTLS
 * includes it for static_assert (C11's _Static_assert); its run-time
 * assert() is used only with MBEDTLS_CHECK_PARAMS, which is off, and
 * evaluates nothing here, as with NDEBUG.
 */
#ifndef PARTITA_LIBC_ASSERT_H
#define PARTITA_LIBC_ASSERT_H

#define static_assert _Static_assert
#define assert(cond) ((void)0)

#endif
