/*
 * The libc symbols Debian's libbearssl.a needs that rt/ does not provide, for
 * the image only (a host build has glibc's). rt/string.c already defines
 * memcpy, memset, memmove, memcmp and strlen; BearSSL's remaining references
 * (time, open/read/close, __errno_location in its system RNG and X.509 clock
 * code) are in archive members the micro-TPM never pulls in.
 *
 * The _chk variants come from _FORTIFY_SOURCE: the compiler knew the size of the
 * destination object, so a copy beyond it is memory corruption, not an error to
 * recover from.
 */
#include <stddef.h>

#include "rt/panic.h"
#include "rt/string.h"

void *__memcpy_chk(void *dst, const void *src, size_t n, size_t dst_size);
void *__memmove_chk(void *dst, const void *src, size_t n, size_t dst_size);
void *__memset_chk(void *dst, int c, size_t n, size_t dst_size);
_Noreturn void __stack_chk_fail(void);

void *__memcpy_chk(void *dst, const void *src, size_t n, size_t dst_size)
{
	if (n > dst_size)
		hv_panic("utpm: __memcpy_chk: %zu bytes into an object of %zu", n, dst_size);
	return memcpy(dst, src, n);
}

void *__memmove_chk(void *dst, const void *src, size_t n, size_t dst_size)
{
	if (n > dst_size)
		hv_panic("utpm: __memmove_chk: %zu bytes into an object of %zu", n, dst_size);
	return memmove(dst, src, n);
}

void *__memset_chk(void *dst, int c, size_t n, size_t dst_size)
{
	if (n > dst_size)
		hv_panic("utpm: __memset_chk: %zu bytes into an object of %zu", n, dst_size);
	return memset(dst, c, n);
}

/* The canary at %fs:0x28 (utpm_runtime.h) differed on return from a BearSSL
 * function: its stack frame was overwritten. */
_Noreturn void __stack_chk_fail(void)
{
	hv_panic("utpm: stack smashing detected in BearSSL code (canary at %%fs:0x28)");
}
