/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * mgmt: the management partition.  With the `control` capability and a
 * virtio-net NIC passed through (guests/lib/virtio_net.c), it runs lwIP with
 * a static address on QEMU's user network (10.0.2.15/24, gateway 10.0.2.2;
 * `hostfwd` brings a host port here) and serves the API of api.c with the
 * server of http.c: HTTPS on port 443, or plain HTTP on port 80 when the
 * config says api_tls = no.
 *
 * At start it asks the hypervisor for its api_* settings and files
 * (HC_API_CONFIG, HC_API_FILE): the certificate and key, checked to parse
 * and to belong together before anything listens, and the token, or it
 * makes one (auth.c).  TLS and a made token need the CPU's RDSEED or RDRAND
 * (guests/lib/tls/entropy.c): without them it refuses to serve rather than
 * fall back to guessable numbers.  Any refusal is one "FAIL ..." line and
 * the partition's end.
 *
 * The main loop takes what the NIC received, runs lwIP's timers, takes the
 * history's samples (history.c), and when nothing arrived sleeps in HC_WAIT
 * until lwIP's next timer or the next sample.  Where the hypervisor routes
 * the NIC's MSI-X to this partition (kernel/devirq.h) a frame's interrupt
 * wakes it at once; a NIC without interrupts is polled every POLL_NS, which
 * bounds the added latency while leaving the rest of its windows idle.
 */
#include "guests/lib/lwip/netif_virtio.h"
#include "guests/lib/lwip/port.h"
#include "guests/lib/tls/tls.h"
#include "guests/mgmt/mgmt.h"
#include "kernel/lib/string.h"

#include "lwip/altcp_tls.h"
#include "lwip/init.h"
#include "lwip/timeouts.h"
#include "mbedtls/pk.h"
#include "mbedtls/platform_util.h"
#include "mbedtls/x509_crt.h"

#define POLL_NS 200000ULL /* 200 us between polls of an idle NIC */

static struct netif_virtio nic;
/* The api_* files, each with room for the NUL that PEM parsing needs. */
static u8 cert[PARTITA_API_FILE_MAX + 1], key[PARTITA_API_FILE_MAX + 1];
static char token_file[PARTITA_API_FILE_MAX + 1];

static long read_file(unsigned which, void *buf, const struct partita_api_config *ac)
{
	long n = hc_call_whole(HC_API_FILE, which, (long)buf, PARTITA_API_FILE_MAX, 0);

	if (n >= 0 && (u64)n != ac->file_size[which])
		return -PARTITA_E_IO;
	if (n >= 0)
		((u8 *)buf)[n] = '\0';
	return n;
}

/* mbedTLS wants a PEM buffer's terminating NUL counted in its length. */
static size_t parse_len(const u8 *data, long n)
{
	return n > 10 && !memcmp(data, "-----BEGIN", 10) ? (size_t)n + 1 : (size_t)n;
}

/*
 * Parses the certificate and key once here, to refuse them with a reason
 * (lwIP's altcp_tls only says that it failed), and checks that the key is
 * the certificate's.  Returns 0 or prints why and returns -PARTITA_E_INVAL.
 */
static int check_pair(size_t cert_len, size_t key_len)
{
	mbedtls_x509_crt crt;
	mbedtls_pk_context pk;
	int r, rc = -PARTITA_E_INVAL;

	mbedtls_x509_crt_init(&crt);
	mbedtls_pk_init(&pk);
	if ((r = mbedtls_x509_crt_parse(&crt, cert, cert_len))) {
		printf("FAIL api_cert is not an X.509 certificate in PEM or DER (mbedTLS error "
		       "-0x%04x)\n",
		       (unsigned)-r);
	} else if ((r = mbedtls_pk_parse_key(&pk, key, key_len, NULL, 0))) {
		printf("FAIL api_key is not an unencrypted private key in PEM or DER (mbedTLS "
		       "error -0x%04x)\n",
		       (unsigned)-r);
	} else if ((r = mbedtls_pk_check_pair(&crt.pk, &pk))) {
		printf("FAIL api_key is not the key of api_cert (mbedTLS error -0x%04x)\n",
		       (unsigned)-r);
	} else {
		char subject[128];
		if (mbedtls_x509_dn_gets(subject, sizeof(subject), &crt.subject) < 0)
			strlcpy(subject, "?", sizeof(subject));
		printf("certificate: %s, %s key of %u bits\n", subject, mbedtls_pk_get_name(&pk),
		       (unsigned)mbedtls_pk_get_bitlen(&pk));
		rc = 0;
	}
	mbedtls_pk_free(&pk);
	mbedtls_x509_crt_free(&crt);
	return rc;
}

/* The TLS server config from the api_cert and api_key files, or NULL
 * (after a FAIL line). */
static struct altcp_tls_config *tls_setup(const struct partita_api_config *ac)
{
	struct altcp_tls_config *conf;
	long nc, nk;

	if (!ac->file_size[PARTITA_API_FILE_CERT] || !ac->file_size[PARTITA_API_FILE_KEY]) {
		printf("FAIL api_tls = yes needs api_cert and api_key in the config (`make "
		       "tls-cert` makes a pair), or api_tls = no for plain HTTP\n");
		return NULL;
	}
	nc = read_file(PARTITA_API_FILE_CERT, cert, ac);
	nk = read_file(PARTITA_API_FILE_KEY, key, ac);
	if (nc < 0 || nk < 0) {
		printf("FAIL cannot read api_cert or api_key from the hypervisor (%ld, %ld; at most "
		       "%u bytes each)\n",
		       nc, nk, PARTITA_API_FILE_MAX);
		return NULL;
	}
	size_t cl = parse_len(cert, nc), kl = parse_len(key, nk);
	if (check_pair(cl, kl)) {
		mbedtls_platform_zeroize(key, sizeof(key));
		return NULL;
	}
	conf = altcp_tls_create_config_server_privkey_cert(key, kl, NULL, 0, cert, cl);
	mbedtls_platform_zeroize(key, sizeof(key)); /* mbedTLS has its own copy now */
	if (!conf)
		printf("FAIL mbedTLS refused the server configuration (out of memory?)\n");
	return conf;
}

static int token_setup(const struct partita_api_config *ac, bool have_entropy)
{
	long n;
	int r;

	if (ac->file_size[PARTITA_API_FILE_TOKEN]) {
		n = read_file(PARTITA_API_FILE_TOKEN, token_file, ac);
		r = n < 0 ? (int)n : auth_set_token(token_file, (size_t)n);
		mbedtls_platform_zeroize(token_file, sizeof(token_file));
		if (r) {
			printf("FAIL api_token: %s\n",
			       r == -PARTITA_E_RANGE ?
				       "the token must have 16 to 128 characters" :
			       r == -PARTITA_E_INVAL ?
				       "the token must be printable ASCII without spaces" :
				       "cannot read the file");
			return r;
		}
		printf("api token: from the config's api_token file\n");
		return 0;
	}
	if (!have_entropy || (r = auth_generate_token())) {
		printf("FAIL no api_token file, and no RDSEED/RDRAND to make a token with\n");
		return -PARTITA_E_NOTSUP;
	}
	printf("api token (made at boot, shown once): %s\n", auth_token());
	return 0;
}

int guest_main(const struct partita_start_info *si)
{
	struct altcp_tls_config *tls = NULL;
	struct partita_api_config ac;
	ip4_addr_t ip, mask, gw;
	bool have_entropy;
	long rc;
	int r;

	if (!(si->flags & PARTITA_FEATURE_CONTROL)) {
		printf("FAIL the management partition needs `caps = control`\n");
		return 1;
	}
	rc = hc_call(HC_API_CONFIG, (long)&ac, 0, 0, 0, 0);
	if (rc) {
		printf("FAIL HC_API_CONFIG: %ld (a hypervisor older than ABI 1.1?)\n", rc);
		return 1;
	}
	api_public_read = ac.flags & PARTITA_API_PUBLIC_READ;
	lwip_init(); /* first: altcp_tls takes its memory from lwIP's heap */
	have_entropy = tls_entropy_init() == 0;
	if (ac.flags & PARTITA_API_TLS) {
		if (!have_entropy) {
			printf("FAIL no RDSEED or RDRAND on this CPU: TLS needs its random numbers "
			       "(in QEMU: -cpu qemu64,+svm,+npt,+rdrand)\n");
			return 1;
		}
		tls = tls_setup(&ac);
		if (!tls)
			return 1;
	} else {
		printf("WARNING: api_tls = no: the API is plain HTTP, unencrypted; its token "
		       "crosses the network in the clear\n");
	}
	if (token_setup(&ac, have_entropy))
		return 1;

	IP4_ADDR(&ip, 10, 0, 2, 15);
	IP4_ADDR(&mask, 255, 255, 255, 0);
	IP4_ADDR(&gw, 10, 0, 2, 2);
	r = netif_virtio_add(&nic, si, &ip, &mask, &gw);
	if (r) {
		printf("FAIL no usable virtio-net device (%d): give the partition `device = "
		       "1af4:1041` (and `trusted = yes` on a machine without an IOMMU)\n",
		       r);
		return 1;
	}
	r = http_start(tls);
	if (r) {
		printf("FAIL cannot listen on port %d (%d)\n", tls ? HTTPS_PORT : HTTP_PORT, r);
		return 1;
	}
	if (tls)
		printf("https server on %s:%d (TLS 1.2, entropy %s, status data %s)\n",
		       ip4addr_ntoa(&ip), HTTPS_PORT, tls_entropy_source(),
		       api_public_read ? "public" : "with the token");
	else
		printf("http server on %s:%d (plain HTTP, status data %s)\n", ip4addr_ntoa(&ip),
		       HTTP_PORT, api_public_read ? "public" : "with the token");
	for (;;) {
		unsigned n = netif_virtio_poll(&nic);
		sys_check_timeouts();
		u64 now = hc_time(), sample = history_tick(now);
		if (n == 0) {
			u64 until = nic.nic.irq_event ? sample : now + POLL_NS,
			    timer = lwip_port_sleep_deadline();
			if (timer && timer < until)
				until = timer;
			hc_wait(MIN(until, sample));
		}
	}
}
