/*
 * libiommu: DMA protection with Intel VT-d (README.md).
 *
 * One DMA domain for every device of every unit: a root table whose 256 bus
 * entries share one context table whose 256 entries all point to the same
 * second-level tables, an identity map of the RAM the caller hands in, minus
 * the ranges it protects. The `keep_out` range given at setup (the hypervisor's
 * own memory) is never mapped and cannot be unprotected.
 *
 * Boot order: iommu_setup -> iommu_map (RAM) -> iommu_protect (optional, before
 * enable costs nothing) -> iommu_enable. After enable, iommu_protect and
 * iommu_unprotect return only once every unit has completed a context-cache
 * and IOTLB invalidation: no device can use the old mapping afterwards.
 * One spinlock serialises all calls that change tables or registers.
 */
#ifndef LIBIOMMU_IOMMU_H
#define LIBIOMMU_IOMMU_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "libiommu/dmar.h"

enum iommu_error {
	IOMMU_OK = 0,
	IOMMU_ERR_NONE = -1,    /* no DMAR table or no remapping unit */
	IOMMU_ERR_TABLE = -2,   /* the DMAR table is malformed */
	IOMMU_ERR_UNIT = -3,    /* a unit libiommu cannot drive (segment, address width) */
	IOMMU_ERR_NOMEM = -4,   /* no page for a table */
	IOMMU_ERR_RANGE = -5,   /* not page aligned, or touches the keep-out range */
	IOMMU_ERR_TIMEOUT = -6, /* a unit did not complete a command */
	IOMMU_ERR_STATE = -7,   /* not set up, or already enabled */
};

/*
 * Probes the units of `dmar`, chooses the table depth every unit supports
 * (4 levels if all have SAGAW 48-bit, else 3) and 2 MiB pages if all have
 * CAP.SLLPS, builds the root and context tables, and maps every RMRR (devices
 * such as USB controllers under firmware use them) except what overlaps
 * `keep_out` (a message says so). Does not enable translation.
 */
int iommu_setup(const struct dmar_info *dmar, uint64_t keep_out_base, uint64_t keep_out_size);
/* DMA may reach [base, base+size) minus keep_out (call for each RAM range). */
int iommu_map(uint64_t base, uint64_t size);
/* Root table pointer, invalidations, translation on, unit after unit. */
int iommu_enable(void);
/* [base, base+size) (page aligned) leaves / re-enters the DMA map. */
int iommu_protect(uint64_t base, uint64_t size);
int iommu_unprotect(uint64_t base, uint64_t size);
/* The same for `n` single 4 KiB pages (physical addresses, any order) with
 * one invalidation round for all of them: how TrustVisor protects a PAL. On
 * an error the pages before the failing one are changed (and invalidated). */
int iommu_protect_pages(const uint64_t *pages, size_t n);
int iommu_unprotect_pages(const uint64_t *pages, size_t n);
/* Prints and clears the pending fault records of every unit; returns how many. */
unsigned iommu_report_faults(void);

bool iommu_enabled(void);
unsigned iommu_unit_count(void);
uint64_t iommu_unit_base(unsigned i);
/* Invalidation rounds (all units) since setup: what protect/unprotect cost. */
uint64_t iommu_invalidation_rounds(void);
const char *iommu_strerror(int err);

/* Forgets everything (host tests start each case afresh). */
void iommu_reset(void);

#endif /* LIBIOMMU_IOMMU_H */
