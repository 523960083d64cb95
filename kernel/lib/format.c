/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * A small vsnprintf for the freestanding core and loader (see format.h).
 * Output beyond the buffer is counted but dropped, so callers can detect
 * truncation exactly as with C's vsnprintf.
 */
#include "kernel/lib/format.h"
#include "kernel/lib/string.h"
#include "kernel/lib/types.h"

struct out {
	char *buf;
	size_t size;
	size_t len;
};

static void put(struct out *o, char c)
{
	if (o->len + 1 < o->size)
		o->buf[o->len] = c;
	o->len++;
}

/* Text between conversions, in one copy (log lines are made on exit paths:
 * this keeps them short). */
static void put_run(struct out *o, const char *s, size_t n)
{
	if (o->len + 1 < o->size) {
		size_t room = o->size - 1 - o->len;
		memcpy(o->buf + o->len, s, n < room ? n : room);
	}
	o->len += n;
}

static void put_padding(struct out *o, char c, int n)
{
	while (n-- > 0)
		put(o, c);
}

struct spec {
	bool left;
	bool zero;
	bool alt; /* '#': 0x prefix for %x, 0X for %X, leading 0 for %o */
	int width;
	int precision; /* -1: none */
};

static void put_string(struct out *o, const char *s, const struct spec *sp)
{
	int len = 0;

	if (!s)
		s = "(null)";
	while ((sp->precision < 0 || len < sp->precision) && s[len])
		len++;
	if (!sp->left)
		put_padding(o, ' ', sp->width - len);
	put_run(o, s, (size_t)len);
	if (sp->left)
		put_padding(o, ' ', sp->width - len);
}

static void put_number(struct out *o, u64 v, bool negative, unsigned base, bool upper,
		       const char *prefix, const struct spec *sp)
{
	const char *digits = upper ? "0123456789ABCDEF" : "0123456789abcdef";
	char tmp[24];
	int n = 0, sign = negative ? 1 : 0, plen = 0;

	/* C: a zero printed with precision 0 has no digits at all.  The
	 * common bases divide by constants (shifts), not by a variable. */
	while (v || (n == 0 && sp->precision != 0)) {
		if (base == 16) {
			tmp[n++] = digits[v & 15];
			v >>= 4;
		} else if (base == 10) {
			tmp[n++] = digits[v % 10];
			v /= 10;
		} else {
			tmp[n++] = digits[v % base];
			v /= base;
		}
	}
	while (prefix && prefix[plen])
		plen++;
	int zeros = sp->precision > n ? sp->precision - n : 0;
	int total = sign + plen + zeros + n;
	if (sp->zero && !sp->left && sp->precision < 0 && sp->width > total) {
		zeros += sp->width - total;
		total = sp->width;
	}
	if (!sp->left)
		put_padding(o, ' ', sp->width - total);
	if (sign)
		put(o, '-');
	for (int i = 0; i < plen; i++)
		put(o, prefix[i]);
	put_padding(o, '0', zeros);
	while (n)
		put(o, tmp[--n]);
	if (sp->left)
		put_padding(o, ' ', sp->width - total);
}

/* C's '#' flag: no prefix for a zero hex value; octal gets one leading 0
 * unless the precision already gives it. */
static const char *alt_prefix(char conv, u64 v, const struct spec *sp)
{
	if (!sp->alt)
		return NULL;
	if (conv == 'x')
		return v ? "0x" : NULL;
	if (conv == 'X')
		return v ? "0X" : NULL;
	if (conv == 'o' && v && sp->precision <= 1)
		return "0";
	if (conv == 'o' && !v && sp->precision == 0)
		return "0";
	return NULL;
}

int vsnprintf(char *buf, size_t size, const char *fmt, va_list ap)
{
	struct out o = { buf, size, 0 };

	for (; *fmt; fmt++) {
		if (*fmt != '%') {
			const char *run = fmt;
			while (fmt[1] && fmt[1] != '%')
				fmt++;
			put_run(&o, run, (size_t)(fmt - run + 1));
			continue;
		}
		struct spec sp = { false, false, false, 0, -1 };
		fmt++;
		for (;; fmt++) {
			if (*fmt == '-')
				sp.left = true;
			else if (*fmt == '0')
				sp.zero = true;
			else if (*fmt == '#')
				sp.alt = true;
			else
				break;
		}
		if (*fmt == '*') {
			sp.width = va_arg(ap, int);
			if (sp.width < 0) {
				sp.left = true;
				sp.width = -sp.width;
			}
			fmt++;
		} else {
			while (*fmt >= '0' && *fmt <= '9')
				sp.width = sp.width * 10 + (*fmt++ - '0');
		}
		if (*fmt == '.') {
			fmt++;
			sp.precision = 0;
			if (*fmt == '*') {
				sp.precision = va_arg(ap, int);
				fmt++;
			} else {
				while (*fmt >= '0' && *fmt <= '9')
					sp.precision = sp.precision * 10 + (*fmt++ - '0');
			}
		}
		int lng = 0; /* 0 int, 1 long, 2 long long, 3 size_t, -1 short, -2 char */
		for (;; fmt++) {
			if (*fmt == 'l')
				lng = lng == 1 ? 2 : 1;
			else if (*fmt == 'z')
				lng = 3;
			else if (*fmt == 'h')
				lng = lng == -1 ? -2 : -1;
			else
				break;
		}
		u64 u;
		s64 s;
		switch (*fmt) {
		case 'd':
		case 'i':
			if (lng == 1 || lng == 2 || lng == 3)
				s = va_arg(ap, long long);
			else
				s = va_arg(ap, int);
			if (lng == -1)
				s = (short)s;
			else if (lng == -2)
				s = (signed char)s;
			put_number(&o, s < 0 ? (u64)0 - (u64)s : (u64)s, s < 0, 10, false, NULL,
				   &sp);
			break;
		case 'u':
		case 'x':
		case 'X':
		case 'o':
			if (lng == 1 || lng == 2 || lng == 3)
				u = va_arg(ap, unsigned long long);
			else
				u = va_arg(ap, unsigned int);
			if (lng == -1)
				u = (unsigned short)u;
			else if (lng == -2)
				u = (unsigned char)u;
			put_number(&o, u, false,
				   *fmt == 'o' ? 8 :
				   *fmt == 'u' ? 10 :
						 16,
				   *fmt == 'X', alt_prefix(*fmt, u, &sp), &sp);
			break;
		case 'p':
			put_number(&o, (u64)(uintptr_t)va_arg(ap, void *), false, 16, false, "0x",
				   &sp);
			break;
		case 'c':
			if (!sp.left)
				put_padding(&o, ' ', sp.width - 1);
			put(&o, (char)va_arg(ap, int));
			if (sp.left)
				put_padding(&o, ' ', sp.width - 1);
			break;
		case 's':
			put_string(&o, va_arg(ap, const char *), &sp);
			break;
		case '%':
			put(&o, '%');
			break;
		case '\0':
			fmt--; /* a lone '%' at the end: stop at the terminator */
			break;
		default:
			put(&o, '%');
			put(&o, *fmt);
			break;
		}
	}
	if (size)
		buf[o.len < size ? o.len : size - 1] = '\0';
	return (int)o.len;
}

int snprintf(char *buf, size_t size, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, size, fmt, ap);
	va_end(ap);
	return n;
}
