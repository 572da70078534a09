/*
 * libiommu over hw/fake's VT-d units: the tables a unit walks, translation on
 * every unit, faults decoded and printed, and the property protect() exists
 * for: once it returns, no device can reach the page, not even through a
 * translation the unit cached before (the stale-IOTLB attack).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "hw/fake/fake_hw.h"
#include "hw/vtd_defs.h"
#include "libiommu/iommu.h"
#include "rt/palloc.h"

#define KIB4       0x1000ull
#define MIB        0x100000ull
#define POOL_PAGES 64
#define UNIT0      0xfed90000ull
#define UNIT1      0xfed91000ull
#define KEEP_BASE  (192 * MIB) /* the hypervisor region */
#define KEEP_SIZE  (16 * MIB)
#define RAM_TOP    (256 * MIB)
#define EDU        VTD_SID(0, 3, 0)

/* QEMU 7.2's intel-iommu: FRO 0x220, NFR 1... here 4 records, IRO 0xf0,
 * SAGAW 39+48, 2 MiB pages, coherent walks. */
#define CAP  ((0x22ull << 24) | (3ull << 40) | (6ull << 8) | VTD_CAP_SLLPS_2M | (38ull << 16) | 2)
#define ECAP ((0xfull << 8) | VTD_ECAP_C)

static void *pool;
static struct dmar_info dmar;

static int setup(void **state)
{
	fake_hw_reset();
	palloc_reset();
	iommu_reset();
	pool = aligned_alloc(KIB4, POOL_PAGES * KIB4);
	assert_non_null(pool);
	palloc_add_range(hw_ptr_phys(pool), POOL_PAGES * KIB4);
	memset(&dmar, 0, sizeof(dmar));
	dmar.nunits = 1;
	dmar.unit[0].base = UNIT0;
	dmar.unit[0].include_all = true;
	fake_vtd_add(UNIT0, CAP, ECAP);
	return 0;
}

static int teardown(void **state)
{
	fake_vtd_set_inval_hook(NULL, NULL);
	palloc_reset();
	free(pool);
	return 0;
}

static void boot(void)
{
	assert_int_equal(iommu_setup(&dmar, KEEP_BASE, KEEP_SIZE), IOMMU_OK);
	assert_int_equal(iommu_map(0, RAM_TOP), IOMMU_OK);
	assert_int_equal(iommu_enable(), IOMMU_OK);
}

static bool dma(uint64_t unit, uint64_t addr, bool write)
{
	return fake_vtd_dma(unit, EDU, addr, write).ok;
}

/* The serial console's output so far (rt/console.c writes COM1). */
static const char *console(void)
{
	static char out[4096];
	uint32_t v[sizeof(out) - 1];
	size_t n = fake_io_collect(0x3f8, FAKE_IO_OUT, v, sizeof(v) / sizeof(v[0]));
	if (n > sizeof(v) / sizeof(v[0]))
		n = sizeof(v) / sizeof(v[0]);
	for (size_t i = 0; i < n; i++)
		out[i] = (char)v[i];
	out[n] = '\0';
	return out;
}

static void test_enable_latches_the_root_and_translates_ram(void **state)
{
	boot();
	struct fake_vtd_unit *u = fake_vtd_get(UNIT0);
	assert_true(iommu_enabled());
	assert_true(u->root_set);
	assert_int_equal(u->te_without_root, 0);
	assert_int_equal(u->cmd_while_busy, 0);
	assert_true(u->cc_invalidations >= 1 && u->iotlb_invalidations >= 1);
	/* Root entry of bus 0 -> context entry of 00:03.0: present, TT=0, DID 1, 4 levels. */
	const uint64_t *root = hw_phys_ptr(u->root_latched);
	assert_true(root[0] & VTD_ENTRY_P);
	const uint64_t *ctx = hw_phys_ptr(root[2 * 5] & VTD_ADDR_MASK); /* any bus: same */
	uint64_t lo = ctx[2 * (EDU & 0xff)], hi = ctx[2 * (EDU & 0xff) + 1];
	assert_int_equal(lo & 0xfff, VTD_ENTRY_P);
	assert_int_equal(hi, VTD_CTX_HI_AW(VTD_AW_48) | VTD_CTX_HI_DID(1));
	struct fake_vtd_dma_result r = fake_vtd_dma(UNIT0, EDU, 0x1234567, true);
	assert_true(r.ok);
	assert_int_equal(r.pa, 0x1234567);
	assert_true(dma(UNIT0, RAM_TOP - 8, false));
}

static void test_hypervisor_region_and_unmapped_space_fault(void **state)
{
	boot();
	assert_false(dma(UNIT0, KEEP_BASE, true));
	assert_false(dma(UNIT0, KEEP_BASE + KEEP_SIZE - 8, false));
	assert_true(dma(UNIT0, KEEP_BASE - 8, true));
	assert_true(dma(UNIT0, KEEP_BASE + KEEP_SIZE, true));
	assert_false(dma(UNIT0, RAM_TOP, false));
	assert_int_equal(iommu_unprotect(KEEP_BASE + KIB4, KIB4), IOMMU_ERR_RANGE);
	assert_false(dma(UNIT0, KEEP_BASE + KIB4, true));
}

static void test_fault_is_decoded_printed_and_cleared(void **state)
{
	boot();
	assert_false(dma(UNIT0, KEEP_BASE + 0x5008, true));
	assert_int_equal(iommu_report_faults(), 1);
	assert_non_null(strstr(console(), "hv: iommu: DMA fault: unit 0xfed90000 device 00:03.0 "
	                                  "write to 0xc005000: reason 0x5 (write to a page "
	                                  "without write permission)"));
	assert_int_equal(iommu_report_faults(), 0); /* cleared */
	assert_false(dma(UNIT0, KEEP_BASE, false));
	assert_int_equal(iommu_report_faults(), 1);
	assert_non_null(strstr(console(), "read of 0xc000000: reason 0x6"));
}

static void test_fault_overflow_is_reported(void **state)
{
	boot();
	for (int i = 0; i < 6; i++) /* 4 records */
		assert_false(dma(UNIT0, KEEP_BASE + (uint64_t)i * KIB4, true));
	assert_int_equal(iommu_report_faults(), 5); /* 4 records + the overflow */
	assert_non_null(strstr(console(), "fault records overflowed"));
	assert_false(dma(UNIT0, KEEP_BASE, true));
	assert_int_equal(iommu_report_faults(), 1);
}

/* The attack: a device DMAs to a page so the unit caches the translation,
 * the page is then protected (it becomes a PAL's), and the device DMAs again.
 * Before the invalidation in iommu_protect the second DMA went through. */
static void test_stale_iotlb_entry_does_not_survive_protect(void **state)
{
	const uint64_t page = 64 * MIB;
	boot();
	assert_true(dma(UNIT0, page, true));
	assert_true(dma(UNIT0, page + 8, false));
	assert_true(fake_vtd_get(UNIT0)->iotlb_hits >= 1); /* it is cached */
	assert_int_equal(iommu_protect(page, KIB4), IOMMU_OK);
	assert_false(dma(UNIT0, page, true));
	assert_false(dma(UNIT0, page + 16, false));
	assert_true(dma(UNIT0, page + KIB4, true)); /* the next page is not protected */
	assert_int_equal(iommu_unprotect(page, KIB4), IOMMU_OK);
	assert_true(dma(UNIT0, page, true));
}

/* A device DMAs at the instant each invalidation completes: had protect
 * invalidated before changing the tables, that DMA would refill the IOTLB
 * with the old translation. And protect must not return while a command is
 * still running (latency: the unit needs 5 status reads). */
static uint64_t hook_page;
static unsigned hook_calls;
static void dma_during_invalidation(void *arg)
{
	hook_calls++;
	(void)fake_vtd_dma(UNIT0, EDU, hook_page, false);
}

static void test_protect_returns_after_the_invalidation_completed(void **state)
{
	hook_page = 80 * MIB;
	boot();
	struct fake_vtd_unit *u = fake_vtd_get(UNIT0);
	fake_vtd_set_latency(UNIT0, 5);
	assert_true(dma(UNIT0, hook_page, false));
	uint64_t cc = u->cc_invalidations, io = u->iotlb_invalidations;
	fake_vtd_set_inval_hook(dma_during_invalidation, NULL);
	assert_int_equal(iommu_protect(hook_page, KIB4), IOMMU_OK);
	fake_vtd_set_inval_hook(NULL, NULL);
	assert_int_equal(u->ccmd_left + u->iotlb_left + u->gsts_left, 0);
	assert_int_equal(u->cc_invalidations, cc + 1);
	assert_int_equal(u->iotlb_invalidations, io + 1);
	assert_int_equal(hook_calls, 2);
	assert_int_equal(u->cmd_while_busy, 0);
	assert_false(dma(UNIT0, hook_page, false));
}

static void test_every_unit_is_enabled_and_invalidated(void **state)
{
	dmar.nunits = 2;
	dmar.unit[1].base = UNIT1;
	fake_vtd_add(UNIT1, CAP & ~(4ull << 8), ECAP); /* 39-bit only: 3 levels for both */
	boot();
	assert_int_equal(iommu_unit_count(), 2);
	assert_true(fake_vtd_get(UNIT1)->root_set);
	assert_true(dma(UNIT1, 64 * MIB, true));
	assert_true(dma(UNIT0, 64 * MIB, true));
	assert_int_equal(iommu_protect(64 * MIB, 2 * KIB4), IOMMU_OK);
	assert_false(dma(UNIT0, 64 * MIB, true));
	assert_false(dma(UNIT1, 64 * MIB + KIB4, true));
	const uint64_t *root = hw_phys_ptr(fake_vtd_get(UNIT1)->root_latched);
	const uint64_t *ctx = hw_phys_ptr(root[0] & VTD_ADDR_MASK);
	assert_int_equal(ctx[1] & 7, VTD_AW_39);
}

static void test_rmrr_stays_mapped_but_not_inside_the_hypervisor(void **state)
{
	dmar.nrmrrs = 2;
	dmar.rmrr[0].base = 0xfe000000; /* outside RAM: mapped only because it is an RMRR */
	dmar.rmrr[0].limit = 0xfe00ffff;
	dmar.rmrr[1].base = KEEP_BASE + 4 * KIB4;
	dmar.rmrr[1].limit = KEEP_BASE + 5 * KIB4 - 1;
	boot();
	assert_true(dma(UNIT0, 0xfe000000, true));
	assert_true(dma(UNIT0, 0xfe00fff8, false));
	assert_false(dma(UNIT0, 0xfe010000, false));
	assert_false(dma(UNIT0, KEEP_BASE + 4 * KIB4, true));
	assert_non_null(strstr(console(), "overlaps the hypervisor"));
}

static void test_a_dead_unit_times_out_instead_of_hanging(void **state)
{
	assert_int_equal(iommu_setup(&dmar, KEEP_BASE, KEEP_SIZE), IOMMU_OK);
	fake_vtd_set_latency(UNIT0, 20000000); /* beyond the poll bound */
	assert_int_equal(iommu_enable(), IOMMU_ERR_TIMEOUT);
	assert_false(iommu_enabled());
}

static void test_protect_before_enable_needs_no_invalidation(void **state)
{
	assert_int_equal(iommu_setup(&dmar, KEEP_BASE, KEEP_SIZE), IOMMU_OK);
	assert_int_equal(iommu_map(0, RAM_TOP), IOMMU_OK);
	assert_int_equal(iommu_protect(32 * MIB, KIB4), IOMMU_OK);
	assert_int_equal(iommu_invalidation_rounds(), 0);
	assert_int_equal(iommu_enable(), IOMMU_OK);
	assert_false(dma(UNIT0, 32 * MIB, true));
	assert_int_equal(iommu_protect(32 * MIB + 3, KIB4), IOMMU_ERR_RANGE);
}

static void test_page_lists_take_one_invalidation_round(void **state)
{
	const uint64_t pages[] = {64 * MIB, 100 * MIB, 64 * MIB + 3 * KIB4};
	boot();
	for (size_t i = 0; i < 3; i++)
		assert_true(dma(UNIT0, pages[i], true));
	uint64_t rounds = iommu_invalidation_rounds();
	assert_int_equal(iommu_protect_pages(pages, 3), IOMMU_OK);
	assert_int_equal(iommu_invalidation_rounds(), rounds + 1);
	for (size_t i = 0; i < 3; i++)
		assert_false(dma(UNIT0, pages[i] + 8, false));
	assert_true(dma(UNIT0, 64 * MIB + KIB4, true));
	assert_int_equal(iommu_unprotect_pages(pages, 3), IOMMU_OK);
	for (size_t i = 0; i < 3; i++)
		assert_true(dma(UNIT0, pages[i], true));
	const uint64_t bad[] = {64 * MIB, KEEP_BASE};
	assert_int_equal(iommu_unprotect_pages(bad, 2), IOMMU_ERR_RANGE);
}

static void test_no_units_means_none(void **state)
{
	dmar.nunits = 0;
	assert_int_equal(iommu_setup(&dmar, KEEP_BASE, KEEP_SIZE), IOMMU_ERR_NONE);
	assert_int_equal(iommu_protect(0, KIB4), IOMMU_ERR_STATE);
	assert_false(iommu_enabled());
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
	const struct CMUnitTest tests[] = {
	    T(test_enable_latches_the_root_and_translates_ram),
	    T(test_hypervisor_region_and_unmapped_space_fault),
	    T(test_fault_is_decoded_printed_and_cleared),
	    T(test_fault_overflow_is_reported),
	    T(test_stale_iotlb_entry_does_not_survive_protect),
	    T(test_protect_returns_after_the_invalidation_completed),
	    T(test_every_unit_is_enabled_and_invalidated),
	    T(test_rmrr_stays_mapped_but_not_inside_the_hypervisor),
	    T(test_a_dead_unit_times_out_instead_of_hanging),
	    T(test_protect_before_enable_needs_no_invalidation),
	    T(test_page_lists_take_one_invalidation_round),
	    T(test_no_units_means_none),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
