/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The management API's bearer token (RFC 6750) and the rate limit on bad
 * ones.
 *
 * The token comes from the config's api_token file (16 to 128 printable
 * ASCII characters; trailing white space and line ends are dropped), or is
 * made at boot from the CPU's random numbers (128 bits, 32 hex digits) and
 * printed once on the partition's console.  The API never shows it again:
 * console tails it serves have it masked (auth_redact).
 *
 * A candidate is compared in constant time: the loop always runs over the
 * whole expected token and folds every difference, and the candidate's
 * length into the same accumulator, so the time taken depends only on the
 * expected token's length, not on how much of a guess was right.
 *
 * Rate limit: per client address (QEMU's user network shows every host
 * client as 10.0.2.2, so there it is one bucket for all), after
 * AUTH_FAILS_BEFORE_LOCK bad tokens in a row the address is locked out for
 * AUTH_LOCK_S seconds, doubled at each lockout in a row up to AUTH_LOCK_MAX_S.
 * While locked, its requests that need a token get 429 with Retry-After and
 * their tokens are not even compared, so guessing gains nothing from speed.
 * A good token clears the address's record.  A request without any token is
 * refused (401) but not counted: a browser that has not been given the
 * token yet is not guessing.
 */
#include "guests/lib/tls/tls.h"
#include "guests/mgmt/mgmt.h"
#include "kernel/lib/string.h"

#define TOKEN_MIN 16
#define AUTH_FAILS_BEFORE_LOCK 5
#define AUTH_LOCK_S 10
#define AUTH_LOCK_MAX_S 300
#define AUTH_CLIENTS 8 /* addresses remembered; the least recent is reused */
#define NS_PER_S 1000000000ULL

static char token[AUTH_TOKEN_MAX + 1];
static u32 token_len;

struct client {
	u32 ip; /* 0: free */
	u32 fails;
	u32 lockouts;
	u64 locked_until_ns;
	u64 last_seen_ns;
};
static struct client clients[AUTH_CLIENTS];

int auth_set_token(const char *data, size_t len)
{
	while (len && (data[len - 1] == '\n' || data[len - 1] == '\r' || data[len - 1] == ' ' ||
		       data[len - 1] == '\t'))
		len--;
	if (len < TOKEN_MIN || len > AUTH_TOKEN_MAX)
		return -PARTITA_E_RANGE;
	for (size_t i = 0; i < len; i++)
		if (data[i] < 0x21 || data[i] > 0x7e)
			return -PARTITA_E_INVAL; /* RFC 6750 allows more, but not in a header value */
	memcpy(token, data, len);
	token[len] = '\0';
	token_len = (u32)len;
	return 0;
}

int auth_generate_token(void)
{
	static const char hex[] = "0123456789abcdef";
	u8 bytes[16];
	int r = tls_random(bytes, sizeof(bytes));

	if (r)
		return r;
	for (unsigned i = 0; i < sizeof(bytes); i++) {
		token[2 * i] = hex[bytes[i] >> 4];
		token[2 * i + 1] = hex[bytes[i] & 15];
	}
	token_len = 2 * sizeof(bytes);
	token[token_len] = '\0';
	memset(bytes, 0, sizeof(bytes));
	return 0;
}

const char *auth_token(void)
{
	return token;
}

/* Constant time in the candidate's content and length (see the top). */
static bool token_equal(const char *cand, u32 n)
{
	volatile u8 diff = (u8)(n != token_len);

	for (u32 i = 0; i < token_len; i++) {
		u8 c = i < n ? (u8)cand[i] : 0;
		diff |= (u8)(c ^ (u8)token[i]);
	}
	return token_len && diff == 0;
}

static struct client *client_of(u32 ip, u64 now)
{
	struct client *oldest = &clients[0];

	for (unsigned i = 0; i < AUTH_CLIENTS; i++) {
		if (clients[i].ip == ip)
			return &clients[i];
		if (clients[i].last_seen_ns < oldest->last_seen_ns)
			oldest = &clients[i];
	}
	*oldest = (struct client){ .ip = ip, .last_seen_ns = now };
	return oldest;
}

static void ip_text(char *buf, size_t size, u32 ip)
{
	/* lwIP keeps addresses in network byte order. */
	snprintf(buf, size, "%u.%u.%u.%u", ip & 0xff, (ip >> 8) & 0xff, (ip >> 16) & 0xff,
		 ip >> 24);
}

/*
 * Finds the token in an Authorization value: the scheme "Bearer" in any
 * case (RFC 9110 §11.1), one or more spaces, then the token up to the end
 * or trailing white space.  Returns false if the value is not of that form.
 */
static bool bearer(const char *v, const char **tok, u32 *n)
{
	static const char scheme[] = "bearer";
	u32 i, len;

	for (i = 0; i < sizeof(scheme) - 1; i++) {
		char c = v[i];
		if (c >= 'A' && c <= 'Z')
			c = (char)(c + 32);
		if (c != scheme[i])
			return false;
	}
	if (v[i] != ' ')
		return false;
	while (v[i] == ' ')
		i++;
	for (len = 0; v[i + len] && v[i + len] != ' ' && v[i + len] != '\t'; len++)
		;
	for (u32 k = i + len; v[k]; k++)
		if (v[k] != ' ' && v[k] != '\t')
			return false; /* a second word: not a bearer credential */
	*tok = v + i;
	*n = len;
	return len > 0;
}

enum auth_result auth_check(const char *authorization, u32 ip, u64 now, u32 *retry_after_s)
{
	struct client *c;
	const char *tok;
	char addr[16];
	u32 n;

	*retry_after_s = 0;
	if (!authorization)
		return AUTH_MISSING;
	c = client_of(ip, now);
	c->last_seen_ns = now;
	if (now < c->locked_until_ns) {
		*retry_after_s = (u32)((c->locked_until_ns - now + NS_PER_S - 1) / NS_PER_S);
		return AUTH_LOCKED;
	}
	if (bearer(authorization, &tok, &n) && token_equal(tok, n)) {
		c->fails = c->lockouts = 0;
		return AUTH_OK;
	}
	if (++c->fails >= AUTH_FAILS_BEFORE_LOCK) {
		u32 lock_s = AUTH_LOCK_S << MIN(c->lockouts, 5u);
		lock_s = MIN(lock_s, (u32)AUTH_LOCK_MAX_S);
		c->locked_until_ns = now + (u64)lock_s * NS_PER_S;
		c->lockouts++;
		ip_text(addr, sizeof(addr), ip);
		printf("auth: %u bad tokens in a row from %s: its requests are refused for %u s\n",
		       c->fails, addr, lock_s);
		c->fails = 0;
	}
	return AUTH_BAD;
}

u32 auth_redact(char *buf, u32 len)
{
	u32 masked = 0;

	if (!token_len)
		return 0;
	/* Whole occurrences. */
	for (u32 i = 0; i + token_len <= len; i++)
		if (!memcmp(buf + i, token, token_len)) {
			memset(buf + i, '*', token_len);
			masked++;
			i += token_len - 1;
		}
	/* The tail may begin inside the token (its start scrolled away) or
	 * end inside it (its line not finished yet): mask those pieces too. */
	for (u32 k = MIN(len, token_len - 1); k > 0; k--)
		if (!memcmp(buf, token + token_len - k, k)) {
			memset(buf, '*', k);
			masked++;
			break;
		}
	for (u32 k = MIN(len, token_len - 1); k > 0; k--)
		if (!memcmp(buf + len - k, token, k)) {
			memset(buf + len - k, '*', k);
			masked++;
			break;
		}
	return masked;
}
