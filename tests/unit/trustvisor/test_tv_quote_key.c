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

#define PG 0x1000ull
#define P  1ull
#define RW 2ull
#define US 4ull

/* The process (GVA -> GPA). */
#define CODE_GVA   0x400000ull           /* -> 0x200000 */
#define PARAMS_GVA 0x401000ull           /* -> 0x201000 */
#define STACK_GVA  0x402000ull           /* 2 pages -> 0x202000 */
#define DATA_GVA   0x405000ull           /* -> 0x205000 */
#define HV_GVA     0x407000ull           /* -> the hypervisor region */
#define HIGH_GVA   0x408000ull           /* -> above RAM */
#define SUP_GVA    0x500000ull           /* supervisor page -> 0x311000 */
#define BUF_GVA    0x600000ull           /* caller buffer -> 0x301000; the next page is unmapped */
#define RO_GVA     0x602000ull           /* read-only -> 0x302000 */
#define CSTACK_GVA 0x7ff000ull           /* caller stack -> 0x300000 */
#define KERNEL_GVA 0xffff888000000000ull /* -> 0x310000, supervisor */
#define ENTRY      (CODE_GVA + 0x40)
#define CALLER_RSP (CSTACK_GVA + 0xef8)
#define KEY        TV_QUOTE_KEY_SIZE

static struct vcpu *v;
static uint64_t cr3, next_table;
static uint8_t boot_key[KEY]; /* from the boot line */

static void put64(uint64_t gpa, uint64_t x)
{
	memcpy(tvf_ram + gpa, &x, 8);
}

static uint64_t get64(uint64_t gpa)
{
	uint64_t x;
	memcpy(&x, tvf_ram + gpa, 8);
	return x;
}

static void map(uint64_t gva, uint64_t gpa, uint64_t flags)
{
	uint64_t table = cr3;
	for (int level = 4; level > 1; level--) {
		uint64_t slot = table + ((gva >> (12 + 9 * (level - 1))) & 0x1ff) * 8;
		if (!(get64(slot) & P)) {
			put64(slot, next_table | P | RW | US);
			next_table += PG;
		}
		table = get64(slot) & 0x000ffffffffff000ull;
	}
	put64(table + ((gva >> 12) & 0x1ff) * 8, gpa | flags);
}

static void set_cpl(unsigned cpl)
{
	vmcs_set(VMCS_GUEST_CR0.enc, CR0_PE | CR0_PG | CR0_WP);
	vmcs_set(VMCS_GUEST_CR4.enc, CR4_PAE);
	vmcs_set(VMCS_GUEST_IA32_EFER.enc, EFER_LMA | EFER_LME | EFER_NXE);
	vmcs_set(VMCS_GUEST_CS_ACCESS_RIGHTS.enc, 0x209b | (cpl << 5)); /* L, code */
	vmcs_set(VMCS_GUEST_SS_ACCESS_RIGHTS.enc, 0x93 | (cpl << 5));
	vmcs_set(VMCS_GUEST_CR3.enc, cr3);
	vmcs_set(VMCS_GUEST_RFLAGS.enc, 0x202);
}

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

static int setup(void **state)
{
	(void)state;
	v = env_guest(2, &hv_app); /* boots TrustVisor on both CPUs */
	assert_true(key_from_boot_line(boot_key));
	tvf_reset();
	memset(tv_pals, 0, sizeof(struct tv_pal) * TV_MAX_PALS);
	memset(tv_call_of(0), 0, sizeof(struct tv_call));
	next_table = 0x100000;
	cr3 = next_table;
	next_table += PG;
	map(CODE_GVA, 0x200000, P | US);
	map(PARAMS_GVA, 0x201000, P | RW | US);
	map(STACK_GVA, 0x202000, P | RW | US);
	map(STACK_GVA + PG, 0x203000, P | RW | US);
	map(DATA_GVA, 0x205000, P | RW | US);
	map(HV_GVA, TVF_HV_LO, P | RW | US);
	map(HIGH_GVA, 64u << 20, P | RW | US);
	map(SUP_GVA, 0x311000, P | RW);
	map(BUF_GVA, 0x301000, P | RW | US);
	map(RO_GVA, 0x302000, P | US);
	map(CSTACK_GVA, 0x300000, P | RW | US);
	map(KERNEL_GVA, 0x310000, P | RW);
	set_cpl(3);
	return 0;
}

static int64_t quote_key(uint64_t gva, uint64_t cap)
{
	vmcs_set(VMCS_GUEST_RIP.enc, 0x410000);
	v->gpr[GPR_RAX] = TV_HC_QUOTE_KEY;
	v->gpr[GPR_RBX] = gva;
	v->gpr[GPR_RCX] = cap;
	env_exit(v, &(struct exit_fields){.reason = VMX_EXIT_VMCALL, .instruction_len = 3});
	assert_int_equal(vmcs_get(VMCS_VM_ENTRY_INTR_INFO.enc), 0); /* not #UD */
	assert_int_equal(vmcs_get(VMCS_GUEST_RIP.enc), 0x410003);
	return (int64_t)v->gpr[GPR_RAX];
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
	set_cpl(0);
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
	assert_int_equal(quote_key(0x700000, KEY), TV_ERR_FAULT); /* not mapped */
	/* Straddling into an unmapped page: nothing written on the mapped one. */
	assert_int_equal(quote_key(BUF_GVA + PG - 10, KEY), TV_ERR_FAULT);
	set_cpl(0);
	assert_int_equal(quote_key(0x0000800000000000ull, KEY), TV_ERR_RANGE); /* non-canonical */
	assert_true(untouched(0x301000, PG));
	assert_true(untouched(0x302000, PG));
	assert_true(untouched(0x310000, 2 * PG));
}

static const struct tv_pal_desc desc = {
    .version = TV_DESC_VERSION,
    .nsections = 4,
    .entry = ENTRY,
    .in_words = 2,
    .out_words = 1,
    .sec = {{CODE_GVA, PG, TV_SEC_CODE, 0},
            {PARAMS_GVA, PG, TV_SEC_PARAMS, 0},
            {STACK_GVA, 2 * PG, TV_SEC_STACK, 0},
            {DATA_GVA, PG, TV_SEC_DATA, 0}},
};

static void register_pal(void)
{
	memcpy(tvf_ram + 0x301800, &desc, sizeof(desc));
	vmcs_set(VMCS_GUEST_RIP.enc, 0x410000);
	v->gpr[GPR_RAX] = TV_HC_REGISTER;
	v->gpr[GPR_RBX] = BUF_GVA + 0x800;
	env_exit(v, &(struct exit_fields){.reason = VMX_EXIT_VMCALL, .instruction_len = 3});
	assert_int_equal((int64_t)v->gpr[GPR_RAX], TV_OK);
}

/* The owner calls ENTRY with no inputs: the EPT violation that enters the PAL. */
static void enter_pal(void)
{
	put64(0x300000 + (CALLER_RSP & 0xfff), 0x410123);
	vmcs_set(VMCS_GUEST_RSP.enc, CALLER_RSP);
	vmcs_set(VMCS_GUEST_RIP.enc, ENTRY);
	vmcs_set(VMCS_GUEST_LINEAR_ADDRESS.enc, ENTRY);
	v->gpr[GPR_RSI] = 0;
	v->gpr[GPR_RCX] = 0;
	env_exit(v, &(struct exit_fields){.reason = VMX_EXIT_EPT_VIOLATION,
	                                  .qualification = EPTQUAL_FETCH | EPTQUAL_GLA_VALID |
	                                                   EPTQUAL_GLA_TRANSLATION,
	                                  .gpa = 0x200040});
	assert_non_null(tv_call_of(0)->pal);
}

static void test_no_write_into_a_pal_from_outside(void **state)
{
	(void)state;
	register_pal();
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

	register_pal();
	for (unsigned i = 0; i < sizeof(nonce); i++)
		nonce[i] = (uint8_t)(0xa0 + i);
	memcpy(tvf_ram + 0x205000, nonce, sizeof(nonce));
	enter_pal();
	assert_int_equal(quote_key(DATA_GVA + 0x100, KEY), KEY);
	assert_memory_equal(tvf_ram + 0x205100, boot_key, KEY);
	assert_int_equal(quote_key(CODE_GVA, KEY), TV_ERR_INVALID); /* code is not writable */
	assert_int_equal(quote_key(BUF_GVA, KEY), TV_ERR_INVALID);  /* not the PAL's */
	assert_int_equal(quote_key(DATA_GVA, KEY - 1), TV_ERR_INVALID);

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
	utpm_quote_hash(composite, nonce, sizeof(nonce), hash);
	br_ec_public_key pk = {.curve = BR_EC_secp256r1, .q = boot_key, .qlen = KEY};
	assert_int_equal(br_ecdsa_i31_vrfy_raw(&br_ec_p256_m31, hash, sizeof(hash), &pk,
	                                       tvf_ram + 0x205200, UTPM_SIG_SIZE),
	                 1);
	/* And not under another nonce. */
	nonce[0] ^= 1;
	utpm_quote_hash(composite, nonce, sizeof(nonce), hash);
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

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup(test_ring3_gets_the_boot_key, setup),
	    cmocka_unit_test_setup(test_ring0_may_use_kernel_addresses, setup),
	    cmocka_unit_test_setup(test_bad_buffers_are_errors, setup),
	    cmocka_unit_test_setup(test_no_write_into_a_pal_from_outside, setup),
	    cmocka_unit_test_setup(test_pal_gets_the_key_quotes_verify_under_it, setup),
	    cmocka_unit_test_setup(test_other_utpm_calls_still_need_a_pal, setup),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
