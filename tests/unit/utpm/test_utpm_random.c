/* Micro-TPM DRBG, hypervisor-state life cycle, entropy collection and per-CPU runtime set-up
 * (the last two against the fake hardware). */
#include "apps/trustvisor/utpm/utpm_entropy.h"
#include "apps/trustvisor/utpm/utpm_runtime.h"
#include "hw/fake/fake_hw.h"
#include "rt/layout.h"
#include "tests/unit/utpm/utpm_test_util.h"

#define CPUID1_ECX_RDRAND (1u << 30)
#define CPUID7_EBX_RDSEED (1u << 18)

static void random_of(uint8_t tag, uint8_t *out, size_t n)
{
	struct utpm_hv hv;
	test_hv_init(&hv, tag);
	assert_int_equal(utpm_get_random(&hv, out, n), UTPM_OK);
}

static void test_drbg_deterministic_per_seed(void **state)
{
	uint8_t a[64], b[64], c[64];

	random_of(10, a, sizeof(a));
	random_of(10, b, sizeof(b));
	random_of(11, c, sizeof(c));
	assert_memory_equal(a, b, sizeof(a));
	assert_memory_not_equal(a, c, sizeof(a));
}

/* A seed differing in its last byte only still gives another stream. */
static void test_drbg_whole_seed_counts(void **state)
{
	struct utpm_hv h1, h2;
	uint8_t s[UTPM_SEED_MAX], a[32], b[32];

	test_seed(s, sizeof(s), 5);
	assert_int_equal(utpm_hv_init(&h1, s, sizeof(s)), UTPM_OK);
	s[sizeof(s) - 1] ^= 1;
	assert_int_equal(utpm_hv_init(&h2, s, sizeof(s)), UTPM_OK);
	utpm_get_random(&h1, a, sizeof(a));
	utpm_get_random(&h2, b, sizeof(b));
	assert_memory_not_equal(a, b, sizeof(a));
}

static void test_drbg_advances_and_reseeds(void **state)
{
	struct utpm_hv h1, h2;
	uint8_t a[32], b[32], s[UTPM_SEED_MIN], k1[UTPM_PUBKEY_SIZE], k2[UTPM_PUBKEY_SIZE];
	size_t len;

	test_hv_init(&h1, 20);
	test_hv_init(&h2, 20);
	utpm_get_random(&h1, a, sizeof(a));
	utpm_get_random(&h1, b, sizeof(b));
	assert_memory_not_equal(a, b, sizeof(a)); /* successive outputs differ */

	utpm_get_random(&h2, b, sizeof(b));
	assert_memory_equal(a, b, sizeof(a)); /* same seed, same first output */
	test_seed(s, sizeof(s), 99);
	assert_int_equal(utpm_hv_reseed(&h2, s, sizeof(s)), UTPM_OK);
	utpm_get_random(&h1, a, sizeof(a));
	utpm_get_random(&h2, b, sizeof(b));
	assert_memory_not_equal(a, b, sizeof(a)); /* reseeding changed the stream */
	/* but not the keys */
	utpm_get_pubkey(&h1, k1, sizeof(k1), &len);
	utpm_get_pubkey(&h2, k2, sizeof(k2), &len);
	assert_memory_equal(k1, k2, sizeof(k1));
}

static void test_random_sizes(void **state)
{
	struct utpm_hv hv;
	static uint8_t buf[UTPM_RANDOM_MAX + 1];

	test_hv_init(&hv, 30);
	memset(buf, 0, sizeof(buf));
	assert_int_equal(utpm_get_random(&hv, buf, UTPM_RANDOM_MAX), UTPM_OK);
	size_t zeros = 0;
	for (size_t i = 0; i < UTPM_RANDOM_MAX; i++)
		zeros += buf[i] == 0;
	assert_true(zeros < UTPM_RANDOM_MAX / 16); /* about 4 expected */
	assert_int_equal(utpm_get_random(&hv, buf, UTPM_RANDOM_MAX + 1), UTPM_ERR_SIZE);
	assert_int_equal(utpm_get_random(&hv, NULL, 0), UTPM_OK);
	assert_int_equal(utpm_get_random(&hv, NULL, 1), UTPM_ERR_NULL);
	assert_int_equal(utpm_get_random(NULL, buf, 1), UTPM_ERR_NULL);
}

static void test_hv_bad_arguments_and_wipe(void **state)
{
	struct utpm_hv hv;
	uint8_t s[UTPM_SEED_MAX + 1], buf[8];

	test_seed(s, sizeof(s), 1);
	memset(&hv, 0, sizeof(hv));
	assert_int_equal(utpm_hv_init(NULL, s, UTPM_SEED_MIN), UTPM_ERR_NULL);
	assert_int_equal(utpm_hv_init(&hv, NULL, UTPM_SEED_MIN), UTPM_ERR_NULL);
	assert_int_equal(utpm_hv_init(&hv, s, UTPM_SEED_MIN - 1), UTPM_ERR_SIZE);
	assert_int_equal(utpm_hv_init(&hv, s, UTPM_SEED_MAX + 1), UTPM_ERR_SIZE);
	assert_int_equal(utpm_get_random(&hv, buf, sizeof(buf)), UTPM_ERR_NOT_READY);
	assert_int_equal(utpm_hv_reseed(&hv, s, UTPM_SEED_MIN), UTPM_ERR_NOT_READY);

	assert_int_equal(utpm_hv_init(&hv, s, UTPM_SEED_MAX), UTPM_OK);
	assert_int_equal(utpm_hv_reseed(NULL, s, UTPM_SEED_MIN), UTPM_ERR_NULL);
	assert_int_equal(utpm_hv_reseed(&hv, NULL, UTPM_SEED_MIN), UTPM_ERR_NULL);
	assert_int_equal(utpm_hv_reseed(&hv, s, UTPM_SEED_MIN - 1), UTPM_ERR_SIZE);
	assert_int_equal(utpm_hv_reseed(&hv, s, UTPM_SEED_MAX + 1), UTPM_ERR_SIZE);

	utpm_hv_wipe(&hv);
	utpm_hv_wipe(NULL);
	const uint8_t *p = (const uint8_t *)&hv;
	for (size_t i = 0; i < sizeof(hv); i++)
		assert_int_equal(p[i], 0);
	assert_int_equal(utpm_get_random(&hv, buf, sizeof(buf)), UTPM_ERR_NOT_READY);
}

/* ---- entropy, against the fake RDRAND/RDSEED ---- */

static void set_features(bool rdrand, bool rdseed)
{
	struct hw_cpuid_regs l1 = {0x00050654, 0x800, rdrand ? CPUID1_ECX_RDRAND : 0, 0};
	struct hw_cpuid_regs l7 = {0, rdseed ? CPUID7_EBX_RDSEED : 0, 0, 0};
	fake_cpuid_set(1, 0, &l1);
	fake_cpuid_set(7, 0, &l7);
}

static int fake_setup(void **state)
{
	fake_hw_reset();
	return 0;
}

static void test_entropy_prefers_rdseed(void **state)
{
	uint8_t a[40], b[40];

	set_features(true, true);
	assert_int_equal(utpm_entropy_sources(), UTPM_ENTROPY_RDRAND | UTPM_ENTROPY_RDSEED);
	fake_rng_set(1, 0, 0);
	assert_int_equal(utpm_entropy_collect(a, sizeof(a)), UTPM_OK);
	assert_int_equal(fake_hw.rdseed_calls, 5); /* 40 bytes = 5 draws */
	assert_int_equal(fake_hw.rdrand_calls, 0);
	/* the bytes are the draws' values (another state, other bytes) */
	fake_rng_set(2, 0, 0);
	assert_int_equal(utpm_entropy_collect(b, sizeof(b)), UTPM_OK);
	assert_memory_not_equal(a, b, sizeof(a));
}

static void test_entropy_retries_then_falls_back(void **state)
{
	uint8_t out[8];

	set_features(true, true);
	/* RDSEED fails 3 times, then works: retried, no RDRAND */
	fake_rng_set(1, 0, 3);
	assert_int_equal(utpm_entropy_collect(out, sizeof(out)), UTPM_OK);
	assert_int_equal(fake_hw.rdseed_calls, 4);
	assert_int_equal(fake_hw.rdrand_calls, 0);
	/* RDSEED keeps failing: RDRAND delivers */
	fake_hw_reset();
	set_features(true, true);
	fake_rng_set(1, 0, 1000000);
	assert_int_equal(utpm_entropy_collect(out, sizeof(out)), UTPM_OK);
	assert_true(fake_hw.rdseed_calls > 4);
	assert_int_equal(fake_hw.rdrand_calls, 1);
}

static void test_entropy_rdrand_only(void **state)
{
	uint8_t out[13];

	set_features(true, false);
	assert_int_equal(utpm_entropy_sources(), UTPM_ENTROPY_RDRAND);
	assert_int_equal(utpm_entropy_collect(out, sizeof(out)), UTPM_OK);
	assert_int_equal(fake_hw.rdrand_calls, 2); /* 13 bytes: 2 draws */
	assert_int_equal(fake_hw.rdseed_calls, 0);
}

static void test_entropy_failures(void **state)
{
	uint8_t out[16];

	/* no source at all: nothing executed (it would #UD) */
	set_features(false, false);
	memset(out, 0x5a, sizeof(out));
	assert_int_equal(utpm_entropy_collect(out, sizeof(out)), UTPM_ERR_NO_ENTROPY);
	assert_int_equal(fake_hw.rdrand_calls + fake_hw.rdseed_calls, 0);
	/* RDRAND that never delivers: bounded retries, out untouched */
	set_features(true, false);
	fake_rng_set(1, 1000000, 0);
	assert_int_equal(utpm_entropy_collect(out, sizeof(out)), UTPM_ERR_NO_ENTROPY);
	assert_true(fake_hw.rdrand_calls >= 2 && fake_hw.rdrand_calls <= 100);
	for (size_t i = 0; i < sizeof(out); i++)
		assert_int_equal(out[i], 0x5a);
	/* sizes and NULL */
	assert_int_equal(utpm_entropy_collect(NULL, 8), UTPM_ERR_NULL);
	assert_int_equal(utpm_entropy_collect(out, 0), UTPM_ERR_SIZE);
	uint8_t big[UTPM_SEED_MAX + 1];
	assert_int_equal(utpm_entropy_collect(big, sizeof(big)), UTPM_ERR_SIZE);
}

/* ---- per-CPU runtime ---- */

static void test_runtime_init_cpu(void **state)
{
	fake_set_cpu(1);
	fake_cpu(1)->cr0 |= CR0_EM | CR0_TS;
	fake_cpu(1)->cr4 &= ~(CR4_OSFXSR | CR4_OSXMMEXCPT);
	assert_int_equal(utpm_runtime_init_cpu(1, 0x1122334455667788ull), UTPM_OK);

	const struct utpm_cpu_block *b = utpm_runtime_cpu_block(1);
	assert_non_null(b);
	assert_int_equal(fake_msr_get_cpu(1, MSR_IA32_FS_BASE), (uint64_t)(uintptr_t)b);
	/* %fs:0x28 holds the canary with its low byte cleared */
	uint64_t at_28;
	memcpy(&at_28, (const uint8_t *)b + 0x28, 8);
	assert_int_equal(at_28, 0x1122334455667700ull);
	/* SSE enabled for the OS */
	assert_true(fake_cpu(1)->cr4 & CR4_OSFXSR);
	assert_true(fake_cpu(1)->cr4 & CR4_OSXMMEXCPT);
	assert_true(fake_cpu(1)->cr0 & CR0_MP);
	assert_false(fake_cpu(1)->cr0 & (CR0_EM | CR0_TS));
	/* CPU 0 untouched; each CPU its own block */
	assert_int_equal(fake_msr_get_cpu(0, MSR_IA32_FS_BASE), 0);
	assert_ptr_not_equal(utpm_runtime_cpu_block(0), b);

	assert_int_equal(utpm_runtime_init_cpu(HV_MAX_CPUS, 1), UTPM_ERR_SIZE);
	assert_null(utpm_runtime_cpu_block(HV_MAX_CPUS));
	fake_set_cpu(0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_drbg_deterministic_per_seed),
	    cmocka_unit_test(test_drbg_whole_seed_counts),
	    cmocka_unit_test(test_drbg_advances_and_reseeds),
	    cmocka_unit_test(test_random_sizes),
	    cmocka_unit_test(test_hv_bad_arguments_and_wipe),
	    cmocka_unit_test_setup(test_entropy_prefers_rdseed, fake_setup),
	    cmocka_unit_test_setup(test_entropy_retries_then_falls_back, fake_setup),
	    cmocka_unit_test_setup(test_entropy_rdrand_only, fake_setup),
	    cmocka_unit_test_setup(test_entropy_failures, fake_setup),
	    cmocka_unit_test_setup(test_runtime_init_cpu, fake_setup),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
