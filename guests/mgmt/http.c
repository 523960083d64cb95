/*
 * The management partition's HTTP/1.1 server, on lwIP's raw TCP API
 * (NO_SYS=1: every callback runs from the main loop).  One request per
 * connection (RFC 9112 §9.6, "Connection: close"):
 *
 *   accept -> read the request head (at most REQUEST_MAX bytes) -> parse it
 *   -> route it (api.c) -> send the response, then our FIN (tcp_shutdown of
 *   the send side) -> drain and discard whatever else the client sends
 *   until its FIN -> close.
 *
 * Draining rather than closing at once matters for the error cases: lwIP
 * answers data that arrives on a fully closed connection with a reset,
 * which can reach the client before it has read our answer (say, a 413 for
 * a body it is still sending).  A connection that lingers CONN_TIMEOUT_S
 * without finishing is aborted.
 *
 * Errors (all with a JSON body, and the server keeps serving): 400 for a
 * request line or header that does not parse (RFC 9112 §3, §5), 431 for a
 * head longer than REQUEST_MAX (RFC 6585 §5), 413 for a declared body
 * longer than BODY_MAX (RFC 9110 §15.5.14), 404 / 405 from the router.  Each
 * request is logged as one console line: method, path, status.
 */
#include "guests/mgmt/mgmt.h"
#include "kernel/lib/format.h"
#include "kernel/lib/string.h"

#include "lwip/tcp.h"

#include <stdarg.h>

#define CONN_MAX 6	 /* lwIP has MEMP_NUM_TCP_PCB = 8, one listens */
#define REQUEST_MAX 4096 /* request line and headers */
#define BODY_MAX 4096	 /* a request body we would accept (none is used) */
#define CONN_TIMEOUT_S 10
#define POLL_INTERVAL 2 /* lwIP's tcp_poll unit is 500 ms: once a second */

struct conn {
	bool used;
	bool responded; /* the response is queued; draining the rest */
	bool fin_sent;
	bool peer_closed; /* the client's FIN came */
	struct tcp_pcb *pcb;
	u32 age_s;
	u32 req_len;
	char req[REQUEST_MAX + 1];
	struct http_out out;
	u32 sent; /* bytes of out handed to lwIP */
	char resp[RESPONSE_MAX];
};

static struct conn conns[CONN_MAX];
static u64 requests;

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

void out_puts(struct http_out *o, const char *s)
{
	u32 n = (u32)strlen(s);

	if (o->overflow || n >= o->cap - o->len) {
		o->overflow = true;
		return;
	}
	memcpy(o->buf + o->len, s, n);
	o->len += n;
	o->buf[o->len] = '\0';
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
		default: {
			char c[2] = { *s, '\0' };
			out_puts(o, c);
		}
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
	case 404:
		return "Not Found";
	case 405:
		return "Method Not Allowed";
	case 409:
		return "Conflict";
	case 413:
		return "Content Too Large";
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

/* Whether the head is complete: an empty line ends it (RFC 9112 §2.1;
 * a bare LF is accepted as a line end, §2.2). */
static bool head_complete(const char *s)
{
	for (; *s; s++)
		if (s[0] == '\n' && (s[1] == '\n' || (s[1] == '\r' && s[2] == '\n')))
			return true;
	return false;
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
	char log_method[81], log_path[81];
	const char *why; /* the parse error, for the 400 body */
};

/* Parses the head in c->req (terminated, header end found or not):
 * returns 0 and fills r, or the status of the error. */
static int parse_head(struct conn *c, struct request *r, bool complete)
{
	char *s = c->req, *eol = strchr(s, '\n'), *sp1, *sp2, *line;
	u32 mlen, plen;

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
	if (!complete)
		return 0;

	/* Header fields: name ":" value (RFC 9112 §5); only Content-Length
	 * matters here. */
	for (line = eol + 1; *line && *line != '\r' && *line != '\n';) {
		char *end = strchr(line, '\n'), *colon;
		if (!end)
			break;
		for (colon = line; colon < end && is_tchar(*colon); colon++)
			;
		if (colon == line || *colon != ':') {
			r->why = "malformed header field";
			return 400;
		}
		if (lower_eq(line, "content-length", (u32)(colon - line))) {
			const char *v = colon + 1;
			u64 len = 0;
			bool digits = false;
			while (*v == ' ' || *v == '\t')
				v++;
			for (; *v >= '0' && *v <= '9'; v++, digits = true)
				len = len < 1000000000ULL ? len * 10 + (u64)(*v - '0') : len;
			while (*v == ' ' || *v == '\t' || *v == '\r')
				v++;
			if (!digits || v != end) {
				r->why = "bad Content-Length";
				return 400;
			}
			if (len > BODY_MAX) {
				r->why = "request body too large";
				return 413;
			}
		}
		line = end + 1;
	}
	return 0;
}

/* ------------------------------------------------------------ connection -- */

static void conn_free(struct conn *c)
{
	if (c->pcb) {
		tcp_arg(c->pcb, NULL);
		tcp_recv(c->pcb, NULL);
		tcp_sent(c->pcb, NULL);
		tcp_err(c->pcb, NULL);
		tcp_poll(c->pcb, NULL, 0);
	}
	c->used = false;
	c->pcb = NULL;
}

/* Closes for good; aborts if lwIP cannot queue the FIN now. */
static void conn_close(struct conn *c)
{
	struct tcp_pcb *pcb = c->pcb;

	conn_free(c);
	if (pcb && tcp_close(pcb) != ERR_OK)
		tcp_abort(pcb);
}

/* Hands lwIP as much of the response as its send buffer takes; after the
 * last byte, our FIN. */
static void conn_push(struct conn *c)
{
	u32 n;

	while (c->sent < c->out.len) {
		n = MIN(c->out.len - c->sent, (u32)tcp_sndbuf(c->pcb));
		n = MIN(n, 0xffffu);
		if (n == 0 || tcp_write(c->pcb, c->out.buf + c->sent, (u16_t)n, 0) != ERR_OK)
			break;
		c->sent += n;
	}
	if (c->sent == c->out.len && !c->fin_sent && tcp_shutdown(c->pcb, 0, 1) == ERR_OK)
		c->fin_sent = true;
	tcp_output(c->pcb);
	if (c->fin_sent && c->peer_closed)
		conn_close(c);
}

static void respond(struct conn *c, const struct request *r, int status, const char *why)
{
	static char body_buf[RESPONSE_MAX - 512];
	struct http_out body = { .buf = body_buf, .cap = sizeof(body_buf) };
	struct api_reply reply = { .status = status, .content_type = "application/json" };

	body_buf[0] = '\0';
	if (status == 0)
		reply = api_handle(r->method, r->path, &body);
	else
		api_error(&body, status, why ? why : reason(status));
	if (body.overflow) {
		body.len = 0;
		body.overflow = false;
		reply.status = 500;
		reply.content_type = "application/json";
		api_error(&body, 500, "response too large");
	}
	c->out = (struct http_out){ .buf = c->resp, .cap = sizeof(c->resp) };
	out_printf(&c->out,
		   "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %u\r\n"
		   "Cache-Control: no-store\r\nConnection: close\r\n",
		   reply.status, reason(reply.status), reply.content_type, body.len);
	if (reply.allow)
		out_printf(&c->out, "Allow: %s\r\n", reply.allow);
	out_puts(&c->out, "\r\n");
	if (c->out.len + body.len <= c->out.cap) {
		memcpy(c->out.buf + c->out.len, body.buf, body.len);
		c->out.len += body.len;
	}
	c->responded = true;
	requests++;
	printf("%s %s %d\n", r->log_method, r->log_path, reply.status);
	conn_push(c);
}

/* Looks at what has arrived: answers once the head is complete, or at
 * once if what has arrived is already wrong. */
static void conn_examine(struct conn *c)
{
	struct request r;
	bool complete;
	int status;

	memset(&r, 0, sizeof(r));
	c->req[c->req_len] = '\0';
	if (strlen(c->req) != c->req_len) {
		parse_head(c, &r, false);
		respond(c, &r, 400, "NUL byte in the request");
		return;
	}
	complete = head_complete(c->req);
	status = parse_head(c, &r, complete);
	if (status) {
		respond(c, &r, status, r.why);
		return;
	}
	if (complete) {
		respond(c, &r, 0, NULL);
		return;
	}
	if (c->req_len == REQUEST_MAX)
		respond(c, &r, 431, "request head larger than 4096 bytes");
}

static err_t on_recv(void *arg, struct tcp_pcb *pcb, struct pbuf *p, err_t err)
{
	struct conn *c = arg;

	if (!c) {
		if (p) {
			tcp_recved(pcb, p->tot_len);
			pbuf_free(p);
		}
		return ERR_OK;
	}
	if (!p) {
		/* The client's FIN.  Answer what it sent if we have not. */
		c->peer_closed = true;
		if (!c->responded && c->req_len) {
			c->req_len = MIN(c->req_len, (u32)REQUEST_MAX);
			c->req[c->req_len] = '\0';
			struct request r;
			memset(&r, 0, sizeof(r));
			int status = parse_head(c, &r, true);
			respond(c, &r, status ? status : 400, r.why ? r.why : "incomplete request");
		}
		if (c->used && (!c->responded || c->fin_sent))
			conn_close(c);
		return ERR_OK;
	}
	if (err != ERR_OK) {
		pbuf_free(p);
		return err;
	}
	if (!c->responded) {
		u32 room = REQUEST_MAX - c->req_len;
		u32 n = MIN(room, (u32)p->tot_len);
		pbuf_copy_partial(p, c->req + c->req_len, (u16_t)n, 0);
		c->req_len += n;
	}
	tcp_recved(pcb, p->tot_len); /* whatever we keep or drop */
	pbuf_free(p);
	if (!c->responded)
		conn_examine(c);
	return ERR_OK;
}

static err_t on_sent(void *arg, struct tcp_pcb *pcb, u16_t len)
{
	struct conn *c = arg;

	(void)pcb, (void)len;
	if (c && c->responded)
		conn_push(c);
	return ERR_OK;
}

static void on_err(void *arg, err_t err)
{
	struct conn *c = arg;

	(void)err;
	if (c) {
		c->pcb = NULL; /* lwIP has freed it */
		conn_free(c);
	}
}

static err_t on_poll(void *arg, struct tcp_pcb *pcb)
{
	struct conn *c = arg;

	if (!c)
		return ERR_OK;
	c->age_s++;
	if (c->responded)
		conn_push(c);
	if (!c->used)
		return ERR_OK; /* conn_push closed it */
	if (c->age_s >= CONN_TIMEOUT_S) {
		conn_free(c);
		tcp_abort(pcb);
		return ERR_ABRT;
	}
	return ERR_OK;
}

static err_t on_accept(void *arg, struct tcp_pcb *pcb, err_t err)
{
	struct conn *c = NULL;

	(void)arg;
	if (err != ERR_OK || !pcb)
		return ERR_VAL;
	for (unsigned i = 0; i < CONN_MAX; i++)
		if (!conns[i].used) {
			c = &conns[i];
			break;
		}
	if (!c) {
		tcp_abort(pcb); /* busy: the client sees a reset and may retry */
		return ERR_ABRT;
	}
	c->used = true;
	c->responded = c->fin_sent = c->peer_closed = false;
	c->pcb = pcb;
	c->age_s = 0;
	c->req_len = 0;
	c->sent = 0;
	tcp_arg(pcb, c);
	tcp_recv(pcb, on_recv);
	tcp_sent(pcb, on_sent);
	tcp_err(pcb, on_err);
	tcp_poll(pcb, on_poll, POLL_INTERVAL);
	tcp_nagle_disable(pcb);
	return ERR_OK;
}

int http_start(void)
{
	struct tcp_pcb *pcb = tcp_new();

	if (!pcb)
		return -PARTITA_E_NOMEM;
	if (tcp_bind(pcb, IP_ADDR_ANY, HTTP_PORT) != ERR_OK)
		return -PARTITA_E_BUSY;
	pcb = tcp_listen(pcb);
	if (!pcb)
		return -PARTITA_E_NOMEM;
	tcp_accept(pcb, on_accept);
	return 0;
}
