/*
 * TrustVisor PAL registration over libvmx's real exit dispatch on the fake
 * hardware (tv_proc.h's process): registering hides the PAL's pages from the
 * guest, unregistering scrubs them; every descriptor the guest may get wrong
 * is refused with its TV_ERR_* code and leaves nothing half-registered.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "apps/trustvisor/tv_internal.h"
#include "libvmx/vmx.h"
#include "tests/unit/trustvisor/fake_platform.h"
#include "tests/unit/trustvisor/tv_env.h"
#include "tests/unit/trustvisor/tv_proc.h"

static void test_register_hides_pages_and_unregister_scrubs(void **state)
{
	(void)state;
	memset(tvf_ram + 0x205000, 0xa5, PG); /* the PAL's data */
	memset(tvf_ram + 0x200000, 0xc3, PG); /* its code (e.g. the file's page cache) */
	assert_int_equal(register_desc(&good_desc), TV_OK);
	assert_int_equal(registered(), 1);
	assert_int_equal(tvf_syncs, 1);
	uint64_t pal_pages[] = {0x200000, 0x201000, 0x202000, 0x203000, 0x205000};
	for (unsigned i = 0; i < 5; i++)
		assert_int_equal(tvf_view[pal_pages[i] / PG], 0);
	assert_int_equal(tvf_view[0x301000 / PG], EPT_RWX);
	assert_int_equal(tvf_ram[0x205123], 0xa5); /* kept while registered */

	assert_int_equal(register_desc(&good_desc), TV_ERR_EXISTS);
	/* Another process may not unregister it. */
	user_mode(cr3_b);
	assert_int_equal(hypercall(TV_HC_UNREGISTER, ENTRY), TV_ERR_WRONG_PROCESS);
	user_mode(cr3_a);
	assert_int_equal(hypercall(TV_HC_UNREGISTER, ENTRY + 1), TV_ERR_NOT_REGISTERED);
	assert_int_equal(hypercall(TV_HC_UNREGISTER, ENTRY), TV_OK);
	assert_int_equal(registered(), 0);
	assert_true(all_pages_visible());
	for (unsigned i = 0; i < PG; i++) {
		assert_int_equal(tvf_ram[0x205000 + i], 0);    /* data scrubbed */
		assert_int_equal(tvf_ram[0x200000 + i], 0xc3); /* code left as it was */
	}
	assert_int_equal(hypercall(TV_HC_UNREGISTER, ENTRY), TV_ERR_NOT_REGISTERED);
	/* A jump to the old entry is now an ordinary access, not a call: a
	 * violation there can only be from before the unregister, re-executed. */
	assert_int_equal(tv_ept_violation(v, 0x200040, EPTQUAL_FETCH), HV_EPT_RETRY);
	assert_int_equal(registered(), 0);
}

/*
 * CPU 0 calls (or touches) a PAL while its owner on CPU 1 unregisters it: the
 * EPT walk saw the page taken, the exit reaches TrustVisor after the
 * unregister gave it back. libvmx panics on a violation the app leaves
 * unhandled at a mapped page, so TrustVisor must retry it (found by the
 * fuzzer's race, seed 11 with two CPUs). A page that is not the guest's RAM
 * (hypervisor memory) stays libvmx's to report.
 */
static void test_violation_after_the_pal_went_is_retried(void **state)
{
	(void)state;
	assert_int_equal(register_desc(&good_desc), TV_OK);
	assert_int_equal(hypercall(TV_HC_UNREGISTER, ENTRY), TV_OK);
	unsigned invepts = tvf_invepts;
	assert_int_equal(tv_ept_violation(v, 0x200000, EPTQUAL_FETCH | EPTQUAL_GLA_VALID),
	                 HV_EPT_RETRY);
	assert_int_equal(tv_ept_violation(v, 0x205008, EPTQUAL_READ), HV_EPT_RETRY);
	assert_true(tvf_invepts > invepts);
	assert_int_equal(registered(), 0);
	assert_true(all_pages_visible());
	assert_int_equal(tv_ept_violation(v, TVF_HV_LO, EPTQUAL_READ), HV_EPT_UNHANDLED);
}

/*
 * The owner is the process (CR3) and the ring it registered from, as for a
 * call (tv_call.c): ring 3 of the same address space may not unregister a PAL
 * the kernel registered (found by the hostile-guest fuzzer's ring-3 steps), nor
 * the kernel one of its user programs'. Both stay callable by their owner.
 */
static void test_unregister_only_from_the_registering_ring(void **state)
{
	(void)state;
	cpl_mode(cr3_a, 0);
	assert_int_equal(register_desc(&good_desc), TV_OK);
	user_mode(cr3_a);
	assert_int_equal(hypercall(TV_HC_UNREGISTER, ENTRY), TV_ERR_WRONG_PROCESS);
	assert_int_equal(registered(), 1);
	cpl_mode(cr3_a, 0);
	assert_int_equal(hypercall(TV_HC_UNREGISTER, ENTRY), TV_OK);
	assert_int_equal(registered(), 0);

	user_mode(cr3_a);
	assert_int_equal(register_desc(&good_desc), TV_OK);
	cpl_mode(cr3_a, 0);
	assert_int_equal(hypercall(TV_HC_UNREGISTER, ENTRY), TV_ERR_WRONG_PROCESS);
	assert_int_equal(registered(), 1);
	user_mode(cr3_a);
	assert_int_equal(hypercall(TV_HC_UNREGISTER, ENTRY), TV_OK);
	assert_int_equal(registered(), 0);
}

struct bad_case {
	const char *what;
	int64_t expect;
	void (*mutate)(struct tv_pal_desc *d);
};

#define MUT(name, body)                                                                            \
	static void name(struct tv_pal_desc *d)                                                    \
	{                                                                                          \
		body;                                                                              \
	}
MUT(m_unaligned_gva, d->sec[3].gva += 8)
MUT(m_unaligned_size, d->sec[2].size = PG + 16)
MUT(m_zero_size, d->sec[3].size = 0)
MUT(m_overlap, d->sec[3].gva = STACK_GVA + PG)
MUT(m_alias, d->sec[3].gva = ALIAS_GVA)
MUT(m_hv_memory, d->sec[3].gva = HV_GVA)
MUT(m_above_ram, d->sec[3].gva = HIGH_GVA)
MUT(m_huge, d->sec[3].size = 1ull << 40)
MUT(m_too_many_pages, d->sec[2].size = (TV_MAX_PAL_PAGES + 1) * PG)
MUT(m_too_many_sections, d->nsections = TV_MAX_SECTIONS + 1)
MUT(m_wrap, {
	d->sec[3].gva = 0xfffffffffffff000ull;
	d->sec[3].size = 2 * PG;
})
MUT(m_null, d->sec[3].gva = 0)
MUT(m_kernel, d->sec[3].gva = KERNEL_GVA)
MUT(m_supervisor_page, d->sec[3].gva = SUP_GVA)
MUT(m_sentinel, d->sec[3].gva = TV_PAL_SENTINEL)
MUT(m_not_present, d->sec[3].gva = UNMAPPED)
MUT(m_entry_outside_code, d->entry = DATA_GVA)
MUT(m_no_stack, d->sec[2].kind = TV_SEC_DATA)
MUT(m_two_params, d->sec[3].kind = TV_SEC_PARAMS)
MUT(m_bad_kind, d->sec[3].kind = 9)
MUT(m_too_many_words, d->in_words = TV_MAX_WORDS + 1)
MUT(m_version, d->version = 7)

static const struct bad_case bad_cases[] = {
    {"unaligned section address", TV_ERR_ALIGN, m_unaligned_gva},
    {"unaligned section size", TV_ERR_ALIGN, m_unaligned_size},
    {"empty section", TV_ERR_ALIGN, m_zero_size},
    {"overlapping sections", TV_ERR_OVERLAP, m_overlap},
    {"two addresses for one page", TV_ERR_OVERLAP, m_alias},
    {"hypervisor memory", TV_ERR_RANGE, m_hv_memory},
    {"above RAM", TV_ERR_RANGE, m_above_ram},
    {"huge section", TV_ERR_TOO_LARGE, m_huge},
    {"too many pages", TV_ERR_TOO_LARGE, m_too_many_pages},
    {"too many sections", TV_ERR_TOO_LARGE, m_too_many_sections},
    {"wrapping section", TV_ERR_RANGE, m_wrap},
    {"null section", TV_ERR_RANGE, m_null},
    {"kernel address from ring 3", TV_ERR_RANGE, m_kernel},
    {"supervisor page from ring 3", TV_ERR_RANGE, m_supervisor_page},
    {"the sentinel page", TV_ERR_RANGE, m_sentinel},
    {"page not present", TV_ERR_FAULT, m_not_present},
    {"entry outside code", TV_ERR_INVALID, m_entry_outside_code},
    {"no stack", TV_ERR_INVALID, m_no_stack},
    {"two params sections", TV_ERR_INVALID, m_two_params},
    {"unknown kind", TV_ERR_INVALID, m_bad_kind},
    {"too many words", TV_ERR_TOO_LARGE, m_too_many_words},
    {"unknown version", TV_ERR_INVALID, m_version},
};

static void test_register_rejects_bad_descriptors(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(bad_cases) / sizeof(bad_cases[0]); i++) {
		struct tv_pal_desc d = good_desc;
		bad_cases[i].mutate(&d);
		int64_t r = register_desc(&d);
		if (r != bad_cases[i].expect)
			fail_msg("%s: got %lld, expected %lld", bad_cases[i].what, (long long)r,
			         (long long)bad_cases[i].expect);
		assert_int_equal(registered(), 0);
		assert_true(all_pages_visible());
	}
	/* Nothing was left half-registered: the good one still works. */
	assert_int_equal(register_desc(&good_desc), TV_OK);
}

static void test_register_rejects_overlap_with_another_pal(void **state)
{
	(void)state;
	assert_int_equal(register_desc(&good_desc), TV_OK);
	/* Same process, different entry, a section over the first PAL's data. */
	map(cr3_a, 0x420000, 0x220000, P | US);
	map(cr3_a, 0x421000, 0x221000, P | RW | US);
	map(cr3_a, 0x422000, 0x222000, P | RW | US);
	struct tv_pal_desc d = {
	    .version = TV_DESC_VERSION,
	    .nsections = 4,
	    .entry = 0x420000,
	    .in_words = 1,
	    .out_words = 1,
	    .sec = {{0x420000, PG, TV_SEC_CODE, 0},
	            {0x421000, PG, TV_SEC_PARAMS, 0},
	            {0x422000, PG, TV_SEC_STACK, 0},
	            {DATA_GVA, PG, TV_SEC_DATA, 0}},
	};
	assert_int_equal(register_desc(&d), TV_ERR_OVERLAP);
	/* Another process whose page maps the first PAL's physical page. */
	user_mode(cr3_b);
	map(cr3_b, 0x420000, 0x220000, P | US);
	map(cr3_b, 0x421000, 0x221000, P | RW | US);
	map(cr3_b, 0x422000, 0x222000, P | RW | US);
	map(cr3_b, 0x423000, 0x205000, P | RW | US);
	d.sec[3].gva = 0x423000;
	assert_int_equal(register_desc(&d), TV_ERR_OVERLAP);
	d.nsections = 3; /* without it: fine */
	assert_int_equal(register_desc(&d), TV_OK);
	assert_int_equal(registered(), 2);
}

static void test_register_needs_long_mode(void **state)
{
	(void)state;
	vmcs_set(VMCS_GUEST_CS_ACCESS_RIGHTS.enc, 0xc0fb); /* 32-bit code */
	assert_int_equal(register_desc(&good_desc), TV_ERR_UNSUPPORTED);
	assert_int_equal(registered(), 0);
}

/*
 * The descriptor's own address from ring 3: a kernel address is refused
 * before anything is read (TV_ERR_RANGE, even though KERNEL_GVA is mapped, as
 * a supervisor page); the null page is refused as such (TV_ERR_RANGE), before
 * TrustVisor looks at whether it is mapped. Nothing is left registered, and a
 * good descriptor is accepted after both.
 */
static void test_register_rejects_bad_descriptor_address(void **state)
{
	(void)state;
	memcpy(tvf_ram + 0x310000, &good_desc, sizeof(good_desc)); /* KERNEL_GVA's page */
	assert_int_equal(hypercall(TV_HC_REGISTER, KERNEL_GVA), TV_ERR_RANGE);
	assert_int_equal(hypercall(TV_HC_REGISTER, 0), TV_ERR_RANGE);
	assert_int_equal(registered(), 0);
	assert_true(all_pages_visible());
	assert_int_equal(register_desc(&good_desc), TV_OK);
	assert_int_equal(registered(), 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup(test_register_hides_pages_and_unregister_scrubs, setup),
	    cmocka_unit_test_setup(test_unregister_only_from_the_registering_ring, setup),
	    cmocka_unit_test_setup(test_violation_after_the_pal_went_is_retried, setup),
	    cmocka_unit_test_setup(test_register_rejects_bad_descriptors, setup),
	    cmocka_unit_test_setup(test_register_rejects_overlap_with_another_pal, setup),
	    cmocka_unit_test_setup(test_register_needs_long_mode, setup),
	    cmocka_unit_test_setup(test_register_rejects_bad_descriptor_address, setup),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
