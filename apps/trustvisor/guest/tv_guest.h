/*
 * TrustVisor guest library for Linux user space (x86-64): the hypercalls of
 * apps/trustvisor/tv_hypercall.h as functions, and a PAL call.
 */
#ifndef APPS_TRUSTVISOR_GUEST_TV_GUEST_H
#define APPS_TRUSTVISOR_GUEST_TV_GUEST_H

#include <stddef.h>
#include <stdint.h>

#include "apps/trustvisor/tv_hypercall.h"

/* Raw VMCALL: EAX = fn, RBX, RCX, RDX, RSI, RDI = a1..a5; returns RAX. With no
 * hypervisor VMCALL raises #UD (SIGILL). */
int64_t tv_vmcall(uint32_t fn, uint64_t a1, uint64_t a2, uint64_t a3, uint64_t a4, uint64_t a5);

/*
 * The same VMCALL, always inlined: for PAL code (the micro-TPM hypercalls),
 * which may not call anything outside its own code section.
 */
static inline __attribute__((always_inline)) int64_t
tv_vmcall_inline(uint32_t fn, uint64_t a1, uint64_t a2, uint64_t a3, uint64_t a4, uint64_t a5)
{
	uint64_t rax = fn;
	__asm__ volatile("vmcall"
	                 : "+a"(rax)
	                 : "b"(a1), "c"(a2), "d"(a3), "S"(a4), "D"(a5)
	                 : "memory", "cc");
	return (int64_t)rax;
}

/* TV_HC_QUOTE_KEY: the quote public key (SEC1 uncompressed P-256) into out;
 * returns TV_QUOTE_KEY_SIZE or TV_ERR_*. From anywhere, in a PAL or not. The
 * hypervisor does not fault pages in: out must be on a present, written page
 * (TV_ERR_FAULT otherwise). */
int64_t tv_quote_key(uint8_t out[TV_QUOTE_KEY_SIZE]);

/* TV_HC_PAL_IDENTITY for the owner: the identity of this process's PAL at
 * `entry` into out (a present, written page); TV_IDENTITY_SIZE or TV_ERR_*. */
int64_t tv_pal_identity(const void *entry, uint8_t out[TV_IDENTITY_SIZE]);

int64_t tv_register(const struct tv_pal_desc *desc);
int64_t tv_unregister(const void *entry);

/*
 * Calls a registered PAL: entry(in, nin, out, nout) per the ABI. Returns the
 * hypervisor's status (TV_OK or TV_ERR_*); on TV_OK *pal_ret (may be NULL) is
 * the PAL's own return value and out[0..nout) its outputs.
 */
int64_t tv_call(const void *entry, const uint64_t *in, uint32_t nin, uint64_t *out, uint32_t nout,
                uint64_t *pal_ret);

/*
 * A PAL program's setup before it registers its PAL: a SIGILL handler that
 * prints "<prog>: no TrustVisor hypervisor (VMCALL raised #UD)" and exits 2
 * (VMCALL without a hypervisor), then every page locked (mlockall) and the
 * PAL's parameter and stack pages written once (present and private: no
 * copy-on-write or zero page left), as registration requires. The caller
 * still makes its code page present.
 */
void tv_pal_prepare(const char *prog, void *params, size_t params_size, void *stack,
                    size_t stack_size);

/* "TV_ERR_OVERLAP", ... for messages. */
const char *tv_strerror(int64_t status);

#endif /* APPS_TRUSTVISOR_GUEST_TV_GUEST_H */
