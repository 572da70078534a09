#include "guest/console.h"

#include <stdbool.h>
#include <stdint.h>

#include "guest/cpu.h"

#define COM1     0x3f8
#define LSR_THRE 0x20 /* transmitter holding register empty */
#define LSR_TEMT 0x40 /* transmitter empty: FIFO and shift register drained */

static volatile uint32_t con_lock;

void con_init(void)
{
	outb(COM1 + 1, 0x00); /* no interrupts */
	outb(COM1 + 3, 0x80); /* DLAB */
	outb(COM1 + 0, 0x01); /* 115200 baud */
	outb(COM1 + 1, 0x00);
	outb(COM1 + 3, 0x03); /* 8N1 */
	outb(COM1 + 2, 0xc7); /* FIFO on, cleared */
	outb(COM1 + 4, 0x03); /* DTR, RTS */
}

static void con_putc(char c)
{
	for (uint32_t i = 0; i < 1000000 && !(inb(COM1 + 5) & LSR_THRE); i++)
		cpu_pause();
	outb(COM1, (uint8_t)c);
}

void con_flush(void)
{
	for (uint32_t i = 0; i < 1000000 && !(inb(COM1 + 5) & LSR_TEMT); i++)
		cpu_pause();
}

struct sink {
	char *buf;
	size_t n, len;
};

static void put(struct sink *s, char c)
{
	if (s->len + 1 < s->n)
		s->buf[s->len] = c;
	s->len++;
}

static void put_num(struct sink *s, uint64_t v, unsigned base, bool upper, int width, char pad)
{
	const char *digits = upper ? "0123456789ABCDEF" : "0123456789abcdef";
	char tmp[24];
	int i = 0;

	/* 32-bit build: 64-bit values only in hex (shifts), 64-bit division would
	 * need libgcc; the 64-bit PAL stage divides natively. */
	if (base == 16) {
		do {
			tmp[i++] = digits[v & 15];
			v >>= 4;
		} while (v);
	} else {
#ifdef __x86_64__
		uint64_t u = v;
#else
		uint32_t u = (uint32_t)v;
#endif
		do {
			tmp[i++] = digits[u % 10];
			u /= 10;
		} while (u);
	}
	for (int w = i; w < width; w++)
		put(s, pad);
	while (i > 0)
		put(s, tmp[--i]);
}

void str_vformat(char *buf, size_t n, const char *fmt, va_list ap)
{
	struct sink s = {buf, n, 0};

	for (; *fmt; fmt++) {
		if (*fmt != '%') {
			put(&s, *fmt);
			continue;
		}
		fmt++;
		char pad = ' ';
		int width = 0, longs = 0;
		if (*fmt == '0') {
			pad = '0';
			fmt++;
		}
		while (*fmt >= '0' && *fmt <= '9')
			width = width * 10 + (*fmt++ - '0');
		while (*fmt == 'l') {
			longs++;
			fmt++;
		}
		switch (*fmt) {
		case 's': {
			const char *str = va_arg(ap, const char *);
			int len = 0;
			for (const char *p = str; *p; p++)
				len++;
			for (; len < width; len++)
				put(&s, ' ');
			while (*str)
				put(&s, *str++);
			break;
		}
		case 'c':
			put(&s, (char)va_arg(ap, int));
			break;
		case 'd': {
			int64_t v = longs >= 2 ? va_arg(ap, int64_t) : va_arg(ap, int32_t);
			if (v < 0) {
				put(&s, '-');
				put_num(&s, (uint64_t)0 - (uint64_t)v, 10, false, width, pad);
			} else {
				put_num(&s, (uint64_t)v, 10, false, width, pad);
			}
			break;
		}
		case 'u': {
			/* %llu: decimal in the 64-bit stage; the 32-bit guest prints hex above
			 * 2^32. */
			uint64_t v = longs >= 2 ? va_arg(ap, uint64_t) : va_arg(ap, uint32_t);
#ifndef __x86_64__
			if (v >> 32) {
				put(&s, '0');
				put(&s, 'x');
				put_num(&s, v, 16, false, width, pad);
				break;
			}
#endif
			put_num(&s, v, 10, false, width, pad);
			break;
		}
		case 'x':
		case 'X': {
			uint64_t v = longs >= 2 ? va_arg(ap, uint64_t) : va_arg(ap, uint32_t);
			put_num(&s, v, 16, *fmt == 'X', width, pad);
			break;
		}
		case '%':
			put(&s, '%');
			break;
		default: /* unknown conversion: print it as is */
			put(&s, '%');
			if (*fmt)
				put(&s, *fmt);
			else
				fmt--;
			break;
		}
	}
	if (n)
		buf[s.len < n ? s.len : n - 1] = '\0';
}

void str_format(char *buf, size_t n, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	str_vformat(buf, n, fmt, ap);
	va_end(ap);
}

void con_vprintf(const char *fmt, va_list ap)
{
	char line[256];
	str_vformat(line, sizeof(line), fmt, ap);
	while (__atomic_exchange_n(&con_lock, 1, __ATOMIC_ACQUIRE))
		cpu_pause();
	for (const char *p = line; *p; p++)
		con_putc(*p);
	__atomic_store_n(&con_lock, 0, __ATOMIC_RELEASE);
}

void con_printf(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	con_vprintf(fmt, ap);
	va_end(ap);
}
