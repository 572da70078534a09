/*
 * TrustVisor and DMA (tv_dma.c) over hw/fake's VT-d unit: a registered PAL's
 * pages are out of the DMA map before the PAL is callable, even for a device
 * whose translation the unit had cached; they come back only after the scrub;
 * without an IOMMU, tv_dma=require refuses registration and tv_dma=warn warns.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "apps/trustvisor/tv_dma.h"
#include "apps/trustvisor/tv_internal.h"
#include "hw/fake/fake_hw.h"
#include "libiommu/iommu.h"
#include "tests/unit/trustvisor/fake_platform.h"
#include "tests/unit/trustvisor/tv_env.h"
#include "tests/unit/trustvisor/tv_proc.h"

#define UNIT  0xfed90000ull
#define DEV   VTD_SID(0, 3, 0)
#define CAP   ((0x22ull << 24) | (3ull << 40) | (6ull << 8) | VTD_CAP_SLLPS_2M | (47ull << 16) | 2)
#define ECAP  ((0xfull << 8) | VTD_ECAP_C)
#define DATA  0x205000ull /* the PAL's data page (GPA) */
#define OTHER 0x301000ull /* the caller's buffer: never a PAL page */

static uint64_t hpa(uint64_t gpa)
{
	return (uint64_t)(uintptr_t)(tvf_ram + gpa);
}

static bool dma(uint64_t gpa, bool write)
{
	return fake_vtd_dma(UNIT, DEV, hpa(gpa), write).ok;
}

/* The tv_proc machine plus one VT-d unit translating all of the fake RAM. */
static int setup_iommu(void **state)
{
	setup(state);
	iommu_reset();
	struct dmar_info d = {.nunits = 1};
	d.unit[0].base = UNIT;
	fake_vtd_add(UNIT, CAP, ECAP);
	assert_int_equal(iommu_setup(&d, hpa(TVF_HV_LO), TVF_HV_HI - TVF_HV_LO), IOMMU_OK);
	assert_int_equal(iommu_map(hpa(0), TVF_RAM_SIZE), IOMMU_OK);
	assert_int_equal(iommu_enable(), IOMMU_OK);
	tv_dma_boot("");
	return 0;
}

static int setup_no_iommu(void **state)
{
	setup(state);
	iommu_reset();
	return 0;
}

static int teardown(void **state)
{
	fake_vtd_set_inval_hook(NULL, NULL);
	iommu_reset();
	return 0;
}

static const char *console(void)
{
	static char out[4096];
	uint32_t c[sizeof(out) - 1];
	size_t n = fake_io_collect(0x3f8, FAKE_IO_OUT, c, sizeof(c) / sizeof(c[0]));
	n = n < sizeof(c) / sizeof(c[0]) ? n : sizeof(c) / sizeof(c[0]);
	for (size_t i = 0; i < n; i++)
		out[i] = (char)c[i];
	out[n] = '\0';
	return out;
}

/* The attack: a device (e.g. a NIC the OS programmed) DMAs into what will be
 * the PAL's data page, so the unit caches the translation; the PAL registers;
 * the device writes again. Every PAL page must fault after registration. */
static void test_registered_pal_pages_are_out_of_the_dma_map(void **state)
{
	const uint64_t pal[] = {0x200000, 0x201000, 0x202000, 0x203000, DATA};
	assert_true(dma(DATA, true));
	assert_true(dma(DATA + 8, false)); /* cached now */
	assert_int_equal(register_desc(&good_desc), TV_OK);
	for (unsigned i = 0; i < 5; i++) {
		assert_false(dma(pal[i], true));
		assert_false(dma(pal[i] + 0x10, false));
	}
	assert_true(dma(OTHER, true));
	/* Printed at the next PAL operation (faults are polled). */
	assert_int_equal(hypercall(TV_HC_UNREGISTER, ENTRY), TV_OK);
	assert_non_null(strstr(console(), "hv: iommu: DMA fault: unit 0xfed90000 device 00:03.0 "
	                                  "write to 0x"));
	assert_non_null(strstr(console(), "fault records overflowed"));
	assert_int_equal(iommu_report_faults(), 0);
}

/* When the unit completes the invalidation that gives the pages back to
 * devices, the PAL's data must already be scrubbed. */
static unsigned inval_calls;
static bool data_clean_at_every_inval;
static void check_scrubbed(void *arg)
{
	inval_calls++;
	for (unsigned i = 0; i < PG; i++)
		if (tvf_ram[DATA + i] != 0)
			data_clean_at_every_inval = false;
}

static void test_pages_return_to_dma_only_after_the_scrub(void **state)
{
	memset(tvf_ram + DATA, 0x5a, PG);
	assert_int_equal(register_desc(&good_desc), TV_OK);
	memset(tvf_ram + DATA, 0xa5, PG); /* the PAL's secret */
	data_clean_at_every_inval = true;
	inval_calls = 0;
	fake_vtd_set_inval_hook(check_scrubbed, NULL);
	assert_int_equal(hypercall(TV_HC_UNREGISTER, ENTRY), TV_OK);
	fake_vtd_set_inval_hook(NULL, NULL);
	assert_int_equal(inval_calls, 2); /* context cache + IOTLB, once */
	assert_true(data_clean_at_every_inval);
	assert_true(dma(DATA, true));
}

/* DMA protection happens after the all-CPU sync, before the measurement
 * (a device could otherwise change the code after it was measured) and
 * before the PAL is READY. */
static int sync_seen, ready_seen, measured_seen;
static void record_order(void *arg)
{
	static const uint8_t zero[UTPM_DIGEST_SIZE];
	sync_seen = (int)tvf_syncs;
	for (unsigned i = 0; i < TV_MAX_PALS; i++) {
		if (tv_pals[i].state == TV_PAL_READY)
			ready_seen = 1;
		if (tv_pals[i].state != TV_PAL_FREE &&
		    memcmp(tv_pals[i].utpm.identity, zero, sizeof(zero)) != 0)
			measured_seen = 1;
	}
}

static void test_protect_runs_after_the_sync_before_measure_and_ready(void **state)
{
	sync_seen = -1;
	ready_seen = measured_seen = 0;
	fake_vtd_set_inval_hook(record_order, NULL);
	assert_int_equal(register_desc(&good_desc), TV_OK);
	fake_vtd_set_inval_hook(NULL, NULL);
	assert_int_equal(sync_seen, 1);
	assert_int_equal(ready_seen, 0);
	assert_int_equal(measured_seen, 0);
	assert_int_equal(tv_pals[0].state + tv_pals[1].state, TV_PAL_READY);
}

static void test_failed_dma_protection_refuses_and_undoes(void **state)
{
	fake_vtd_set_latency(UNIT, 20000000); /* the unit stops answering */
	memset(tvf_ram + DATA, 0x77, PG);
	assert_int_equal(register_desc(&good_desc), TV_ERR_NO_DMA_PROTECTION);
	assert_int_equal(registered(), 0);
	assert_true(all_pages_visible());
	assert_int_equal(tvf_ram[DATA + 100], 0x77); /* the guest's bytes, not scrubbed */
	assert_non_null(strstr(console(), "DMA protection failed"));
}

static void test_require_without_iommu_refuses_registration(void **state)
{
	tv_dma_boot("console=ttyS0 tv_dma=require");
	assert_int_equal(tv_dma_policy(), TV_DMA_REQUIRE);
	assert_int_equal(register_desc(&good_desc), TV_ERR_NO_DMA_PROTECTION);
	assert_int_equal(registered(), 0);
	assert_true(all_pages_visible());
	assert_int_equal(tvf_syncs, 0);
	assert_non_null(strstr(console(), "tv_dma=require: PAL registration refused"));
}

static void test_warn_without_iommu_registers_after_a_boot_warning(void **state)
{
	tv_dma_boot("tv_dma=warn");
	assert_non_null(strstr(console(),
	                       "hv: tv: warning: DMA protection of PALs: none (no IOMMU); "
	                       "tv_dma=warn: PALs register, devices can read and write "
	                       "them"));
	assert_int_equal(register_desc(&good_desc), TV_OK);
	assert_int_equal(hypercall(TV_HC_UNREGISTER, ENTRY), TV_OK);
	assert_int_equal(register_desc(&good_desc), TV_OK);
	tv_dma_boot("tv_dma=maybe");
	assert_int_equal(tv_dma_policy(), TV_DMA_WARN);
	assert_non_null(strstr(console(), "unknown tv_dma= value"));
	tv_dma_boot("xtv_dma=require");
	assert_int_equal(tv_dma_policy(), TV_DMA_WARN);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_registered_pal_pages_are_out_of_the_dma_map,
	                                    setup_iommu, teardown),
	    cmocka_unit_test_setup_teardown(test_pages_return_to_dma_only_after_the_scrub,
	                                    setup_iommu, teardown),
	    cmocka_unit_test_setup_teardown(
	        test_protect_runs_after_the_sync_before_measure_and_ready, setup_iommu, teardown),
	    cmocka_unit_test_setup_teardown(test_failed_dma_protection_refuses_and_undoes,
	                                    setup_iommu, teardown),
	    cmocka_unit_test_setup_teardown(test_require_without_iommu_refuses_registration,
	                                    setup_no_iommu, teardown),
	    cmocka_unit_test_setup_teardown(test_warn_without_iommu_registers_after_a_boot_warning,
	                                    setup_no_iommu, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
