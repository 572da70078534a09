/* Composite and quote digests (formats in utpm_digest.h). */
#include "apps/trustvisor/utpm/utpm_digest.h"

#include <bearssl.h>

void utpm_composite_digest(uint8_t select, const uint8_t value[UTPM_PCR_COUNT][UTPM_DIGEST_SIZE],
                           uint8_t out[UTPM_DIGEST_SIZE])
{
	br_sha256_context c;

	br_sha256_init(&c);
	/* The selection is hashed too, so selections with the same values differ. */
	br_sha256_update(&c, &select, 1);
	for (unsigned i = 0; i < UTPM_PCR_COUNT; i++) {
		if (select & (1u << i))
			br_sha256_update(&c, value[i], UTPM_DIGEST_SIZE);
	}
	br_sha256_out(&c, out);
}

void utpm_quote_hash(const uint8_t identity[UTPM_DIGEST_SIZE],
                     const uint8_t composite[UTPM_DIGEST_SIZE], const uint8_t *nonce,
                     size_t nonce_len, uint8_t out[UTPM_DIGEST_SIZE])
{
	br_sha256_context c;

	br_sha256_init(&c);
	br_sha256_update(&c, identity, UTPM_DIGEST_SIZE);
	br_sha256_update(&c, composite, UTPM_DIGEST_SIZE);
	br_sha256_update(&c, nonce, nonce_len);
	br_sha256_out(&c, out);
}
