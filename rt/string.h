/*
 * The C string functions the hypervisor uses. The image has no libc, so
 * rt/string.c defines them; host builds use the C library's.
 */
#ifndef RT_STRING_H
#define RT_STRING_H

#ifdef HV_HOST
#include <string.h>
#else
#include <stddef.h>

void *memset(void *dst, int c, size_t n);
void *memcpy(void *restrict dst, const void *restrict src, size_t n);
void *memmove(void *dst, const void *src, size_t n);
int memcmp(const void *a, const void *b, size_t n);
size_t strlen(const char *s);
int strcmp(const char *a, const char *b);
int strncmp(const char *a, const char *b, size_t n);
#endif

#endif /* RT_STRING_H */
