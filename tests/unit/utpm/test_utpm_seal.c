/* Micro-TPM seal/unseal: round trip, PCR binding, tampering, truncation, bad arguments. */
#include <stdbool.h>

#include "tests/unit/utpm/utpm_test_util.h"

#define SECRET     "the PAL's secret: 0123456789abcdef"
#define SECRET_LEN (sizeof(SECRET) - 1)
#define FILL       0x5a /* output buffers start with this; failures must leave it */

struct seal_fixture {
	struct utpm_hv hv;
	struct utpm_pal pal;
	struct utpm_pcr_policy pol;
	uint8_t blob[UTPM_BLOB_SIZE(SECRET_LEN)];
	size_t blob_len;
};

static struct seal_fixture f;

/* A PAL with measurements in PCRs 0 and 2, sealing SECRET to PCRs 0 and 2. */
static int setup(void **state)
{
	memset(&f, 0, sizeof(f));
	test_hv_init(&f.hv, 1);
	utpm_pal_init(&f.pal, test_pal_id);
	test_extend(&f.pal, 0, 0xa0);
	test_extend(&f.pal, 2, 0xa2);
	test_extend(&f.pal, 5, 0xa5);
	assert_int_equal(utpm_policy_current(&f.pal, 0x05, &f.pol), UTPM_OK);
	assert_int_equal(utpm_seal(&f.hv, &f.pal, &f.pol, SECRET, SECRET_LEN, f.blob,
	                           sizeof(f.blob), &f.blob_len),
	                 UTPM_OK);
	assert_int_equal(f.blob_len, UTPM_BLOB_SIZE(SECRET_LEN));
	return 0;
}

static void assert_untouched(const uint8_t *buf, size_t n)
{
	for (size_t i = 0; i < n; i++)
		assert_int_equal(buf[i], FILL);
}

/* Unseal with f's hv/pal; returns the status, checks out is untouched on failure. */
static enum utpm_status try_unseal(const uint8_t *blob, size_t len)
{
	uint8_t out[UTPM_SEAL_DATA_MAX], dig[32];
	size_t out_len = 12345;
	memset(out, FILL, sizeof(out));
	memset(dig, FILL, sizeof(dig));
	enum utpm_status st =
	    utpm_unseal(&f.hv, &f.pal, blob, len, out, sizeof(out), &out_len, dig);
	if (st != UTPM_OK) {
		assert_untouched(out, sizeof(out));
		assert_untouched(dig, sizeof(dig));
		assert_int_equal(out_len, 12345);
	}
	return st;
}

static bool contains(const uint8_t *hay, size_t n, const char *needle, size_t m)
{
	for (size_t i = 0; i + m <= n; i++)
		if (memcmp(hay + i, needle, m) == 0)
			return true;
	return false;
}

static void test_round_trip(void **state)
{
	uint8_t out[64], dig[32], want_dig[32], all[UTPM_PCR_COUNT][32];
	size_t out_len = 0;

	/* the plaintext is not visible in the blob */
	assert_false(contains(f.blob, f.blob_len, "secret", 6));
	assert_int_equal(
	    utpm_unseal(&f.hv, &f.pal, f.blob, f.blob_len, out, sizeof(out), &out_len, dig),
	    UTPM_OK);
	assert_int_equal(out_len, SECRET_LEN);
	assert_memory_equal(out, SECRET, SECRET_LEN);
	/* digest at seal: composite of all 8 PCRs when sealing */
	for (uint32_t i = 0; i < UTPM_PCR_COUNT; i++)
		utpm_pcr_read(&f.pal, i, all[i]);
	utpm_composite_digest(0xff, (const uint8_t(*)[32])all, want_dig);
	assert_memory_equal(dig, want_dig, 32);
	/* digest_at_seal may be NULL */
	assert_int_equal(
	    utpm_unseal(&f.hv, &f.pal, f.blob, f.blob_len, out, sizeof(out), &out_len, NULL),
	    UTPM_OK);
}

/* Another instance of the same PAL (same identity: the same code registered
 * again) with the same selected PCRs unseals; an unselected PCR may differ. */
static void test_other_pal_same_pcrs(void **state)
{
	struct utpm_pal other;
	uint8_t out[64];
	size_t out_len;

	utpm_pal_init(&other, test_pal_id);
	test_extend(&other, 0, 0xa0);
	test_extend(&other, 2, 0xa2);
	test_extend(&other, 6, 0x66);
	assert_int_equal(
	    utpm_unseal(&f.hv, &other, f.blob, f.blob_len, out, sizeof(out), &out_len, NULL),
	    UTPM_OK);
	assert_memory_equal(out, SECRET, SECRET_LEN);
}

/*
 * The attack: the OS registers a PAL B of its own (another identity) and
 * replays A's extends, so every PCR matches. A's blob must not open in B,
 * sealed to no PCR (selection 0) or to all 8, and nothing may reach B's buffer.
 */
static void test_other_identity_cannot_unseal(void **state)
{
	static const uint8_t sels[] = {0x00, 0xff};
	struct utpm_pal b;
	uint8_t blob[UTPM_BLOB_SIZE(SECRET_LEN)], out[64];
	size_t len, out_len;

	utpm_pal_init(&b, test_pal_id_b);
	test_extend(&b, 0, 0xa0);
	test_extend(&b, 2, 0xa2);
	test_extend(&b, 5, 0xa5);
	for (size_t k = 0; k < sizeof(sels); k++) {
		struct utpm_pcr_policy pol;
		assert_int_equal(utpm_policy_current(&f.pal, sels[k], &pol), UTPM_OK);
		assert_int_equal(
		    utpm_seal(&f.hv, &f.pal, &pol, SECRET, SECRET_LEN, blob, sizeof(blob), &len),
		    UTPM_OK);
		memset(out, FILL, sizeof(out));
		out_len = 12345;
		assert_int_equal(
		    utpm_unseal(&f.hv, &b, blob, len, out, sizeof(out), &out_len, NULL),
		    UTPM_ERR_WRONG_PAL);
		assert_untouched(out, sizeof(out));
		assert_int_equal(out_len, 12345);
		/* A itself still opens it. */
		assert_int_equal(
		    utpm_unseal(&f.hv, &f.pal, blob, len, out, sizeof(out), &out_len, NULL),
		    UTPM_OK);
		assert_memory_equal(out, SECRET, SECRET_LEN);
	}
}

/* The identity field of a blob cannot be rewritten to B's: the tag covers it. */
static void test_identity_field_rewritten_fails(void **state)
{
	struct utpm_pal b;
	uint8_t out[64];
	size_t out_len;

	utpm_pal_init(&b, test_pal_id_b);
	memcpy(f.blob + 12, test_pal_id_b, UTPM_DIGEST_SIZE); /* header offset 12 */
	assert_int_equal(
	    utpm_unseal(&f.hv, &b, f.blob, f.blob_len, out, sizeof(out), &out_len, NULL),
	    UTPM_ERR_TAMPERED);
}

static void test_changed_pcr_fails(void **state)
{
	/* an unselected PCR changing does not matter */
	test_extend(&f.pal, 5, 0x01);
	assert_int_equal(try_unseal(f.blob, f.blob_len), UTPM_OK);
	/* a selected one does */
	test_extend(&f.pal, 2, 0x01);
	assert_int_equal(try_unseal(f.blob, f.blob_len), UTPM_ERR_PCR_MISMATCH);
	/* and a fresh PAL (all zero) too */
	utpm_pal_init(&f.pal, test_pal_id);
	assert_int_equal(try_unseal(f.blob, f.blob_len), UTPM_ERR_PCR_MISMATCH);
}

/* Sealing to values other than the current ones: unseals only once they are reached. */
static void test_seal_to_future_values(void **state)
{
	struct utpm_pal future = f.pal;
	struct utpm_pcr_policy pol;
	uint8_t blob[UTPM_BLOB_SIZE(4)];
	size_t len;

	test_extend(&future, 1, 0x77);
	utpm_policy_current(&future, 0x02, &pol);
	assert_int_equal(utpm_seal(&f.hv, &f.pal, &pol, "abcd", 4, blob, sizeof(blob), &len),
	                 UTPM_OK);
	assert_int_equal(try_unseal(blob, len), UTPM_ERR_PCR_MISMATCH);
	test_extend(&f.pal, 1, 0x77);
	assert_int_equal(try_unseal(blob, len), UTPM_OK);
}

static void test_every_bit_flip_fails(void **state)
{
	uint8_t copy[sizeof(f.blob)];
	size_t tampered = 0, format = 0;

	for (size_t bit = 0; bit < f.blob_len * 8; bit++) {
		memcpy(copy, f.blob, f.blob_len);
		copy[bit / 8] ^= (uint8_t)(1u << (bit % 8));
		enum utpm_status st = try_unseal(copy, f.blob_len);
		if (st == UTPM_ERR_TAMPERED)
			tampered++;
		else if (st == UTPM_ERR_BLOB_FORMAT)
			format++;
		else
			fail_msg("bit %zu flipped: %s", bit, utpm_status_name(st));
	}
	/* format errors only in magic (4), version (1), reserved (2) and length (4) */
	assert_int_equal(format, 11 * 8);
	assert_int_equal(tampered, f.blob_len * 8 - 11 * 8);
	/* the original still unseals */
	assert_int_equal(try_unseal(f.blob, f.blob_len), UTPM_OK);
}

static void test_truncated_and_extended_fail(void **state)
{
	uint8_t longer[sizeof(f.blob) + 1];

	for (size_t len = 0; len < f.blob_len; len++)
		assert_int_equal(try_unseal(f.blob, len), UTPM_ERR_BLOB_FORMAT);
	memcpy(longer, f.blob, f.blob_len);
	longer[f.blob_len] = 0;
	assert_int_equal(try_unseal(longer, f.blob_len + 1), UTPM_ERR_BLOB_FORMAT);
}

/* A length field rewritten to match a truncated blob: authentication catches it. */
static void test_truncation_with_fixed_length_fails(void **state)
{
	uint8_t copy[sizeof(f.blob)];
	memcpy(copy, f.blob, f.blob_len);
	copy[8] = (uint8_t)(SECRET_LEN - 1);
	assert_int_equal(try_unseal(copy, f.blob_len - 1), UTPM_ERR_TAMPERED);
}

/* A blob from a hypervisor with another sealing key does not authenticate. */
static void test_other_key_fails(void **state)
{
	struct utpm_hv other;
	uint8_t out[64];
	size_t out_len;

	test_hv_init(&other, 2);
	assert_int_equal(
	    utpm_unseal(&other, &f.pal, f.blob, f.blob_len, out, sizeof(out), &out_len, NULL),
	    UTPM_ERR_TAMPERED);
}

/* Two seals of the same data differ (fresh nonce) and both unseal. */
static void test_seals_differ(void **state)
{
	uint8_t b2[sizeof(f.blob)];
	size_t len;

	assert_int_equal(utpm_seal(&f.hv, &f.pal, &f.pol, SECRET, SECRET_LEN, b2, sizeof(b2), &len),
	                 UTPM_OK);
	assert_memory_not_equal(b2, f.blob, f.blob_len);
	assert_int_equal(try_unseal(b2, len), UTPM_OK);
}

static void test_empty_and_maximal_data(void **state)
{
	static uint8_t big[UTPM_SEAL_DATA_MAX], blob[UTPM_BLOB_SIZE(UTPM_SEAL_DATA_MAX)],
	    out[UTPM_SEAL_DATA_MAX];
	size_t len, out_len;

	assert_int_equal(utpm_seal(&f.hv, &f.pal, &f.pol, NULL, 0, blob, sizeof(blob), &len),
	                 UTPM_OK);
	assert_int_equal(len, UTPM_BLOB_OVERHEAD);
	out_len = 99;
	assert_int_equal(utpm_unseal(&f.hv, &f.pal, blob, len, out, sizeof(out), &out_len, NULL),
	                 UTPM_OK);
	assert_int_equal(out_len, 0);

	for (size_t i = 0; i < sizeof(big); i++)
		big[i] = (uint8_t)(i * 31);
	assert_int_equal(
	    utpm_seal(&f.hv, &f.pal, &f.pol, big, sizeof(big), blob, sizeof(blob), &len), UTPM_OK);
	assert_int_equal(utpm_unseal(&f.hv, &f.pal, blob, len, out, sizeof(out), &out_len, NULL),
	                 UTPM_OK);
	assert_int_equal(out_len, sizeof(big));
	assert_memory_equal(out, big, sizeof(big));
	assert_int_equal(
	    utpm_seal(&f.hv, &f.pal, &f.pol, big, sizeof(big) + 1, blob, sizeof(blob), &len),
	    UTPM_ERR_SIZE);
}

static void test_buffer_sizes(void **state)
{
	uint8_t blob[UTPM_BLOB_SIZE(SECRET_LEN)], out[SECRET_LEN];
	size_t len = 0;

	memset(blob, FILL, sizeof(blob));
	assert_int_equal(
	    utpm_seal(&f.hv, &f.pal, &f.pol, SECRET, SECRET_LEN, blob, sizeof(blob) - 1, &len),
	    UTPM_ERR_BUFFER_SMALL);
	assert_int_equal(len, UTPM_BLOB_SIZE(SECRET_LEN));
	assert_untouched(blob, sizeof(blob));

	memset(out, FILL, sizeof(out));
	len = 0;
	assert_int_equal(
	    utpm_unseal(&f.hv, &f.pal, f.blob, f.blob_len, out, SECRET_LEN - 1, &len, NULL),
	    UTPM_ERR_BUFFER_SMALL);
	assert_int_equal(len, SECRET_LEN);
	assert_untouched(out, sizeof(out));
	assert_int_equal(
	    utpm_unseal(&f.hv, &f.pal, f.blob, f.blob_len, out, SECRET_LEN, &len, NULL), UTPM_OK);
}

static void test_bad_arguments(void **state)
{
	struct utpm_hv raw_hv;
	struct utpm_pal raw_pal;
	uint8_t blob[UTPM_BLOB_SIZE(4)], out[8];
	size_t len;

	memset(&raw_hv, 0, sizeof(raw_hv));
	memset(&raw_pal, 0, sizeof(raw_pal));
	assert_int_equal(utpm_seal(NULL, &f.pal, &f.pol, "x", 1, blob, sizeof(blob), &len),
	                 UTPM_ERR_NULL);
	assert_int_equal(utpm_seal(&f.hv, NULL, &f.pol, "x", 1, blob, sizeof(blob), &len),
	                 UTPM_ERR_NULL);
	assert_int_equal(utpm_seal(&f.hv, &f.pal, NULL, "x", 1, blob, sizeof(blob), &len),
	                 UTPM_ERR_NULL);
	assert_int_equal(utpm_seal(&f.hv, &f.pal, &f.pol, NULL, 1, blob, sizeof(blob), &len),
	                 UTPM_ERR_NULL);
	assert_int_equal(utpm_seal(&f.hv, &f.pal, &f.pol, "x", 1, NULL, sizeof(blob), &len),
	                 UTPM_ERR_NULL);
	assert_int_equal(utpm_seal(&f.hv, &f.pal, &f.pol, "x", 1, blob, sizeof(blob), NULL),
	                 UTPM_ERR_NULL);
	assert_int_equal(utpm_seal(&raw_hv, &f.pal, &f.pol, "x", 1, blob, sizeof(blob), &len),
	                 UTPM_ERR_NOT_READY);
	assert_int_equal(utpm_seal(&f.hv, &raw_pal, &f.pol, "x", 1, blob, sizeof(blob), &len),
	                 UTPM_ERR_NOT_READY);
	assert_int_equal(
	    utpm_seal(&f.hv, &f.pal, &f.pol, "x", UTPM_SEAL_DATA_MAX + 1, blob, sizeof(blob), &len),
	    UTPM_ERR_SIZE);

	assert_int_equal(
	    utpm_unseal(NULL, &f.pal, f.blob, f.blob_len, out, sizeof(out), &len, NULL),
	    UTPM_ERR_NULL);
	assert_int_equal(utpm_unseal(&f.hv, NULL, f.blob, f.blob_len, out, sizeof(out), &len, NULL),
	                 UTPM_ERR_NULL);
	assert_int_equal(utpm_unseal(&f.hv, &f.pal, NULL, f.blob_len, out, sizeof(out), &len, NULL),
	                 UTPM_ERR_NULL);
	assert_int_equal(
	    utpm_unseal(&f.hv, &f.pal, f.blob, f.blob_len, NULL, sizeof(out), &len, NULL),
	    UTPM_ERR_NULL);
	assert_int_equal(
	    utpm_unseal(&f.hv, &f.pal, f.blob, f.blob_len, out, sizeof(out), NULL, NULL),
	    UTPM_ERR_NULL);
	assert_int_equal(
	    utpm_unseal(&raw_hv, &f.pal, f.blob, f.blob_len, out, sizeof(out), &len, NULL),
	    UTPM_ERR_NOT_READY);
	assert_int_equal(
	    utpm_unseal(&f.hv, &raw_pal, f.blob, f.blob_len, out, sizeof(out), &len, NULL),
	    UTPM_ERR_NOT_READY);
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup(fn, setup)
	const struct CMUnitTest tests[] = {
	    T(test_round_trip),
	    T(test_other_pal_same_pcrs),
	    T(test_other_identity_cannot_unseal),
	    T(test_identity_field_rewritten_fails),
	    T(test_changed_pcr_fails),
	    T(test_seal_to_future_values),
	    T(test_every_bit_flip_fails),
	    T(test_truncated_and_extended_fail),
	    T(test_truncation_with_fixed_length_fails),
	    T(test_other_key_fails),
	    T(test_seals_differ),
	    T(test_empty_and_maximal_data),
	    T(test_buffer_sizes),
	    T(test_bad_arguments),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
