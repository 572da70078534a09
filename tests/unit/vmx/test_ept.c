/*
 * EPT: the built tables (walked here independently of ept_lookup), memory types,
 * the absent hypervisor region, page sizes, permission changes, views.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "hw/fake/fake_hw.h"
#include "libvmx/e820.h"
#include "libvmx/ept.h"
#include "rt/layout.h"
#include "rt/palloc.h"

#define KIB4   0x1000ull
#define MIB    (1ull << 20)
#define GIB    (1ull << 30)
#define HV_END (HV_REGION_BASE + HV_REGION_SIZE)

#define CAP_MSR     0x48Cu
#define CAP_WALK4   (1ull << 6)
#define CAP_WB      (1ull << 14)
#define CAP_2M      (1ull << 16)
#define CAP_INVEPT1 (1ull << 25)
#define CAP_INVEPT2 (1ull << 26)
#define CAPS_FULL   (CAP_WALK4 | CAP_WB | CAP_2M | CAP_INVEPT1 | CAP_INVEPT2)

#define POOL_PAGES 4096u
static void *pool;
static struct e820_map fw;

/* Top of low RAM is not 2 MiB aligned: ACPI tables in the last 64 KiB. */
#define LOW_RAM_END 0x1FFF0000ull

/* A Bochs-like firmware map of 512 MiB + 1 GiB above 4 GiB. */
static void bochs_map(void)
{
	const struct e820_entry in[] = {
	    {0, 0x9F000, E820_RAM},
	    {0x9F000, 0x1000, E820_RESERVED},
	    {0xE8000, 0x18000, E820_RESERVED},
	    {MIB, LOW_RAM_END - MIB, E820_RAM},
	    {LOW_RAM_END, 0x10000, E820_ACPI},
	    {0xFFFC0000, 0x40000, E820_RESERVED},
	    {4 * GIB, GIB, E820_RAM},
	};
	assert_int_equal(e820_from_entries(in, sizeof(in) / sizeof(in[0]), &fw), 0);
}

static uint32_t *vmxon_region;

static int setup(void **state)
{
	fake_hw_reset();
	fake_msr_set(CAP_MSR, CAPS_FULL);
	/* INVEPT runs in VMX operation, as ept_invalidate's callers always are. */
	vmxon_region = aligned_alloc(KIB4, KIB4);
	assert_non_null(vmxon_region);
	vmxon_region[0] = (uint32_t)(fake_msr_get(MSR_IA32_VMX_BASIC) & VMX_BASIC_REVISION_MASK);
	hw_write_cr4(hw_read_cr4() | CR4_VMXE);
	assert_int_equal(hw_vmxon(hw_ptr_phys(vmxon_region)), HW_VMX_OK);
	palloc_reset();
	pool = aligned_alloc(KIB4, POOL_PAGES * KIB4);
	assert_non_null(pool);
	palloc_add_range(hw_ptr_phys(pool), POOL_PAGES * KIB4);
	bochs_map();
	return 0;
}

static int teardown(void **state)
{
	palloc_reset();
	free(pool);
	free(vmxon_region);
	return 0;
}

/* ---- an independent walker over the raw tables (SDM 28.2.2) ---- */
struct raw {
	uint64_t entry;
	int level; /* 2: 2 MiB leaf, 1: 4 KiB leaf, 0: no leaf */
};

static struct raw raw_walk(uint64_t eptp, uint64_t gpa)
{
	uint64_t table = eptp & 0x000FFFFFFFFFF000ull;
	for (int level = 4; level >= 1; level--) {
		const uint64_t *t = hw_phys_ptr(table);
		uint64_t e = t[(gpa >> (12 + 9 * (level - 1))) & 511];
		if (level == 1 || (level == 2 && (e & (1ull << 7))))
			return (struct raw){e, (e & 7) ? level : 0};
		if ((e & 7) == 0)
			return (struct raw){e, 0};
		if (level > 2)
			assert_int_equal(e & (1ull << 7), 0); /* no 1 GiB pages built */
		assert_int_equal(e & 7, 7); /* non-leaf entries leave it to the leaves */
		table = e & 0x000FFFFFFFFFF000ull;
	}
	return (struct raw){0, 0};
}

static void assert_leaf(uint64_t eptp, uint64_t gpa, int level, unsigned memtype, unsigned rwx)
{
	struct raw r = raw_walk(eptp, gpa);
	assert_int_equal(r.level, level);
	assert_int_equal(r.entry & 7, rwx);
	assert_int_equal((r.entry >> 3) & 7, memtype);
	assert_int_equal(r.entry & (1ull << 6), 0); /* guest PAT still applies */
	uint64_t size = level == 2 ? 2 * MIB : KIB4;
	assert_int_equal(r.entry & 0x000FFFFFFFFFF000ull & ~(size - 1), gpa & ~(size - 1));

	struct ept_mapping m;
	assert_true(ept_lookup(eptp, gpa, &m));
	assert_true(m.present);
	assert_int_equal(m.rwx, rwx);
	assert_int_equal(m.memtype, memtype);
	assert_int_equal(m.page_size, size);
	assert_int_equal(m.hpa, gpa);
}

static void assert_absent(uint64_t eptp, uint64_t gpa)
{
	assert_int_equal(raw_walk(eptp, gpa).level, 0);
	struct ept_mapping m;
	ept_lookup(eptp, gpa, &m);
	assert_false(m.present);
}

static void test_eptp_format(void **state)
{
	uint64_t eptp = ept_build(&fw);
	assert_int_not_equal(eptp, 0);
	assert_int_equal(eptp & 7, EPT_MT_WB);   /* paging structures WB */
	assert_int_equal((eptp >> 3) & 7, 3);    /* walk length 4 - 1 */
	assert_int_equal(eptp & (1ull << 6), 0); /* A/D flags off */
	assert_int_equal(eptp & 0xF80, 0);       /* reserved bits 11:7 */
	assert_int_equal(eptp >> 52, 0);
}

static void test_hypervisor_region_absent(void **state)
{
	uint64_t eptp = ept_build(&fw);
	for (uint64_t a = HV_REGION_BASE; a < HV_END; a += KIB4)
		assert_absent(eptp, a);
	/* The RAM right around it is mapped, in 2 MiB pages (the region is 2 MiB aligned). */
	assert_leaf(eptp, HV_REGION_BASE - KIB4, 2, EPT_MT_WB, EPT_RWX);
	assert_leaf(eptp, HV_END, 2, EPT_MT_WB, EPT_RWX);
}

static void test_ram_wb_everything_else_uc(void **state)
{
	uint64_t eptp = ept_build(&fw);
	/* RAM */
	assert_leaf(eptp, 0, 1, EPT_MT_WB, EPT_RWX);
	assert_leaf(eptp, 0x9E000, 1, EPT_MT_WB, EPT_RWX);
	assert_leaf(eptp, MIB, 1, EPT_MT_WB, EPT_RWX);
	assert_leaf(eptp, 100 * MIB, 2, EPT_MT_WB, EPT_RWX);
	assert_leaf(eptp, LOW_RAM_END - KIB4, 1, EPT_MT_WB, EPT_RWX);
	assert_leaf(eptp, 4 * GIB + 300 * MIB, 2, EPT_MT_WB, EPT_RWX);
	/* reserved, VGA hole, ROM, ACPI: uncached but present */
	assert_leaf(eptp, 0x9F000, 1, EPT_MT_UC, EPT_RWX);
	assert_leaf(eptp, 0xA0000, 1, EPT_MT_UC, EPT_RWX);
	assert_leaf(eptp, 0xF0000, 1, EPT_MT_UC, EPT_RWX);
	assert_leaf(eptp, LOW_RAM_END, 1, EPT_MT_UC, EPT_RWX);
	/* the hole above RAM below 4 GiB (PCI MMIO), IOAPIC, LAPIC, BIOS flash */
	assert_leaf(eptp, 0xE0000000, 2, EPT_MT_UC, EPT_RWX);
	assert_leaf(eptp, 0xFEC00000, 2, EPT_MT_UC, EPT_RWX);
	assert_leaf(eptp, 0xFEE00000, 2, EPT_MT_UC, EPT_RWX);
	assert_leaf(eptp, 0xFFFFF000, 2, EPT_MT_UC, EPT_RWX);
}

static void test_coverage_ends_at_top_of_map(void **state)
{
	uint64_t eptp = ept_build(&fw);
	assert_leaf(eptp, 5 * GIB - KIB4, 2, EPT_MT_WB, EPT_RWX);
	assert_absent(eptp, 5 * GIB);
	struct ept_mapping m;
	assert_false(ept_lookup(eptp, 5 * GIB, &m));
	assert_false(ept_lookup(eptp, 1ull << 48, &m));

	/* A map that ends low is still covered up to 4 GiB. */
	const struct e820_entry small[] = {{0, 256 * MIB, E820_RAM}};
	assert_int_equal(e820_from_entries(small, 1, &fw), 0);
	eptp = ept_build(&fw);
	assert_leaf(eptp, 4 * GIB - KIB4, 2, EPT_MT_UC, EPT_RWX);
	assert_absent(eptp, 4 * GIB);
}

static void test_2m_pages_where_possible(void **state)
{
	uint64_t eptp = ept_build(&fw);
	/* 4 KiB pages only in the chunks with mixed types: [0, 2M) and the one
	 * holding LOW_RAM_END. Tables: PML4, one PDPT (all below 512 GiB), one PD
	 * per GiB up to 5 GiB, two PTs. */
	assert_int_equal(ept_table_pages(eptp), 1 + 1 + 5 + 2);
	assert_leaf(eptp, 2 * MIB, 2, EPT_MT_WB, EPT_RWX);
	assert_leaf(eptp, LOW_RAM_END - 2 * MIB, 2, EPT_MT_WB, EPT_RWX);
	assert_leaf(eptp, (LOW_RAM_END & ~(2 * MIB - 1)) + KIB4, 1, EPT_MT_WB, EPT_RWX);
	assert_int_equal(palloc_free_count(), POOL_PAGES - 9);
}

static void test_4k_only_without_2m_support(void **state)
{
	fake_msr_set(CAP_MSR, CAPS_FULL & ~CAP_2M);
	const struct e820_entry in[] = {{0, 64 * MIB, E820_RAM}};
	assert_int_equal(e820_from_entries(in, 1, &fw), 0);
	uint64_t eptp = ept_build(&fw);
	assert_leaf(eptp, 32 * MIB, 1, EPT_MT_WB, EPT_RWX);
	assert_leaf(eptp, 3 * GIB, 1, EPT_MT_UC, EPT_RWX);
	assert_absent(eptp, HV_REGION_BASE);
	/* PML4 + PDPT + 4 PDs + a PT per 2 MiB outside the hypervisor region */
	assert_int_equal(ept_table_pages(eptp), 1 + 1 + 4 + 2048 - HV_REGION_SIZE / (2 * MIB));
}

static void test_uc_paging_structures_without_wb(void **state)
{
	fake_msr_set(CAP_MSR, (CAPS_FULL & ~CAP_WB) | (1ull << 8));
	uint64_t eptp = ept_build(&fw);
	assert_int_equal(eptp & 7, EPT_MT_UC);
}

static void test_build_refuses_without_walk4(void **state)
{
	fake_msr_set(CAP_MSR, CAPS_FULL & ~CAP_WALK4);
	assert_int_equal(ept_build(&fw), 0);
}

static void test_build_out_of_memory(void **state)
{
	palloc_reset();
	palloc_add_range(hw_ptr_phys(pool), 4 * KIB4);
	assert_int_equal(ept_build(&fw), 0);
}

static void test_set_access_splits_2m_page(void **state)
{
	uint64_t eptp = ept_build(&fw);
	uint64_t pages = ept_table_pages(eptp);
	uint64_t invepts = fake_hw.invept_count;
	uint64_t gpa = 100 * MIB + 8 * KIB4;

	assert_int_equal(ept_set_page_access(eptp, gpa, 2 * KIB4, EPT_READ), 0);
	assert_int_equal(ept_table_pages(eptp), pages + 1);
	assert_leaf(eptp, gpa, 1, EPT_MT_WB, EPT_READ);
	assert_leaf(eptp, gpa + KIB4, 1, EPT_MT_WB, EPT_READ);
	/* the rest of the former 2 MiB page: unchanged, now 4 KiB pages */
	assert_leaf(eptp, gpa - KIB4, 1, EPT_MT_WB, EPT_RWX);
	assert_leaf(eptp, gpa + 2 * KIB4, 1, EPT_MT_WB, EPT_RWX);
	assert_leaf(eptp, 100 * MIB, 1, EPT_MT_WB, EPT_RWX);
	assert_leaf(eptp, 102 * MIB - KIB4, 1, EPT_MT_WB, EPT_RWX);
	/* the neighbouring 2 MiB pages are untouched */
	assert_leaf(eptp, 102 * MIB, 2, EPT_MT_WB, EPT_RWX);

	assert_int_equal(fake_hw.invept_count, invepts + 1);
	assert_int_equal(fake_hw.last_invept_type, 1); /* single-context */
	assert_int_equal(fake_hw.last_invept_eptp, eptp);
}

static void test_set_access_whole_2m_keeps_large_page(void **state)
{
	uint64_t eptp = ept_build(&fw);
	uint64_t pages = ept_table_pages(eptp);
	/* 1 MiB of 4 KiB pages, then two whole 2 MiB pages, then 4 KiB again */
	assert_int_equal(ept_set_page_access(eptp, 99 * MIB, 6 * MIB, EPT_READ | EPT_EXECUTE), 0);
	assert_int_equal(ept_table_pages(eptp), pages + 2);
	assert_leaf(eptp, 99 * MIB, 1, EPT_MT_WB, EPT_READ | EPT_EXECUTE);
	assert_leaf(eptp, 98 * MIB, 1, EPT_MT_WB, EPT_RWX);
	assert_leaf(eptp, 100 * MIB, 2, EPT_MT_WB, EPT_READ | EPT_EXECUTE);
	assert_leaf(eptp, 103 * MIB, 2, EPT_MT_WB, EPT_READ | EPT_EXECUTE);
	assert_leaf(eptp, 104 * MIB + 0x80000, 1, EPT_MT_WB, EPT_READ | EPT_EXECUTE);
	assert_leaf(eptp, 105 * MIB, 1, EPT_MT_WB, EPT_RWX);
}

static void test_no_access_and_back(void **state)
{
	uint64_t eptp = ept_build(&fw);
	/* Page 0 is RAM, UC-free, address 0: not present must still be restorable. */
	for (uint64_t gpa = 0; gpa <= 0xA0000; gpa += 0xA0000) {
		unsigned mt = gpa ? EPT_MT_UC : EPT_MT_WB;
		assert_int_equal(ept_set_page_access(eptp, gpa, KIB4, 0), 0);
		assert_absent(eptp, gpa);
		struct ept_mapping m;
		assert_true(ept_lookup(eptp, gpa, &m)); /* a leaf, without permissions */
		assert_int_equal(m.memtype, mt);
		assert_int_equal(ept_set_page_access(eptp, gpa, KIB4, EPT_RWX), 0);
		assert_leaf(eptp, gpa, 1, mt, EPT_RWX);
	}
	/* A whole 2 MiB page too. */
	assert_int_equal(ept_set_page_access(eptp, 100 * MIB, 2 * MIB, 0), 0);
	assert_absent(eptp, 101 * MIB);
	assert_int_equal(ept_set_page_access(eptp, 100 * MIB, 2 * MIB, EPT_RWX), 0);
	assert_leaf(eptp, 101 * MIB, 2, EPT_MT_WB, EPT_RWX);
}

static void test_no_access_uc_page_zero_and_back(void **state)
{
	/* Page 0 not RAM: its leaf is address 0, type UC; without permissions
	 * every architectural bit is 0, yet it must stay a leaf that can be given back. */
	const struct e820_entry in[] = {{0, KIB4, E820_RESERVED}, {KIB4, 64 * MIB, E820_RAM}};
	assert_int_equal(e820_from_entries(in, 2, &fw), 0);
	uint64_t eptp = ept_build(&fw);
	assert_leaf(eptp, 0, 1, EPT_MT_UC, EPT_RWX);
	assert_int_equal(ept_set_page_access(eptp, 0, KIB4, 0), 0);
	assert_absent(eptp, 0);
	assert_int_equal(ept_set_page_access(eptp, 0, KIB4, EPT_READ), 0);
	assert_leaf(eptp, 0, 1, EPT_MT_UC, EPT_READ);
}

static void test_set_access_errors_change_nothing(void **state)
{
	uint64_t eptp = ept_build(&fw);
	uint64_t pages = ept_table_pages(eptp);
	assert_int_equal(ept_set_page_access(eptp, 100 * MIB + 1, KIB4, 0), EPT_ERR_ALIGN);
	assert_int_equal(ept_set_page_access(eptp, 100 * MIB, 100, 0), EPT_ERR_ALIGN);
	assert_int_equal(ept_set_page_access(eptp, 100 * MIB, 0, 0), EPT_ERR_ALIGN);
	/* touching the hypervisor region, from below or inside: refused */
	assert_int_equal(ept_set_page_access(eptp, HV_REGION_BASE - KIB4, 2 * KIB4, EPT_RWX),
	                 EPT_ERR_HV_REGION);
	assert_int_equal(ept_set_page_access(eptp, HV_END - KIB4, KIB4, EPT_RWX),
	                 EPT_ERR_HV_REGION);
	assert_absent(eptp, HV_END - KIB4);
	/* write without read is a misconfiguration */
	assert_int_equal(ept_set_page_access(eptp, 100 * MIB, KIB4, EPT_WRITE), EPT_ERR_PERM);
	/* running past the top of the view: nothing changes, even the mapped part */
	assert_int_equal(ept_set_page_access(eptp, 5 * GIB - 2 * MIB, 4 * MIB, EPT_READ),
	                 EPT_ERR_NOT_MAPPED);
	assert_leaf(eptp, 5 * GIB - 2 * MIB, 2, EPT_MT_WB, EPT_RWX);
	assert_int_equal(ept_table_pages(eptp), pages);
	assert_leaf(eptp, 100 * MIB, 2, EPT_MT_WB, EPT_RWX);
}

static void test_all_context_invept_without_single(void **state)
{
	fake_msr_set(CAP_MSR, CAPS_FULL & ~CAP_INVEPT1);
	uint64_t eptp = ept_build(&fw);
	assert_int_equal(ept_set_page_access(eptp, 100 * MIB, KIB4, EPT_READ), 0);
	assert_int_equal(fake_hw.last_invept_type, 2);
}

static void test_clone_is_independent(void **state)
{
	uint64_t eptp = ept_build(&fw);
	size_t free_before = palloc_free_count();
	uint64_t view = ept_clone(eptp);
	assert_int_not_equal(view, 0);
	assert_int_not_equal(view, eptp);
	assert_int_equal(view & 0xFFF, eptp & 0xFFF); /* same memory type and walk */
	assert_int_equal(ept_table_pages(view), ept_table_pages(eptp));

	assert_int_equal(ept_set_page_access(view, 100 * MIB, KIB4, 0), 0);
	assert_absent(view, 100 * MIB);
	assert_leaf(eptp, 100 * MIB, 2, EPT_MT_WB, EPT_RWX);
	assert_int_equal(ept_set_page_access(eptp, 0x9E000, KIB4, EPT_READ), 0);
	assert_leaf(view, 0x9E000, 1, EPT_MT_WB, EPT_RWX);
	assert_absent(view, HV_REGION_BASE);

	ept_free(view);
	assert_int_equal(palloc_free_count(), free_before);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_eptp_format, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_hypervisor_region_absent, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_ram_wb_everything_else_uc, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_coverage_ends_at_top_of_map, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_2m_pages_where_possible, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_4k_only_without_2m_support, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_uc_paging_structures_without_wb, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_build_refuses_without_walk4, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_build_out_of_memory, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_set_access_splits_2m_page, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_set_access_whole_2m_keeps_large_page, setup,
	                                    teardown),
	    cmocka_unit_test_setup_teardown(test_no_access_and_back, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_no_access_uc_page_zero_and_back, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_set_access_errors_change_nothing, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_all_context_invept_without_single, setup,
	                                    teardown),
	    cmocka_unit_test_setup_teardown(test_clone_is_independent, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
