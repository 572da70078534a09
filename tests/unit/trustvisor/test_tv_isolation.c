/*
 * A PAL's isolation (tv_proc.h's process): its private translation and EPT
 * view map only its own pages; a guest access to a PAL page other than the
 * owner's call scrubs and unregisters it; shutdown scrubs every PAL.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "apps/trustvisor/tv_internal.h"
#include "hw/hw.h"
#include "libvmx/vmx.h"
#include "tests/unit/trustvisor/fake_platform.h"
#include "tests/unit/trustvisor/tv_env.h"
#include "tests/unit/trustvisor/tv_proc.h"

static void test_pal_translation_is_private(void **state)
{
	(void)state;
	assert_int_equal(register_desc(&good_desc), TV_OK);
	struct tv_pal *pal = &tv_pals[0];
	/* Each PAL page maps to its GPA with the section's rights; nothing else maps. */
	uint64_t *pml4 = hw_phys_ptr(pal->pt_root);
	uint64_t *pdpt = hw_phys_ptr(pml4[0] & 0x000ffffffffff000ull);
	uint64_t *pd = hw_phys_ptr(pdpt[0] & 0x000ffffffffff000ull);
	uint64_t *pt = hw_phys_ptr(pd[2] & 0x000ffffffffff000ull);
	assert_int_equal(pt[0] & 0x000ffffffffff000ull, 0x200000); /* code */
	assert_int_equal(pt[0] & (P | RW | US), P | US);
	assert_int_equal(pt[0] >> 63, 0);
	assert_int_equal(pt[1] & 0x000ffffffffff000ull, 0x201000); /* params */
	assert_int_equal(pt[1] & (P | RW | US), P | RW | US);
	assert_int_equal(pt[1] >> 63, 1);
	assert_int_equal(pt[6], 0); /* the alias is not the PAL's */
	assert_int_equal(pd[3], 0); /* BUF_GVA: the caller's data is not mapped */
	/* The EPT view: PAL pages with section rights, the caller's page absent. */
	uint64_t *e4 = hw_phys_ptr(pal->eptp & ~0xfffull);
	uint64_t *e3 = hw_phys_ptr(e4[0] & 0x000ffffffffff000ull);
	uint64_t *e2 = hw_phys_ptr(e3[0] & 0x000ffffffffff000ull);
	uint64_t *e1 = hw_phys_ptr(e2[1] & 0x000ffffffffff000ull);
	assert_int_equal(e1[0] & 7, EPT_READ | EPT_EXECUTE);
	assert_int_equal(e1[0] & 0x000ffffffffff000ull, (uint64_t)(uintptr_t)(tvf_ram + 0x200000));
	assert_int_equal(e1[1] & 7, EPT_READ | EPT_WRITE);
	assert_int_equal(e1[4], 0);
	assert_int_equal(pal->eptp & 0xfff, tvf_eptp & 0xfff);
}

static void test_guest_touching_pal_page_scrubs_it(void **state)
{
	(void)state;
	memset(tvf_ram + 0x205000, 0x5a, PG);
	assert_int_equal(register_desc(&good_desc), TV_OK);
	/* The kernel reads the PAL's data page (e.g. reusing the memory). */
	vmcs_set(VMCS_GUEST_RIP.enc, 0xffffffff81001000ull);
	env_exit(v, &(struct exit_fields){.reason = VMX_EXIT_EPT_VIOLATION,
	                                  .qualification = EPTQUAL_READ,
	                                  .gpa = 0x205010});
	assert_int_equal(registered(), 0);
	assert_true(all_pages_visible());
	assert_int_equal(tvf_ram[0x205010], 0);
	assert_int_equal(vmcs_get(VMCS_VM_ENTRY_INTR_INFO.enc), 0); /* the access retries */
}

static void test_shutdown_scrubs_every_pal(void **state)
{
	(void)state;
	memset(tvf_ram + 0x205000, 0x77, PG);
	assert_int_equal(register_desc(&good_desc), TV_OK);
	hv_app.shutdown(v);
	assert_int_equal(registered(), 0);
	assert_int_equal(tvf_ram[0x205000], 0);
	assert_true(all_pages_visible());
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup(test_pal_translation_is_private, setup),
	    cmocka_unit_test_setup(test_guest_touching_pal_page_scrubs_it, setup),
	    cmocka_unit_test_setup(test_shutdown_scrubs_every_pal, setup),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
