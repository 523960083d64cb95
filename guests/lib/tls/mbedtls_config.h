/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * mbedTLS's configuration for Partita's paravirtual guests (given to every
 * mbedTLS and altcp_tls file as MBEDTLS_CONFIG_FILE, in place of mbedTLS's
 * own config.h).  mbedTLS 2.28 comes from Debian's source package at build
 * time (Makefile); this file decides what of it is compiled.
 *
 * What a TLS 1.2 server needs and nothing else:
 *  - key exchange ECDHE (X25519, P-256, P-384) signed with ECDSA or RSA, so
 *    that both the P-256 pair `make tls-cert` makes and an RSA certificate
 *    a user brings work; AEAD record protection only (AES-GCM,
 *    ChaCha20-Poly1305: no CBC, no RC4, no static RSA key exchange);
 *  - X.509 and PEM/DER parsing for the server's own certificate and key;
 *  - the CTR-DRBG seeded from the CPU's RDSEED/RDRAND through
 *    MBEDTLS_ENTROPY_HARDWARE_ALT (guests/lib/tls/entropy.c): there is no
 *    operating system to ask (MBEDTLS_NO_PLATFORM_ENTROPY);
 *  - no clock (no MBEDTLS_HAVE_TIME): the server never checks a
 *    certificate's dates, keeps no session cache and issues no tickets;
 *  - memory from calloc/free of guests/lib/tls/alloc.c, an arena of the
 *    guest's own (MBEDTLS_PLATFORM_C stays off, so mbedTLS calls the
 *    standard names; guests/lib/libc declares them).
 *
 * The record buffers: a client may send records of 16 KiB (curl and
 * OpenSSL do not negotiate a smaller maximum fragment length), so the input
 * buffer stays at 16 KiB; the server writes at most 4 KiB per record.
 *
 * The code is compiled with -mgeneral-regs-only like every guest (a
 * paravirtual guest runs with CR4.OSFXSR clear); MBEDTLS_HAVE_ASM keeps
 * bignum's x86-64 multiply-accumulate, which uses general registers only.
 */
#ifndef PARTITA_MBEDTLS_CONFIG_H
#define PARTITA_MBEDTLS_CONFIG_H

/* System support. */
#define MBEDTLS_HAVE_ASM
#define MBEDTLS_NO_PLATFORM_ENTROPY
#define MBEDTLS_ENTROPY_HARDWARE_ALT
#define MBEDTLS_NO_UDBL_DIVISION /* the guests do not link libgcc's __udivti3 */

/* Cryptography. */
#define MBEDTLS_AES_C
#define MBEDTLS_AES_ROM_TABLES
#define MBEDTLS_GCM_C
#define MBEDTLS_CHACHA20_C
#define MBEDTLS_POLY1305_C
#define MBEDTLS_CHACHAPOLY_C
#define MBEDTLS_CIPHER_C
#define MBEDTLS_MD_C
#define MBEDTLS_SHA256_C
#define MBEDTLS_SHA512_C
#define MBEDTLS_ENTROPY_C
#define MBEDTLS_CTR_DRBG_C
#define MBEDTLS_HMAC_DRBG_C
#define MBEDTLS_BIGNUM_C
#define MBEDTLS_ECP_C
#define MBEDTLS_ECP_DP_SECP256R1_ENABLED
#define MBEDTLS_ECP_DP_SECP384R1_ENABLED
#define MBEDTLS_ECP_DP_CURVE25519_ENABLED
#define MBEDTLS_ECP_NIST_OPTIM
#define MBEDTLS_ECDH_C
#define MBEDTLS_ECDSA_C
#define MBEDTLS_ECDSA_DETERMINISTIC
#define MBEDTLS_RSA_C
#define MBEDTLS_PKCS1_V15
#define MBEDTLS_PKCS1_V21
#define MBEDTLS_ASN1_PARSE_C
#define MBEDTLS_ASN1_WRITE_C
#define MBEDTLS_OID_C
#define MBEDTLS_PK_C
#define MBEDTLS_PK_PARSE_C
#define MBEDTLS_PK_PARSE_EC_EXTENDED
#define MBEDTLS_BASE64_C
#define MBEDTLS_PEM_PARSE_C
#define MBEDTLS_X509_USE_C
#define MBEDTLS_X509_CRT_PARSE_C

/* TLS: a 1.2 server. */
#define MBEDTLS_SSL_TLS_C
#define MBEDTLS_SSL_SRV_C
#define MBEDTLS_SSL_PROTO_TLS1_2
#define MBEDTLS_SSL_EXTENDED_MASTER_SECRET
#define MBEDTLS_SSL_SERVER_NAME_INDICATION
#define MBEDTLS_KEY_EXCHANGE_ECDHE_ECDSA_ENABLED
#define MBEDTLS_KEY_EXCHANGE_ECDHE_RSA_ENABLED
#define MBEDTLS_SSL_CIPHERSUITES                                     \
	MBEDTLS_TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,       \
		MBEDTLS_TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,     \
		MBEDTLS_TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,     \
		MBEDTLS_TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256, \
		MBEDTLS_TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,       \
		MBEDTLS_TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384
#define MBEDTLS_SSL_IN_CONTENT_LEN 16384
#define MBEDTLS_SSL_OUT_CONTENT_LEN 4096

/* Sizes: a small fixed-point table and window for the curves (the guest's
 * arena holds them), at some cost in speed. */
#define MBEDTLS_ECP_MAX_BITS 384
#define MBEDTLS_ECP_WINDOW_SIZE 4
#define MBEDTLS_ECP_FIXED_POINT_OPTIM 1
#define MBEDTLS_MPI_MAX_SIZE 512 /* RSA keys up to 4096 bits */
#define MBEDTLS_ENTROPY_MAX_SOURCES 2

#include "mbedtls/check_config.h"

#endif
