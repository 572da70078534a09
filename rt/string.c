/*
 * Freestanding string functions (image builds only; host builds use libc's).
 *
 * The compiler may itself emit calls to memset/memcpy/memmove/memcmp (struct
 * copies, zeroing), so these must exist and must not be turned back into calls
 * to themselves: GCC's loop-idiom pass would do that, hence the attribute.
 */
#include "rt/string.h"

#ifndef HV_HOST

#include <stdint.h>

#if defined(__GNUC__) && !defined(__clang__)
#define NO_IDIOM __attribute__((optimize("no-tree-loop-distribute-patterns")))
#else
#define NO_IDIOM
#endif

/* A 64-bit store that may alias any object (memset's callers pass anything). */
typedef uint64_t __attribute__((may_alias)) any_word;

NO_IDIOM void *memset(void *dst, int c, size_t n)
{
	unsigned char *d = dst;
	/* Bytes up to an 8-byte boundary, then 8 bytes per store: zeroing a page
	 * (palloc, EPT and PAL page tables, PAL scrubs) is 512 stores, not 4096. */
	while (n > 0 && ((uintptr_t)d & 7u)) {
		*d++ = (unsigned char)c;
		n--;
	}
	uint64_t w = 0x0101010101010101ull * (unsigned char)c;
	for (; n >= 8; n -= 8, d += 8)
		*(any_word *)d = w;
	while (n-- > 0)
		*d++ = (unsigned char)c;
	return dst;
}

NO_IDIOM void *memcpy(void *restrict dst, const void *restrict src, size_t n)
{
	unsigned char *d = dst;
	const unsigned char *s = src;
	while (n-- > 0)
		*d++ = *s++;
	return dst;
}

NO_IDIOM void *memmove(void *dst, const void *src, size_t n)
{
	unsigned char *d = dst;
	const unsigned char *s = src;
	if ((uintptr_t)d < (uintptr_t)s) {
		while (n-- > 0)
			*d++ = *s++;
	} else {
		while (n-- > 0)
			d[n] = s[n];
	}
	return dst;
}

int memcmp(const void *a, const void *b, size_t n)
{
	const unsigned char *x = a, *y = b;
	for (size_t i = 0; i < n; i++) {
		if (x[i] != y[i])
			return x[i] < y[i] ? -1 : 1;
	}
	return 0;
}

NO_IDIOM size_t strlen(const char *s)
{
	size_t n = 0;
	while (s[n] != '\0')
		n++;
	return n;
}

int strcmp(const char *a, const char *b)
{
	while (*a != '\0' && *a == *b) {
		a++;
		b++;
	}
	return (unsigned char)*a - (unsigned char)*b;
}

int strncmp(const char *a, const char *b, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (a[i] != b[i] || a[i] == '\0')
			return (unsigned char)a[i] - (unsigned char)b[i];
	}
	return 0;
}

#endif /* !HV_HOST */
