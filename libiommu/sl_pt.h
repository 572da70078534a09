/*
 * Second-level (DMA) page tables (Intel VT-d spec rev. 4.x 3.6, 9.8): an
 * identity map of DMA addresses to physical addresses, read/write or absent,
 * in 4 KiB pages and, where the units allow it (CAP.SLLPS), 2 MiB pages.
 * Tables come from the hypervisor's page allocator (rt/palloc.h), so they sit
 * in the hypervisor region, which no device can reach.
 */
#ifndef LIBIOMMU_SL_PT_H
#define LIBIOMMU_SL_PT_H

#include <stdbool.h>
#include <stdint.h>

struct slpt {
	uint64_t root;   /* physical address of the top table */
	unsigned levels; /* 3 (39-bit DMA addresses) or 4 (48-bit) */
	bool large;      /* 2 MiB leaves allowed */
	uint64_t tables; /* pages used, the root included */
};

enum slpt_error {
	SLPT_OK = 0,
	SLPT_ERR_NOMEM = -1, /* the page allocator is empty */
	SLPT_ERR_RANGE = -2, /* not 4 KiB aligned, empty, or beyond the address width */
};

int slpt_init(struct slpt *t, unsigned levels, bool large);
/*
 * [base, base + size) becomes read/write (`map`) or absent (!map). A 2 MiB
 * leaf that the range cuts is split into 4 KiB leaves first; tables are never
 * freed, so protecting and unprotecting the same pages again allocates
 * nothing. On SLPT_ERR_NOMEM the part already done stays done.
 */
int slpt_set(struct slpt *t, uint64_t base, uint64_t size, bool map);
/* The leaf entry translating `addr` (0 if absent) and its level (1 = 4 KiB). */
uint64_t slpt_leaf(const struct slpt *t, uint64_t addr, unsigned *level);

#endif /* LIBIOMMU_SL_PT_H */
