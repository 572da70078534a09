/*
 * A PAL's identity: the measurement TrustVisor takes when it registers the PAL
 * (README.md "PAL identity"). This file and tv_identity.c are the one
 * definition of its byte format, compiled into the hypervisor (over the PAL's
 * pages, tv_utpm.c) and into the host tool pal_identity (over a PAL's ELF), so
 * a verifier computes exactly what the hypervisor computed.
 *
 *   identity = SHA-256(header | section table | code)
 *   base     = the lowest section address (so the identity does not depend on
 *              where the PAL is registered, only on its layout)
 *   header   (32 bytes) = "TVPALID1" | in_words LE32 | out_words LE32 |
 *              entry - base LE64 | nsections LE32 | 0 LE32
 *   section table: nsections entries of 24 bytes, in ascending address order:
 *              address - base LE64 | size LE64 | kind LE32 | 0 LE32
 *   code     = the contents of every code section (kind 1), whole pages, in
 *              the same order
 *
 * Data, params and stack contents are not measured: they are the OS's input
 * (params are rewritten at every call), not the PAL.
 *
 * Freestanding C and BearSSL's SHA-256 only; hypervisor callers save the
 * guest's SSE state around it (BearSSL may use SSE registers).
 */
#ifndef APPS_TRUSTVISOR_TV_IDENTITY_H
#define APPS_TRUSTVISOR_TV_IDENTITY_H

#include <stdbool.h>
#include <stdint.h>

#include "apps/trustvisor/tv_hypercall.h"

#define TV_IDENTITY_TAG         "TVPALID1"
#define TV_IDENTITY_HEADER_SIZE 32u
#define TV_IDENTITY_ENTRY_SIZE  24u

/* The 4 KiB of the code page at `gva` (page aligned), or NULL if unknown. */
typedef const void *(*tv_identity_page_fn)(void *arg, uint64_t gva);

/*
 * The identity of the PAL described by `d`, a descriptor registration accepts
 * (1..TV_MAX_SECTIONS non-overlapping, page-aligned sections, entry in a code
 * section). Code pages come from page(arg, gva). False if page() returned
 * NULL for one of them (out is then not written).
 */
bool tv_identity_compute(const struct tv_pal_desc *d, tv_identity_page_fn page, void *arg,
                         uint8_t out[TV_IDENTITY_SIZE]);

#endif /* APPS_TRUSTVISOR_TV_IDENTITY_H */
