/* Helpers shared by the micro-TPM tests (header only). */
#ifndef TESTS_UNIT_UTPM_UTPM_TEST_UTIL_H
#define TESTS_UNIT_UTPM_UTPM_TEST_UTIL_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "apps/trustvisor/utpm/utpm.h"

/* Two PAL identities (TrustVisor's registration measurements of two PALs). */
static const uint8_t test_pal_id[UTPM_DIGEST_SIZE] = "identity of PAL A, 32 bytes ...";
static const uint8_t test_pal_id_b[UTPM_DIGEST_SIZE] = "identity of PAL B, 32 bytes ...";

/* A seed of `len` bytes: seed[i] = tag + 7 * i (different tags, different seeds). */
static inline void test_seed(uint8_t *seed, size_t len, uint8_t tag)
{
	for (size_t i = 0; i < len; i++)
		seed[i] = (uint8_t)(tag + 7 * i);
}

static inline void test_hv_init(struct utpm_hv *hv, uint8_t tag)
{
	uint8_t seed[UTPM_SEED_MIN];
	test_seed(seed, sizeof(seed), tag);
	assert_int_equal(utpm_hv_init(hv, seed, sizeof(seed)), UTPM_OK);
}

/* Measurement number k: 32 bytes all equal to k. */
static inline void test_measurement(uint8_t m[UTPM_DIGEST_SIZE], uint8_t k)
{
	memset(m, k, UTPM_DIGEST_SIZE);
}

static inline void test_extend(struct utpm_pal *pal, uint32_t index, uint8_t k)
{
	uint8_t m[UTPM_DIGEST_SIZE];
	test_measurement(m, k);
	assert_int_equal(utpm_extend(pal, index, m), UTPM_OK);
}

/* Parses a 64-character hex string into 32 bytes (known test vectors). */
static inline void test_hex32(const char *hex, uint8_t out[32])
{
	assert_int_equal(strlen(hex), 64);
	for (size_t i = 0; i < 32; i++) {
		unsigned v;
		assert_int_equal(sscanf(hex + 2 * i, "%2x", &v), 1);
		out[i] = (uint8_t)v;
	}
}

#endif /* TESTS_UNIT_UTPM_UTPM_TEST_UTIL_H */
