/*
 * The physical page allocator: 4 KiB pages from the ranges it is given (at
 * boot, the hypervisor region minus the image and the multiboot modules).
 *
 * A bitmap over at most PALLOC_MAX_PAGES pages in up to PALLOC_MAX_RANGES
 * ranges; one spinlock. Pages handed out are zeroed. Addresses are physical
 * (convert with hw_phys_ptr()).
 */
#ifndef RT_PALLOC_H
#define RT_PALLOC_H

#include <stddef.h>
#include <stdint.h>

#include "rt/layout.h"

#define PALLOC_MAX_PAGES  (HV_REGION_SIZE / HV_PAGE_SIZE)
#define PALLOC_MAX_RANGES 16

/*
 * Adds the whole pages inside [base, base + size). A range adjacent to the
 * previous one is merged with it (allocations may span both). Pages that
 * overlap a range already added, or beyond PALLOC_MAX_PAGES in total, are
 * refused with a console warning.
 */
void palloc_add_range(uint64_t base, uint64_t size);
/* count physically contiguous, 4 KiB-aligned, zeroed pages; 0 if none. */
uint64_t palloc_pages(size_t count);
uint64_t palloc_page(void);
/* Returns pages from palloc_pages(); freeing a page that is not allocated panics. */
void palloc_free_pages(uint64_t pa, size_t count);
size_t palloc_free_count(void);

/* Forgets every range (host tests start each case from an empty allocator). */
void palloc_reset(void);

#endif /* RT_PALLOC_H */
