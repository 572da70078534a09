/*
 * RDSEED/RDRAND collection (Intel SDM Vol. 1 7.3.17, "Random Number Generator
 * Instructions"; Vol. 2B RDRAND/RDSEED). Either may return CF=0 when its
 * hardware buffer is empty: RDRAND is expected to recover within a few tries
 * (Intel's DRNG guide suggests 10), RDSEED may take longer under load, so it
 * gets more tries with PAUSE between them.
 */
#include "apps/trustvisor/utpm/utpm_entropy.h"

#include <stdbool.h>

#include "apps/trustvisor/utpm/utpm_internal.h"
#include "hw/hw.h"
#include "rt/string.h"

#define CPUID1_ECX_RDRAND_BIT (1u << 30) /* CPUID.01H:ECX[30] */
#define CPUID7_EBX_RDSEED_BIT (1u << 18) /* CPUID.(EAX=07H,ECX=0):EBX[18] */
#define RDSEED_TRIES          128
#define RDRAND_TRIES          10

uint32_t utpm_entropy_sources(void)
{
	struct hw_cpuid_regs r;
	uint32_t s = 0;

	hw_cpuid(0, 0, &r);
	uint32_t max_leaf = r.eax;
	hw_cpuid(1, 0, &r);
	if (r.ecx & CPUID1_ECX_RDRAND_BIT)
		s |= UTPM_ENTROPY_RDRAND;
	if (max_leaf >= 7) {
		hw_cpuid(7, 0, &r);
		if (r.ebx & CPUID7_EBX_RDSEED_BIT)
			s |= UTPM_ENTROPY_RDSEED;
	}
	return s;
}

static bool draw(uint32_t sources, uint64_t *v)
{
	if (sources & UTPM_ENTROPY_RDSEED) {
		for (int i = 0; i < RDSEED_TRIES; i++) {
			if (hw_rdseed64(v))
				return true;
			hw_pause();
		}
	}
	if (sources & UTPM_ENTROPY_RDRAND) {
		for (int i = 0; i < RDRAND_TRIES; i++) {
			if (hw_rdrand64(v))
				return true;
		}
	}
	return false;
}

enum utpm_status utpm_entropy_collect(uint8_t *out, size_t len)
{
	uint8_t buf[UTPM_SEED_MAX];
	uint32_t sources;
	enum utpm_status st = UTPM_OK;

	if (out == NULL)
		return UTPM_ERR_NULL;
	if (len == 0 || len > UTPM_SEED_MAX)
		return UTPM_ERR_SIZE;
	sources = utpm_entropy_sources();
	if (sources == 0)
		return UTPM_ERR_NO_ENTROPY;
	for (size_t done = 0; done < len; done += sizeof(uint64_t)) {
		uint64_t v;
		if (!draw(sources, &v)) {
			st = UTPM_ERR_NO_ENTROPY;
			break;
		}
		size_t n = len - done < sizeof(v) ? len - done : sizeof(v);
		memcpy(buf + done, &v, n);
	}
	if (st == UTPM_OK)
		memcpy(out, buf, len);
	utpm_wipe(buf, sizeof(buf));
	return st;
}
