/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Entropy for mbedTLS (and for secrets a guest makes, such as the
 * management API's token) from the CPU: RDSEED where CPUID offers it, else
 * RDRAND, behind mbedTLS's MBEDTLS_ENTROPY_HARDWARE_ALT hook.  There is no
 * other source in a paravirtual guest: the TSC and HC_TIME are predictable,
 * and under QEMU's -icount they are the same at every boot.  A guest must
 * therefore call tls_entropy_init() first and refuse to use TLS when it
 * fails; nothing here falls back to a weaker source.
 *
 * RDSEED returns values from the entropy conditioner itself, RDRAND the
 * output of a DRBG that the conditioner reseeds (Intel SDM Vol. 1, 7.3.17
 * "Random Number Generator Instructions"; AMD APM Vol. 3, RDRAND and
 * RDSEED).  Both report a value with CF = 1 and may transiently return
 * CF = 0 (RDSEED more often, when the conditioner is drained), so each is
 * retried a bounded number of times, RDSEED with a PAUSE between tries.
 * The hypervisor passes CPUID leaves 1 and 7 through to paravirtual guests,
 * and neither instruction exits; in QEMU the CPU model needs `+rdrand` (and
 * `+rdseed` for RDSEED).
 */
#include "guests/lib/tls/tls.h"
#include "kernel/abi/errno.h"
#include "kernel/lib/string.h"

#include "mbedtls/entropy.h"
#include "mbedtls/ssl.h"

_Static_assert(TLS_WRITE_MAX <= MBEDTLS_SSL_OUT_CONTENT_LEN, "one record per altcp_tls write");

#define RDRAND_TRIES 10	  /* Intel's DRNG guide: give up after 10 failures */
#define RDSEED_TRIES 1000 /* with PAUSE in between: the conditioner refills */

static enum { SOURCE_UNKNOWN, SOURCE_NONE, SOURCE_RDSEED, SOURCE_RDRAND } source;

static void cpuid(u32 leaf, u32 subleaf, u32 r[4])
{
	asm volatile("cpuid"
		     : "=a"(r[0]), "=b"(r[1]), "=c"(r[2]), "=d"(r[3])
		     : "a"(leaf), "c"(subleaf));
}

static bool rdseed64(u64 *out)
{
	for (int i = 0; i < RDSEED_TRIES; i++) {
		u64 v;
		u8 ok;
		asm volatile("rdseed %0; setc %1" : "=r"(v), "=qm"(ok) : : "cc");
		if (ok) {
			*out = v;
			return true;
		}
		asm volatile("pause");
	}
	return false;
}

static bool rdrand64(u64 *out)
{
	for (int i = 0; i < RDRAND_TRIES; i++) {
		u64 v;
		u8 ok;
		asm volatile("rdrand %0; setc %1" : "=r"(v), "=qm"(ok) : : "cc");
		if (ok) {
			*out = v;
			return true;
		}
	}
	return false;
}

int tls_entropy_init(void)
{
	u32 r[4];
	u64 probe;

	if (source != SOURCE_UNKNOWN)
		return source == SOURCE_NONE ? -PARTITA_E_NOTSUP : 0;
	source = SOURCE_NONE;
	cpuid(0, 0, r);
	u32 max_leaf = r[0];
	/* CPUID.(EAX=07H,ECX=0):EBX.RDSEED[bit 18], CPUID.01H:ECX.RDRAND[bit 30]
	 * (Intel SDM Vol. 2A, CPUID). */
	if (max_leaf >= 7) {
		cpuid(7, 0, r);
		if ((r[1] & (1u << 18)) && rdseed64(&probe))
			source = SOURCE_RDSEED;
	}
	if (source == SOURCE_NONE) {
		cpuid(1, 0, r);
		if ((r[2] & (1u << 30)) && rdrand64(&probe))
			source = SOURCE_RDRAND;
	}
	return source == SOURCE_NONE ? -PARTITA_E_NOTSUP : 0;
}

const char *tls_entropy_source(void)
{
	return source == SOURCE_RDSEED ? "RDSEED" : source == SOURCE_RDRAND ? "RDRAND" : NULL;
}

static bool draw(u64 *v)
{
	if (source == SOURCE_RDSEED)
		return rdseed64(v) || rdrand64(v);
	if (source == SOURCE_RDRAND)
		return rdrand64(v);
	return false;
}

int tls_random(void *buf, size_t len)
{
	u8 *out = buf;

	if (source != SOURCE_RDSEED && source != SOURCE_RDRAND)
		return -PARTITA_E_NOTSUP;
	while (len) {
		u64 v;
		size_t n = len < sizeof(v) ? len : sizeof(v);
		if (!draw(&v))
			return -PARTITA_E_IO;
		memcpy(out, &v, n);
		out += n;
		len -= n;
	}
	return 0;
}

/**
 * mbedTLS's hardware entropy source (MBEDTLS_ENTROPY_HARDWARE_ALT), polled
 * by mbedtls_entropy_func() when the CTR-DRBG is seeded and reseeded: fills
 * up to len bytes and says how many in *olen.  Returns 0, or
 * MBEDTLS_ERR_ENTROPY_SOURCE_FAILED when the CPU gave nothing, so that the
 * DRBG fails rather than run on less entropy than it asked for.
 */
int mbedtls_hardware_poll(void *data, unsigned char *output, size_t len, size_t *olen);
int mbedtls_hardware_poll(void *data, unsigned char *output, size_t len, size_t *olen)
{
	(void)data;
	*olen = 0;
	if (tls_random(output, len))
		return MBEDTLS_ERR_ENTROPY_SOURCE_FAILED;
	*olen = len;
	return 0;
}
