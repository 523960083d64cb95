/*
 * The guest runtime: hypercall entry (vmcall or vmmcall, chosen from the CPU
 * vendor at start), the console printf with its line buffer, and the start
 * and end of a guest.
 */
#include "guests/lib/partita.h"
#include "kernel/lib/format.h"
#include "kernel/lib/string.h"

#include <stdarg.h>

const struct partita_start_info *start_info;
static bool use_vmcall; /* Intel: vmcall; AMD: vmmcall */

void guest_runtime_start(const struct partita_start_info *si) __noreturn;

long hc_call(long nr, long a0, long a1, long a2, long a3, long a4)
{
	long ret;
	register long r10 asm("r10") = a3;
	register long r8 asm("r8") = a4;

	if (use_vmcall)
		asm volatile("vmcall"
			     : "=a"(ret)
			     : "a"(nr), "D"(a0), "S"(a1), "d"(a2), "r"(r10), "r"(r8)
			     : "memory");
	else
		asm volatile("vmmcall"
			     : "=a"(ret)
			     : "a"(nr), "D"(a0), "S"(a1), "d"(a2), "r"(r10), "r"(r8)
			     : "memory");
	return ret;
}

static char line_buf[256];
static size_t line_len;

void console_flush(void)
{
	if (line_len)
		hc_console_write(line_buf, line_len);
	line_len = 0;
}

static void console_put(char c)
{
	if (line_len == sizeof(line_buf))
		console_flush();
	line_buf[line_len++] = c;
	if (c == '\n')
		console_flush();
}

int printf(const char *fmt, ...)
{
	char buf[512];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	for (int i = 0; i < n && i < (int)sizeof(buf) - 1; i++)
		console_put(buf[i]);
	return n;
}

void hc_shutdown(long code)
{
	console_flush();
	for (;;)
		hc_call(HC_SHUTDOWN, code, 0, 0, 0, 0);
}

void guest_runtime_start(const struct partita_start_info *si)
{
	u32 ebx, ecx, edx, eax = 0;

	asm volatile("cpuid" : "+a"(eax), "=b"(ebx), "=c"(ecx), "=d"(edx));
	/* "GenuineIntel": EBX "Genu"; anything else is taken as AMD-like. */
	use_vmcall = ebx == 0x756e6547;
	start_info = si;
	hc_shutdown(guest_main(si));
}
