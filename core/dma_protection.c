/*
 * DMA protection of the hypervisor (libiommu/README.md): the hypervisor region
 * is out of every remapping unit's DMA map from before the first VM entry to
 * power-off; the guest cannot find the units (DMAR table zapped) nor reach
 * their registers (absent from its EPT view), so it cannot turn them off or
 * point them at other tables.
 */
#include "core/dma_protection.h"

#include "libiommu/iommu.h"
#include "libiommu/iommu_boot.h"
#include "libvmx/ept.h"
#include "rt/console.h"
#include "rt/layout.h"
#include "rt/panic.h"

#define MB_MMAP_RAM 1u

static struct iommu_boot_result boot;

void dma_protection_boot(const struct mb_info *mbi)
{
	static struct iommu_ram_range ram[MB_MAX_MMAP];
	unsigned n = 0;

	for (uint32_t i = 0; i < mbi->mmap_count && n < MB_MAX_MMAP; i++)
		if (mbi->mmap[i].type == MB_MMAP_RAM)
			ram[n++] = (struct iommu_ram_range){mbi->mmap[i].base, mbi->mmap[i].len};
	iommu_boot(ram, n, HV_REGION_BASE, HV_REGION_SIZE, true, &boot);
}

void dma_protection_hide_units(uint64_t eptp)
{
	for (unsigned i = 0; i < boot.dmar.nunits && boot.err == IOMMU_OK; i++) {
		const struct dmar_unit *u = &boot.dmar.unit[i];
		uint64_t len = (uint64_t)HV_PAGE_SIZE << u->size_log2;
		/* Not guest input: a unit the hypervisor drives must not stay reachable. */
		if (ept_set_page_access(eptp, u->base, len, 0) != 0)
			hv_panic("cannot hide the remapping unit at 0x%llx from the guest",
			         (unsigned long long)u->base);
	}
}
