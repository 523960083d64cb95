/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The management API and the status page, over the control hypercalls
 * (HC_PARTITION_LIST, _STATS, HC_CONSOLE_READ, HC_PARTITION_CTL,
 * HC_SCHEDULE_INFO):
 *
 *   GET  /, /status.js, /status.css        the status page (assets.S)
 *   GET  /api/partitions                   every partition, as JSON
 *   GET  /api/partitions/NAME              one partition
 *   GET  /api/partitions/NAME/console      the tail of its console
 *   GET  /api/schedule                     every CPU's windows in one frame
 *   GET  /api/history[?since=SEQ]          per-second CPU share and lateness
 *   POST /api/partitions/NAME/stop|start|restart
 *
 * Who may do what: the page's three files hold no data and are served to
 * anyone (the page asks for the token itself).  GET of the data needs the
 * bearer token unless the config says api_public_read = yes; a POST always
 * needs it.  A request that carries a token has it checked even where none
 * is needed, so that a wrong one is noticed.  A refused request gets 401
 * (or 429 while its client is locked out, auth.c) and a JSON error, and
 * nothing else: no data, no action.
 *
 * Everything else is 404 (unknown path or partition) or 405 (a known path
 * with another method); errors are {"error": "...", "status": N}.
 */
#include "guests/mgmt/mgmt.h"
#include "kernel/lib/string.h"

#define MAX_PARTS 16
#define CONSOLE_MAX 4096 /* CONSOLE_TAIL of the hypervisor */

bool api_public_read;

static struct partita_partition_info parts[MAX_PARTS];
static char console_buf[CONSOLE_MAX];
static struct partita_schedule_info sched;

static const char *const exit_names[PARTITA_EXIT_KINDS] = {
	"hypercall", "cpuid", "io", "msr", "mmio", "hlt", "intr", "other",
};

static const char *state_name(u32 s)
{
	static const char *const names[] = { "stopped", "running", "waiting", "faulted", "exited" };

	return s < ARRAY_SIZE(names) ? names[s] : "unknown";
}

static const char *kind_name(u32 k)
{
	return k == 1 ? "pv" : k == 2 ? "hvm" : "unknown";
}

static long list_partitions(void)
{
	long n = hc_call_whole(HC_PARTITION_LIST, (long)parts, MAX_PARTS, 0, 0);

	return n < 0 ? n : MIN(n, (long)MAX_PARTS);
}

static const struct partita_partition_info *find(const char *name, u32 len, long n)
{
	for (long i = 0; i < n; i++)
		if (strlen(parts[i].name) == len && !memcmp(parts[i].name, name, len))
			return &parts[i];
	return NULL;
}

static const char *name_of(u32 id, long n)
{
	for (long i = 0; i < n; i++)
		if (parts[i].id == id)
			return parts[i].name;
	return "?";
}

void api_error(struct http_out *body, int status, const char *msg)
{
	out_puts(body, "{\"error\":\"");
	out_json_string(body, msg, (u32)strlen(msg));
	out_printf(body, "\",\"status\":%d}\n", status);
}

static bool schedule_info(void)
{
	return hc_call_whole(HC_SCHEDULE_INFO, (long)&sched, 0, 0, 0) == 0;
}

static void partition_json(struct http_out *o, const struct partita_partition_info *p,
			   bool have_sched)
{
	struct partita_partition_stats st;
	const struct partita_partition_counters *k =
		have_sched && p->id < sched.partition_count ? &sched.counters[p->id] : NULL;

	if (hc_call(HC_PARTITION_STATS, p->id, (long)&st, 0, 0, 0))
		memset(&st, 0, sizeof(st));
	out_printf(o, "{\"id\":%u,\"name\":\"", p->id);
	out_json_string(o, p->name, (u32)strnlen(p->name, sizeof(p->name)));
	out_printf(o,
		   "\",\"kind\":\"%s\",\"state\":\"%s\",\"cpu\":%u,\"memory_kib\":%llu,"
		   "\"control\":%s,\"self\":%s,\"restarts\":%u,\"exit_code\":%lld,\"windows\":%llu,"
		   "\"cpu_time_ns\":%llu,\"max_start_late_ns\":%llu,\"mean_start_late_ns\":%llu,"
		   "\"console_bytes\":%llu,\"console_total\":%llu,\"exits\":{",
		   kind_name(p->kind), state_name(p->state), p->cpu,
		   (unsigned long long)(p->mem_size >> 10), p->caps ? "true" : "false",
		   p->id == start_info->partition_id ? "true" : "false", p->restarts,
		   (long long)p->exit_code, (unsigned long long)st.windows,
		   (unsigned long long)st.cpu_time_ns, (unsigned long long)st.max_start_late_ns,
		   (unsigned long long)(k && k->late_starts ? k->late_sum_ns / k->late_starts : 0),
		   (unsigned long long)st.console_bytes,
		   (unsigned long long)(k ? k->console_total : 0));
	for (unsigned e = 0; e < PARTITA_EXIT_KINDS; e++)
		out_printf(o, "%s\"%s\":%llu", e ? "," : "", exit_names[e],
			   (unsigned long long)st.exits[e]);
	/* Its pages by layer (ABI 1.2; images and instances in the README). */
	struct partita_memory_info m;
	if (hc_call(HC_PARTITION_MEMORY, p->id, (long)&m, 0, 0, 0))
		memset(&m, 0, sizeof(m));
	out_printf(o,
		   "},\"memory\":{\"instance\":%s,\"shared_pages\":%llu,\"private_pages\":%llu,"
		   "\"budget_pages\":%llu,\"copy_pages\":%llu,\"cow_faults\":%llu}}",
		   m.instance ? "true" : "false", (unsigned long long)m.shared_pages,
		   (unsigned long long)m.private_pages, (unsigned long long)m.budget_pages,
		   (unsigned long long)m.copy_pages, (unsigned long long)m.cow_faults);
}

static void list_json(struct http_out *o, long n)
{
	bool have = schedule_info();

	out_printf(o, "{\"uptime_ns\":%llu,\"self\":\"", (unsigned long long)hc_time());
	out_json_string(o, start_info->name, (u32)strlen(start_info->name));
	out_puts(o, "\",\"partitions\":[");
	for (long i = 0; i < n; i++) {
		if (i)
			out_puts(o, ",");
		partition_json(o, &parts[i], have);
	}
	out_puts(o, "]}\n");
}

/* The schedule by CPU: {"frame_ns", "epoch_ns", "now_ns", "cpus": [{"cpu",
 * "windows": [{"id", "partition", "offset_ns", "length_ns"}]}]}. */
static bool schedule_json(struct http_out *o, long n)
{
	if (!schedule_info())
		return false;
	out_printf(o, "{\"frame_ns\":%llu,\"epoch_ns\":%llu,\"now_ns\":%llu,\"cpus\":[",
		   (unsigned long long)sched.frame_ns, (unsigned long long)sched.epoch_ns,
		   (unsigned long long)sched.now_ns);
	u32 count = MIN(sched.window_count, (u32)PARTITA_SCHEDULE_MAX_WINDOWS);
	for (u32 i = 0; i < count; i++) {
		const struct partita_schedule_window *w = &sched.windows[i];
		bool first_of_cpu = i == 0 || sched.windows[i - 1].cpu != w->cpu;
		if (first_of_cpu)
			out_printf(o, "%s{\"cpu\":%u,\"windows\":[", i ? "]}," : "", w->cpu);
		out_printf(o, "%s{\"id\":%u,\"partition\":\"", first_of_cpu ? "" : ",",
			   w->partition);
		const char *name = name_of(w->partition, n);
		out_json_string(o, name, (u32)strlen(name));
		out_printf(o, "\",\"offset_ns\":%llu,\"length_ns\":%llu}",
			   (unsigned long long)w->offset_ns, (unsigned long long)w->length_ns);
	}
	out_puts(o, count ? "]}]}\n" : "]}\n");
	return true;
}

/* ?since=N in a query (0 if absent or not a number). */
static u64 query_since(const char *path)
{
	const char *q = strchr(path, '?');
	u64 v = 0;

	if (!q || strncmp(q + 1, "since=", 6))
		return 0;
	for (q += 7; *q >= '0' && *q <= '9'; q++)
		v = v < 100000000000ULL ? v * 10 + (u64)(*q - '0') : v;
	return v;
}

static struct api_reply reply(int status, const char *type)
{
	return (struct api_reply){ .status = status, .content_type = type };
}

static struct api_reply error(struct http_out *body, int status, const char *msg)
{
	api_error(body, status, msg);
	return reply(status, "application/json");
}

static struct api_reply not_allowed(struct http_out *body, const char *allow)
{
	struct api_reply r = error(body, 405, "method not allowed");

	r.allow = allow;
	return r;
}

static struct api_reply control(struct http_out *body, const struct partita_partition_info *p,
				const char *action)
{
	long op = !strcmp(action, "stop")  ? PARTITION_CTL_STOP :
		  !strcmp(action, "start") ? PARTITION_CTL_START :
					     PARTITION_CTL_RESTART;
	long r = hc_call(HC_PARTITION_CTL, p->id, op, 0, 0, 0);

	if (r == -PARTITA_E_BUSY)
		return error(body, 409, "the partition is already running");
	if (r == -PARTITA_E_INVAL && p->id == start_info->partition_id)
		return error(body, 409, "the management partition does not control itself");
	if (r == -PARTITA_E_NOTSUP)
		return error(body, 409, "the partition could not be created at boot");
	if (r < 0)
		return error(body, 500, "the hypervisor refused the request");
	out_puts(body, "{\"name\":\"");
	out_json_string(body, p->name, (u32)strlen(p->name));
	out_printf(body, "\",\"action\":\"%s\",\"ok\":true}\n", action);
	return reply(200, "application/json");
}

/*
 * The console tail of p with the position it ends at (console_total),
 * consistent: the position is read before and after the tail, and the read
 * repeated if the partition wrote in between (on another CPU).  The
 * management partition's own tail has its token masked.
 */
static struct api_reply console(struct http_out *body, const struct partita_partition_info *p)
{
	long len = -1;
	u64 total = 0;

	for (int tries = 0; tries < 4; tries++) {
		u64 before = schedule_info() ? sched.counters[p->id].console_total : 0;
		len = hc_call_whole(HC_CONSOLE_READ, p->id, (long)console_buf, sizeof(console_buf),
				    0);
		total = schedule_info() ? sched.counters[p->id].console_total : 0;
		if (len < 0 || before == total)
			break;
	}
	if (len < 0)
		return error(body, 500, "console read failed");
	if (p->id == start_info->partition_id)
		auth_redact(console_buf, (u32)len);
	out_printf(body, "{\"id\":%u,\"name\":\"", p->id);
	out_json_string(body, p->name, (u32)strlen(p->name));
	out_printf(body, "\",\"total\":%llu,\"console\":\"", (unsigned long long)total);
	out_json_string(body, console_buf, (u32)len);
	out_puts(body, "\"}\n");
	return reply(200, "application/json");
}

/* Whether req may go on: 0, or the status it is refused with (the body and
 * headers written). */
static int authorize(const struct api_request *req, bool needed, struct http_out *body,
		     struct api_reply *r)
{
	u32 retry = 0;
	enum auth_result a;

	if (!needed && !req->authorization)
		return 0;
	a = auth_check(req->authorization, req->client_ip, hc_time(), &retry);
	if (a == AUTH_OK)
		return 0;
	if (a == AUTH_LOCKED) {
		*r = error(body, 429, "too many bad tokens from this address: try again later");
		r->retry_after_s = retry;
		return 429;
	}
	*r = error(body, 401,
		   a == AUTH_MISSING ? "this request needs the API's bearer token" :
				       "the bearer token is not the API's");
	r->bad_token = a == AUTH_BAD;
	return 401;
}

struct api_reply api_handle(const struct api_request *req, struct http_out *body)
{
	static const char prefix[] = "/api/partitions";
	bool get = !strcmp(req->method, "GET"), post = !strcmp(req->method, "POST");
	const struct page_file *file;
	struct api_reply refused;
	char clean[256];
	const char *name, *slash;
	long n;

	strlcpy(clean, req->path, sizeof(clean));
	if (strchr(clean, '?'))
		*strchr(clean, '?') = '\0';

	/* The page's files: public, no data. */
	file = page_find(clean);
	if (file) {
		if (!get)
			return not_allowed(body, "GET");
		out_bytes(body, file->data, file->size);
		struct api_reply r = reply(200, file->type);
		r.page = true;
		return r;
	}
	if (strncmp(clean, "/api/", 5))
		return error(body, 404, "no such path");

	/* The API: a POST always needs the token, a GET unless public. */
	if (authorize(req, post || !(get && api_public_read), body, &refused))
		return refused;

	n = list_partitions();
	if (n < 0)
		return error(body, 500, "no control capability");
	if (!strcmp(clean, "/api/schedule")) {
		if (!get)
			return not_allowed(body, "GET");
		if (!schedule_json(body, n))
			return error(body, 500, "no schedule from the hypervisor");
		return reply(200, "application/json");
	}
	if (!strcmp(clean, "/api/history")) {
		if (!get)
			return not_allowed(body, "GET");
		history_json(body, query_since(req->path));
		return reply(200, "application/json");
	}
	if (!strcmp(clean, prefix) || !strcmp(clean, "/api/partitions/")) {
		if (!get)
			return not_allowed(body, "GET");
		list_json(body, n);
		return reply(200, "application/json");
	}
	if (strncmp(clean, prefix, sizeof(prefix) - 1) || clean[sizeof(prefix) - 1] != '/')
		return error(body, 404, "no such path");

	/* /api/partitions/NAME[/what] */
	name = clean + sizeof(prefix);
	slash = strchr(name, '/');
	const struct partita_partition_info *p =
		find(name, slash ? (u32)(slash - name) : (u32)strlen(name), n);
	if (!p)
		return error(body, 404, "no such partition");
	if (!slash || !slash[1]) {
		if (!get)
			return not_allowed(body, "GET");
		partition_json(body, p, schedule_info());
		out_puts(body, "\n");
		return reply(200, "application/json");
	}
	const char *what = slash + 1;
	if (!strcmp(what, "console")) {
		if (!get)
			return not_allowed(body, "GET");
		return console(body, p);
	}
	if (!strcmp(what, "stop") || !strcmp(what, "start") || !strcmp(what, "restart")) {
		if (!post)
			return not_allowed(body, "POST");
		return control(body, p, what);
	}
	return error(body, 404, "no such path");
}
