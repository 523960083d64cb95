/*
 * The management API and status page, over the control hypercalls
 * (HC_PARTITION_LIST, _STATS, HC_CONSOLE_READ, HC_PARTITION_CTL):
 *
 *   GET  /                                 HTML status page (refreshes itself)
 *   GET  /api/partitions                   every partition, as JSON
 *   GET  /api/partitions/NAME              one partition
 *   GET  /api/partitions/NAME/console      the tail of its console
 *   POST /api/partitions/NAME/stop|start|restart
 *
 * Everything else is 404 (unknown path or partition) or 405 (a known path
 * with another method); errors are {"error": "...", "status": N}.
 */
#include "guests/mgmt/mgmt.h"
#include "kernel/lib/string.h"

#define MAX_PARTS 16
#define CONSOLE_MAX 4096 /* CONSOLE_TAIL of the hypervisor */

static struct partita_partition_info parts[MAX_PARTS];
static char console_buf[CONSOLE_MAX];

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
	long n = hc_call(HC_PARTITION_LIST, (long)parts, MAX_PARTS, 0, 0, 0);

	return n < 0 ? n : MIN(n, (long)MAX_PARTS);
}

static const struct partita_partition_info *find(const char *name, u32 len, long n)
{
	for (long i = 0; i < n; i++)
		if (strlen(parts[i].name) == len && !memcmp(parts[i].name, name, len))
			return &parts[i];
	return NULL;
}

void api_error(struct http_out *body, int status, const char *msg)
{
	out_puts(body, "{\"error\":\"");
	out_json_string(body, msg, (u32)strlen(msg));
	out_printf(body, "\",\"status\":%d}\n", status);
}

static void partition_json(struct http_out *o, const struct partita_partition_info *p)
{
	struct partita_partition_stats st;
	bool have = hc_call(HC_PARTITION_STATS, p->id, (long)&st, 0, 0, 0) == 0;

	if (!have)
		memset(&st, 0, sizeof(st));
	out_printf(o, "{\"id\":%u,\"name\":\"", p->id);
	out_json_string(o, p->name, (u32)strnlen(p->name, sizeof(p->name)));
	out_printf(o,
		   "\",\"kind\":\"%s\",\"state\":\"%s\",\"cpu\":%u,\"memory_kib\":%llu,"
		   "\"control\":%s,\"self\":%s,\"restarts\":%u,\"exit_code\":%lld,\"windows\":%llu,"
		   "\"cpu_time_ns\":%llu,\"max_start_late_ns\":%llu,\"console_bytes\":%llu,\"exits\":{",
		   kind_name(p->kind), state_name(p->state), p->cpu,
		   (unsigned long long)(p->mem_size >> 10), p->caps ? "true" : "false",
		   p->id == start_info->partition_id ? "true" : "false", p->restarts,
		   (long long)p->exit_code, (unsigned long long)st.windows,
		   (unsigned long long)st.cpu_time_ns, (unsigned long long)st.max_start_late_ns,
		   (unsigned long long)st.console_bytes);
	for (unsigned k = 0; k < PARTITA_EXIT_KINDS; k++)
		out_printf(o, "%s\"%s\":%llu", k ? "," : "", exit_names[k],
			   (unsigned long long)st.exits[k]);
	out_puts(o, "}}");
}

static void list_json(struct http_out *o, long n)
{
	out_printf(o, "{\"uptime_ns\":%llu,\"partitions\":[", (unsigned long long)hc_time());
	for (long i = 0; i < n; i++) {
		if (i)
			out_puts(o, ",");
		partition_json(o, &parts[i]);
	}
	out_puts(o, "]}\n");
}

static u64 exits_total(u32 id, u64 *cpu_ns, u64 *windows)
{
	struct partita_partition_stats st;
	u64 sum = 0;

	*cpu_ns = *windows = 0;
	if (hc_call(HC_PARTITION_STATS, id, (long)&st, 0, 0, 0))
		return 0;
	for (unsigned k = 0; k < PARTITA_EXIT_KINDS; k++)
		sum += st.exits[k];
	*cpu_ns = st.cpu_time_ns;
	*windows = st.windows;
	return sum;
}

/* The page: a table rendered here (so that it is complete without
 * scripts), refreshed every 2 s by a script from /api/partitions. */
static void status_page(struct http_out *o, long n)
{
	out_puts(o, "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
		    "<title>Partita</title><style>"
		    "body{font-family:sans-serif;margin:2em}table{border-collapse:collapse}"
		    "td,th{border:1px solid #999;padding:.2em .6em;text-align:left}"
		    ".running,.waiting{color:#070}.faulted{color:#b00}.stopped,.exited{color:#666}"
		    "</style></head><body><h1>Partita</h1>");
	out_printf(o, "<p>Management partition <b>");
	out_html(o, start_info->name);
	out_printf(o,
		   "</b>; up <span id=\"uptime\">%llu</span> s. "
		   "API: <a href=\"/api/partitions\">/api/partitions</a></p>\n",
		   (unsigned long long)(hc_time() / 1000000000ULL));
	out_puts(o, "<table><thead><tr><th>id</th><th>name</th><th>kind</th><th>state</th>"
		    "<th>windows</th><th>CPU ms</th><th>exits</th><th>restarts</th></tr></thead>"
		    "<tbody id=\"partitions\">\n");
	for (long i = 0; i < n; i++) {
		const struct partita_partition_info *p = &parts[i];
		u64 cpu_ns, windows, exits = exits_total(p->id, &cpu_ns, &windows);
		out_printf(o, "<tr class=\"partition\" data-name=\"");
		out_html(o, p->name);
		out_printf(o, "\"><td>%u</td><td>", p->id);
		out_html(o, p->name);
		out_printf(o,
			   "</td><td>%s</td><td class=\"%s\">%s</td><td>%llu</td><td>%llu</td>"
			   "<td>%llu</td><td>%u</td></tr>\n",
			   kind_name(p->kind), state_name(p->state), state_name(p->state),
			   (unsigned long long)windows, (unsigned long long)(cpu_ns / 1000000),
			   (unsigned long long)exits, p->restarts);
	}
	out_puts(o,
		 "</tbody></table>\n<script>\n"
		 "function esc(s){return String(s).replace(/[&<>\"']/g,c=>'&#'+c.charCodeAt(0)+';');}\n"
		 "async function refresh(){\n"
		 " try{const r=await fetch('/api/partitions',{cache:'no-store'});const j=await r.json();\n"
		 "  document.getElementById('uptime').textContent=Math.floor(j.uptime_ns/1e9);\n"
		 "  document.getElementById('partitions').innerHTML=j.partitions.map(p=>{\n"
		 "   const ex=Object.values(p.exits).reduce((a,b)=>a+b,0);\n"
		 "   return '<tr class=\"partition\" data-name=\"'+esc(p.name)+'\"><td>'+p.id+'</td><td>'"
		 "+esc(p.name)+'</td><td>'+esc(p.kind)+'</td><td class=\"'+esc(p.state)+'\">'"
		 "+esc(p.state)+'</td><td>'+p.windows+'</td><td>'+Math.floor(p.cpu_time_ns/1e6)"
		 "+'</td><td>'+ex+'</td><td>'+p.restarts+'</td></tr>';}).join('');\n"
		 " }catch(e){}\n"
		 "}\nsetInterval(refresh,2000);\n</script>\n</body></html>\n");
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

struct api_reply api_handle(const char *method, const char *path, struct http_out *body)
{
	static const char prefix[] = "/api/partitions";
	bool get = !strcmp(method, "GET"), post = !strcmp(method, "POST");
	char clean[256];
	const char *name, *slash;
	long n;

	strlcpy(clean, path, sizeof(clean));
	if (strchr(clean, '?'))
		*strchr(clean, '?') = '\0';
	n = list_partitions();
	if (n < 0)
		return error(body, 500, "no control capability");

	if (!strcmp(clean, "/") || !strcmp(clean, "/index.html")) {
		if (!get)
			return not_allowed(body, "GET");
		status_page(body, n);
		return reply(200, "text/html; charset=utf-8");
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
		partition_json(body, p);
		out_puts(body, "\n");
		return reply(200, "application/json");
	}
	const char *what = slash + 1;
	if (!strcmp(what, "console")) {
		if (!get)
			return not_allowed(body, "GET");
		long len = hc_call(HC_CONSOLE_READ, p->id, (long)console_buf, sizeof(console_buf),
				   0, 0);
		if (len < 0)
			return error(body, 500, "console read failed");
		out_printf(body, "{\"id\":%u,\"name\":\"", p->id);
		out_json_string(body, p->name, (u32)strlen(p->name));
		out_puts(body, "\",\"console\":\"");
		out_json_string(body, console_buf, (u32)len);
		out_puts(body, "\"}\n");
		return reply(200, "application/json");
	}
	if (!strcmp(what, "stop") || !strcmp(what, "start") || !strcmp(what, "restart")) {
		if (!post)
			return not_allowed(body, "POST");
		return control(body, p, what);
	}
	return error(body, 404, "no such path");
}
