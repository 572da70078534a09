/*
 * The micro-TPM's state: the hypervisor-held secrets and DRBG (struct utpm_hv),
 * a PAL's PCR bank (struct utpm_pal), status names and small helpers.
 */
#include "apps/trustvisor/utpm/utpm_internal.h"
#include "rt/string.h"

/* BearSSL's constant-time P-256 code; i31 = 31-bit limbs, right for 64-bit CPUs. */
#define QUOTE_CURVE_IMPL (&br_ec_p256_m31)

const char *utpm_status_name(enum utpm_status s)
{
	switch (s) {
	case UTPM_OK:
		return "UTPM_OK";
	case UTPM_ERR_NULL:
		return "UTPM_ERR_NULL";
	case UTPM_ERR_NOT_READY:
		return "UTPM_ERR_NOT_READY";
	case UTPM_ERR_PCR_INDEX:
		return "UTPM_ERR_PCR_INDEX";
	case UTPM_ERR_SIZE:
		return "UTPM_ERR_SIZE";
	case UTPM_ERR_BUFFER_SMALL:
		return "UTPM_ERR_BUFFER_SMALL";
	case UTPM_ERR_BLOB_FORMAT:
		return "UTPM_ERR_BLOB_FORMAT";
	case UTPM_ERR_TAMPERED:
		return "UTPM_ERR_TAMPERED";
	case UTPM_ERR_PCR_MISMATCH:
		return "UTPM_ERR_PCR_MISMATCH";
	case UTPM_ERR_CRYPTO:
		return "UTPM_ERR_CRYPTO";
	case UTPM_ERR_NO_ENTROPY:
		return "UTPM_ERR_NO_ENTROPY";
	case UTPM_ERR_WRONG_PAL:
		return "UTPM_ERR_WRONG_PAL";
	}
	return "UTPM_?";
}

void utpm_wipe(void *p, size_t n)
{
	volatile uint8_t *b = p;
	for (size_t i = 0; i < n; i++)
		b[i] = 0;
}

bool utpm_ct_equal(const uint8_t *a, const uint8_t *b, size_t n)
{
	uint8_t diff = 0;
	for (size_t i = 0; i < n; i++)
		diff |= a[i] ^ b[i];
	return diff == 0;
}

br_ec_private_key utpm_quote_key(const struct utpm_hv *hv)
{
	br_ec_private_key sk = {
	    .curve = BR_EC_secp256r1,
	    .x = (unsigned char *)(uintptr_t)hv->quote_priv, /* BearSSL only reads it */
	    .xlen = hv->quote_priv_len,
	};
	return sk;
}

static bool seed_len_ok(size_t len)
{
	return len >= UTPM_SEED_MIN && len <= UTPM_SEED_MAX;
}

enum utpm_status utpm_hv_init(struct utpm_hv *hv, const void *seed, size_t len)
{
	br_ec_private_key sk;
	size_t n;

	if (hv == NULL || seed == NULL)
		return UTPM_ERR_NULL;
	if (!seed_len_ok(len))
		return UTPM_ERR_SIZE;
	utpm_wipe(hv, sizeof(*hv));
	br_hmac_drbg_init(&hv->drbg, &br_sha256_vtable, seed, len);
	br_hmac_drbg_generate(&hv->drbg, hv->seal_key, sizeof(hv->seal_key));
	/* br_ec_keygen draws candidates from the DRBG until one is in [1, n-1]. */
	n = br_ec_keygen(&hv->drbg.vtable, QUOTE_CURVE_IMPL, &sk, hv->quote_priv, BR_EC_secp256r1);
	if (n == 0 || n > sizeof(hv->quote_priv))
		goto fail;
	hv->quote_priv_len = n;
	if (br_ec_compute_pub(QUOTE_CURVE_IMPL, NULL, hv->quote_pub, &sk) != UTPM_PUBKEY_SIZE)
		goto fail;
	hv->ready = UTPM_HV_READY;
	return UTPM_OK;
fail:
	utpm_wipe(hv, sizeof(*hv));
	return UTPM_ERR_CRYPTO;
}

enum utpm_status utpm_hv_reseed(struct utpm_hv *hv, const void *seed, size_t len)
{
	if (hv == NULL || seed == NULL)
		return UTPM_ERR_NULL;
	if (!utpm_hv_ok(hv))
		return UTPM_ERR_NOT_READY;
	if (!seed_len_ok(len))
		return UTPM_ERR_SIZE;
	br_hmac_drbg_update(&hv->drbg, seed, len);
	return UTPM_OK;
}

void utpm_hv_wipe(struct utpm_hv *hv)
{
	if (hv != NULL)
		utpm_wipe(hv, sizeof(*hv));
}

enum utpm_status utpm_get_pubkey(const struct utpm_hv *hv, uint8_t *out, size_t cap,
                                 size_t *out_len)
{
	if (hv == NULL || out == NULL || out_len == NULL)
		return UTPM_ERR_NULL;
	if (!utpm_hv_ok(hv))
		return UTPM_ERR_NOT_READY;
	if (cap < UTPM_PUBKEY_SIZE) {
		*out_len = UTPM_PUBKEY_SIZE;
		return UTPM_ERR_BUFFER_SMALL;
	}
	memcpy(out, hv->quote_pub, UTPM_PUBKEY_SIZE);
	*out_len = UTPM_PUBKEY_SIZE;
	return UTPM_OK;
}

enum utpm_status utpm_get_random(struct utpm_hv *hv, uint8_t *out, size_t len)
{
	if (hv == NULL || (out == NULL && len > 0))
		return UTPM_ERR_NULL;
	if (!utpm_hv_ok(hv))
		return UTPM_ERR_NOT_READY;
	if (len > UTPM_RANDOM_MAX)
		return UTPM_ERR_SIZE;
	if (len > 0)
		br_hmac_drbg_generate(&hv->drbg, out, len);
	return UTPM_OK;
}

enum utpm_status utpm_pal_init(struct utpm_pal *pal, const uint8_t identity[UTPM_DIGEST_SIZE])
{
	if (pal == NULL || identity == NULL)
		return UTPM_ERR_NULL;
	memset(pal, 0, sizeof(*pal));
	memcpy(pal->identity, identity, UTPM_DIGEST_SIZE);
	pal->ready = UTPM_PAL_READY;
	return UTPM_OK;
}

enum utpm_status utpm_pal_identity(const struct utpm_pal *pal, uint8_t out[UTPM_DIGEST_SIZE])
{
	if (pal == NULL || out == NULL)
		return UTPM_ERR_NULL;
	if (!utpm_pal_ok(pal))
		return UTPM_ERR_NOT_READY;
	memcpy(out, pal->identity, UTPM_DIGEST_SIZE);
	return UTPM_OK;
}
