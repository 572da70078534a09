/* A PAL's PCR bank: read, extend, and policies built from current values. */
#include "apps/trustvisor/utpm/utpm_internal.h"
#include "rt/string.h"

enum utpm_status utpm_pcr_read(const struct utpm_pal *pal, uint32_t index,
                               uint8_t out[UTPM_DIGEST_SIZE])
{
	if (pal == NULL || out == NULL)
		return UTPM_ERR_NULL;
	if (!utpm_pal_ok(pal))
		return UTPM_ERR_NOT_READY;
	if (index >= UTPM_PCR_COUNT)
		return UTPM_ERR_PCR_INDEX;
	memcpy(out, pal->pcr[index], UTPM_DIGEST_SIZE);
	return UTPM_OK;
}

enum utpm_status utpm_extend(struct utpm_pal *pal, uint32_t index,
                             const uint8_t measurement[UTPM_DIGEST_SIZE])
{
	br_sha256_context c;

	if (pal == NULL || measurement == NULL)
		return UTPM_ERR_NULL;
	if (!utpm_pal_ok(pal))
		return UTPM_ERR_NOT_READY;
	if (index >= UTPM_PCR_COUNT)
		return UTPM_ERR_PCR_INDEX;
	/* As a TPM's extend: the new value commits to the old one and the measurement,
	 * so no sequence of extends can set a chosen value. */
	br_sha256_init(&c);
	br_sha256_update(&c, pal->pcr[index], UTPM_DIGEST_SIZE);
	br_sha256_update(&c, measurement, UTPM_DIGEST_SIZE);
	br_sha256_out(&c, pal->pcr[index]);
	return UTPM_OK;
}

enum utpm_status utpm_policy_current(const struct utpm_pal *pal, uint8_t select,
                                     struct utpm_pcr_policy *out)
{
	if (pal == NULL || out == NULL)
		return UTPM_ERR_NULL;
	if (!utpm_pal_ok(pal))
		return UTPM_ERR_NOT_READY;
	memset(out, 0, sizeof(*out));
	out->select = select;
	for (unsigned i = 0; i < UTPM_PCR_COUNT; i++) {
		if (select & (1u << i))
			memcpy(out->value[i], pal->pcr[i], UTPM_DIGEST_SIZE);
	}
	return UTPM_OK;
}
