/*
 * The printf-subset formatter (rt/format.h). Output goes through a callback so
 * the console can print without a line buffer and snprintf can truncate.
 */
#include "rt/format.h"

#include <stdbool.h>
#include <stdint.h>

struct spec {
	bool left, zero, plus, space, alt;
	int width;
	int prec; /* -1: none */
	int len;  /* -2 hh, -1 h, 0 int, 1 l, 2 ll, 3 z */
};

struct out {
	void (*put)(char c, void *ctx);
	void *ctx;
	int count;
};

static void emit(struct out *o, char c)
{
	o->put(c, o->ctx);
	o->count++;
}

static void emit_repeat(struct out *o, char c, int n)
{
	for (int i = 0; i < n; i++)
		emit(o, c);
}

static const char *parse_spec(const char *p, struct spec *s, va_list *ap)
{
	*s = (struct spec){.prec = -1};
	for (;; p++) {
		if (*p == '-')
			s->left = true;
		else if (*p == '0')
			s->zero = true;
		else if (*p == '+')
			s->plus = true;
		else if (*p == ' ')
			s->space = true;
		else if (*p == '#')
			s->alt = true;
		else
			break;
	}
	if (*p == '*') {
		s->width = va_arg(*ap, int);
		if (s->width < 0) {
			s->left = true;
			s->width = -s->width;
		}
		p++;
	} else {
		while (*p >= '0' && *p <= '9')
			s->width = s->width * 10 + (*p++ - '0');
	}
	if (*p == '.') {
		p++;
		s->prec = 0;
		if (*p == '*') {
			s->prec = va_arg(*ap, int);
			if (s->prec < 0)
				s->prec = -1; /* as C: a negative precision is none */
			p++;
		} else {
			while (*p >= '0' && *p <= '9')
				s->prec = s->prec * 10 + (*p++ - '0');
		}
	}
	if (*p == 'h') {
		s->len = -1;
		if (*++p == 'h') {
			s->len = -2;
			p++;
		}
	} else if (*p == 'l') {
		s->len = 1;
		if (*++p == 'l') {
			s->len = 2;
			p++;
		}
	} else if (*p == 'z') {
		s->len = 3;
		p++;
	}
	return p;
}

static uint64_t arg_unsigned(const struct spec *s, va_list *ap)
{
	switch (s->len) {
	case -2:
		return (unsigned char)va_arg(*ap, unsigned int);
	case -1:
		return (unsigned short)va_arg(*ap, unsigned int);
	case 1:
		return va_arg(*ap, unsigned long);
	case 2:
		return va_arg(*ap, unsigned long long);
	case 3:
		return va_arg(*ap, size_t);
	default:
		return va_arg(*ap, unsigned int);
	}
}

static int64_t arg_signed(const struct spec *s, va_list *ap)
{
	switch (s->len) {
	case -2:
		return (signed char)va_arg(*ap, int);
	case -1:
		return (short)va_arg(*ap, int);
	case 1:
		return va_arg(*ap, long);
	case 2:
		return va_arg(*ap, long long);
	case 3:
		/* The signed type of size_t's width (ssize_t is POSIX, not C). */
		return (int64_t)va_arg(*ap, size_t);
	default:
		return va_arg(*ap, int);
	}
}

/* Prints `prefix` then the digits of v in `base`, padded as s asks. */
static void format_number(struct out *o, const struct spec *s, uint64_t v, unsigned base,
                          bool upper, const char *prefix)
{
	const char *digits = upper ? "0123456789ABCDEF" : "0123456789abcdef";
	char buf[24];
	int n = 0;

	/* C: a zero value with precision 0 prints no digits. */
	if (!(v == 0 && s->prec == 0)) {
		do {
			buf[n++] = digits[v % base];
			v /= base;
		} while (v != 0);
	}
	int prefix_len = 0;
	while (prefix[prefix_len] != '\0')
		prefix_len++;
	int zeros = s->prec > n ? s->prec - n : 0;
	int body = prefix_len + zeros + n;
	int pad = s->width > body ? s->width - body : 0;
	/* The '0' flag is ignored with '-' or with a precision (C11 7.21.6.1). */
	if (s->zero && !s->left && s->prec < 0) {
		zeros += pad;
		pad = 0;
	}
	if (!s->left)
		emit_repeat(o, ' ', pad);
	for (int i = 0; i < prefix_len; i++)
		emit(o, prefix[i]);
	emit_repeat(o, '0', zeros);
	while (n > 0)
		emit(o, buf[--n]);
	if (s->left)
		emit_repeat(o, ' ', pad);
}

static void format_string(struct out *o, const struct spec *s, const char *str)
{
	if (str == NULL)
		str = "(null)";
	int len = 0;
	while (str[len] != '\0' && (s->prec < 0 || len < s->prec))
		len++;
	int pad = s->width > len ? s->width - len : 0;
	if (!s->left)
		emit_repeat(o, ' ', pad);
	for (int i = 0; i < len; i++)
		emit(o, str[i]);
	if (s->left)
		emit_repeat(o, ' ', pad);
}

int hv_vformat(void (*put)(char c, void *ctx), void *ctx, const char *fmt, va_list ap_in)
{
	struct out o = {.put = put, .ctx = ctx, .count = 0};
	va_list ap;
	va_copy(ap, ap_in);

	for (const char *p = fmt; *p != '\0'; p++) {
		if (*p != '%') {
			emit(&o, *p);
			continue;
		}
		if (p[1] == '\0') {
			emit(&o, '%');
			break;
		}
		struct spec s;
		const char *conv = parse_spec(p + 1, &s, &ap);
		switch (*conv) {
		case 'd':
		case 'i': {
			int64_t v = arg_signed(&s, &ap);
			/* Negate in unsigned arithmetic: INT64_MIN has no positive twin. */
			uint64_t mag = v < 0 ? -(uint64_t)v : (uint64_t)v;
			const char *sign = v < 0 ? "-" : s.plus ? "+" : s.space ? " " : "";
			format_number(&o, &s, mag, 10, false, sign);
			break;
		}
		case 'u':
			format_number(&o, &s, arg_unsigned(&s, &ap), 10, false, "");
			break;
		case 'x':
		case 'X': {
			uint64_t v = arg_unsigned(&s, &ap);
			const char *prefix = (s.alt && v != 0) ? (*conv == 'x' ? "0x" : "0X") : "";
			format_number(&o, &s, v, 16, *conv == 'X', prefix);
			break;
		}
		case 'p': {
			uint64_t v = (uint64_t)(uintptr_t)va_arg(ap, void *);
			if (s.prec < 0)
				s.prec = 16;
			format_number(&o, &s, v, 16, false, "0x");
			break;
		}
		case 's':
			format_string(&o, &s, va_arg(ap, const char *));
			break;
		case 'c': {
			char c = (char)va_arg(ap, int);
			int pad = s.width > 1 ? s.width - 1 : 0;
			if (!s.left)
				emit_repeat(&o, ' ', pad);
			emit(&o, c);
			if (s.left)
				emit_repeat(&o, ' ', pad);
			break;
		}
		case '%':
			emit(&o, '%');
			break;
		case '\0':
			/* A spec cut short by the end of the string: print it raw. */
			for (const char *q = p; q < conv; q++)
				emit(&o, *q);
			conv--;
			break;
		default:
			for (const char *q = p; q <= conv; q++)
				emit(&o, *q);
			break;
		}
		p = conv;
	}
	va_end(ap);
	return o.count;
}

struct buf_sink {
	char *buf;
	size_t size;
	size_t pos;
};

static void buf_put(char c, void *ctx)
{
	struct buf_sink *b = ctx;
	if (b->pos + 1 < b->size)
		b->buf[b->pos] = c;
	b->pos++;
}

int hv_vsnprintf(char *buf, size_t n, const char *fmt, va_list ap)
{
	struct buf_sink b = {.buf = buf, .size = n, .pos = 0};
	int count = hv_vformat(buf_put, &b, fmt, ap);
	if (n > 0)
		buf[b.pos < n ? b.pos : n - 1] = '\0';
	return count;
}

int hv_snprintf(char *buf, size_t n, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int r = hv_vsnprintf(buf, n, fmt, ap);
	va_end(ap);
	return r;
}
