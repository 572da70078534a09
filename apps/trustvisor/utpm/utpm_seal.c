/*
 * Seal and unseal: ChaCha20-Poly1305 (RFC 8439) under the hypervisor's 256-bit
 * sealing key, with a fresh 96-bit nonce from the DRBG per blob. The blob header
 * (utpm.h) is the AEAD's additional data, so the sealer's identity, the PCR
 * policy and the sealer's PCR digest cannot be changed without failing
 * authentication.
 *
 * Identity binding: every blob names the identity of the PAL that sealed it
 * (its registration measurement, struct utpm_pal.identity) and only a PAL with
 * the same identity may unseal it, whatever the PCR selection. Without it a
 * blob sealed with selection 0 (or to PCR values another PAL can reproduce by
 * the same extends) would open in any PAL the OS registers.
 *
 * Why ChaCha20-Poly1305 rather than AES-GCM: BearSSL's portable ChaCha20 and
 * Poly1305 are constant-time in plain C on any x86-64, whereas constant-time
 * AES-GCM without AES-NI/PCLMULQDQ (which Bochs and some CPUs lack) needs the
 * slow bitsliced AES; and it is one call with no key schedule kept in state.
 */
#include "apps/trustvisor/utpm/utpm_internal.h"
#include "rt/string.h"

#define OFF_MAGIC      0
#define OFF_VERSION    4
#define OFF_SELECT     5
#define OFF_RESERVED   6
#define OFF_LEN        8
#define OFF_IDENTITY   12
#define OFF_DIGEST_NOW (OFF_IDENTITY + UTPM_DIGEST_SIZE)
#define OFF_DIGEST_REQ (OFF_DIGEST_NOW + UTPM_DIGEST_SIZE)
#define OFF_NONCE      (OFF_DIGEST_REQ + UTPM_DIGEST_SIZE)
#define NONCE_SIZE     12
#define BLOB_VERSION   2 /* 2: the sealer's identity in the header */

_Static_assert(OFF_NONCE + NONCE_SIZE == UTPM_BLOB_HEADER_SIZE, "blob header layout");

static const uint8_t blob_magic[4] = {'u', 'T', 'P', 'M'};

static void put_le32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static uint32_t get_le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

enum utpm_status utpm_seal(struct utpm_hv *hv, const struct utpm_pal *pal,
                           const struct utpm_pcr_policy *policy, const void *in, size_t in_len,
                           uint8_t *out, size_t cap, size_t *out_len)
{
	if (hv == NULL || pal == NULL || policy == NULL || out == NULL || out_len == NULL ||
	    (in == NULL && in_len > 0))
		return UTPM_ERR_NULL;
	if (!utpm_hv_ok(hv) || !utpm_pal_ok(pal))
		return UTPM_ERR_NOT_READY;
	if (in_len > UTPM_SEAL_DATA_MAX)
		return UTPM_ERR_SIZE;
	if (cap < UTPM_BLOB_SIZE(in_len)) {
		*out_len = UTPM_BLOB_SIZE(in_len);
		return UTPM_ERR_BUFFER_SMALL;
	}

	memcpy(out + OFF_MAGIC, blob_magic, sizeof(blob_magic));
	out[OFF_VERSION] = BLOB_VERSION;
	out[OFF_SELECT] = policy->select;
	out[OFF_RESERVED] = out[OFF_RESERVED + 1] = 0;
	put_le32(out + OFF_LEN, (uint32_t)in_len);
	memcpy(out + OFF_IDENTITY, pal->identity, UTPM_DIGEST_SIZE);
	utpm_composite_digest(0xff, pal->pcr, out + OFF_DIGEST_NOW);
	utpm_composite_digest(policy->select, policy->value, out + OFF_DIGEST_REQ);
	br_hmac_drbg_generate(&hv->drbg, out + OFF_NONCE, NONCE_SIZE);

	uint8_t *data = out + UTPM_BLOB_HEADER_SIZE;
	if (in_len > 0)
		memcpy(data, in, in_len);
	br_poly1305_ctmul_run(hv->seal_key, out + OFF_NONCE, data, in_len, out,
	                      UTPM_BLOB_HEADER_SIZE, data + in_len, br_chacha20_ct_run, 1);
	*out_len = UTPM_BLOB_SIZE(in_len);
	return UTPM_OK;
}

/*
 * A ChaCha20 for br_poly1305_ctmul_run that only derives the one-time Poly1305
 * key (block 0, RFC 8439 2.6) and leaves the payload (blocks 1.., 2.8) alone.
 * With it, a decrypting run computes the tag over the ciphertext without
 * decrypting in place, so unseal checks the tag before anything reaches the
 * caller's buffer and the blob itself is never modified.
 */
static uint32_t chacha20_poly_key_only(const void *key, const void *iv, uint32_t cc, void *data,
                                       size_t len)
{
	if (cc == 0)
		return br_chacha20_ct_run(key, iv, cc, data, len);
	return cc + (uint32_t)((len + 63) / 64);
}

static enum utpm_status check_format(const uint8_t *blob, size_t blob_len, size_t *data_len)
{
	if (blob_len < UTPM_BLOB_OVERHEAD || memcmp(blob + OFF_MAGIC, blob_magic, 4) != 0 ||
	    blob[OFF_VERSION] != BLOB_VERSION || blob[OFF_RESERVED] != 0 ||
	    blob[OFF_RESERVED + 1] != 0)
		return UTPM_ERR_BLOB_FORMAT;
	uint32_t len = get_le32(blob + OFF_LEN);
	if (len > UTPM_SEAL_DATA_MAX || UTPM_BLOB_SIZE(len) != blob_len)
		return UTPM_ERR_BLOB_FORMAT;
	*data_len = len;
	return UTPM_OK;
}

enum utpm_status utpm_unseal(const struct utpm_hv *hv, const struct utpm_pal *pal,
                             const uint8_t *blob, size_t blob_len, uint8_t *out, size_t cap,
                             size_t *out_len, uint8_t digest_at_seal[UTPM_DIGEST_SIZE])
{
	uint8_t tag[UTPM_BLOB_TAG_SIZE], now[UTPM_DIGEST_SIZE];
	size_t len = 0;
	enum utpm_status st;

	if (hv == NULL || pal == NULL || blob == NULL || out == NULL || out_len == NULL)
		return UTPM_ERR_NULL;
	if (!utpm_hv_ok(hv) || !utpm_pal_ok(pal))
		return UTPM_ERR_NOT_READY;
	st = check_format(blob, blob_len, &len);
	if (st != UTPM_OK)
		return st;

	const uint8_t *data = blob + UTPM_BLOB_HEADER_SIZE;
	/* Decrypt mode with the key-only ChaCha20: data is read, never written. */
	br_poly1305_ctmul_run(hv->seal_key, blob + OFF_NONCE, (void *)(uintptr_t)data, len, blob,
	                      UTPM_BLOB_HEADER_SIZE, tag, chacha20_poly_key_only, 0);
	if (!utpm_ct_equal(tag, data + len, UTPM_BLOB_TAG_SIZE))
		return UTPM_ERR_TAMPERED;

	/* Authentic, so the identity field is the sealer's: it must be this PAL. */
	if (!utpm_ct_equal(pal->identity, blob + OFF_IDENTITY, UTPM_DIGEST_SIZE))
		return UTPM_ERR_WRONG_PAL;
	utpm_composite_digest(blob[OFF_SELECT], pal->pcr, now);
	if (!utpm_ct_equal(now, blob + OFF_DIGEST_REQ, UTPM_DIGEST_SIZE))
		return UTPM_ERR_PCR_MISMATCH;

	if (cap < len) {
		*out_len = len;
		return UTPM_ERR_BUFFER_SMALL;
	}
	if (len > 0) {
		memcpy(out, data, len);
		br_chacha20_ct_run(hv->seal_key, blob + OFF_NONCE, 1, out, len);
	}
	*out_len = len;
	if (digest_at_seal != NULL)
		memcpy(digest_at_seal, blob + OFF_DIGEST_NOW, UTPM_DIGEST_SIZE);
	return UTPM_OK;
}
