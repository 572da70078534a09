/*
 * Which physical memory the hypervisor may use: RAM (per the multiboot memory
 * map) inside a window, minus ranges that are taken. rt/boot.c feeds the
 * result to the page allocator; pure C so the host tests can check it.
 */
#ifndef RT_MEMMAP_H
#define RT_MEMMAP_H

#include <stddef.h>
#include <stdint.h>

#include "rt/multiboot.h"

struct rt_range {
	uint64_t base;
	uint64_t end; /* exclusive */
};

/*
 * Writes to out (sorted, disjoint, merged) the parts of [lo, hi) that an
 * available (type 1) mmap entry covers, that no other mmap entry covers
 * (overlapping entries: reserved wins), and that no range in excl overlaps.
 * Returns the number of ranges; if more than max would be needed, the extra
 * ranges are left out (less memory, never wrong memory).
 */
size_t rt_usable_ranges(const struct mb_info *mbi, uint64_t lo, uint64_t hi,
                        const struct rt_range *excl, size_t excl_count, struct rt_range *out,
                        size_t max);

#endif /* RT_MEMMAP_H */
