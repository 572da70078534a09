/*
 * The micro-TPM hypercalls from inside a PAL (tv_proc.h's process): buffers
 * in the PAL's own sections only, PCR extend/read, random bytes, and the
 * sealed blobs the guest may hand back altered or under other PCR values
 * (TV_ERR_TPM, the call and the micro-TPM still serving afterwards).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include <bearssl.h>

#include "apps/trustvisor/tv_internal.h"
#include "libvmx/vmx.h"
#include "tests/unit/trustvisor/fake_platform.h"
#include "tests/unit/trustvisor/tv_env.h"
#include "tests/unit/trustvisor/tv_proc.h"

/* Where the seal tests keep things, in the PAL's data page (DATA_GVA -> 0x205000). */
#define SECRET_OFF 0x000u /* 16 bytes */
#define MEAS_OFF   0x040u /* a 32-byte measurement */
#define BLOB_OFF   0x100u /* the sealed blob */
#define COPY_OFF   0x400u /* a tampered copy */
#define OUT_OFF    0x800u /* unseal output */
#define SECRET_LEN 16u
#define SEL_PCR3   (1u << 3)

/* TV_HC_SEAL of the secret to the current value of PCR 3; returns the blob length. */
static int64_t seal_secret(void)
{
	v->gpr[GPR_RCX] = SECRET_LEN;
	v->gpr[GPR_RDX] = DATA_GVA + BLOB_OFF;
	v->gpr[GPR_RSI] = COPY_OFF - BLOB_OFF;
	v->gpr[GPR_RDI] = SEL_PCR3;
	return hypercall(TV_HC_SEAL, DATA_GVA + SECRET_OFF);
}

/* TV_HC_UNSEAL of the blob at `off`, into OUT_OFF. */
static int64_t unseal_at(uint32_t off, uint64_t len)
{
	v->gpr[GPR_RCX] = len;
	v->gpr[GPR_RDX] = DATA_GVA + OUT_OFF;
	v->gpr[GPR_RSI] = 0x100;
	return hypercall(TV_HC_UNSEAL, DATA_GVA + off);
}

/* A PAL holding a secret in its data page, running (inside its call). */
static void pal_with_secret_runs(void)
{
	assert_int_equal(register_desc(&good_desc), TV_OK);
	for (unsigned i = 0; i < SECRET_LEN; i++)
		tvf_ram[0x205000 + SECRET_OFF + i] = (uint8_t)(0x30 + i);
	memset(tvf_ram + 0x205000 + MEAS_OFF, 0x5c, 32);
	call_entry();
	assert_non_null(tv_call_of(0)->pal);
}

static void assert_unsealed_secret(void)
{
	for (unsigned i = 0; i < SECRET_LEN; i++)
		assert_int_equal(tvf_ram[0x205000 + OUT_OFF + i], 0x30 + i);
}

static void assert_nothing_unsealed(void)
{
	for (unsigned i = 0; i < 0x100; i++)
		assert_int_equal(tvf_ram[0x205000 + OUT_OFF + i], 0);
}

static void test_utpm_calls_from_inside_the_pal(void **state)
{
	(void)state;
	uint8_t meas[32], zero_then_meas[64], want[32];
	br_sha256_context h;

	assert_int_equal(register_desc(&good_desc), TV_OK);
	for (unsigned i = 0; i < 32; i++)
		meas[i] = (uint8_t)(i + 1);
	memcpy(tvf_ram + 0x205000, meas, 32); /* the PAL's data page */
	call_entry();
	assert_int_equal(hypercall(TV_HC_EXTEND, 3), TV_ERR_INVALID); /* RCX = 0: not PAL memory */
	v->gpr[GPR_RCX] = DATA_GVA;
	assert_int_equal(hypercall(TV_HC_EXTEND, 3), TV_OK);
	v->gpr[GPR_RCX] = DATA_GVA + 64;
	assert_int_equal(hypercall(TV_HC_PCR_READ, 3), TV_OK);
	memset(zero_then_meas, 0, 32);
	memcpy(zero_then_meas + 32, meas, 32);
	br_sha256_init(&h);
	br_sha256_update(&h, zero_then_meas, 64);
	br_sha256_out(&h, want);
	assert_memory_equal(tvf_ram + 0x205040, want, 32);
	v->gpr[GPR_RCX] = DATA_GVA + 64;
	assert_int_equal(hypercall(TV_HC_PCR_READ, 8), TV_ERR_TPM); /* no PCR 8 */
	/* Random bytes into the PAL's data, never into its code. */
	v->gpr[GPR_RCX] = 16;
	assert_int_equal(hypercall(TV_HC_GET_RANDOM, DATA_GVA + 128), TV_OK);
	uint8_t zeros[16] = {0};
	assert_memory_not_equal(tvf_ram + 0x205080, zeros, 16);
	assert_int_equal(hypercall(TV_HC_GET_RANDOM, CODE_GVA), TV_ERR_INVALID);
	/* Registering from inside a PAL is refused; the call still ends normally. */
	assert_int_equal(hypercall(TV_HC_REGISTER, DESC_GVA), TV_ERR_INVALID);
	pal_outputs_42();
}

/* A sealed blob with one byte changed (one inside it, then its last) is
 * refused; the untouched blob still unseals in the same PAL call. */
static void test_unseal_tampered_blob_refused(void **state)
{
	(void)state;
	pal_with_secret_runs();
	int64_t len = seal_secret();
	assert_true(len > (int64_t)SECRET_LEN);
	uint8_t *blob = tvf_ram + 0x205000 + BLOB_OFF, *copy = tvf_ram + 0x205000 + COPY_OFF;
	const int64_t flips[] = {len / 2, len - 1};
	for (unsigned i = 0; i < 2; i++) {
		memcpy(copy, blob, (size_t)len);
		copy[flips[i]] ^= 0x01;
		assert_int_equal(unseal_at(COPY_OFF, (uint64_t)len), TV_ERR_TPM);
		assert_nothing_unsealed();
	}
	/* The micro-TPM keeps serving: the original blob opens. */
	assert_int_equal(unseal_at(BLOB_OFF, (uint64_t)len), SECRET_LEN);
	assert_unsealed_secret();
	pal_outputs_42();
}

/* A blob sealed to PCR 3's value is refused once PCR 3 changed; sealing to the
 * new value and unsealing then works. */
static void test_unseal_under_other_pcr_values_refused(void **state)
{
	(void)state;
	pal_with_secret_runs();
	int64_t len = seal_secret();
	assert_true(len > (int64_t)SECRET_LEN);
	v->gpr[GPR_RCX] = DATA_GVA + MEAS_OFF;
	assert_int_equal(hypercall(TV_HC_EXTEND, 3), TV_OK);
	assert_int_equal(unseal_at(BLOB_OFF, (uint64_t)len), TV_ERR_TPM);
	assert_nothing_unsealed();
	/* The micro-TPM keeps serving: sealed to the new value, the secret opens. */
	len = seal_secret();
	assert_true(len > (int64_t)SECRET_LEN);
	assert_int_equal(unseal_at(BLOB_OFF, (uint64_t)len), SECRET_LEN);
	assert_unsealed_secret();
	pal_outputs_42();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup(test_utpm_calls_from_inside_the_pal, setup),
	    cmocka_unit_test_setup(test_unseal_tampered_blob_refused, setup),
	    cmocka_unit_test_setup(test_unseal_under_other_pcr_values_refused, setup),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
