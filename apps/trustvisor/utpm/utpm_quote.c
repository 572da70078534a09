/*
 * Quote: an ECDSA P-256 signature with the hypervisor's quote key over
 * utpm_quote_hash(the PAL's identity, composite digest of the selected PCRs
 * (which covers the selection), nonce). The identity is always signed, so a
 * quote says which PAL made it whatever the selection. BearSSL's
 * signer derives the per-signature secret deterministically from the key and
 * the hash (RFC 6979), so quoting needs no randomness and only reads *hv.
 */
#include "apps/trustvisor/utpm/utpm_internal.h"
#include "rt/string.h"

enum utpm_status utpm_quote(const struct utpm_hv *hv, const struct utpm_pal *pal,
                            const uint8_t *nonce, size_t nonce_len, uint8_t select, uint8_t *sig,
                            size_t cap, size_t *sig_len, uint8_t composite[UTPM_DIGEST_SIZE])
{
	uint8_t comp[UTPM_DIGEST_SIZE], hash[UTPM_DIGEST_SIZE], raw[UTPM_SIG_SIZE];

	if (hv == NULL || pal == NULL || nonce == NULL || sig == NULL || sig_len == NULL)
		return UTPM_ERR_NULL;
	if (!utpm_hv_ok(hv) || !utpm_pal_ok(pal))
		return UTPM_ERR_NOT_READY;
	if (nonce_len < UTPM_NONCE_MIN || nonce_len > UTPM_NONCE_MAX)
		return UTPM_ERR_SIZE;
	if (cap < UTPM_SIG_SIZE) {
		*sig_len = UTPM_SIG_SIZE;
		return UTPM_ERR_BUFFER_SMALL;
	}

	utpm_composite_digest(select, pal->pcr, comp);
	utpm_quote_hash(pal->identity, comp, nonce, nonce_len, hash);
	br_ec_private_key sk = utpm_quote_key(hv);
	/* Signed into a local buffer: sig is written only on success. */
	if (br_ecdsa_i31_sign_raw(&br_ec_p256_m31, &br_sha256_vtable, hash, &sk, raw) !=
	    UTPM_SIG_SIZE)
		return UTPM_ERR_CRYPTO;
	memcpy(sig, raw, UTPM_SIG_SIZE);
	*sig_len = UTPM_SIG_SIZE;
	if (composite != NULL)
		memcpy(composite, comp, UTPM_DIGEST_SIZE);
	return UTPM_OK;
}
