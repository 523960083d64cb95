/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The status page's files (embedded by assets.S), by path.
 */
#include "guests/mgmt/mgmt.h"
#include "kernel/lib/string.h"

extern const char page_html_start[], page_html_end[];
extern const char page_js_start[], page_js_end[];
extern const char page_css_start[], page_css_end[];

const struct page_file *page_find(const char *path)
{
	static struct page_file files[4];

	if (!files[0].path) {
		files[0] = (struct page_file){ "/", "text/html; charset=utf-8", page_html_start,
					       (u32)(page_html_end - page_html_start) };
		files[1] = files[0];
		files[1].path = "/index.html";
		files[2] = (struct page_file){ "/status.js", "text/javascript; charset=utf-8",
					       page_js_start, (u32)(page_js_end - page_js_start) };
		files[3] = (struct page_file){ "/status.css", "text/css; charset=utf-8",
					       page_css_start,
					       (u32)(page_css_end - page_css_start) };
	}
	for (unsigned i = 0; i < ARRAY_SIZE(files); i++)
		if (!strcmp(files[i].path, path))
			return &files[i];
	return NULL;
}
