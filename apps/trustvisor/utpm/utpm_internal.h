/* Shared by the micro-TPM's source files; not part of the API. */
#ifndef APPS_TRUSTVISOR_UTPM_UTPM_INTERNAL_H
#define APPS_TRUSTVISOR_UTPM_UTPM_INTERNAL_H

#include <stdbool.h>

#include "apps/trustvisor/utpm/utpm.h"

#define UTPM_HV_READY  0x76687475u /* "uthv" */
#define UTPM_PAL_READY 0x6c617075u /* "upal" */

static inline bool utpm_hv_ok(const struct utpm_hv *hv)
{
	return hv->ready == UTPM_HV_READY;
}

static inline bool utpm_pal_ok(const struct utpm_pal *pal)
{
	return pal->ready == UTPM_PAL_READY;
}

/* Zeroes n bytes through a volatile pointer, so erasing secrets is not optimised
 * away as a dead store. */
void utpm_wipe(void *p, size_t n);

/* Constant-time equality of n bytes (tags, digests: the time must not tell where
 * the first difference is). */
bool utpm_ct_equal(const uint8_t *a, const uint8_t *b, size_t n);

/* The quote private key as BearSSL wants it (pointing into hv). */
br_ec_private_key utpm_quote_key(const struct utpm_hv *hv);

#endif /* APPS_TRUSTVISOR_UTPM_UTPM_INTERNAL_H */
