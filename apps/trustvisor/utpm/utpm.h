/*
 * Micro-TPM for TrustVisor PALs, on BearSSL: 8 SHA-256 PCRs per PAL, extend,
 * seal/unseal bound to PCR values, quote (ECDSA P-256), random bytes.
 *
 * Two kinds of state, both owned by the caller (no allocation, no locks):
 *  - struct utpm_hv: the hypervisor-held secrets (sealing key, quote key) and the
 *    HMAC-DRBG. One per hypervisor; never visible to a guest or a PAL. Calls
 *    that draw from the DRBG (utpm_seal, utpm_get_random, utpm_hv_reseed) change
 *    it and must be serialised by the caller; utpm_quote and utpm_unseal only
 *    read it.
 *  - struct utpm_pal: one PAL's identity and PCRs. The identity is set once by
 *    utpm_pal_init (TrustVisor: the PAL's measurement at registration) and no
 *    call changes it; seal binds every blob to it and quote signs it.
 *
 * Every function returns an enum utpm_status; sizes are checked against the
 * limits below before anything is written. On any error no output buffer is
 * written, except *out_len on UTPM_ERR_BUFFER_SMALL (the size needed).
 *
 * BearSSL uses SSE registers: see README.md for what the hypervisor must do
 * around these calls (guest extended state, CR4.OSFXSR, the stack canary).
 */
#ifndef APPS_TRUSTVISOR_UTPM_UTPM_H
#define APPS_TRUSTVISOR_UTPM_UTPM_H

#include <stddef.h>
#include <stdint.h>

#include <bearssl.h>

#include "apps/trustvisor/utpm/utpm_digest.h"

#define UTPM_SEED_MIN      32 /* utpm_hv_init / utpm_hv_reseed seed bytes */
#define UTPM_SEED_MAX      256
#define UTPM_RANDOM_MAX    1024 /* utpm_get_random bytes per call */
#define UTPM_SEAL_DATA_MAX 2048 /* utpm_seal plaintext bytes */

/* Sealed blob: header (the AEAD's authenticated data) | ciphertext | tag.
 * Header: "uTPM" | version 2 | PCR selection | 2 zero bytes | data length (LE32) |
 * the sealing PAL's identity | composite digest of all PCRs at seal time |
 * composite digest required at unseal | 12-byte nonce. */
#define UTPM_BLOB_HEADER_SIZE 120
#define UTPM_BLOB_TAG_SIZE    16
#define UTPM_BLOB_OVERHEAD    (UTPM_BLOB_HEADER_SIZE + UTPM_BLOB_TAG_SIZE)
#define UTPM_BLOB_SIZE(n)     ((size_t)(n) + UTPM_BLOB_OVERHEAD)

enum utpm_status {
	UTPM_OK = 0,
	UTPM_ERR_NULL,         /* a required pointer is NULL */
	UTPM_ERR_NOT_READY,    /* struct not set up by utpm_hv_init / utpm_pal_init */
	UTPM_ERR_PCR_INDEX,    /* PCR index >= UTPM_PCR_COUNT */
	UTPM_ERR_SIZE,         /* an input length outside its documented range */
	UTPM_ERR_BUFFER_SMALL, /* output capacity too small; *out_len = size needed */
	UTPM_ERR_BLOB_FORMAT,  /* blob too short, wrong magic/version, length mismatch */
	UTPM_ERR_TAMPERED,     /* blob authentication failed (modified, or another key) */
	UTPM_ERR_PCR_MISMATCH, /* blob is intact but the current PCRs are not the required ones */
	UTPM_ERR_CRYPTO,       /* BearSSL reported a failure (key generation, signing) */
	UTPM_ERR_NO_ENTROPY,   /* no RDSEED/RDRAND, or it kept failing */
	UTPM_ERR_WRONG_PAL,    /* blob is intact but was sealed by a PAL of another identity */
};

/* A short constant name ("UTPM_ERR_TAMPERED"), "UTPM_?" for unknown values. */
const char *utpm_status_name(enum utpm_status s);

struct utpm_hv {
	uint32_t ready; /* internal */
	br_hmac_drbg_context drbg;
	uint8_t seal_key[32];
	uint8_t quote_priv[BR_EC_KBUF_PRIV_MAX_SIZE];
	size_t quote_priv_len;
	uint8_t quote_pub[UTPM_PUBKEY_SIZE];
};

struct utpm_pal {
	uint32_t ready;                     /* internal */
	uint8_t identity[UTPM_DIGEST_SIZE]; /* set by utpm_pal_init only */
	uint8_t pcr[UTPM_PCR_COUNT][UTPM_DIGEST_SIZE];
};

/* PCR values a sealed blob requires: bit i of `select` = PCR i must equal value[i]. */
struct utpm_pcr_policy {
	uint8_t select;
	uint8_t value[UTPM_PCR_COUNT][UTPM_DIGEST_SIZE];
};

/* ---- hypervisor state ---- */
/* Seeds the HMAC-DRBG (SHA-256) with seed[0..len), len in [UTPM_SEED_MIN, UTPM_SEED_MAX],
 * then draws the sealing key and the quote key pair from it. The same seed gives
 * the same keys (a persistent secret as seed gives keys that survive a reboot);
 * mix fresh entropy in afterwards with utpm_hv_reseed. Erases *hv first. */
enum utpm_status utpm_hv_init(struct utpm_hv *hv, const void *seed, size_t len);
/* Adds entropy to the DRBG (not replacing it); the keys are unchanged. */
enum utpm_status utpm_hv_reseed(struct utpm_hv *hv, const void *seed, size_t len);
/* Erases the secrets; *hv must be initialised again before use. */
void utpm_hv_wipe(struct utpm_hv *hv);
/* The quote public key: UTPM_PUBKEY_SIZE bytes. */
enum utpm_status utpm_get_pubkey(const struct utpm_hv *hv, uint8_t *out, size_t cap,
                                 size_t *out_len);
/* len bytes from the DRBG, len <= UTPM_RANDOM_MAX (0 is a no-op). */
enum utpm_status utpm_get_random(struct utpm_hv *hv, uint8_t *out, size_t len);

/* ---- PAL state and PCRs ---- */
/* All PCRs zero, the identity register = identity (the PAL's measurement). No
 * other call changes the identity: a PAL cannot take another PAL's. */
enum utpm_status utpm_pal_init(struct utpm_pal *pal, const uint8_t identity[UTPM_DIGEST_SIZE]);
/* The identity given to utpm_pal_init. */
enum utpm_status utpm_pal_identity(const struct utpm_pal *pal, uint8_t out[UTPM_DIGEST_SIZE]);
enum utpm_status utpm_pcr_read(const struct utpm_pal *pal, uint32_t index,
                               uint8_t out[UTPM_DIGEST_SIZE]);
/* PCR[index] = SHA-256(PCR[index] || measurement), the measurement a digest. */
enum utpm_status utpm_extend(struct utpm_pal *pal, uint32_t index,
                             const uint8_t measurement[UTPM_DIGEST_SIZE]);
/* A policy requiring the selected PCRs to keep their current values. */
enum utpm_status utpm_policy_current(const struct utpm_pal *pal, uint8_t select,
                                     struct utpm_pcr_policy *out);

/* ---- seal / unseal (ChaCha20-Poly1305 under the hypervisor's sealing key) ---- */
/* out receives UTPM_BLOB_SIZE(in_len) bytes; in_len <= UTPM_SEAL_DATA_MAX. The
 * header records the sealing PAL's identity, the composite digest of all 8 PCRs
 * now and the one policy requires, all authenticated. in may be NULL when in_len is 0; in and out
 * must not overlap. */
enum utpm_status utpm_seal(struct utpm_hv *hv, const struct utpm_pal *pal,
                           const struct utpm_pcr_policy *policy, const void *in, size_t in_len,
                           uint8_t *out, size_t cap, size_t *out_len);
/* Checks format, then authenticity (UTPM_ERR_TAMPERED), then that this PAL has
 * the sealer's identity (UTPM_ERR_WRONG_PAL, whatever the selection), then that
 * the PAL's PCRs match the sealed policy (UTPM_ERR_PCR_MISMATCH), then decrypts
 * into out. On
 * success, digest_at_seal (may be NULL) receives the sealer's composite digest of
 * all PCRs (select 0xff) so the PAL can tell who sealed. blob and out must not
 * overlap. */
enum utpm_status utpm_unseal(const struct utpm_hv *hv, const struct utpm_pal *pal,
                             const uint8_t *blob, size_t blob_len, uint8_t *out, size_t cap,
                             size_t *out_len, uint8_t digest_at_seal[UTPM_DIGEST_SIZE]);

/* ---- quote (ECDSA P-256 over utpm_quote_hash(identity, composite, nonce)) ---- */
/* nonce_len in [UTPM_NONCE_MIN, UTPM_NONCE_MAX]. sig receives UTPM_SIG_SIZE bytes; composite (may
 * be NULL) the signed composite digest of the selected PCRs. */
enum utpm_status utpm_quote(const struct utpm_hv *hv, const struct utpm_pal *pal,
                            const uint8_t *nonce, size_t nonce_len, uint8_t select, uint8_t *sig,
                            size_t cap, size_t *sig_len, uint8_t composite[UTPM_DIGEST_SIZE]);

#endif /* APPS_TRUSTVISOR_UTPM_UTPM_H */
