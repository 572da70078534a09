/*
 * The printf subset used everywhere in the hypervisor (pure C, no libc).
 *
 * Conversions: %d %i %u %x %X %p %s %c %%. Flags: '-' (left-justify), '0'
 * (zero pad), '+', ' ', '#' (0x prefix for %x/%X). Width and precision, both
 * also as '*'. Precision limits %s and is the minimum digit count for integers.
 * Lengths: hh h l ll z. %p prints "0x" and 16 hex digits. A NULL %s prints
 * "(null)"; an unknown conversion is printed as is.
 */
#ifndef RT_FORMAT_H
#define RT_FORMAT_H

#include <stdarg.h>
#include <stddef.h>

/* Formats through put(c, ctx), one character at a time. Returns the count. */
int hv_vformat(void (*put)(char c, void *ctx), void *ctx, const char *fmt, va_list ap);

/* As C11 snprintf: writes at most n-1 characters and a NUL (if n > 0); returns
 * the length the full output would have had. buf may be NULL when n is 0. */
int hv_vsnprintf(char *buf, size_t n, const char *fmt, va_list ap);
int hv_snprintf(char *buf, size_t n, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

#endif /* RT_FORMAT_H */
