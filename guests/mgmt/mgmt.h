/*
 * The management partition (guests/mgmt): internal interfaces between its
 * HTTP server (http.c), its API and pages (api.c) and its main loop
 * (main.c).
 */
#ifndef PARTITA_MGMT_H
#define PARTITA_MGMT_H

#include "guests/lib/guest.h"

#define HTTP_PORT 80
#define RESPONSE_MAX (48 * 1024) /* a response, headers included */

/** A response being built: api.c writes the body, http.c the rest. */
struct http_out {
	char *buf;
	u32 len, cap;
	bool overflow; /* a write did not fit: the body is incomplete */
};

void out_printf(struct http_out *o, const char *fmt, ...) __printf(2, 3);
void out_puts(struct http_out *o, const char *s);
/** Appends s (n bytes) as the inside of a JSON string (RFC 8259 §7). */
void out_json_string(struct http_out *o, const char *s, u32 n);
/** Appends s as HTML text (entities for & < > " '). */
void out_html(struct http_out *o, const char *s);

/** What the API answers for one request: status, content type, body. */
struct api_reply {
	int status;
	const char *content_type;
	const char *allow; /* for 405: the methods the path takes */
};

/**
 * Routes one parsed request (method and path as sent, path without its query)
 * and writes the body into body.  Returns the reply's status and headers.
 */
struct api_reply api_handle(const char *method, const char *path, struct http_out *body);

/** Writes {"error": msg, "status": status} into body. */
void api_error(struct http_out *body, int status, const char *msg);

/** Starts listening on HTTP_PORT; returns 0 or a negative error. */
int http_start(void);

#endif
