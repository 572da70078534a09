/*
 * E820 maps: normalising firmware maps and carving the hypervisor region.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "libvmx/e820.h"
#include "rt/layout.h"
#include "rt/multiboot.h"

#define MIB    (1ull << 20)
#define HV_END (HV_REGION_BASE + HV_REGION_SIZE)

static struct e820_map map;

/* Sorted, no overlaps, no empty entries, no touching entries of one type. */
static void assert_normalised(const struct e820_map *m)
{
	assert_true(m->count <= E820_MAX_ENTRIES);
	for (uint32_t i = 0; i < m->count; i++) {
		assert_true(m->entries[i].len > 0);
		if (i == 0)
			continue;
		const struct e820_entry *a = &m->entries[i - 1], *b = &m->entries[i];
		assert_true(a->base + a->len <= b->base);
		if (a->base + a->len == b->base)
			assert_int_not_equal(a->type, b->type);
	}
}

static void assert_entry(const struct e820_map *m, uint32_t i, uint64_t base, uint64_t end,
                         uint32_t type)
{
	assert_true(i < m->count);
	assert_int_equal(m->entries[i].base, base);
	assert_int_equal(m->entries[i].base + m->entries[i].len, end);
	assert_int_equal(m->entries[i].type, type);
}

static void test_unsorted_input_is_sorted(void **state)
{
	const struct e820_entry in[] = {
	    {0x100000, 255 * MIB, E820_RAM},
	    {0xF0000, 0x10000, E820_RESERVED},
	    {0, 0x9F000, E820_RAM},
	    {0x9F000, 0x1000, E820_RESERVED},
	};
	assert_int_equal(e820_from_entries(in, 4, &map), 0);
	assert_normalised(&map);
	assert_int_equal(map.count, 4);
	assert_entry(&map, 0, 0, 0x9F000, E820_RAM);
	assert_entry(&map, 1, 0x9F000, 0xA0000, E820_RESERVED);
	assert_entry(&map, 2, 0xF0000, 0x100000, E820_RESERVED);
	assert_entry(&map, 3, 0x100000, 256 * MIB, E820_RAM);
}

static void test_overlap_larger_type_wins_in_any_order(void **state)
{
	const struct e820_entry a[] = {{0, 10 * MIB, E820_RAM}, {4 * MIB, 2 * MIB, E820_RESERVED}};
	const struct e820_entry b[] = {{4 * MIB, 2 * MIB, E820_RESERVED}, {0, 10 * MIB, E820_RAM}};
	for (int k = 0; k < 2; k++) {
		assert_int_equal(e820_from_entries(k ? b : a, 2, &map), 0);
		assert_normalised(&map);
		assert_int_equal(map.count, 3);
		assert_entry(&map, 0, 0, 4 * MIB, E820_RAM);
		assert_entry(&map, 1, 4 * MIB, 6 * MIB, E820_RESERVED);
		assert_entry(&map, 2, 6 * MIB, 10 * MIB, E820_RAM);
	}
}

static void test_partial_overlap_and_merge(void **state)
{
	/* ACPI overlapping the end of RAM, then RAM again touching RAM (merged). */
	const struct e820_entry in[] = {
	    {0, 8 * MIB, E820_RAM},        {6 * MIB, 4 * MIB, E820_ACPI},
	    {10 * MIB, 2 * MIB, E820_RAM}, {12 * MIB, 4 * MIB, E820_RAM},
	    {20 * MIB, 0, E820_RAM}, /* empty: dropped */
	    {30 * MIB, 1 * MIB, 0},  /* undefined type: reserved */
	};
	assert_int_equal(e820_from_entries(in, 6, &map), 0);
	assert_normalised(&map);
	assert_int_equal(map.count, 4);
	assert_entry(&map, 0, 0, 6 * MIB, E820_RAM);
	assert_entry(&map, 1, 6 * MIB, 10 * MIB, E820_ACPI);
	assert_entry(&map, 2, 10 * MIB, 16 * MIB, E820_RAM);
	assert_entry(&map, 3, 30 * MIB, 31 * MIB, E820_RESERVED);
}

static void test_entry_past_address_limit_is_clipped(void **state)
{
	const struct e820_entry in[] = {{E820_ADDR_LIMIT - MIB, UINT64_MAX, E820_RESERVED}};
	assert_int_equal(e820_from_entries(in, 1, &map), 0);
	assert_int_equal(map.count, 1);
	assert_entry(&map, 0, E820_ADDR_LIMIT - MIB, E820_ADDR_LIMIT, E820_RESERVED);
}

/* Carving: the hypervisor region at the start, middle and end of a RAM range. */
static void carve(const struct e820_entry *in, uint32_t n)
{
	assert_int_equal(e820_from_entries(in, n, &map), 0);
	assert_int_equal(e820_set(&map, HV_REGION_BASE, HV_REGION_SIZE, E820_RESERVED), 0);
	assert_normalised(&map);
}

static void test_carve_at_start_of_ram(void **state)
{
	const struct e820_entry in[] = {{0, 100 * MIB, E820_RAM},
	                                {HV_REGION_BASE, 512 * MIB, E820_RAM}};
	carve(in, 2);
	assert_int_equal(map.count, 3);
	assert_entry(&map, 0, 0, 100 * MIB, E820_RAM);
	assert_entry(&map, 1, HV_REGION_BASE, HV_END, E820_RESERVED);
	assert_entry(&map, 2, HV_END, HV_REGION_BASE + 512 * MIB, E820_RAM);
}

static void test_carve_in_middle_of_ram(void **state)
{
	const struct e820_entry in[] = {{MIB, 1023 * MIB, E820_RAM}};
	carve(in, 1);
	assert_int_equal(map.count, 3);
	assert_entry(&map, 0, MIB, HV_REGION_BASE, E820_RAM);
	assert_entry(&map, 1, HV_REGION_BASE, HV_END, E820_RESERVED);
	assert_entry(&map, 2, HV_END, 1024 * MIB, E820_RAM);
}

static void test_carve_at_end_of_ram(void **state)
{
	const struct e820_entry in[] = {{MIB, HV_END - MIB, E820_RAM}, {HV_END, MIB, E820_ACPI}};
	carve(in, 2);
	assert_int_equal(map.count, 3);
	assert_entry(&map, 0, MIB, HV_REGION_BASE, E820_RAM);
	assert_entry(&map, 1, HV_REGION_BASE, HV_END, E820_RESERVED);
	assert_entry(&map, 2, HV_END, HV_END + MIB, E820_ACPI);
}

static void test_carve_spanning_two_ranges_and_a_hole(void **state)
{
	/* RAM ending inside the region, a hole, ACPI, RAM starting inside it. */
	const struct e820_entry in[] = {
	    {MIB, HV_REGION_BASE + 2 * MIB - MIB, E820_RAM},
	    {HV_REGION_BASE + 4 * MIB, MIB, E820_ACPI},
	    {HV_REGION_BASE + 6 * MIB, 300 * MIB, E820_RAM},
	};
	carve(in, 3);
	assert_int_equal(map.count, 3);
	assert_entry(&map, 0, MIB, HV_REGION_BASE, E820_RAM);
	assert_entry(&map, 1, HV_REGION_BASE, HV_END, E820_RESERVED);
	assert_entry(&map, 2, HV_END, HV_REGION_BASE + 306 * MIB, E820_RAM);
}

static void test_carve_merges_with_reserved_neighbours(void **state)
{
	const struct e820_entry in[] = {
	    {MIB, HV_REGION_BASE - MIB, E820_RESERVED},
	    {HV_REGION_BASE, 512 * MIB, E820_RAM},
	};
	carve(in, 2);
	assert_int_equal(map.count, 2);
	assert_entry(&map, 0, MIB, HV_END, E820_RESERVED);
	assert_entry(&map, 1, HV_END, HV_REGION_BASE + 512 * MIB, E820_RAM);
}

/* 128 entries alternating RAM and reserved, 1 MiB each with 1 MiB holes. */
static void fill_table(void)
{
	e820_init(&map);
	for (uint32_t i = 0; i < E820_MAX_ENTRIES; i++)
		assert_int_equal(
		    e820_add(&map, 2 * i * MIB, MIB, (i & 1) ? E820_RESERVED : E820_RAM), 0);
	assert_int_equal(map.count, E820_MAX_ENTRIES);
	assert_normalised(&map);
}

static void test_full_table_rejects_and_keeps_map(void **state)
{
	fill_table();
	struct e820_map before = map;

	/* A new disjoint entry does not fit. */
	assert_int_equal(e820_add(&map, 1000 * MIB, MIB, E820_RAM), E820_ERR_FULL);
	assert_memory_equal(&map, &before, sizeof(map));
	/* Carving inside a RAM entry needs two more entries. */
	assert_int_equal(e820_set(&map, 4 * MIB + 4096, 4096, E820_RESERVED), E820_ERR_FULL);
	assert_memory_equal(&map, &before, sizeof(map));

	/* What merges into a neighbour still fits: reserved in the hole before a
	 * reserved entry extends that entry. */
	assert_int_equal(e820_add(&map, MIB, MIB, E820_RESERVED), 0);
	assert_int_equal(map.count, E820_MAX_ENTRIES);
	assert_entry(&map, 1, MIB, 3 * MIB, E820_RESERVED);
	/* And RAM over it then joins the RAM before: one entry fewer. */
	assert_int_equal(e820_set(&map, MIB, 2 * MIB, E820_RAM), 0);
	assert_int_equal(map.count, E820_MAX_ENTRIES - 1);
	assert_entry(&map, 0, 0, 3 * MIB, E820_RAM);
	assert_normalised(&map);
}

static void test_from_entries_reports_full(void **state)
{
	struct e820_entry in[E820_MAX_ENTRIES + 1];
	for (uint32_t i = 0; i < E820_MAX_ENTRIES + 1; i++)
		in[i] = (struct e820_entry){2 * i * MIB, MIB, E820_RAM};
	assert_int_equal(e820_from_entries(in, E820_MAX_ENTRIES, &map), 0);
	assert_int_equal(e820_from_entries(in, E820_MAX_ENTRIES + 1, &map), E820_ERR_FULL);
}

/*
 * Against a page-granular model: random entries over 64 pages, added with max-
 * wins and then carved with set; the map must equal the model page by page.
 */
#define MODEL_PAGES 64
static uint32_t model_type(const struct e820_map *m, uint64_t page)
{
	const struct e820_entry *e = e820_find(m, page * 4096);
	return e ? e->type : 0;
}

static void test_matches_page_model(void **state)
{
	srand(1234);
	for (int round = 0; round < 500; round++) {
		uint32_t model[MODEL_PAGES] = {0};
		e820_init(&map);
		int n = 1 + rand() % 12;
		for (int k = 0; k < n; k++) {
			uint64_t p = (uint64_t)(rand() % MODEL_PAGES);
			uint64_t len = 1 + (uint64_t)(rand() % (MODEL_PAGES - p));
			uint32_t type = 1 + (uint32_t)(rand() % 5);
			bool force = rand() % 4 == 0;
			int rc = force ? e820_set(&map, p * 4096, len * 4096, type)
			               : e820_add(&map, p * 4096, len * 4096, type);
			assert_int_equal(rc, 0);
			for (uint64_t q = p; q < p + len; q++)
				if (force || type > model[q])
					model[q] = type;
			assert_normalised(&map);
		}
		for (uint64_t q = 0; q < MODEL_PAGES; q++)
			assert_int_equal(model_type(&map, q), model[q]);
		assert_true(e820_top(&map) <= MODEL_PAGES * 4096);
	}
}

static void test_range_queries(void **state)
{
	const struct e820_entry in[] = {
	    {0, 0x9F000, E820_RAM}, {0x9F000, 0x1000, E820_RESERVED}, {MIB, 15 * MIB, E820_RAM}};
	assert_int_equal(e820_from_entries(in, 3, &map), 0);
	assert_true(e820_range_is(&map, 0, 0x9F000, E820_RAM));
	assert_false(e820_range_is(&map, 0x9E000, 0x2000, E820_RAM));
	assert_false(e820_range_is(&map, 0xFF000, 0x2000, E820_RAM)); /* hole then RAM */
	assert_true(e820_range_has(&map, 0xFF000, 0x2000, E820_RAM));
	assert_false(e820_range_has(&map, 0xA0000, 0x60000, E820_RAM));
	assert_int_equal(e820_top(&map), 16 * MIB);
	assert_null(e820_guest_entry(&map, 3));
	assert_ptr_equal(e820_guest_entry(&map, 2), &map.entries[2]);
}

/* ---- from the multiboot information ---- */
static struct mb_info mbi;

static void test_guest_map_from_multiboot(void **state)
{
	/* What GRUB passes on a 512 MiB Bochs machine, shuffled, with a duplicate. */
	const struct mb_mmap_entry mm[] = {
	    {MIB, 511 * MIB - 0x10000, MB_MEMORY_AVAILABLE},
	    {0, 0x9F000, MB_MEMORY_AVAILABLE},
	    {0xFFFC0000, 0x40000, MB_MEMORY_RESERVED},
	    {512 * MIB - 0x10000, 0x10000, MB_MEMORY_ACPI_RECLAIMABLE},
	    {0x9F000, 0x1000, MB_MEMORY_RESERVED},
	    {0xE8000, 0x18000, MB_MEMORY_RESERVED},
	    {0, 0x9F000, MB_MEMORY_AVAILABLE},
	};
	memset(&mbi, 0, sizeof(mbi));
	mbi.flags = MB_FLAG_MMAP | MB_FLAG_MEM;
	mbi.mmap_count = sizeof(mm) / sizeof(mm[0]);
	memcpy(mbi.mmap, mm, sizeof(mm));

	struct e820_map fw_map;
	assert_int_equal(e820_firmware_map(&mbi, &fw_map), 0);
	assert_normalised(&fw_map);
	assert_int_equal(fw_map.count, 6);
	assert_entry(&fw_map, 3, MIB, 512 * MIB - 0x10000, E820_RAM);

	assert_int_equal(e820_build_guest_map(&mbi, &map), 0);
	assert_normalised(&map);
	assert_int_equal(map.count, 8);
	assert_entry(&map, 0, 0, 0x9F000, E820_RAM);
	assert_entry(&map, 1, 0x9F000, 0xA0000, E820_RESERVED);
	assert_entry(&map, 2, 0xE8000, MIB, E820_RESERVED);
	assert_entry(&map, 3, MIB, HV_REGION_BASE, E820_RAM);
	assert_entry(&map, 4, HV_REGION_BASE, HV_END, E820_RESERVED);
	assert_entry(&map, 5, HV_END, 512 * MIB - 0x10000, E820_RAM);
	assert_entry(&map, 6, 512 * MIB - 0x10000, 512 * MIB, E820_ACPI);
	assert_entry(&map, 7, 0xFFFC0000, 1ull << 32, E820_RESERVED);
	/* The continuation protocol walks exactly these. */
	for (uint32_t i = 0; i < map.count; i++)
		assert_ptr_equal(e820_guest_entry(&map, i), &map.entries[i]);
	assert_null(e820_guest_entry(&map, map.count));
}

static void test_guest_map_without_mmap(void **state)
{
	memset(&mbi, 0, sizeof(mbi));
	mbi.flags = MB_FLAG_MEM;
	mbi.mem_lower_kb = 639;
	mbi.mem_upper_kb = 1023 * 1024; /* 1 GiB in all */
	assert_int_equal(e820_build_guest_map(&mbi, &map), 0);
	assert_int_equal(map.count, 4);
	assert_entry(&map, 0, 0, 639 * 1024, E820_RAM);
	assert_entry(&map, 1, MIB, HV_REGION_BASE, E820_RAM);
	assert_entry(&map, 2, HV_REGION_BASE, HV_END, E820_RESERVED);
	assert_entry(&map, 3, HV_END, 1024 * MIB, E820_RAM);

	mbi.flags = 0;
	assert_int_equal(e820_build_guest_map(&mbi, &map), E820_ERR_INPUT);
}

static void test_guest_map_full(void **state)
{
	/* 128 disjoint entries below 128 MiB fit; the region in the hole above needs one more. */
	memset(&mbi, 0, sizeof(mbi));
	mbi.flags = MB_FLAG_MMAP;
	mbi.mmap_count = MB_MAX_MMAP;
	for (uint32_t i = 0; i < MB_MAX_MMAP; i++)
		mbi.mmap[i] = (struct mb_mmap_entry){i * MIB, MIB / 2, MB_MEMORY_AVAILABLE};
	assert_int_equal(e820_firmware_map(&mbi, &map), 0);
	assert_int_equal(map.count, MB_MAX_MMAP);
	assert_int_equal(e820_build_guest_map(&mbi, &map), E820_ERR_FULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_unsorted_input_is_sorted),
	    cmocka_unit_test(test_overlap_larger_type_wins_in_any_order),
	    cmocka_unit_test(test_partial_overlap_and_merge),
	    cmocka_unit_test(test_entry_past_address_limit_is_clipped),
	    cmocka_unit_test(test_carve_at_start_of_ram),
	    cmocka_unit_test(test_carve_in_middle_of_ram),
	    cmocka_unit_test(test_carve_at_end_of_ram),
	    cmocka_unit_test(test_carve_spanning_two_ranges_and_a_hole),
	    cmocka_unit_test(test_carve_merges_with_reserved_neighbours),
	    cmocka_unit_test(test_full_table_rejects_and_keeps_map),
	    cmocka_unit_test(test_from_entries_reports_full),
	    cmocka_unit_test(test_matches_page_model),
	    cmocka_unit_test(test_range_queries),
	    cmocka_unit_test(test_guest_map_from_multiboot),
	    cmocka_unit_test(test_guest_map_without_mmap),
	    cmocka_unit_test(test_guest_map_full),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
