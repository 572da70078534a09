/*
 * The micro-TPM's public formats: what a verifier outside the hypervisor
 * recomputes to check a quote (quote_verify.c links only this). Needs BearSSL's
 * SHA-256 and nothing of the hypervisor.
 */
#ifndef APPS_TRUSTVISOR_UTPM_UTPM_DIGEST_H
#define APPS_TRUSTVISOR_UTPM_UTPM_DIGEST_H

#include <stddef.h>
#include <stdint.h>

#define UTPM_PCR_COUNT   8
#define UTPM_DIGEST_SIZE 32 /* SHA-256 */
#define UTPM_NONCE_MIN   1  /* quote nonce bytes */
#define UTPM_NONCE_MAX   64
#define UTPM_PUBKEY_SIZE 65 /* uncompressed SEC1 point 04 | X | Y on P-256 */
#define UTPM_SIG_SIZE    64 /* raw ECDSA signature r | s (32 bytes each, big-endian) */

/* Composite digest of a PCR selection: SHA-256(select || value[i] for each
 * selected i, ascending). Unselected entries of value are not read. */
void utpm_composite_digest(uint8_t select, const uint8_t value[UTPM_PCR_COUNT][UTPM_DIGEST_SIZE],
                           uint8_t out[UTPM_DIGEST_SIZE]);

/* The hash a quote signs: SHA-256(identity || composite || nonce), identity
 * the quoting PAL's 32-byte identity (the TrustVisor measurement taken at its
 * registration, apps/trustvisor/README.md "PAL identity"). Both digests have a
 * fixed size, so the byte string parses one way only. */
void utpm_quote_hash(const uint8_t identity[UTPM_DIGEST_SIZE],
                     const uint8_t composite[UTPM_DIGEST_SIZE], const uint8_t *nonce,
                     size_t nonce_len, uint8_t out[UTPM_DIGEST_SIZE]);

#endif /* APPS_TRUSTVISOR_UTPM_UTPM_DIGEST_H */
