/* COM1 console of the test guest and a small printf (%s %c %d %u %x %X %%, flag 0, width, ll). */
#ifndef GUEST_CONSOLE_H
#define GUEST_CONSOLE_H

#include <stdarg.h>
#include <stddef.h>

void con_init(void);
/* Prints one formatted line atomically with respect to other CPUs. */
void con_printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void con_vprintf(const char *fmt, va_list ap);
/* Waits until the UART has sent everything (before powering off). */
void con_flush(void);
/* Formats into buf (always NUL-terminated, truncated to n - 1 characters). */
void str_vformat(char *buf, size_t n, const char *fmt, va_list ap);
void str_format(char *buf, size_t n, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

#endif
