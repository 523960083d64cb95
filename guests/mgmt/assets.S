/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The status page's files (status.html, status.js, status.css), embedded
 * as they are in the image's read-only data, so the partition serves the
 * whole page itself.  page.c looks them up by path.
 */
	.section .rodata
	.balign 16
	.global page_html_start, page_html_end
page_html_start:
	.incbin "guests/mgmt/status.html"
page_html_end:
	.balign 16
	.global page_js_start, page_js_end
page_js_start:
	.incbin "guests/mgmt/status.js"
page_js_end:
	.balign 16
	.global page_css_start, page_css_end
page_css_start:
	.incbin "guests/mgmt/status.css"
page_css_end:

	.section .note.GNU-stack, "", @progbits
