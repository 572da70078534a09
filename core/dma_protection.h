/* DMA protection at boot (core/dma_protection.c, libiommu). */
#ifndef CORE_DMA_PROTECTION_H
#define CORE_DMA_PROTECTION_H

#include <stdint.h>

#include "rt/multiboot.h"

/*
 * Before anything else: if the ACPI DMAR table lists remapping units, turn
 * translation on with every firmware RAM range mapped except the hypervisor
 * region, and hide the table from the guest; else say that DMA reaches all of
 * memory. Either way one "hv: iommu: ..." line.
 */
void dma_protection_boot(const struct mb_info *mbi);
/* Takes the units' register pages out of the guest's EPT view (before launch). */
void dma_protection_hide_units(uint64_t eptp);

#endif /* CORE_DMA_PROTECTION_H */
