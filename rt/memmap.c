/* Usable-memory computation (rt/memmap.h). */
#include "rt/memmap.h"

#include <stdbool.h>

/* Removes [cut.base, cut.end) from the n ranges in r (capacity max). */
static void subtract(struct rt_range *r, size_t *n, size_t max, struct rt_range cut)
{
	if (cut.end <= cut.base)
		return;
	for (size_t i = 0; i < *n;) {
		struct rt_range cur = r[i];
		if (cut.end <= cur.base || cur.end <= cut.base) {
			i++;
			continue;
		}
		bool keep_low = cur.base < cut.base;
		bool keep_high = cut.end < cur.end;
		if (keep_low && keep_high) {
			r[i].end = cut.base;
			/* Out of slots: drop the upper piece (less memory, still correct). */
			if (*n < max)
				r[(*n)++] = (struct rt_range){cut.end, cur.end};
			i++;
		} else if (keep_low) {
			r[i++].end = cut.base;
		} else if (keep_high) {
			r[i++].base = cut.end;
		} else {
			r[i] = r[--(*n)];
		}
	}
}

static void sort_and_merge(struct rt_range *r, size_t *n)
{
	for (size_t i = 1; i < *n; i++) {
		struct rt_range x = r[i];
		size_t j = i;
		for (; j > 0 && r[j - 1].base > x.base; j--)
			r[j] = r[j - 1];
		r[j] = x;
	}
	size_t out = 0;
	for (size_t i = 0; i < *n; i++) {
		if (out > 0 && r[i].base <= r[out - 1].end) {
			if (r[i].end > r[out - 1].end)
				r[out - 1].end = r[i].end;
		} else {
			r[out++] = r[i];
		}
	}
	*n = out;
}

static uint64_t entry_end(const struct mb_mmap_entry *e)
{
	uint64_t end = e->base + e->len;
	return end < e->base ? UINT64_MAX : end; /* saturate on overflow */
}

size_t rt_usable_ranges(const struct mb_info *mbi, uint64_t lo, uint64_t hi,
                        const struct rt_range *excl, size_t excl_count, struct rt_range *out,
                        size_t max)
{
	size_t n = 0;
	for (uint32_t i = 0; i < mbi->mmap_count && n < max; i++) {
		const struct mb_mmap_entry *e = &mbi->mmap[i];
		if (e->type != MB_MEMORY_AVAILABLE)
			continue;
		uint64_t base = e->base > lo ? e->base : lo;
		uint64_t end = entry_end(e) < hi ? entry_end(e) : hi;
		if (base < end)
			out[n++] = (struct rt_range){base, end};
	}
	sort_and_merge(out, &n);
	for (uint32_t i = 0; i < mbi->mmap_count; i++) {
		const struct mb_mmap_entry *e = &mbi->mmap[i];
		if (e->type != MB_MEMORY_AVAILABLE)
			subtract(out, &n, max, (struct rt_range){e->base, entry_end(e)});
	}
	for (size_t i = 0; i < excl_count; i++)
		subtract(out, &n, max, excl[i]);
	sort_and_merge(out, &n);
	return n;
}
