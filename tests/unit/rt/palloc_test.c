/*
 * The page allocator over host memory: the fake's hw_phys_ptr is identity, so
 * an aligned host buffer serves as "physical" memory.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "hw/fake/fake_hw.h"
#include "rt/palloc.h"

#define PAGE        4096u
#define ARENA_PAGES 64u

static uint8_t *arena;

static uint64_t arena_pa(size_t page)
{
	return (uint64_t)(uintptr_t)(arena + page * PAGE);
}

static int setup(void **state)
{
	fake_hw_reset();
	palloc_reset();
	arena = aligned_alloc(PAGE, ARENA_PAGES * PAGE);
	if (arena == NULL)
		return -1;
	memset(arena, 0xAA, ARENA_PAGES * PAGE);
	return 0;
}

static int teardown(void **state)
{
	free(arena);
	return 0;
}

static bool all_zero(uint64_t pa, size_t pages)
{
	const uint8_t *p = (const uint8_t *)(uintptr_t)pa;
	for (size_t i = 0; i < pages * PAGE; i++) {
		if (p[i] != 0)
			return false;
	}
	return true;
}

static void test_range_is_trimmed_to_whole_pages(void **state)
{
	/* [page 1 + 100 bytes, page 11 + 50 bytes) holds whole pages 2..10. */
	palloc_add_range(arena_pa(1) + 100, 10 * PAGE - 50);
	assert_int_equal(palloc_free_count(), 9);

	for (int i = 0; i < 9; i++) {
		uint64_t pa = palloc_page();
		assert_int_equal(pa % PAGE, 0);
		assert_true(pa >= arena_pa(2) && pa < arena_pa(11));
	}
	assert_int_equal(palloc_page(), 0);
}

static void test_tiny_and_empty_ranges_add_nothing(void **state)
{
	palloc_add_range(arena_pa(1) + 1, PAGE); /* no whole page inside */
	palloc_add_range(arena_pa(3), 0);
	palloc_add_range(arena_pa(3), PAGE - 1);
	assert_int_equal(palloc_free_count(), 0);
	assert_int_equal(palloc_page(), 0);
}

static void test_pages_are_zeroed(void **state)
{
	palloc_add_range(arena_pa(0), 8 * PAGE);
	uint64_t pa = palloc_pages(3);
	assert_int_not_equal(pa, 0);
	assert_true(all_zero(pa, 3));
	/* Dirty them, give them back: they come back zeroed again. */
	memset((void *)(uintptr_t)pa, 0x55, 3 * PAGE);
	palloc_free_pages(pa, 3);
	uint64_t again = palloc_pages(3);
	assert_int_equal(again, pa);
	assert_true(all_zero(again, 3));
	/* The pages next to the allocation were not touched. */
	assert_int_equal(arena[3 * PAGE], 0xAA);
}

static void test_contiguous_allocations_do_not_overlap(void **state)
{
	palloc_add_range(arena_pa(0), 16 * PAGE);
	uint64_t a = palloc_pages(4);
	uint64_t b = palloc_pages(5);
	uint64_t c = palloc_page();
	assert_int_not_equal(a, 0);
	assert_int_not_equal(b, 0);
	assert_int_not_equal(c, 0);
	assert_true(b >= a + 4 * PAGE || a >= b + 5 * PAGE);
	assert_true(c >= b + 5 * PAGE || c + PAGE <= b);
	assert_true(c >= a + 4 * PAGE || c + PAGE <= a);
	assert_int_equal(palloc_free_count(), 16 - 10);
}

static void test_exhaustion_returns_zero(void **state)
{
	palloc_add_range(arena_pa(0), 6 * PAGE);
	assert_int_equal(palloc_pages(7), 0);
	assert_int_equal(palloc_free_count(), 6);
	assert_int_not_equal(palloc_pages(6), 0);
	assert_int_equal(palloc_free_count(), 0);
	assert_int_equal(palloc_page(), 0);
	assert_int_equal(palloc_pages(0), 0);
}

static void test_contiguity_is_required(void **state)
{
	palloc_add_range(arena_pa(0), 4 * PAGE);
	uint64_t p[4];
	for (int i = 0; i < 4; i++)
		p[i] = palloc_page();
	/* Free pages 0 and 2: two free pages, but no two adjacent ones. */
	palloc_free_pages(p[0], 1);
	palloc_free_pages(p[2], 1);
	assert_int_equal(palloc_free_count(), 2);
	assert_int_equal(palloc_pages(2), 0);
	/* Free page 1 too: now 0..2 is a run of three. */
	palloc_free_pages(p[1], 1);
	assert_int_equal(palloc_pages(3), arena_pa(0));
}

static void test_free_then_reuse(void **state)
{
	palloc_add_range(arena_pa(0), 8 * PAGE);
	uint64_t a = palloc_pages(2);
	uint64_t b = palloc_pages(2);
	uint64_t c = palloc_pages(2);
	palloc_free_pages(b, 2);
	assert_int_equal(palloc_free_count(), 4);
	/* First fit: the hole b left is the first run of two. */
	assert_int_equal(palloc_pages(2), b);
	assert_int_not_equal(a, c);
}

static void test_adjacent_ranges_merge(void **state)
{
	palloc_add_range(arena_pa(0), 2 * PAGE);
	palloc_add_range(arena_pa(2), 2 * PAGE);
	/* Four pages across both calls are one physically contiguous run. */
	assert_int_equal(palloc_pages(4), arena_pa(0));
}

static void test_separate_ranges_do_not_merge(void **state)
{
	palloc_add_range(arena_pa(0), 2 * PAGE);
	palloc_add_range(arena_pa(3), 2 * PAGE); /* page 2 is not ours */
	assert_int_equal(palloc_free_count(), 4);
	assert_int_equal(palloc_pages(3), 0);
	uint64_t a = palloc_pages(2);
	uint64_t b = palloc_pages(2);
	assert_true((a == arena_pa(0) && b == arena_pa(3)) ||
	            (a == arena_pa(3) && b == arena_pa(0)));
	assert_int_equal(arena[2 * PAGE], 0xAA); /* page 2 never zeroed */
}

static void test_overlapping_range_is_refused(void **state)
{
	palloc_add_range(arena_pa(0), 4 * PAGE);
	palloc_add_range(arena_pa(2), 4 * PAGE);
	assert_int_equal(palloc_free_count(), 4);
	for (int i = 0; i < 4; i++)
		assert_true(palloc_page() < arena_pa(4));
	assert_int_equal(palloc_page(), 0);
}

static void test_capacity_is_bounded(void **state)
{
	/* Ranges are only bookkeeping until a page is handed out, so any address works. */
	palloc_add_range(0x100000000ULL, 2 * PALLOC_MAX_PAGES * (uint64_t)PAGE);
	assert_int_equal(palloc_free_count(), PALLOC_MAX_PAGES);
	palloc_add_range(0x400000000ULL, 16 * PAGE);
	assert_int_equal(palloc_free_count(), PALLOC_MAX_PAGES);
}

static void test_double_free_panics_and_leaves_state_usable(void **state)
{
	palloc_add_range(arena_pa(0), 4 * PAGE);
	uint64_t pa = palloc_pages(2);
	palloc_free_pages(pa, 2);
	expect_assert_failure(palloc_free_pages(pa, 1));
	assert_int_equal(palloc_free_count(), 4);
	/* The lock was released before the panic: the allocator still works. */
	assert_int_equal(palloc_pages(4), arena_pa(0));
}

static void test_bad_frees_panic(void **state)
{
	palloc_add_range(arena_pa(0), 4 * PAGE);
	uint64_t pa = palloc_pages(4);
	expect_assert_failure(palloc_free_pages(pa + 8, 1));       /* misaligned */
	expect_assert_failure(palloc_free_pages(arena_pa(10), 1)); /* not ours */
	expect_assert_failure(palloc_free_pages(arena_pa(2), 3));  /* past the end */
	assert_int_equal(palloc_free_count(), 0);
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
	    T(test_range_is_trimmed_to_whole_pages),
	    T(test_tiny_and_empty_ranges_add_nothing),
	    T(test_pages_are_zeroed),
	    T(test_contiguous_allocations_do_not_overlap),
	    T(test_exhaustion_returns_zero),
	    T(test_contiguity_is_required),
	    T(test_free_then_reuse),
	    T(test_adjacent_ranges_merge),
	    T(test_separate_ranges_do_not_merge),
	    T(test_overlapping_range_is_refused),
	    T(test_capacity_is_bounded),
	    T(test_double_free_panics_and_leaves_state_usable),
	    T(test_bad_frees_panic),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
