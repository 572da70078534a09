/*
 * Bitmap page allocator (rt/palloc.h). One bit per page, 1 = allocated; each
 * range owns a contiguous slice of the bitmap, so a run of free bits inside
 * one range is a run of physically contiguous pages. First fit: the hypervisor
 * allocates at boot and rarely frees, so fragmentation does not matter.
 */
#include "rt/palloc.h"

#include <stdbool.h>

#include "hw/hw.h"
#include "rt/console.h"
#include "rt/panic.h"
#include "rt/spinlock.h"
#include "rt/string.h"

struct range {
	uint64_t base; /* physical, page aligned */
	uint32_t pages;
	uint32_t first_bit; /* the range's slice of the bitmap */
};

static struct spinlock lock = SPINLOCK_INIT;
static struct range ranges[PALLOC_MAX_RANGES];
static uint32_t range_count;
static uint32_t bits_in_use; /* bitmap bits given to ranges so far */
static size_t free_pages;
static uint64_t bitmap[PALLOC_MAX_PAGES / 64];

static bool bit_test(uint32_t bit)
{
	return (bitmap[bit / 64] >> (bit % 64)) & 1;
}

static void bit_set(uint32_t bit, bool v)
{
	if (v)
		bitmap[bit / 64] |= 1ULL << (bit % 64);
	else
		bitmap[bit / 64] &= ~(1ULL << (bit % 64));
}

static uint64_t range_end(const struct range *r)
{
	return r->base + (uint64_t)r->pages * HV_PAGE_SIZE;
}

void palloc_reset(void)
{
	spin_lock(&lock);
	range_count = 0;
	bits_in_use = 0;
	free_pages = 0;
	memset(bitmap, 0, sizeof(bitmap));
	spin_unlock(&lock);
}

void palloc_add_range(uint64_t base, uint64_t size)
{
	uint64_t start = (base + HV_PAGE_SIZE - 1) & ~(uint64_t)(HV_PAGE_SIZE - 1);
	uint64_t end = (base + size) & ~(uint64_t)(HV_PAGE_SIZE - 1);
	if (size == 0 || base + size < base || end <= start)
		return;

	spin_lock(&lock);
	const char *refused = NULL;
	for (uint32_t i = 0; i < range_count; i++) {
		if (start < range_end(&ranges[i]) && ranges[i].base < end)
			refused = "overlaps a range already added";
	}
	uint64_t pages = (end - start) / HV_PAGE_SIZE;
	if (refused == NULL && pages > PALLOC_MAX_PAGES - bits_in_use) {
		pages = PALLOC_MAX_PAGES - bits_in_use;
		end = start + pages * HV_PAGE_SIZE;
		if (pages == 0)
			refused = "the bitmap is full";
	}
	struct range *last = range_count > 0 ? &ranges[range_count - 1] : NULL;
	if (refused == NULL) {
		/* Bits [bits_in_use, +pages) are clear: nothing ever set them. */
		if (last != NULL && range_end(last) == start) {
			last->pages += (uint32_t)pages;
		} else if (range_count < PALLOC_MAX_RANGES) {
			ranges[range_count++] = (struct range){
			    .base = start, .pages = (uint32_t)pages, .first_bit = bits_in_use};
		} else {
			refused = "too many ranges";
		}
	}
	if (refused == NULL) {
		bits_in_use += (uint32_t)pages;
		free_pages += pages;
	}
	spin_unlock(&lock);
	if (refused != NULL)
		hv_printf("hv: palloc: ignoring [%llx, %llx): %s\n", (unsigned long long)start,
		          (unsigned long long)end, refused);
}

/* First run of `count` clear bits inside r, as an index into r; -1 if none. */
static int64_t find_run(const struct range *r, size_t count)
{
	size_t run = 0;
	for (uint32_t i = 0; i < r->pages; i++) {
		if (bit_test(r->first_bit + i)) {
			run = 0;
			continue;
		}
		if (++run == count)
			return (int64_t)(i + 1 - count);
	}
	return -1;
}

uint64_t palloc_pages(size_t count)
{
	uint64_t pa = 0;
	if (count == 0)
		return 0;

	spin_lock(&lock);
	for (uint32_t i = 0; i < range_count && pa == 0; i++) {
		struct range *r = &ranges[i];
		if (count > r->pages)
			continue;
		int64_t first = find_run(r, count);
		if (first < 0)
			continue;
		for (size_t k = 0; k < count; k++)
			bit_set(r->first_bit + (uint32_t)first + (uint32_t)k, true);
		free_pages -= count;
		pa = r->base + (uint64_t)first * HV_PAGE_SIZE;
	}
	spin_unlock(&lock);

	if (pa != 0)
		memset(hw_phys_ptr(pa), 0, count * HV_PAGE_SIZE);
	return pa;
}

uint64_t palloc_page(void)
{
	return palloc_pages(1);
}

void palloc_free_pages(uint64_t pa, size_t count)
{
	const char *bad = NULL;

	spin_lock(&lock);
	struct range *r = NULL;
	for (uint32_t i = 0; i < range_count; i++) {
		if (pa >= ranges[i].base && pa < range_end(&ranges[i]))
			r = &ranges[i];
	}
	if (pa % HV_PAGE_SIZE != 0)
		bad = "not page aligned";
	else if (r == NULL)
		bad = "not in any range";
	else if (count > (range_end(r) - pa) / HV_PAGE_SIZE)
		bad = "runs past the end of its range";
	uint32_t first = r != NULL ? r->first_bit + (uint32_t)((pa - r->base) / HV_PAGE_SIZE) : 0;
	for (size_t k = 0; bad == NULL && k < count; k++) {
		if (!bit_test(first + (uint32_t)k))
			bad = "page is not allocated (double free?)";
	}
	if (bad == NULL) {
		for (size_t k = 0; k < count; k++)
			bit_set(first + (uint32_t)k, false);
		free_pages += count;
	}
	/* Unlock before panicking: other CPUs (and host tests) must not hang. */
	spin_unlock(&lock);
	if (bad != NULL)
		hv_panic("palloc_free_pages(0x%llx, %zu): %s", (unsigned long long)pa, count, bad);
}

size_t palloc_free_count(void)
{
	spin_lock(&lock);
	size_t n = free_pages;
	spin_unlock(&lock);
	return n;
}
