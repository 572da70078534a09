/* Micro-TPM PCRs: extend against SHA-256 references, reads, policies, bad arguments. */
#include "tests/unit/utpm/utpm_test_util.h"

/* FIPS 180-2 appendix B.1: SHA-256("abc"). */
#define SHA256_ABC "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
/* SHA-256 of 64 zero bytes, and of that digest twice (the well-known "zero hashes"
 * of SHA-256 Merkle trees): a zero PCR extended with a zero measurement, twice
 * extended with its own value. */
#define SHA256_ZERO64  "f5a5fd42d16a20302798ef6ed309979b43003d2320d9f0e8ea9831a92759fb4b"
#define SHA256_ZERO64X "db56114e00fdd4c1f85c892bf35ac9a89289aaecb1ebd0a96cde606a748b5d71"

static void sha256_of(const void *data, size_t len, uint8_t out[32])
{
	br_sha256_context c;
	br_sha256_init(&c);
	br_sha256_update(&c, data, len);
	br_sha256_out(&c, out);
}

/* The hash the reference below uses is SHA-256 (checked against FIPS 180-2). */
static void test_sha256_plumbing(void **state)
{
	uint8_t want[32], got[32];
	test_hex32(SHA256_ABC, want);
	sha256_of("abc", 3, got);
	assert_memory_equal(got, want, 32);
}

static void test_extend_known_vectors(void **state)
{
	struct utpm_pal pal;
	uint8_t zero[32] = {0}, want[32], got[32];

	assert_int_equal(utpm_pal_init(&pal, test_pal_id), UTPM_OK);
	assert_int_equal(utpm_pcr_read(&pal, 3, got), UTPM_OK);
	assert_memory_equal(got, zero, 32);

	assert_int_equal(utpm_extend(&pal, 3, zero), UTPM_OK);
	assert_int_equal(utpm_pcr_read(&pal, 3, got), UTPM_OK);
	test_hex32(SHA256_ZERO64, want);
	assert_memory_equal(got, want, 32);

	/* extend PCR3 with its own value: SHA-256(z1 || z1) */
	uint8_t m[32];
	memcpy(m, got, 32);
	assert_int_equal(utpm_extend(&pal, 3, m), UTPM_OK);
	assert_int_equal(utpm_pcr_read(&pal, 3, got), UTPM_OK);
	test_hex32(SHA256_ZERO64X, want);
	assert_memory_equal(got, want, 32);
}

/* A chain of extends equals the reference SHA-256(old || m) chain; other PCRs stay 0. */
static void test_extend_matches_reference(void **state)
{
	struct utpm_pal pal;
	uint8_t ref[32] = {0}, buf[64], m[32], got[32], zero[32] = {0};

	utpm_pal_init(&pal, test_pal_id);
	for (uint8_t k = 1; k <= 5; k++) {
		test_measurement(m, k);
		assert_int_equal(utpm_extend(&pal, 7, m), UTPM_OK);
		memcpy(buf, ref, 32);
		memcpy(buf + 32, m, 32);
		sha256_of(buf, 64, ref);
		assert_int_equal(utpm_pcr_read(&pal, 7, got), UTPM_OK);
		assert_memory_equal(got, ref, 32);
	}
	for (uint32_t i = 0; i < 7; i++) {
		assert_int_equal(utpm_pcr_read(&pal, i, got), UTPM_OK);
		assert_memory_equal(got, zero, 32);
	}
}

/* The order of measurements matters (extend is not commutative). */
static void test_extend_order_matters(void **state)
{
	struct utpm_pal a, b;
	uint8_t va[32], vb[32];

	utpm_pal_init(&a, test_pal_id);
	utpm_pal_init(&b, test_pal_id);
	test_extend(&a, 0, 1);
	test_extend(&a, 0, 2);
	test_extend(&b, 0, 2);
	test_extend(&b, 0, 1);
	utpm_pcr_read(&a, 0, va);
	utpm_pcr_read(&b, 0, vb);
	assert_memory_not_equal(va, vb, 32);
}

static void test_policy_current(void **state)
{
	struct utpm_pal pal;
	struct utpm_pcr_policy pol;
	uint8_t v[32], zero[32] = {0};

	utpm_pal_init(&pal, test_pal_id);
	test_extend(&pal, 1, 9);
	test_extend(&pal, 4, 8);
	memset(&pol, 0xee, sizeof(pol));
	assert_int_equal(utpm_policy_current(&pal, 0x12, &pol), UTPM_OK);
	assert_int_equal(pol.select, 0x12);
	utpm_pcr_read(&pal, 1, v);
	assert_memory_equal(pol.value[1], v, 32);
	utpm_pcr_read(&pal, 4, v);
	assert_memory_equal(pol.value[4], v, 32);
	assert_memory_equal(pol.value[0], zero, 32); /* unselected: cleared */
}

/* Composite digest: SHA-256(select || selected values), recomputed here. */
static void test_composite_reference(void **state)
{
	uint8_t vals[UTPM_PCR_COUNT][32], buf[1 + 2 * 32], want[32], got[32];

	for (int i = 0; i < UTPM_PCR_COUNT; i++)
		memset(vals[i], 0x10 + i, 32);
	buf[0] = 0x81;
	memcpy(buf + 1, vals[0], 32);
	memcpy(buf + 33, vals[7], 32);
	sha256_of(buf, sizeof(buf), want);
	utpm_composite_digest(0x81, (const uint8_t(*)[32])vals, got);
	assert_memory_equal(got, want, 32);
	/* the selection byte is part of it */
	uint8_t sel0[32], one = 0;
	sha256_of(&one, 1, want);
	utpm_composite_digest(0, (const uint8_t(*)[32])vals, sel0);
	assert_memory_equal(sel0, want, 32);
}

static void test_bad_arguments(void **state)
{
	struct utpm_pal pal, raw;
	struct utpm_pcr_policy pol;
	uint8_t v[32] = {0}, before[32];

	memset(&raw, 0, sizeof(raw)); /* never initialised */
	assert_int_equal(utpm_pal_init(NULL, test_pal_id), UTPM_ERR_NULL);
	utpm_pal_init(&pal, test_pal_id);

	assert_int_equal(utpm_pcr_read(NULL, 0, v), UTPM_ERR_NULL);
	assert_int_equal(utpm_pcr_read(&pal, 0, NULL), UTPM_ERR_NULL);
	assert_int_equal(utpm_pcr_read(&raw, 0, v), UTPM_ERR_NOT_READY);
	assert_int_equal(utpm_pcr_read(&pal, UTPM_PCR_COUNT, v), UTPM_ERR_PCR_INDEX);
	assert_int_equal(utpm_pcr_read(&pal, UINT32_MAX, v), UTPM_ERR_PCR_INDEX);

	assert_int_equal(utpm_extend(NULL, 0, v), UTPM_ERR_NULL);
	assert_int_equal(utpm_extend(&pal, 0, NULL), UTPM_ERR_NULL);
	assert_int_equal(utpm_extend(&raw, 0, v), UTPM_ERR_NOT_READY);
	memcpy(before, pal.pcr, 32);
	assert_int_equal(utpm_extend(&pal, UTPM_PCR_COUNT, v), UTPM_ERR_PCR_INDEX);
	assert_memory_equal(pal.pcr, before, 32);

	assert_int_equal(utpm_policy_current(NULL, 1, &pol), UTPM_ERR_NULL);
	assert_int_equal(utpm_policy_current(&pal, 1, NULL), UTPM_ERR_NULL);
	assert_int_equal(utpm_policy_current(&raw, 1, &pol), UTPM_ERR_NOT_READY);
}

static void test_status_names(void **state)
{
	assert_string_equal(utpm_status_name(UTPM_OK), "UTPM_OK");
	assert_string_equal(utpm_status_name(UTPM_ERR_TAMPERED), "UTPM_ERR_TAMPERED");
	assert_string_equal(utpm_status_name(UTPM_ERR_PCR_MISMATCH), "UTPM_ERR_PCR_MISMATCH");
	assert_string_equal(utpm_status_name((enum utpm_status)999), "UTPM_?");
	/* every code has its own name */
	for (int a = UTPM_OK; a <= UTPM_ERR_NO_ENTROPY; a++)
		for (int b = a + 1; b <= UTPM_ERR_NO_ENTROPY; b++)
			assert_string_not_equal(utpm_status_name((enum utpm_status)a),
			                        utpm_status_name((enum utpm_status)b));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_sha256_plumbing),
	    cmocka_unit_test(test_extend_known_vectors),
	    cmocka_unit_test(test_extend_matches_reference),
	    cmocka_unit_test(test_extend_order_matters),
	    cmocka_unit_test(test_policy_current),
	    cmocka_unit_test(test_composite_reference),
	    cmocka_unit_test(test_bad_arguments),
	    cmocka_unit_test(test_status_names),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
