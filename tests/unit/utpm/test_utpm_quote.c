/* Micro-TPM quote: verifies with the exported public key, fails on any other input. */
#include <stdbool.h>

#include "tests/unit/utpm/utpm_test_util.h"

static struct utpm_hv hv;
static struct utpm_pal pal;
static uint8_t pub[UTPM_PUBKEY_SIZE];
static const uint8_t nonce[20] = "nonce-0123456789abc";

static int setup(void **state)
{
	size_t len = 0;
	test_hv_init(&hv, 3);
	utpm_pal_init(&pal, test_pal_id);
	test_extend(&pal, 0, 0x10);
	test_extend(&pal, 1, 0x11);
	test_extend(&pal, 6, 0x16);
	assert_int_equal(utpm_get_pubkey(&hv, pub, sizeof(pub), &len), UTPM_OK);
	assert_int_equal(len, UTPM_PUBKEY_SIZE);
	assert_int_equal(pub[0], 0x04); /* uncompressed point */
	return 0;
}

/* The verifier's side, written from the format in utpm_digest.h (not with it):
 * SHA-256(identity || SHA-256(select || selected PCR values) || nonce), ECDSA P-256. */
static bool verify(const uint8_t *key, const uint8_t *id, uint8_t select,
                   const uint8_t vals[UTPM_PCR_COUNT][32], const uint8_t *n, size_t n_len,
                   const uint8_t *sig)
{
	br_sha256_context c;
	uint8_t comp[32], hash[32];

	br_sha256_init(&c);
	br_sha256_update(&c, &select, 1);
	for (int i = 0; i < UTPM_PCR_COUNT; i++)
		if (select & (1 << i))
			br_sha256_update(&c, vals[i], 32);
	br_sha256_out(&c, comp);
	br_sha256_init(&c);
	br_sha256_update(&c, id, 32);
	br_sha256_update(&c, comp, 32);
	br_sha256_update(&c, n, n_len);
	br_sha256_out(&c, hash);
	br_ec_public_key pk = {BR_EC_secp256r1, (unsigned char *)key, UTPM_PUBKEY_SIZE};
	return br_ecdsa_i31_vrfy_raw(&br_ec_p256_m31, hash, 32, &pk, sig, UTPM_SIG_SIZE) == 1;
}

static void read_all(uint8_t vals[UTPM_PCR_COUNT][32])
{
	for (uint32_t i = 0; i < UTPM_PCR_COUNT; i++)
		assert_int_equal(utpm_pcr_read(&pal, i, vals[i]), UTPM_OK);
}

static void test_quote_verifies(void **state)
{
	uint8_t sig[UTPM_SIG_SIZE], comp[32], want_comp[32], vals[UTPM_PCR_COUNT][32];
	size_t sig_len = 0;

	assert_int_equal(
	    utpm_quote(&hv, &pal, nonce, sizeof(nonce), 0x43, sig, sizeof(sig), &sig_len, comp),
	    UTPM_OK);
	assert_int_equal(sig_len, UTPM_SIG_SIZE);
	read_all(vals);
	assert_true(
	    verify(pub, test_pal_id, 0x43, (const uint8_t(*)[32])vals, nonce, sizeof(nonce), sig));
	utpm_composite_digest(0x43, (const uint8_t(*)[32])vals, want_comp);
	assert_memory_equal(comp, want_comp, 32);
}

static void test_quote_fails_on_other_inputs(void **state)
{
	uint8_t sig[UTPM_SIG_SIZE], vals[UTPM_PCR_COUNT][32], other_nonce[20];
	size_t sig_len;

	assert_int_equal(
	    utpm_quote(&hv, &pal, nonce, sizeof(nonce), 0x43, sig, sizeof(sig), &sig_len, NULL),
	    UTPM_OK);
	read_all(vals);
	const uint8_t(*cv)[32] = (const uint8_t(*)[32])vals;
	assert_true(verify(pub, test_pal_id, 0x43, cv, nonce, sizeof(nonce), sig));

	/* another nonce (one bit, or one byte shorter) */
	memcpy(other_nonce, nonce, sizeof(nonce));
	other_nonce[7] ^= 1;
	assert_false(verify(pub, test_pal_id, 0x43, cv, other_nonce, sizeof(nonce), sig));
	assert_false(verify(pub, test_pal_id, 0x43, cv, nonce, sizeof(nonce) - 1, sig));
	/* another value of a quoted PCR */
	vals[6][0] ^= 0x80;
	assert_false(verify(pub, test_pal_id, 0x43, cv, nonce, sizeof(nonce), sig));
	vals[6][0] ^= 0x80;
	/* another selection (PCR 2 is zero, but selecting it changes the composite) */
	assert_false(verify(pub, test_pal_id, 0x47, cv, nonce, sizeof(nonce), sig));
	/* an unquoted PCR may differ */
	vals[3][5] ^= 1;
	assert_true(verify(pub, test_pal_id, 0x43, cv, nonce, sizeof(nonce), sig));
	/* a modified signature */
	sig[10] ^= 4;
	assert_false(verify(pub, test_pal_id, 0x43, cv, nonce, sizeof(nonce), sig));
	sig[10] ^= 4;
	/* another hypervisor's key */
	struct utpm_hv other;
	uint8_t other_pub[UTPM_PUBKEY_SIZE];
	size_t len;
	test_hv_init(&other, 4);
	utpm_get_pubkey(&other, other_pub, sizeof(other_pub), &len);
	assert_memory_not_equal(other_pub, pub, UTPM_PUBKEY_SIZE);
	assert_false(verify(other_pub, test_pal_id, 0x43, cv, nonce, sizeof(nonce), sig));
}

/*
 * The attack: the OS registers a PAL B of its own, replays PAL A's extends so
 * every PCR matches, and quotes. B's quote must not pass as A's: it verifies
 * only under B's identity, never under A's (any selection, even none).
 */
static void test_quote_of_another_pal_fails_against_its_identity(void **state)
{
	struct utpm_pal b;
	uint8_t sig[UTPM_SIG_SIZE], vals[UTPM_PCR_COUNT][32];
	size_t len;
	static const uint8_t sels[] = {0x00, 0x43, 0xff};

	utpm_pal_init(&b, test_pal_id_b);
	test_extend(&b, 0, 0x10);
	test_extend(&b, 1, 0x11);
	test_extend(&b, 6, 0x16);
	read_all(vals);
	for (unsigned i = 0; i < UTPM_PCR_COUNT; i++) {
		uint8_t bv[32];
		utpm_pcr_read(&b, i, bv);
		assert_memory_equal(bv, vals[i], 32); /* B's PCRs are A's */
	}
	for (size_t k = 0; k < sizeof(sels); k++) {
		const uint8_t(*cv)[32] = (const uint8_t(*)[32])vals;
		assert_int_equal(utpm_quote(&hv, &b, nonce, sizeof(nonce), sels[k], sig,
		                            sizeof(sig), &len, NULL),
		                 UTPM_OK);
		assert_false(verify(pub, test_pal_id, sels[k], cv, nonce, sizeof(nonce), sig));
		assert_true(verify(pub, test_pal_id_b, sels[k], cv, nonce, sizeof(nonce), sig));
		/* and A's own quote verifies under A's identity only */
		assert_int_equal(utpm_quote(&hv, &pal, nonce, sizeof(nonce), sels[k], sig,
		                            sizeof(sig), &len, NULL),
		                 UTPM_OK);
		assert_true(verify(pub, test_pal_id, sels[k], cv, nonce, sizeof(nonce), sig));
		assert_false(verify(pub, test_pal_id_b, sels[k], cv, nonce, sizeof(nonce), sig));
	}
}

/* After an extend, the old quote no longer matches the PAL's PCRs; a new one does. */
static void test_quote_follows_pcrs(void **state)
{
	uint8_t sig1[UTPM_SIG_SIZE], sig2[UTPM_SIG_SIZE], vals[UTPM_PCR_COUNT][32];
	size_t len;

	utpm_quote(&hv, &pal, nonce, sizeof(nonce), 0x01, sig1, sizeof(sig1), &len, NULL);
	test_extend(&pal, 0, 0x99);
	utpm_quote(&hv, &pal, nonce, sizeof(nonce), 0x01, sig2, sizeof(sig2), &len, NULL);
	read_all(vals);
	assert_false(
	    verify(pub, test_pal_id, 0x01, (const uint8_t(*)[32])vals, nonce, sizeof(nonce), sig1));
	assert_true(
	    verify(pub, test_pal_id, 0x01, (const uint8_t(*)[32])vals, nonce, sizeof(nonce), sig2));
}

/* The same seed gives the same quote key (a persistent seed keeps the key). */
static void test_key_from_seed(void **state)
{
	struct utpm_hv again;
	uint8_t p2[UTPM_PUBKEY_SIZE];
	size_t len;

	test_hv_init(&again, 3);
	utpm_get_pubkey(&again, p2, sizeof(p2), &len);
	assert_memory_equal(p2, pub, UTPM_PUBKEY_SIZE);
}

static void test_nonce_sizes(void **state)
{
	uint8_t big[UTPM_NONCE_MAX + 1] = {0}, sig[UTPM_SIG_SIZE], vals[UTPM_PCR_COUNT][32];
	size_t len;

	read_all(vals);
	assert_int_equal(
	    utpm_quote(&hv, &pal, big, UTPM_NONCE_MIN, 1, sig, sizeof(sig), &len, NULL), UTPM_OK);
	assert_true(
	    verify(pub, test_pal_id, 1, (const uint8_t(*)[32])vals, big, UTPM_NONCE_MIN, sig));
	assert_int_equal(
	    utpm_quote(&hv, &pal, big, UTPM_NONCE_MAX, 1, sig, sizeof(sig), &len, NULL), UTPM_OK);
	assert_true(
	    verify(pub, test_pal_id, 1, (const uint8_t(*)[32])vals, big, UTPM_NONCE_MAX, sig));
	assert_int_equal(utpm_quote(&hv, &pal, big, 0, 1, sig, sizeof(sig), &len, NULL),
	                 UTPM_ERR_SIZE);
	assert_int_equal(
	    utpm_quote(&hv, &pal, big, UTPM_NONCE_MAX + 1, 1, sig, sizeof(sig), &len, NULL),
	    UTPM_ERR_SIZE);
}

static void test_bad_arguments(void **state)
{
	struct utpm_hv raw_hv;
	struct utpm_pal raw_pal;
	uint8_t sig[UTPM_SIG_SIZE], key[UTPM_PUBKEY_SIZE];
	size_t len = 0;

	memset(&raw_hv, 0, sizeof(raw_hv));
	memset(&raw_pal, 0, sizeof(raw_pal));
	assert_int_equal(utpm_quote(NULL, &pal, nonce, 4, 1, sig, sizeof(sig), &len, NULL),
	                 UTPM_ERR_NULL);
	assert_int_equal(utpm_quote(&hv, NULL, nonce, 4, 1, sig, sizeof(sig), &len, NULL),
	                 UTPM_ERR_NULL);
	assert_int_equal(utpm_quote(&hv, &pal, NULL, 4, 1, sig, sizeof(sig), &len, NULL),
	                 UTPM_ERR_NULL);
	assert_int_equal(utpm_quote(&hv, &pal, nonce, 4, 1, NULL, sizeof(sig), &len, NULL),
	                 UTPM_ERR_NULL);
	assert_int_equal(utpm_quote(&hv, &pal, nonce, 4, 1, sig, sizeof(sig), NULL, NULL),
	                 UTPM_ERR_NULL);
	assert_int_equal(utpm_quote(&raw_hv, &pal, nonce, 4, 1, sig, sizeof(sig), &len, NULL),
	                 UTPM_ERR_NOT_READY);
	assert_int_equal(utpm_quote(&hv, &raw_pal, nonce, 4, 1, sig, sizeof(sig), &len, NULL),
	                 UTPM_ERR_NOT_READY);
	memset(sig, 0x5a, sizeof(sig));
	assert_int_equal(utpm_quote(&hv, &pal, nonce, 4, 1, sig, UTPM_SIG_SIZE - 1, &len, NULL),
	                 UTPM_ERR_BUFFER_SMALL);
	assert_int_equal(len, UTPM_SIG_SIZE);
	for (size_t i = 0; i < sizeof(sig); i++)
		assert_int_equal(sig[i], 0x5a);

	assert_int_equal(utpm_get_pubkey(NULL, key, sizeof(key), &len), UTPM_ERR_NULL);
	assert_int_equal(utpm_get_pubkey(&hv, NULL, sizeof(key), &len), UTPM_ERR_NULL);
	assert_int_equal(utpm_get_pubkey(&hv, key, sizeof(key), NULL), UTPM_ERR_NULL);
	assert_int_equal(utpm_get_pubkey(&raw_hv, key, sizeof(key), &len), UTPM_ERR_NOT_READY);
	len = 0;
	assert_int_equal(utpm_get_pubkey(&hv, key, UTPM_PUBKEY_SIZE - 1, &len),
	                 UTPM_ERR_BUFFER_SMALL);
	assert_int_equal(len, UTPM_PUBKEY_SIZE);
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup(fn, setup)
	const struct CMUnitTest tests[] = {
	    T(test_quote_verifies),
	    T(test_quote_fails_on_other_inputs),
	    T(test_quote_follows_pcrs),
	    T(test_key_from_seed),
	    T(test_quote_of_another_pal_fails_against_its_identity),
	    T(test_nonce_sizes),
	    T(test_bad_arguments),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
