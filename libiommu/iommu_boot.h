/*
 * The boot-time sequence both apps (and the QEMU test kernel) run: find the
 * DMAR table, set up every unit with the RAM of the boot memory map minus the
 * hypervisor's region, turn translation on, and hide the table from the guest.
 */
#ifndef LIBIOMMU_IOMMU_BOOT_H
#define LIBIOMMU_IOMMU_BOOT_H

#include <stdbool.h>
#include <stdint.h>

#include "libiommu/dmar.h"

struct iommu_ram_range {
	uint64_t base, size;
};

struct iommu_boot_result {
	int err;           /* enum iommu_error; IOMMU_ERR_NONE: no DMAR or no unit */
	bool table_found;  /* a DMAR table was there */
	uint64_t table_pa; /* where (hidden afterwards if `hide`) */
	struct dmar_info dmar;
};

/*
 * Prints one line either way: "hv: iommu: N unit(s) ..., hypervisor memory
 * protected from DMA" or "hv: iommu: none - DMA can reach all of memory" (and
 * why, if a table was there but unusable). With `hide`, a DMAR table that was
 * used is zapped (dmar_hide) so the guest does not find it.
 */
void iommu_boot(const struct iommu_ram_range *ram, unsigned nram, uint64_t keep_base,
                uint64_t keep_size, bool hide, struct iommu_boot_result *out);

#endif /* LIBIOMMU_IOMMU_BOOT_H */
