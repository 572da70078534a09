/* rt_usable_ranges: which part of the hypervisor region the page allocator gets. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "rt/memmap.h"

#define LO 0x0C000000ULL
#define HI 0x0D000000ULL

static struct mb_info mbi;

static void add(uint64_t base, uint64_t len, uint32_t type)
{
	mbi.mmap[mbi.mmap_count++] = (struct mb_mmap_entry){base, len, type};
}

static int setup(void **state)
{
	memset(&mbi, 0, sizeof(mbi));
	return 0;
}

/* Bochs with 256 MiB, as GRUB reports it. */
static void bochs_map(void)
{
	add(0, 0x9f000, MB_MEMORY_AVAILABLE);
	add(0x9f000, 0x1000, MB_MEMORY_RESERVED);
	add(0xe8000, 0x18000, MB_MEMORY_RESERVED);
	add(0x100000, 0xfef0000, MB_MEMORY_AVAILABLE);
	add(0xfff0000, 0x10000, MB_MEMORY_ACPI_RECLAIMABLE);
	add(0xfffc0000, 0x40000, MB_MEMORY_RESERVED);
}

static void test_window_is_clipped_to_ram(void **state)
{
	bochs_map();
	struct rt_range out[8];
	assert_int_equal(rt_usable_ranges(&mbi, LO, HI, NULL, 0, out, 8), 1);
	assert_int_equal(out[0].base, LO);
	assert_int_equal(out[0].end, HI);
}

static void test_image_and_modules_are_cut_out(void **state)
{
	bochs_map();
	struct rt_range excl[] = {
	    {LO, LO + 0x5e000},       /* the image */
	    {0x0C100000, 0x0C100200}, /* a module */
	    {0x0CFFF000, 0x0D100000}, /* a module crossing the window's end */
	    {0x00090000, 0x00090080}, /* outside the window: no effect */
	};
	struct rt_range out[8];
	assert_int_equal(rt_usable_ranges(&mbi, LO, HI, excl, 4, out, 8), 2);
	assert_int_equal(out[0].base, LO + 0x5e000);
	assert_int_equal(out[0].end, 0x0C100000);
	assert_int_equal(out[1].base, 0x0C100200);
	assert_int_equal(out[1].end, 0x0CFFF000);
}

static void test_ram_ending_inside_the_window(void **state)
{
	add(0x100000, 0x0C800000 - 0x100000, MB_MEMORY_AVAILABLE);
	struct rt_range out[8];
	assert_int_equal(rt_usable_ranges(&mbi, LO, HI, NULL, 0, out, 8), 1);
	assert_int_equal(out[0].base, LO);
	assert_int_equal(out[0].end, 0x0C800000);
}

static void test_no_ram_in_the_window(void **state)
{
	add(0, 0x9f000, MB_MEMORY_AVAILABLE);
	add(0x100000, 0x07f00000, MB_MEMORY_AVAILABLE); /* 128 MiB machine */
	struct rt_range out[8];
	assert_int_equal(rt_usable_ranges(&mbi, LO, HI, NULL, 0, out, 8), 0);
}

static void test_reserved_wins_over_available(void **state)
{
	add(0x100000, 0xfef0000, MB_MEMORY_AVAILABLE);
	add(0x0C400000, 0x1000, MB_MEMORY_RESERVED); /* overlaps the RAM entry */
	add(0x0C800000, 0x2000, MB_MEMORY_BADRAM);
	struct rt_range out[8];
	assert_int_equal(rt_usable_ranges(&mbi, LO, HI, NULL, 0, out, 8), 3);
	assert_int_equal(out[0].end, 0x0C400000);
	assert_int_equal(out[1].base, 0x0C401000);
	assert_int_equal(out[1].end, 0x0C800000);
	assert_int_equal(out[2].base, 0x0C802000);
	assert_int_equal(out[2].end, HI);
}

static void test_overlapping_and_unsorted_ram_entries_merge(void **state)
{
	add(0x0C600000, 0x00A00000, MB_MEMORY_AVAILABLE);
	add(0x0C000000, 0x00800000, MB_MEMORY_AVAILABLE);
	struct rt_range out[8];
	assert_int_equal(rt_usable_ranges(&mbi, LO, HI, NULL, 0, out, 8), 1);
	assert_int_equal(out[0].base, LO);
	assert_int_equal(out[0].end, HI);
}

static void test_more_pieces_than_room_drops_memory_only(void **state)
{
	add(0x100000, 0xfef0000, MB_MEMORY_AVAILABLE);
	/* Four holes make five pieces; room for three. */
	struct rt_range excl[] = {
	    {0x0C100000, 0x0C101000},
	    {0x0C200000, 0x0C201000},
	    {0x0C300000, 0x0C301000},
	    {0x0C400000, 0x0C401000},
	};
	struct rt_range out[3];
	size_t n = rt_usable_ranges(&mbi, LO, HI, excl, 4, out, 3);
	assert_int_equal(n, 3);
	/* Whatever is returned is usable: inside the window, clear of every hole. */
	for (size_t i = 0; i < n; i++) {
		assert_true(out[i].base >= LO && out[i].end <= HI && out[i].base < out[i].end);
		for (size_t k = 0; k < 4; k++)
			assert_true(out[i].end <= excl[k].base || out[i].base >= excl[k].end);
	}
}

#define T(f) cmocka_unit_test_setup(f, setup)

int main(void)
{
	const struct CMUnitTest tests[] = {
	    T(test_window_is_clipped_to_ram),
	    T(test_image_and_modules_are_cut_out),
	    T(test_ram_ending_inside_the_window),
	    T(test_no_ram_in_the_window),
	    T(test_reserved_wins_over_available),
	    T(test_overlapping_and_unsorted_ram_entries_merge),
	    T(test_more_pieces_than_room_drops_memory_only),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
