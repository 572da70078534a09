/*
 * Entropy for seeding the micro-TPM's DRBG: RDSEED, else RDRAND, through the
 * hw/ wrappers. The DRBG itself (utpm_hv_init) takes plain bytes, so a
 * hypervisor with a better source (a TPM, a sealed secret) can use that instead.
 */
#ifndef APPS_TRUSTVISOR_UTPM_UTPM_ENTROPY_H
#define APPS_TRUSTVISOR_UTPM_UTPM_ENTROPY_H

#include <stddef.h>
#include <stdint.h>

#include "apps/trustvisor/utpm/utpm.h"

#define UTPM_ENTROPY_RDRAND (1u << 0)
#define UTPM_ENTROPY_RDSEED (1u << 1)

/* Which of the two instructions CPUID reports (UTPM_ENTROPY_* bits). */
uint32_t utpm_entropy_sources(void);

/* Fills out[0..len), len in [1, UTPM_SEED_MAX], 8 bytes per draw: RDSEED (full
 * entropy) when present, with retries; a draw that still fails, or a CPU without
 * RDSEED, uses RDRAND (a DRBG the hardware reseeds), with retries.
 * UTPM_ERR_NO_ENTROPY (out untouched) if neither delivers. */
enum utpm_status utpm_entropy_collect(uint8_t *out, size_t len);

#endif /* APPS_TRUSTVISOR_UTPM_UTPM_ENTROPY_H */
