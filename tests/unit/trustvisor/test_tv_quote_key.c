/*
 * TV_HC_QUOTE_KEY over libvmx's real exit dispatch on the fake hardware: the
 * key reaches a ring-3 or ring-0 caller and a PAL, it is the key the boot line
 * prints and the key quotes verify under, and every bad buffer is an error
 * code with the buffer left untouched (never a write the caller could not do
 * itself, in particular never into a PAL's pages).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <bearssl.h>

#include "apps/trustvisor/tv_internal.h"
#include "apps/trustvisor/utpm/utpm_digest.h"
#include "hw/hw.h"
#include "libvmx/vmx.h"
#include "rt/console.h"
#include "tests/unit/trustvisor/fake_platform.h"
#include "tests/unit/trustvisor/tv_env.h"
#include "tests/unit/trustvisor/tv_proc.h"

#define RO_GVA 0x602000ull /* read-only -> 0x302000; BUF_GVA's next page is unmapped */
#define KEY    TV_QUOTE_KEY_SIZE

static uint8_t boot_key[KEY]; /* from the boot line */

/* The hex after "hv: trustvisor: quote key " in everything written to COM1. */
static bool key_from_boot_line(uint8_t out[KEY])
{
	static uint32_t bytes[FAKE_IO_LOG_SIZE];
	static char text[FAKE_IO_LOG_SIZE + 1];
	const char *tag = "hv: trustvisor: quote key ";
	size_t n = fake_io_collect(CONSOLE_COM1, FAKE_IO_OUT, bytes, FAKE_IO_LOG_SIZE);

	for (size_t i = 0; i < n; i++)
		text[i] = (char)bytes[i];
	text[n] = '\0';
	const char *p = strstr(text, tag);
	if (!p)
		return false;
	p += strlen(tag);
	for (size_t i = 0; i < KEY; i++) {
		unsigned x;
		if (sscanf(p + 2 * i, "%2x", &x) != 1)
			return false;
		out[i] = (uint8_t)x;
	}
	return p[2 * KEY] == '\r' || p[2 * KEY] == '\n';
}

/* tv_proc's process (TrustVisor booted on both CPUs, ring 3), plus RO_GVA. */
static int setup_quote_key(void **state)
{
	setup(state);
	assert_true(key_from_boot_line(boot_key));
	map(cr3_a, RO_GVA, 0x302000, P | US);
	return 0;
}

static int64_t quote_key(uint64_t gva, uint64_t cap)
{
	v->gpr[GPR_RCX] = cap;
	int64_t r = hypercall(TV_HC_QUOTE_KEY, gva);
	assert_int_equal(vmcs_get(VMCS_VM_ENTRY_INTR_INFO.enc), 0); /* not #UD */
	return r;
}

static bool untouched(uint64_t gpa, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (tvf_ram[gpa + i] != 0x5a)
			return false;
	return true;
}

static void test_ring3_gets_the_boot_key(void **state)
{
	(void)state;
	memset(tvf_ram + 0x301000, 0x5a, 2 * KEY);
	assert_int_equal(quote_key(BUF_GVA + 7, KEY), KEY);
	assert_memory_equal(tvf_ram + 0x301007, boot_key, KEY);
	assert_int_equal(boot_key[0], 0x04); /* SEC1 uncompressed */
	assert_true(untouched(0x301000, 7));
	assert_true(untouched(0x301007 + KEY, KEY - 7)); /* exactly 65 bytes written */
	/* A larger capacity still writes 65 bytes. */
	assert_int_equal(quote_key(BUF_GVA + PG - 200, 200), KEY);
	assert_memory_equal(tvf_ram + 0x301000 + PG - 200, boot_key, KEY);
	/* The point is on P-256. */
	uint8_t g[KEY];
	static const uint8_t one[1] = {1};
	memcpy(g, boot_key, KEY);
	assert_int_equal(br_ec_p256_m31.mul(g, KEY, one, 1, BR_EC_secp256r1), 1);
}

static void test_ring0_may_use_kernel_addresses(void **state)
{
	(void)state;
	cpl_mode(cr3_a, 0);
	assert_int_equal(quote_key(KERNEL_GVA + 0x100, KEY), KEY);
	assert_memory_equal(tvf_ram + 0x310100, boot_key, KEY);
	assert_int_equal(quote_key(SUP_GVA, KEY), KEY);
	assert_memory_equal(tvf_ram + 0x311000, boot_key, KEY);
	/* CR0.WP: a supervisor write honours R/W. */
	memset(tvf_ram + 0x302000, 0x5a, KEY);
	assert_int_equal(quote_key(RO_GVA, KEY), TV_ERR_FAULT);
	assert_true(untouched(0x302000, KEY));
}

static void test_bad_buffers_are_errors(void **state)
{
	(void)state;
	memset(tvf_ram + 0x301000, 0x5a, PG);
	memset(tvf_ram + 0x302000, 0x5a, PG);
	memset(tvf_ram + 0x310000, 0x5a, 2 * PG);
	assert_int_equal(quote_key(BUF_GVA, KEY - 1), TV_ERR_INVALID);
	assert_int_equal(quote_key(BUF_GVA, 0), TV_ERR_INVALID);
	assert_int_equal(quote_key(0, KEY), TV_ERR_RANGE);
	assert_int_equal(quote_key(UINT64_MAX - 10, KEY), TV_ERR_RANGE);  /* wraps */
	assert_int_equal(quote_key(KERNEL_GVA, KEY), TV_ERR_RANGE);       /* from ring 3 */
	assert_int_equal(quote_key(TV_USER_TOP - 10, KEY), TV_ERR_RANGE); /* ends above */
	assert_int_equal(quote_key(SUP_GVA, KEY), TV_ERR_RANGE);
	assert_int_equal(quote_key(HV_GVA, KEY), TV_ERR_RANGE);
	assert_int_equal(quote_key(HIGH_GVA, KEY), TV_ERR_RANGE);
	assert_int_equal(quote_key(RO_GVA, KEY), TV_ERR_FAULT);
	assert_int_equal(quote_key(UNMAPPED, KEY), TV_ERR_FAULT);
	/* Straddling into an unmapped page: nothing written on the mapped one. */
	assert_int_equal(quote_key(BUF_GVA + PG - 10, KEY), TV_ERR_FAULT);
	cpl_mode(cr3_a, 0);
	assert_int_equal(quote_key(0x0000800000000000ull, KEY), TV_ERR_RANGE); /* non-canonical */
	assert_true(untouched(0x301000, PG));
	assert_true(untouched(0x302000, PG));
	assert_true(untouched(0x310000, 2 * PG));
}

static void test_no_write_into_a_pal_from_outside(void **state)
{
	(void)state;
	assert_int_equal(register_desc(&good_desc), TV_OK);
	memset(tvf_ram + 0x205000, 0x5a, PG);
	memset(tvf_ram + 0x201000, 0x5a, PG);
	memset(tvf_ram + 0x200000, 0x5a, PG);
	/* The guest lost these pages: the hypervisor must not write there for it. */
	assert_int_equal(quote_key(DATA_GVA, KEY), TV_ERR_RANGE);
	assert_int_equal(quote_key(PARAMS_GVA + 8, KEY), TV_ERR_RANGE);
	assert_int_equal(quote_key(CODE_GVA, KEY), TV_ERR_FAULT); /* read-only to the guest */
	assert_true(untouched(0x205000, PG));
	assert_true(untouched(0x201000, PG));
	assert_true(untouched(0x200000, PG));
}

/* Inside a PAL the key goes to the PAL's own writable pages, and a quote the
 * PAL makes verifies under it. */
static void test_pal_gets_the_key_quotes_verify_under_it(void **state)
{
	(void)state;
	uint8_t nonce[20], pcr[UTPM_PCR_COUNT][UTPM_DIGEST_SIZE], composite[32], hash[32];

	assert_int_equal(register_desc(&good_desc), TV_OK);
	for (unsigned i = 0; i < sizeof(nonce); i++)
		nonce[i] = (uint8_t)(0xa0 + i);
	memcpy(tvf_ram + 0x205000, nonce, sizeof(nonce));
	call_entry();
	assert_non_null(tv_call_of(0)->pal);
	assert_int_equal(quote_key(DATA_GVA + 0x100, KEY), KEY);
	assert_memory_equal(tvf_ram + 0x205100, boot_key, KEY);
	assert_int_equal(quote_key(CODE_GVA, KEY), TV_ERR_INVALID); /* code is not writable */
	assert_int_equal(quote_key(BUF_GVA, KEY), TV_ERR_INVALID);  /* not the PAL's */
	assert_int_equal(quote_key(DATA_GVA, KEY - 1), TV_ERR_INVALID);

	/* The PAL's identity, which every quote signs. */
	v->gpr[GPR_RCX] = TV_IDENTITY_SIZE;
	assert_int_equal(hypercall(TV_HC_PAL_IDENTITY, DATA_GVA + 0x300), TV_IDENTITY_SIZE);
	const uint8_t *id = tvf_ram + 0x205300;
	/* TV_HC_QUOTE over PCR 0 (all zero in a new PAL) and PCR 2. */
	v->gpr[GPR_RAX] = TV_HC_QUOTE;
	v->gpr[GPR_RBX] = DATA_GVA;
	v->gpr[GPR_RCX] = sizeof(nonce);
	v->gpr[GPR_RDX] = DATA_GVA + 0x200;
	v->gpr[GPR_RSI] = UTPM_SIG_SIZE;
	v->gpr[GPR_RDI] = 0x05;
	env_exit(v, &(struct exit_fields){.reason = VMX_EXIT_VMCALL, .instruction_len = 3});
	assert_int_equal((int64_t)v->gpr[GPR_RAX], UTPM_SIG_SIZE);
	memset(pcr, 0, sizeof(pcr));
	utpm_composite_digest(0x05, (const uint8_t(*)[UTPM_DIGEST_SIZE])pcr, composite);
	utpm_quote_hash(id, composite, nonce, sizeof(nonce), hash);
	br_ec_public_key pk = {.curve = BR_EC_secp256r1, .q = boot_key, .qlen = KEY};
	assert_int_equal(br_ecdsa_i31_vrfy_raw(&br_ec_p256_m31, hash, sizeof(hash), &pk,
	                                       tvf_ram + 0x205200, UTPM_SIG_SIZE),
	                 1);
	/* And not under another nonce. */
	nonce[0] ^= 1;
	utpm_quote_hash(id, composite, nonce, sizeof(nonce), hash);
	assert_int_equal(br_ecdsa_i31_vrfy_raw(&br_ec_p256_m31, hash, sizeof(hash), &pk,
	                                       tvf_ram + 0x205200, UTPM_SIG_SIZE),
	                 0);
}

/* The other micro-TPM calls stay PAL-only. */
static void test_other_utpm_calls_still_need_a_pal(void **state)
{
	(void)state;
	static const uint32_t fns[] = {TV_HC_PCR_READ, TV_HC_EXTEND, TV_HC_SEAL,
	                               TV_HC_UNSEAL,   TV_HC_QUOTE,  TV_HC_GET_RANDOM};
	for (size_t i = 0; i < sizeof(fns) / sizeof(fns[0]); i++) {
		v->gpr[GPR_RAX] = fns[i];
		v->gpr[GPR_RBX] = BUF_GVA;
		env_exit(v, &(struct exit_fields){.reason = VMX_EXIT_VMCALL, .instruction_len = 3});
		assert_int_equal((int64_t)v->gpr[GPR_RAX], TV_ERR_NOT_IN_PAL);
	}
}

/* Power-off, triple fault and reset requests run the shutdown hook: the keys
 * are zeroed then, so the micro-TPM has nothing left to give (before the
 * scrub existed the key was still served after shutdown). */
static void test_shutdown_zeroes_the_keys(void **state)
{
	(void)state;
	assert_int_equal(quote_key(BUF_GVA, KEY), KEY);
	hv_app.shutdown(v);
	memset(tvf_ram + 0x301000, 0x5a, KEY);
	assert_int_equal(quote_key(BUF_GVA, KEY), TV_ERR_TPM);
	assert_true(untouched(0x301000, KEY));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup(test_ring3_gets_the_boot_key, setup_quote_key),
	    cmocka_unit_test_setup(test_ring0_may_use_kernel_addresses, setup_quote_key),
	    cmocka_unit_test_setup(test_bad_buffers_are_errors, setup_quote_key),
	    cmocka_unit_test_setup(test_no_write_into_a_pal_from_outside, setup_quote_key),
	    cmocka_unit_test_setup(test_pal_gets_the_key_quotes_verify_under_it, setup_quote_key),
	    cmocka_unit_test_setup(test_other_utpm_calls_still_need_a_pal, setup_quote_key),
	    cmocka_unit_test_setup(test_shutdown_zeroes_the_keys, setup_quote_key),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
