/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The management partition (guests/mgmt): internal interfaces between its
 * HTTP server (http.c), its API (api.c), the status page's files (assets.S),
 * the token and its rate limit (auth.c), the history it keeps for the
 * page's plots (history.c) and its main loop (main.c).
 */
#ifndef PARTITA_MGMT_H
#define PARTITA_MGMT_H

#include "guests/lib/guest.h"
#include "kernel/lib/format.h"

#define HTTP_PORT 80
#define HTTPS_PORT 443
#define RESPONSE_MAX (96 * 1024) /* a response, headers included */
#define AUTH_TOKEN_MAX 128

/** A response being built: api.c writes the body, http.c the rest. */
struct http_out {
	char *buf;
	u32 len, cap;
	bool overflow; /* a write did not fit: the body is incomplete */
};

void out_printf(struct http_out *o, const char *fmt, ...) __printf(2, 3);
void out_puts(struct http_out *o, const char *s);
/** Appends n bytes of s as they are. */
void out_bytes(struct http_out *o, const void *s, u32 n);
/** Appends s (n bytes) as the inside of a JSON string (RFC 8259 §7). */
void out_json_string(struct http_out *o, const char *s, u32 n);
/** Appends s as HTML text (entities for & < > " '). */
void out_html(struct http_out *o, const char *s);

/** One parsed request, as the router sees it. */
struct api_request {
	const char *method;
	const char *path;	   /* as sent, query included */
	const char *authorization; /* the Authorization header's value, or NULL */
	u32 client_ip;		   /* network byte order */
};

/** What the API answers for one request: status, content type, headers. */
struct api_reply {
	int status;
	const char *content_type;
	const char *allow; /* for 405: the methods the path takes */
	u32 retry_after_s; /* for 429 */
	bool bad_token;	   /* for 401: a token was given and refused */
	bool page;	   /* HTML, script or style of the status page */
};

/**
 * Routes one request and writes the body into body.  Returns the reply's
 * status and headers.  Authentication is decided here (auth_check).
 */
struct api_reply api_handle(const struct api_request *req, struct http_out *body);

/** Writes {"error": msg, "status": status} into body. */
void api_error(struct http_out *body, int status, const char *msg);

/** Whether GET of the status data needs no token (api_public_read). */
extern bool api_public_read;

/**
 * Starts listening: TLS on HTTPS_PORT with tls (an altcp_tls server config),
 * or plain TCP on HTTP_PORT when tls is NULL.  Returns 0 or a negative
 * error.
 */
struct altcp_tls_config;
int http_start(struct altcp_tls_config *tls);

/* ------------------------------------------------------------------ auth -- */

/** Takes the token from a file's bytes (see auth.c for what is allowed).
 *  Returns 0, -PARTITA_E_RANGE (length) or -PARTITA_E_INVAL (a character). */
int auth_set_token(const char *data, size_t len);
/** Makes a 128-bit token from the CPU's random numbers (tls_random).
 *  Returns 0 or its error. */
int auth_generate_token(void);
/** The token (terminated); "" before one was set. */
const char *auth_token(void);

enum auth_result {
	AUTH_OK,      /* the right token */
	AUTH_MISSING, /* no Authorization header */
	AUTH_BAD,     /* a wrong token, or not a bearer credential */
	AUTH_LOCKED,  /* the client is locked out: *retry_after_s */
};

/** Checks an Authorization value (NULL: none) from client ip at now (ns).
 *  Counts bad tokens and locks the client out after too many. */
enum auth_result auth_check(const char *authorization, u32 ip, u64 now, u32 *retry_after_s);

/** Masks every piece of the token in buf with '*' (a console tail that
 *  may show the line that printed it).  Returns the pieces masked. */
u32 auth_redact(char *buf, u32 len);

/* --------------------------------------------------------------- history -- */

#define HISTORY_SAMPLES 300 /* five minutes */
#define HISTORY_INTERVAL_NS 1000000000ULL

/** Takes a sample if HISTORY_INTERVAL_NS have passed since the last one;
 *  returns the HC_TIME of the next one due. */
u64 history_tick(u64 now);

/** Writes the samples after sequence number since (0: all kept) as JSON. */
void history_json(struct http_out *o, u64 since);

/* ------------------------------------------------------------------ page -- */

/** The status page's files (assets.S), served as they are. */
struct page_file {
	const char *path, *type;
	const char *data;
	u32 size;
};
const struct page_file *page_find(const char *path);

#endif
