/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The management partition's HTTP/1.1 server, on lwIP's application
 * layered TCP API (altcp), so that the same code speaks HTTPS (altcp_tls
 * over mbedTLS, port 443) or, when the config says api_tls = no, plain HTTP
 * (port 80).  NO_SYS=1: every callback runs from the main loop.
 *
 * Persistent connections (RFC 9112 §9.3): after a response the connection
 * waits for the next request, unless the client asked to close, spoke
 * HTTP/1.0, or the request was malformed.  Over TLS this spares a handshake
 * per request, which costs far more than the request itself.  A request is
 *
 *   read the head (at most REQUEST_MAX bytes) -> parse it -> skip its body
 *   (Content-Length, at most BODY_MAX: no route takes one) -> route it
 *   (api.c) -> send the response -> the next request, or: close_notify
 *   (TLS), our FIN, drain what else the client sends until its FIN, close.
 *
 * Draining rather than closing at once matters for the error cases: lwIP
 * answers data that arrives on a fully closed connection with a reset,
 * which can reach the client before it has read our answer (say, a 413 for
 * a body it is still sending).  Pipelined requests are answered in order;
 * one is read only once the previous response has been handed to lwIP.
 *
 * Time limits, counted by lwIP's poll (once a second): a head that is not
 * complete CONN_HEAD_S seconds after its first byte, or a connection that
 * makes no progress for CONN_IDLE_S, is ended (an idle persistent one with
 * our FIN, a stuck one with a reset).  When every slot is taken, a new
 * connection takes the one idle the longest; if none is idle it is reset.
 *
 * Errors (all with a JSON body, and the server keeps serving): 400 for a
 * request line or header that does not parse (RFC 9112 §3, §5), 431 for a
 * head longer than REQUEST_MAX (RFC 6585 §5), 413 for a declared body
 * longer than BODY_MAX (RFC 9110 §15.5.14), 401, 404, 405, 409, 429 from the
 * router.  Each request is logged as one console line: method, path,
 * status.
 */
#include "guests/lib/tls/tls.h"
#include "guests/mgmt/mgmt.h"
#include "kernel/lib/string.h"

#include "lwip/altcp.h"
#include "lwip/altcp_tcp.h"
#include "lwip/altcp_tls.h"
#include "lwip/tcp.h"
#include "mbedtls/ssl.h"

#include <stdarg.h>

#define CONN_MAX 6	 /* lwIP has MEMP_NUM_TCP_PCB = 8, one listens */
#define REQUEST_MAX 4096 /* request line and headers */
#define BODY_MAX 4096	 /* a request body we would skip (no route takes one) */
#define CONN_HEAD_S 10	 /* to send a whole head, from its first byte */
#define CONN_IDLE_S 20	 /* without progress */
#define POLL_INTERVAL 2	 /* lwIP's tcp_poll unit is 500 ms: once a second */

_Static_assert(TLS_WRITE_MAX <= 0xffff, "one altcp_write");

struct conn {
	bool used;
	bool busy;    /* a response is being handed to lwIP */
	bool closing; /* no more requests: FIN once the response is out */
	bool fin_sent;
	bool peer_closed; /* the client's FIN came */
	bool tls;
	struct altcp_pcb *pcb;
	u32 ip;	       /* the client's address, network byte order */
	u32 idle_s;    /* seconds without progress */
	u32 head_s;    /* seconds since the current head's first byte */
	u32 req_len;   /* bytes in req: the next request's head, so far */
	u64 body_left; /* bytes of the current request's body to skip */
	char req[REQUEST_MAX + 1];
	struct http_out out;
	u32 sent; /* bytes of out handed to lwIP */
	char resp[RESPONSE_MAX];
};

static struct conn conns[CONN_MAX];
static struct altcp_tls_config *tls_config;

static void conn_process(struct conn *c);

/* ---------------------------------------------------------------- output -- */

void out_printf(struct http_out *o, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (o->overflow)
		return;
	va_start(ap, fmt);
	n = vsnprintf(o->buf + o->len, o->cap - o->len, fmt, ap);
	va_end(ap);
	if (n < 0 || (u32)n >= o->cap - o->len) {
		o->overflow = true;
		o->buf[o->len] = '\0';
		return;
	}
	o->len += (u32)n;
}

void out_bytes(struct http_out *o, const void *s, u32 n)
{
	if (o->overflow || n >= o->cap - o->len) {
		o->overflow = true;
		return;
	}
	memcpy(o->buf + o->len, s, n);
	o->len += n;
	o->buf[o->len] = '\0';
}

void out_puts(struct http_out *o, const char *s)
{
	out_bytes(o, s, (u32)strlen(s));
}

void out_json_string(struct http_out *o, const char *s, u32 n)
{
	static const char hex[] = "0123456789abcdef";

	for (u32 i = 0; i < n && !o->overflow; i++) {
		u8 c = (u8)s[i];
		char esc[8];
		if (c == '"' || c == '\\') {
			esc[0] = '\\', esc[1] = (char)c, esc[2] = '\0';
		} else if (c == '\n') {
			memcpy(esc, "\\n", 3);
		} else if (c == '\r') {
			memcpy(esc, "\\r", 3);
		} else if (c == '\t') {
			memcpy(esc, "\\t", 3);
		} else if (c < 0x20 || c >= 0x7f) {
			/* Bytes outside ASCII as the code points U+0080..U+00FF: the
			 * console tail may start inside a UTF-8 sequence, and the
			 * result must stay valid JSON whatever a guest printed. */
			memcpy(esc, "\\u00", 4);
			esc[4] = hex[c >> 4], esc[5] = hex[c & 15], esc[6] = '\0';
		} else {
			esc[0] = (char)c, esc[1] = '\0';
		}
		out_puts(o, esc);
	}
}

void out_html(struct http_out *o, const char *s)
{
	for (; *s && !o->overflow; s++) {
		switch (*s) {
		case '&':
			out_puts(o, "&amp;");
			break;
		case '<':
			out_puts(o, "&lt;");
			break;
		case '>':
			out_puts(o, "&gt;");
			break;
		case '"':
			out_puts(o, "&quot;");
			break;
		case '\'':
			out_puts(o, "&#39;");
			break;
		default:
			out_bytes(o, s, 1);
		}
	}
}

/* --------------------------------------------------------------- parsing -- */

static const char *reason(int status)
{
	switch (status) {
	case 200:
		return "OK";
	case 400:
		return "Bad Request";
	case 401:
		return "Unauthorized";
	case 404:
		return "Not Found";
	case 405:
		return "Method Not Allowed";
	case 409:
		return "Conflict";
	case 413:
		return "Content Too Large";
	case 429:
		return "Too Many Requests";
	case 431:
		return "Request Header Fields Too Large";
	case 500:
		return "Internal Server Error";
	default:
		return "Unknown";
	}
}

/* tchar of RFC 9110 §5.6.2. */
static bool is_tchar(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       (c && strchr("!#$%&'*+-.^_`|~", c));
}

static bool lower_eq(const char *a, const char *b, u32 n)
{
	for (u32 i = 0; i < n; i++) {
		char x = a[i], y = b[i];
		if (x >= 'A' && x <= 'Z')
			x = (char)(x + 32);
		if (x != y)
			return false;
	}
	return b[n] == '\0';
}

/* Whether a comma-separated header value holds token t (lower case), in
 * any case (RFC 9110 §7.6.1, Connection). */
static bool has_token(const char *v, u32 n, const char *t)
{
	u32 tl = (u32)strlen(t), i = 0;

	while (i < n) {
		while (i < n && (v[i] == ' ' || v[i] == '\t' || v[i] == ','))
			i++;
		u32 s = i;
		while (i < n && v[i] != ',' && v[i] != ' ' && v[i] != '\t')
			i++;
		if (i - s == tl && lower_eq(v + s, t, tl))
			return true;
	}
	return false;
}

/* The length of the head in s (through the empty line that ends it), or 0
 * if it is not complete: RFC 9112 §2.1; a bare LF is accepted as a line
 * end, §2.2. */
static u32 head_length(const char *s, u32 len)
{
	for (u32 i = 0; i + 1 < len; i++) {
		if (s[i] != '\n')
			continue;
		if (s[i + 1] == '\n')
			return i + 2;
		if (i + 2 < len && s[i + 1] == '\r' && s[i + 2] == '\n')
			return i + 3;
	}
	return 0;
}

/* The first n bytes of s hold c. */
static const char *find_byte(const char *s, char c, u32 n)
{
	for (u32 i = 0; i < n; i++)
		if (s[i] == c)
			return s + i;
	return NULL;
}

/* Copies s for the log line: at most 80 printable characters. */
static void log_copy(char *dst, const char *s, u32 n)
{
	u32 i;

	for (i = 0; i < n && i < 80; i++)
		dst[i] = s[i] > 0x20 && s[i] < 0x7f ? s[i] : '?';
	dst[i] = '\0';
}

struct request {
	char method[16];
	char path[256];
	char authorization[AUTH_TOKEN_MAX + 32];
	bool has_authorization;
	bool close;   /* Connection: close, or HTTP/1.0 without keep-alive */
	u64 body_len; /* Content-Length */
	char log_method[81], log_path[81];
	const char *why; /* the parse error, for the 400 body */
};

/* Parses the head s (len bytes, terminated; complete or not): returns 0
 * and fills r, or the status of the error. */
static int parse_head(char *s, u32 len, struct request *r, bool complete)
{
	char *eol = (char *)find_byte(s, '\n', len), *sp1, *sp2, *line;
	u32 mlen, plen;
	bool http10, keep_alive = false;

	strlcpy(r->log_method, "-", sizeof(r->log_method));
	strlcpy(r->log_path, "-", sizeof(r->log_path));
	if (!eol)
		return complete ? 400 : 0;
	/* Request line: method SP request-target SP HTTP-version (RFC 9112 §3). */
	for (sp1 = s; sp1 < eol && is_tchar(*sp1); sp1++)
		;
	mlen = (u32)(sp1 - s);
	log_copy(r->log_method, s, mlen ? mlen : (u32)(eol - s));
	if (mlen == 0 || mlen >= sizeof(r->method) || *sp1 != ' ') {
		r->why = "malformed request line";
		return 400;
	}
	memcpy(r->method, s, mlen);
	r->method[mlen] = '\0';
	for (sp2 = sp1 + 1; sp2<eol && * sp2> 0x20 && *sp2 < 0x7f; sp2++)
		;
	plen = (u32)(sp2 - sp1 - 1);
	log_copy(r->log_path, sp1 + 1, plen);
	if (plen == 0 || *sp2 != ' ' || sp1[1] != '/') {
		r->why = "malformed request target";
		return 400;
	}
	if (plen >= sizeof(r->path)) {
		r->why = "request target too long";
		return 400;
	}
	memcpy(r->path, sp1 + 1, plen);
	r->path[plen] = '\0';
	if (strncmp(sp2 + 1, "HTTP/1.", 7) || sp2[8] < '0' || sp2[8] > '9' ||
	    (sp2 + 9 != eol && !(sp2 + 10 == eol && sp2[9] == '\r'))) {
		r->why = "not HTTP/1.x";
		return 400;
	}
	http10 = sp2[8] == '0';
	if (!complete)
		return 0;

	/* Header fields: name ":" OWS value OWS (RFC 9112 §5). */
	for (line = eol + 1; *line && *line != '\r' && *line != '\n';) {
		char *end = strchr(line, '\n'), *colon, *v, *ve;
		if (!end)
			break;
		for (colon = line; colon < end && is_tchar(*colon); colon++)
			;
		if (colon == line || *colon != ':') {
			r->why = "malformed header field";
			return 400;
		}
		u32 nlen = (u32)(colon - line);
		for (v = colon + 1; *v == ' ' || *v == '\t'; v++)
			;
		for (ve = end; ve > v && (ve[-1] == '\r' || ve[-1] == ' ' || ve[-1] == '\t'); ve--)
			;
		u32 vlen = (u32)(ve - v);
		if (lower_eq(line, "content-length", nlen)) {
			u64 n = 0;
			u32 i;
			for (i = 0; i < vlen && v[i] >= '0' && v[i] <= '9'; i++)
				n = n < 1000000000ULL ? n * 10 + (u64)(v[i] - '0') : n;
			if (i == 0 || i != vlen) {
				r->why = "bad Content-Length";
				return 400;
			}
			if (n > BODY_MAX) {
				r->why = "request body too large";
				return 413;
			}
			r->body_len = n;
		} else if (lower_eq(line, "transfer-encoding", nlen)) {
			r->why = "chunked request bodies are not taken";
			return 400;
		} else if (lower_eq(line, "connection", nlen)) {
			r->close |= has_token(v, vlen, "close");
			keep_alive |= has_token(v, vlen, "keep-alive");
		} else if (lower_eq(line, "authorization", nlen)) {
			if (r->has_authorization) {
				r->why = "two Authorization fields";
				return 400;
			}
			r->has_authorization = true;
			/* A longer value cannot hold our token: keep enough of it
			 * to be refused as a bad one. */
			vlen = MIN(vlen, (u32)sizeof(r->authorization) - 1);
			memcpy(r->authorization, v, vlen);
			r->authorization[vlen] = '\0';
		}
		line = end + 1;
	}
	if (http10 && !keep_alive)
		r->close = true;
	return 0;
}

/* ------------------------------------------------------------ connection -- */

static void conn_detach(struct conn *c)
{
	if (c->pcb) {
		altcp_arg(c->pcb, NULL);
		altcp_recv(c->pcb, NULL);
		altcp_sent(c->pcb, NULL);
		altcp_err(c->pcb, NULL);
		altcp_poll(c->pcb, NULL, 0);
	}
	c->used = false;
	c->pcb = NULL;
}

/* Closes for good; aborts if lwIP cannot queue the FIN now. */
static void conn_close(struct conn *c)
{
	struct altcp_pcb *pcb = c->pcb;

	conn_detach(c);
	if (pcb && altcp_close(pcb) != ERR_OK)
		altcp_abort(pcb);
}

static void conn_abort(struct conn *c)
{
	struct altcp_pcb *pcb = c->pcb;

	conn_detach(c);
	if (pcb)
		altcp_abort(pcb);
}

/* Our half-close: TLS's close_notify alert (RFC 5246 §7.2.1), so that the
 * client sees the end of the data and not a truncation, then the FIN. */
static bool send_fin(struct conn *c)
{
	if (c->tls) {
		mbedtls_ssl_context *ssl = altcp_tls_context(c->pcb);
		if (ssl && mbedtls_ssl_close_notify(ssl) == MBEDTLS_ERR_SSL_WANT_WRITE)
			return false; /* not all of it fitted: again from on_sent */
		if (ssl && ssl->out_left)
			return false;
	}
	return altcp_shutdown(c->pcb, 0, 1) == ERR_OK;
}

/* Hands lwIP as much of the response as its send buffer takes; after the
 * last byte, the next request, or our FIN. */
static void conn_push(struct conn *c)
{
	u32 n, max = c->tls ? TLS_WRITE_MAX : 0xffffu;

	while (c->busy && c->sent < c->out.len) {
		n = MIN(c->out.len - c->sent, (u32)altcp_sndbuf(c->pcb));
		n = MIN(n, max);
		if (n == 0 || altcp_write(c->pcb, c->out.buf + c->sent, (u16_t)n,
					  TCP_WRITE_FLAG_COPY) != ERR_OK)
			break;
		c->sent += n;
		c->idle_s = 0;
	}
	if (c->busy && c->sent == c->out.len)
		c->busy = false;
	if (!c->busy && c->peer_closed && !c->req_len)
		c->closing = true; /* nothing more will come */
	if (!c->busy && c->closing && !c->fin_sent && send_fin(c))
		c->fin_sent = true;
	altcp_output(c->pcb);
	if (c->fin_sent && c->peer_closed)
		conn_close(c);
}

static void respond(struct conn *c, struct request *r, int status, const char *why)
{
	static char body_buf[RESPONSE_MAX - 1024];
	struct http_out body = { .buf = body_buf, .cap = sizeof(body_buf) };
	struct api_reply reply = { .status = status, .content_type = "application/json" };

	body_buf[0] = '\0';
	if (status == 0) {
		struct api_request req = {
			.method = r->method,
			.path = r->path,
			.authorization = r->has_authorization ? r->authorization : NULL,
			.client_ip = c->ip,
		};
		reply = api_handle(&req, &body);
	} else {
		api_error(&body, status, why ? why : reason(status));
		r->close = true; /* after a malformed request, the stream is lost */
	}
	if (body.overflow) {
		body.len = 0;
		body.overflow = false;
		reply = (struct api_reply){ .status = 500, .content_type = "application/json" };
		api_error(&body, 500, "response too large");
	}
	if (c->peer_closed)
		r->close = true;
	c->out = (struct http_out){ .buf = c->resp, .cap = sizeof(c->resp) };
	out_printf(&c->out,
		   "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %u\r\n"
		   "Cache-Control: no-store\r\nX-Content-Type-Options: nosniff\r\n%s",
		   reply.status, reason(reply.status), reply.content_type, body.len,
		   r->close ? "Connection: close\r\n" : "");
	if (reply.page)
		/* Everything the page uses comes from here (no inline script), and
		 * it may not be framed. */
		out_puts(&c->out,
			 "Content-Security-Policy: default-src 'none'; script-src 'self'; "
			 "style-src 'self'; connect-src 'self'; img-src 'self' data:; "
			 "base-uri 'none'; form-action 'none'; frame-ancestors 'none'\r\n");
	if (reply.allow)
		out_printf(&c->out, "Allow: %s\r\n", reply.allow);
	if (reply.status == 401)
		out_printf(&c->out, "WWW-Authenticate: Bearer realm=\"partita\"%s\r\n",
			   reply.bad_token ? ", error=\"invalid_token\"" : "");
	if (reply.status == 429)
		out_printf(&c->out, "Retry-After: %u\r\n", reply.retry_after_s);
	out_puts(&c->out, "\r\n");
	out_bytes(&c->out, body.buf, body.len);
	c->busy = true;
	c->sent = 0;
	c->closing |= r->close;
	printf("%s %s %d\n", r->log_method, r->log_path, reply.status);
	conn_push(c);
}

/* Works through what has arrived: skips a body, answers a complete head,
 * or refuses what is already wrong; one request at a time, each once the
 * response before it has been handed to lwIP. */
static void conn_process(struct conn *c)
{
	struct request r;
	u32 head;
	int status;

	while (c->used && !c->busy && !c->closing && !c->body_left) {
		if (!c->req_len)
			return;
		memset(&r, 0, sizeof(r));
		c->req[c->req_len] = '\0';
		head = head_length(c->req, c->req_len);
		if (find_byte(c->req, '\0', head ? head : c->req_len)) {
			parse_head(c->req, c->req_len, &r, false);
			respond(c, &r, 400, "NUL byte in the request");
			return;
		}
		if (!head) {
			status = parse_head(c->req, c->req_len, &r, false);
			if (status)
				respond(c, &r, status, r.why);
			else if (c->req_len == REQUEST_MAX)
				respond(c, &r, 431, "request head larger than 4096 bytes");
			else if (c->peer_closed)
				respond(c, &r, 400, "incomplete request");
			return;
		}
		c->req[head - 1] = '\0'; /* the head alone, for the parser */
		status = parse_head(c->req, head, &r, true);
		/* The head, then what of its body came with it, leave the buffer;
		 * the rest of the body is skipped as it arrives (on_recv). */
		u32 body = status ? 0 : (u32)MIN(r.body_len, (u64)(c->req_len - head));
		memmove(c->req, c->req + head + body, c->req_len - head - body);
		c->req_len -= head + body;
		c->body_left = status ? 0 : r.body_len - body;
		c->head_s = 0;
		respond(c, &r, status, status ? r.why : NULL);
	}
}

static err_t on_recv(void *arg, struct altcp_pcb *pcb, struct pbuf *p, err_t err)
{
	struct conn *c = arg;

	if (!c) {
		if (p) {
			altcp_recved(pcb, p->tot_len);
			pbuf_free(p);
		}
		return ERR_OK;
	}
	if (!p) {
		/* The client's FIN: answer what it sent, then close. */
		c->peer_closed = true;
		conn_process(c);
		if (c->used && !c->busy)
			conn_push(c);
		return ERR_OK;
	}
	if (err != ERR_OK) {
		pbuf_free(p);
		return err;
	}
	c->idle_s = 0;
	if (!c->closing) {
		u32 skip = 0, n, room = REQUEST_MAX - c->req_len;
		if (c->body_left) { /* then req is empty: see conn_process */
			skip = (u32)MIN(c->body_left, (u64)p->tot_len);
			c->body_left -= skip;
		}
		n = MIN(room, (u32)p->tot_len - skip);
		if (n < p->tot_len - skip && c->busy)
			c->closing = true; /* pipelined past the buffer: no more */
		if (c->req_len == 0 && n)
			c->head_s = 0;
		pbuf_copy_partial(p, c->req + c->req_len, (u16_t)n, (u16_t)skip);
		c->req_len += n;
	}
	altcp_recved(pcb, p->tot_len); /* whatever we keep or drop */
	pbuf_free(p);
	conn_process(c);
	return ERR_OK;
}

static err_t on_sent(void *arg, struct altcp_pcb *pcb, u16_t len)
{
	struct conn *c = arg;

	(void)pcb, (void)len;
	if (!c)
		return ERR_OK;
	c->idle_s = 0;
	conn_push(c);
	if (c->used)
		conn_process(c);
	return ERR_OK;
}

static void on_err(void *arg, err_t err)
{
	struct conn *c = arg;

	(void)err;
	if (c) {
		c->pcb = NULL; /* lwIP has freed it */
		conn_detach(c);
	}
}

static err_t on_poll(void *arg, struct altcp_pcb *pcb)
{
	struct conn *c = arg;

	(void)pcb;
	if (!c)
		return ERR_OK;
	conn_push(c);
	if (!c->used)
		return ERR_OK; /* conn_push closed it */
	if (c->req_len && !c->busy && ++c->head_s >= CONN_HEAD_S) {
		conn_abort(c);
		return ERR_ABRT;
	}
	if (++c->idle_s >= CONN_IDLE_S) {
		if (c->busy || c->fin_sent || c->req_len || c->idle_s >= 2 * CONN_IDLE_S) {
			conn_abort(c);
			return ERR_ABRT;
		}
		c->closing = true; /* an idle persistent connection */
		conn_push(c);
	}
	return ERR_OK;
}

/* The slot for a new connection: a free one, else the one idle the
 * longest, which is reset (a client retries a request on a persistent
 * connection that went away, RFC 9112 §9.3.1). */
static struct conn *conn_slot(void)
{
	struct conn *idle = NULL;

	for (unsigned i = 0; i < CONN_MAX; i++) {
		struct conn *c = &conns[i];
		if (!c->used)
			return c;
		if (!c->busy && !c->req_len && !c->body_left && !c->closing &&
		    (!idle || c->idle_s > idle->idle_s))
			idle = c;
	}
	if (idle)
		conn_abort(idle);
	return idle;
}

static err_t on_accept(void *arg, struct altcp_pcb *pcb, err_t err)
{
	struct conn *c;

	(void)arg;
	if (err != ERR_OK || !pcb)
		return ERR_VAL;
	c = conn_slot();
	if (!c) {
		altcp_abort(pcb); /* busy: the client sees a reset and may retry */
		return ERR_ABRT;
	}
	memset(c, 0, offsetof(struct conn, req));
	c->used = true;
	c->tls = tls_config != NULL;
	c->pcb = pcb;
	c->ip = ip4_addr_get_u32(altcp_get_ip(pcb, 0));
	altcp_arg(pcb, c);
	altcp_recv(pcb, on_recv);
	altcp_sent(pcb, on_sent);
	altcp_err(pcb, on_err);
	altcp_poll(pcb, on_poll, POLL_INTERVAL);
	altcp_nagle_disable(pcb);
	return ERR_OK;
}

int http_start(struct altcp_tls_config *tls)
{
	struct altcp_pcb *pcb, *listener;
	u16 port = tls ? HTTPS_PORT : HTTP_PORT;

	tls_config = tls;
	pcb = tls ? altcp_tls_new(tls, IPADDR_TYPE_V4) : altcp_tcp_new();
	if (!pcb)
		return -PARTITA_E_NOMEM;
	if (altcp_bind(pcb, IP_ADDR_ANY, port) != ERR_OK) {
		altcp_close(pcb);
		return -PARTITA_E_BUSY;
	}
	listener = altcp_listen(pcb);
	if (!listener) {
		altcp_close(pcb);
		return -PARTITA_E_NOMEM;
	}
	altcp_accept(listener, on_accept);
	return 0;
}
