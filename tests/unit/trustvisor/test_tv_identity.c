/*
 * PAL identity (README.md "PAL identity") over libvmx's exit dispatch on the
 * fake hardware, attacked as the OS would: it registers a PAL of its own code
 * and hands it the victim's sealed blob (sealed to no PCR, then to all 8,
 * whose values a new PAL shares), or passes its quote off as the victim's.
 * The identity is recomputed here from the documented byte format, not with
 * tv_identity.c, and must be taken after the all-CPU round.
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

#define ID TV_IDENTITY_SIZE
/* The same PAL layout 16 MiB higher, on other physical pages (mapped in setup). */
#define SHIFT      0x1000000ull
#define SHIFT_PHYS 0x10000ull
/* Offsets in the PAL's data page (DATA_GVA -> 0x205000). */
#define SECRET_OFF 0x000u
#define ID_OFF     0x040u
#define NONCE_OFF  0x080u
#define SIG_OFF    0x0c0u
#define BLOB_OFF   0x100u
#define OUT_OFF    0x800u
#define SECRET_LEN 16u

static const uint8_t secret[SECRET_LEN] = "the victim's key";

/* tv_proc's process plus the shifted copy of the PAL's pages. */
static int setup_identity(void **state)
{
	setup(state);
	map(cr3_a, CODE_GVA + SHIFT, 0x200000 + SHIFT_PHYS, P | US);
	map(cr3_a, PARAMS_GVA + SHIFT, 0x201000 + SHIFT_PHYS, P | RW | US);
	map(cr3_a, STACK_GVA + SHIFT, 0x202000 + SHIFT_PHYS, P | RW | US);
	map(cr3_a, STACK_GVA + PG + SHIFT, 0x203000 + SHIFT_PHYS, P | RW | US);
	map(cr3_a, DATA_GVA + SHIFT, 0x205000 + SHIFT_PHYS, P | RW | US);
	map(cr3_a, DATA_GVA + PG + SHIFT, 0x206000 + SHIFT_PHYS, P | RW | US);
	return 0;
}

/* Code page contents: `tag` decides them (different tags, different code). */
static void write_code(uint64_t gpa, uint8_t tag)
{
	for (unsigned i = 0; i < PG; i++)
		tvf_ram[gpa + i] = (uint8_t)(tag + i * 7);
}

static void le(br_sha256_context *c, uint64_t v, unsigned n)
{
	uint8_t b[8];
	for (unsigned i = 0; i < n; i++)
		b[i] = (uint8_t)(v >> (8 * i));
	br_sha256_update(c, b, n);
}

/* The identity as a verifier computes it from the README's format, for a
 * descriptor with exactly one code page whose contents are `code`. */
static void expected_identity(const struct tv_pal_desc *d, const uint8_t *code, uint8_t out[ID])
{
	uint32_t order[TV_MAX_SECTIONS], n = d->nsections;
	br_sha256_context c;

	for (uint32_t i = 0; i < n; i++)
		order[i] = i;
	for (uint32_t i = 0; i < n; i++)
		for (uint32_t j = i + 1; j < n; j++)
			if (d->sec[order[j]].gva < d->sec[order[i]].gva) {
				uint32_t t = order[i];
				order[i] = order[j];
				order[j] = t;
			}
	uint64_t base = d->sec[order[0]].gva;
	br_sha256_init(&c);
	br_sha256_update(&c, "TVPALID1", 8);
	le(&c, d->in_words, 4);
	le(&c, d->out_words, 4);
	le(&c, d->entry - base, 8);
	le(&c, n, 4);
	le(&c, 0, 4);
	for (uint32_t i = 0; i < n; i++) {
		le(&c, d->sec[order[i]].gva - base, 8);
		le(&c, d->sec[order[i]].size, 8);
		le(&c, d->sec[order[i]].kind, 4);
		le(&c, 0, 4);
	}
	for (uint32_t i = 0; i < n; i++)
		if (d->sec[order[i]].kind == TV_SEC_CODE) {
			assert_int_equal(d->sec[order[i]].size, PG);
			br_sha256_update(&c, code, PG);
		}
	br_sha256_out(&c, out);
}

static struct tv_pal_desc shifted(const struct tv_pal_desc *d, uint64_t by)
{
	struct tv_pal_desc s = *d;
	s.entry += by;
	for (uint32_t i = 0; i < s.nsections; i++)
		s.sec[i].gva += by;
	return s;
}

/* TV_HC_PAL_IDENTITY from outside (the owner): RBX = out, RCX = cap, RDX = entry. */
static int64_t identity_of(uint64_t entry, uint64_t out, uint64_t cap)
{
	v->gpr[GPR_RCX] = cap;
	v->gpr[GPR_RDX] = entry;
	return hypercall(TV_HC_PAL_IDENTITY, out);
}

/* The owner calls the PAL at `entry` (GPA `entry_gpa`), as call_entry does. */
static void call_at(uint64_t entry, uint64_t entry_gpa)
{
	put64(0x300000 + (CALLER_RSP & 0xfff), RET_RIP);
	vmcs_set(VMCS_GUEST_RSP.enc, CALLER_RSP);
	vmcs_set(VMCS_GUEST_RIP.enc, entry);
	vmcs_set(VMCS_GUEST_LINEAR_ADDRESS.enc, entry);
	v->gpr[GPR_RDI] = IN_GVA;
	v->gpr[GPR_RSI] = 0;
	v->gpr[GPR_RDX] = OUT_GVA;
	v->gpr[GPR_RCX] = 0;
	env_exit(v, &(struct exit_fields){.reason = VMX_EXIT_EPT_VIOLATION,
	                                  .qualification = EPTQUAL_FETCH | EPTQUAL_GLA_VALID |
	                                                   EPTQUAL_GLA_TRANSLATION,
	                                  .gpa = entry_gpa});
	assert_non_null(tv_call_of(0)->pal);
}

/* The PAL returns; the call ends TV_OK. */
static void pal_ends(void)
{
	pal_returns(0);
	assert_int_equal((int64_t)v->gpr[GPR_RAX], TV_OK);
	assert_null(tv_call_of(0)->pal);
}

/* Inside the PAL whose data page is at `data` (GVA): TV_HC_SEAL of the secret
 * (written there first) with selection `sel`; the blob is copied to blob. */
static int64_t seal_in_pal(uint64_t data, uint64_t data_gpa, uint8_t sel, uint8_t *blob)
{
	memcpy(tvf_ram + data_gpa + SECRET_OFF, secret, SECRET_LEN);
	v->gpr[GPR_RCX] = SECRET_LEN;
	v->gpr[GPR_RDX] = data + BLOB_OFF;
	v->gpr[GPR_RSI] = OUT_OFF - BLOB_OFF;
	v->gpr[GPR_RDI] = sel;
	int64_t len = hypercall(TV_HC_SEAL, data + SECRET_OFF);
	assert_int_equal(len, UTPM_BLOB_SIZE(SECRET_LEN));
	memcpy(blob, tvf_ram + data_gpa + BLOB_OFF, (size_t)len);
	return len;
}

/* Inside the PAL: the OS hands it `blob` (in its data page); TV_HC_UNSEAL. */
static int64_t unseal_in_pal(uint64_t data, uint64_t data_gpa, const uint8_t *blob, int64_t len)
{
	memcpy(tvf_ram + data_gpa + BLOB_OFF, blob, (size_t)len);
	memset(tvf_ram + data_gpa + OUT_OFF, 0, 0x100);
	v->gpr[GPR_RCX] = (uint64_t)len;
	v->gpr[GPR_RDX] = data + OUT_OFF;
	v->gpr[GPR_RSI] = 0x100;
	return hypercall(TV_HC_UNSEAL, data + BLOB_OFF);
}

static void assert_nothing_unsealed(uint64_t data_gpa)
{
	for (unsigned i = 0; i < 0x100; i++)
		assert_int_equal(tvf_ram[data_gpa + OUT_OFF + i], 0);
}

/* The owner reads the identity from outside, the PAL from inside: both the
 * documented measurement. Only the owner may ask, only with room for it. */
static void test_identity_is_the_documented_measurement(void **state)
{
	(void)state;
	uint8_t want[ID];

	write_code(0x200000, 0x11);
	expected_identity(&good_desc, tvf_ram + 0x200000, want);
	assert_int_equal(register_desc(&good_desc), TV_OK);
	assert_int_equal(identity_of(ENTRY, BUF_GVA + 0x200, ID), ID);
	assert_memory_equal(tvf_ram + 0x301200, want, ID);
	assert_int_equal(identity_of(ENTRY, BUF_GVA + 0x200, ID - 1), TV_ERR_INVALID);
	assert_int_equal(identity_of(ENTRY + 1, BUF_GVA + 0x200, ID), TV_ERR_NOT_REGISTERED);
	user_mode(cr3_b);
	assert_int_equal(identity_of(ENTRY, BUF_GVA + 0x200, ID), TV_ERR_WRONG_PROCESS);
	/* The same CR3 at another ring is not the owner either (registered at ring 3). */
	cpl_mode(cr3_a, 0);
	assert_int_equal(identity_of(ENTRY, BUF_GVA + 0x200, ID), TV_ERR_WRONG_PROCESS);
	user_mode(cr3_a);
	/* Never into the PAL's own pages from outside. */
	assert_int_equal(identity_of(ENTRY, DATA_GVA, ID), TV_ERR_RANGE);

	call_at(ENTRY, 0x200040);
	v->gpr[GPR_RCX] = ID;
	assert_int_equal(hypercall(TV_HC_PAL_IDENTITY, DATA_GVA + ID_OFF), ID);
	assert_memory_equal(tvf_ram + 0x205000 + ID_OFF, want, ID);
	v->gpr[GPR_RCX] = ID;
	assert_int_equal(hypercall(TV_HC_PAL_IDENTITY, CODE_GVA), TV_ERR_INVALID);
	pal_ends();
}

/* The descriptor's section order is not part of the identity; the layout is. */
static void test_identity_covers_layout_not_order(void **state)
{
	(void)state;
	uint8_t a[ID], b[ID];
	struct tv_pal_desc d = good_desc;

	write_code(0x200000, 0x22);
	assert_int_equal(register_desc(&d), TV_OK);
	assert_int_equal(identity_of(ENTRY, BUF_GVA + 0x200, ID), ID);
	memcpy(a, tvf_ram + 0x301200, ID);
	assert_int_equal(hypercall(TV_HC_UNREGISTER, ENTRY), TV_OK);

	d.sec[0] = good_desc.sec[3];
	d.sec[3] = good_desc.sec[0];
	assert_int_equal(register_desc(&d), TV_OK);
	assert_int_equal(identity_of(ENTRY, BUF_GVA + 0x200, ID), ID);
	assert_memory_equal(tvf_ram + 0x301200, a, ID);
	assert_int_equal(hypercall(TV_HC_UNREGISTER, ENTRY), TV_OK);

	/* Other in_words, or the data page one page further: another PAL. */
	d = good_desc;
	d.in_words = 1;
	assert_int_equal(register_desc(&d), TV_OK);
	assert_int_equal(identity_of(ENTRY, BUF_GVA + 0x200, ID), ID);
	assert_memory_not_equal(tvf_ram + 0x301200, a, ID);
	assert_int_equal(hypercall(TV_HC_UNREGISTER, ENTRY), TV_OK);
	d = shifted(&good_desc, SHIFT);
	d.sec[3].gva += PG;
	write_code(0x200000 + SHIFT_PHYS, 0x22);
	assert_int_equal(register_desc(&d), TV_OK);
	assert_int_equal(identity_of(ENTRY + SHIFT, BUF_GVA + 0x200, ID), ID);
	memcpy(b, tvf_ram + 0x301200, ID);
	assert_memory_not_equal(b, a, ID);
	expected_identity(&d, tvf_ram + 0x200000 + SHIFT_PHYS, a);
	assert_memory_equal(b, a, ID);
}

/* The writer another CPU could still be during the all-CPU round. */
static void overwrite_code_during_sync(void)
{
	write_code(0x200000, 0x99);
}

/*
 * Until every CPU has dropped its translations, another CPU can still write
 * the code pages. The identity must be the code that is left after the round,
 * the code the PAL runs, not what the pages held before it.
 */
static void test_measured_after_the_sync(void **state)
{
	(void)state;
	uint8_t before[ID], after[ID];

	write_code(0x200000, 0x33);
	expected_identity(&good_desc, tvf_ram + 0x200000, before);
	tvf_sync_hook = overwrite_code_during_sync;
	assert_int_equal(register_desc(&good_desc), TV_OK);
	assert_int_equal(tvf_syncs, 1);
	expected_identity(&good_desc, tvf_ram + 0x200000, after);
	assert_memory_not_equal(before, after, ID);
	assert_int_equal(identity_of(ENTRY, BUF_GVA + 0x200, ID), ID);
	assert_memory_equal(tvf_ram + 0x301200, after, ID);
}

/*
 * The attack: PAL A seals a secret; the OS unregisters it (or waits for its
 * process to), writes its own code into the page and registers that as PAL B
 * with the same layout. B's PCRs are all zero, as A's were: with selection 0,
 * and with all 8 PCRs selected, only the identity tells B from A.
 */
static void other_code_cannot_unseal(uint8_t sel)
{
	uint8_t blob[UTPM_BLOB_SIZE(SECRET_LEN)];

	write_code(0x200000, 0x44);
	assert_int_equal(register_desc(&good_desc), TV_OK);
	call_at(ENTRY, 0x200040);
	int64_t len = seal_in_pal(DATA_GVA, 0x205000, sel, blob);
	assert_int_equal(unseal_in_pal(DATA_GVA, 0x205000, blob, len), SECRET_LEN);
	pal_ends();
	assert_int_equal(hypercall(TV_HC_UNREGISTER, ENTRY), TV_OK);

	tvf_ram[0x200000 + 0x40] ^= 0x01; /* one byte of other code */
	assert_int_equal(register_desc(&good_desc), TV_OK);
	call_at(ENTRY, 0x200040);
	assert_int_equal(unseal_in_pal(DATA_GVA, 0x205000, blob, len), TV_ERR_TPM);
	assert_nothing_unsealed(0x205000);
	pal_ends();
	assert_int_equal(hypercall(TV_HC_UNREGISTER, ENTRY), TV_OK);

	/* A's code back: A again, and the blob opens. */
	tvf_ram[0x200000 + 0x40] ^= 0x01;
	assert_int_equal(register_desc(&good_desc), TV_OK);
	call_at(ENTRY, 0x200040);
	assert_int_equal(unseal_in_pal(DATA_GVA, 0x205000, blob, len), SECRET_LEN);
	assert_memory_equal(tvf_ram + 0x205000 + OUT_OFF, secret, SECRET_LEN);
	pal_ends();
}

static void test_other_code_cannot_unseal_selection_0(void **state)
{
	(void)state;
	other_code_cannot_unseal(0x00);
}

static void test_other_code_cannot_unseal_all_pcrs(void **state)
{
	(void)state;
	other_code_cannot_unseal(0xff);
}

/* The same code and layout registered at other addresses (other physical
 * pages too) is the same PAL: it opens the blob. */
static void test_same_code_elsewhere_unseals(void **state)
{
	(void)state;
	uint8_t blob[UTPM_BLOB_SIZE(SECRET_LEN)], id_a[ID];
	struct tv_pal_desc moved = shifted(&good_desc, SHIFT);

	write_code(0x200000, 0x55);
	write_code(0x200000 + SHIFT_PHYS, 0x55);
	assert_int_equal(register_desc(&good_desc), TV_OK);
	assert_int_equal(identity_of(ENTRY, BUF_GVA + 0x200, ID), ID);
	memcpy(id_a, tvf_ram + 0x301200, ID);
	call_at(ENTRY, 0x200040);
	int64_t len = seal_in_pal(DATA_GVA, 0x205000, 0xff, blob);
	pal_ends();
	assert_int_equal(hypercall(TV_HC_UNREGISTER, ENTRY), TV_OK);

	assert_int_equal(register_desc(&moved), TV_OK);
	assert_int_equal(identity_of(moved.entry, BUF_GVA + 0x200, ID), ID);
	assert_memory_equal(tvf_ram + 0x301200, id_a, ID);
	call_at(moved.entry, 0x200040 + SHIFT_PHYS);
	assert_int_equal(unseal_in_pal(DATA_GVA + SHIFT, 0x205000 + SHIFT_PHYS, blob, len),
	                 SECRET_LEN);
	assert_memory_equal(tvf_ram + 0x205000 + SHIFT_PHYS + OUT_OFF, secret, SECRET_LEN);
	pal_ends();
}

static bool quote_verifies(const uint8_t *key, const uint8_t *id, const uint8_t *nonce,
                           const uint8_t *sig)
{
	uint8_t sel = 0, comp[32], hash[32];
	br_sha256_context c;

	/* Composite of no PCR: SHA-256(selection); then SHA-256(identity | composite | nonce). */
	br_sha256_init(&c);
	br_sha256_update(&c, &sel, 1);
	br_sha256_out(&c, comp);
	br_sha256_init(&c);
	br_sha256_update(&c, id, ID);
	br_sha256_update(&c, comp, 32);
	br_sha256_update(&c, nonce, 20);
	br_sha256_out(&c, hash);
	br_ec_public_key pk = {.curve = BR_EC_secp256r1, .q = (unsigned char *)key, .qlen = 65};
	return br_ecdsa_i31_vrfy_raw(&br_ec_p256_m31, hash, 32, &pk, sig, 64) == 1;
}

/* PAL B's quote (same PCRs, the verifier's nonce) fails against A's identity. */
static void test_quote_of_another_pal_fails_against_the_identity(void **state)
{
	(void)state;
	uint8_t id_a[ID], id_b[ID], key[TV_QUOTE_KEY_SIZE], nonce[20];

	write_code(0x200000, 0x66);
	expected_identity(&good_desc, tvf_ram + 0x200000, id_a);
	write_code(0x200000, 0x67); /* the OS's PAL B */
	expected_identity(&good_desc, tvf_ram + 0x200000, id_b);
	v->gpr[GPR_RCX] = sizeof(key);
	assert_int_equal(hypercall(TV_HC_QUOTE_KEY, BUF_GVA + 0x200), TV_QUOTE_KEY_SIZE);
	memcpy(key, tvf_ram + 0x301200, sizeof(key));
	for (unsigned i = 0; i < sizeof(nonce); i++)
		nonce[i] = (uint8_t)(0xc0 + i);

	assert_int_equal(register_desc(&good_desc), TV_OK);
	call_at(ENTRY, 0x200040);
	memcpy(tvf_ram + 0x205000 + NONCE_OFF, nonce, sizeof(nonce));
	v->gpr[GPR_RCX] = sizeof(nonce);
	v->gpr[GPR_RDX] = DATA_GVA + SIG_OFF;
	v->gpr[GPR_RSI] = 64;
	v->gpr[GPR_RDI] = 0;
	assert_int_equal(hypercall(TV_HC_QUOTE, DATA_GVA + NONCE_OFF), 64);
	const uint8_t *sig = tvf_ram + 0x205000 + SIG_OFF;
	assert_false(quote_verifies(key, id_a, nonce, sig));
	assert_true(quote_verifies(key, id_b, nonce, sig));
	pal_ends();
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup(fn, setup_identity)
	const struct CMUnitTest tests[] = {
	    T(test_identity_is_the_documented_measurement),
	    T(test_identity_covers_layout_not_order),
	    T(test_measured_after_the_sync),
	    T(test_other_code_cannot_unseal_selection_0),
	    T(test_other_code_cannot_unseal_all_pcrs),
	    T(test_same_code_elsewhere_unseals),
	    T(test_quote_of_another_pal_fails_against_the_identity),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
