/*
 * Boot-time DMA protection (iommu_boot.h). The keep-out range is never in the
 * map, so it is protected from the moment translation is on; before that,
 * DMA reaches everything, as it did before the hypervisor loaded.
 */
#include "libiommu/iommu_boot.h"

#include "hw/hw.h"
#include "rt/acpi_find.h"
#include "libiommu/iommu.h"
#include "rt/console.h"

static void none(struct iommu_boot_result *out, const char *why)
{
	hv_printf("hv: iommu: none - DMA can reach all of memory (%s)\n", why);
}

void iommu_boot(const struct iommu_ram_range *ram, unsigned nram, uint64_t keep_base,
                uint64_t keep_size, bool hide, struct iommu_boot_result *out)
{
	uint32_t len = 0;

	*out = (struct iommu_boot_result){.err = IOMMU_ERR_NONE};
	if (!acpi_find_table("DMAR", &out->table_pa, &len)) {
		none(out, "no ACPI DMAR table");
		return;
	}
	out->table_found = true;
	uint8_t *table = hw_phys_ptr(out->table_pa);
	int derr = dmar_parse(table, len, &out->dmar);
	if (derr != DMAR_OK) {
		out->err = IOMMU_ERR_TABLE;
		hv_printf("hv: iommu: DMAR table at 0x%llx: %s\n",
		          (unsigned long long)out->table_pa, dmar_strerror(derr));
		none(out, "unusable DMAR table");
		return;
	}
	for (unsigned i = 0; i < out->dmar.nunits; i++) {
		const struct dmar_unit *u = &out->dmar.unit[i];
		hv_printf("hv: iommu: unit %u at 0x%llx segment %u%s, %u device scope(s)\n", i,
		          (unsigned long long)u->base, u->segment,
		          u->include_all ? " (all PCI devices)" : "", u->nscopes);
	}
	for (unsigned i = 0; i < out->dmar.nrmrrs; i++)
		hv_printf("hv: iommu: RMRR 0x%llx-0x%llx stays mapped for its devices\n",
		          (unsigned long long)out->dmar.rmrr[i].base,
		          (unsigned long long)out->dmar.rmrr[i].limit);
	int err = iommu_setup(&out->dmar, keep_base, keep_size);
	for (unsigned i = 0; i < nram && err == IOMMU_OK; i++)
		err = iommu_map(ram[i].base, ram[i].size);
	if (err == IOMMU_OK)
		err = iommu_enable();
	out->err = err;
	if (err != IOMMU_OK) {
		hv_printf("hv: iommu: %s\n", iommu_strerror(err));
		none(out, "the remapping units could not be set up");
		return;
	}
	if (hide)
		dmar_hide(table);
	hv_printf("hv: iommu: %u unit(s) translating; hypervisor memory 0x%llx-0x%llx "
	          "protected from DMA%s\n",
	          iommu_unit_count(), (unsigned long long)keep_base,
	          (unsigned long long)(keep_base + keep_size - 1),
	          hide ? "; DMAR table hidden from the guest" : "");
}
