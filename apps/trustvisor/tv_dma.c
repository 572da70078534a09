/*
 * TrustVisor's use of libiommu (tv_dma.h). The ordering mirrors the EPT side:
 * the pages leave the guest's EPT view and every CPU's TLBs (tv_sync_all_cpus)
 * and the IOMMU's map and caches (iommu_protect_pages returns after the
 * invalidation completed) before the PAL is READY; at unregistration the
 * scrub comes first, then DMA and the guest get the pages back.
 */
#include "apps/trustvisor/tv_dma.h"

#include "libiommu/iommu.h"
#include "rt/boot_option.h"
#include "rt/console.h"
#include "rt/string.h"

#define OPT "tv_dma"

static enum tv_dma_policy policy = TV_DMA_WARN;

void tv_dma_boot(const char *cmdline)
{
	size_t len;
	const char *v = boot_option(cmdline, OPT, &len);

	policy = TV_DMA_WARN;
	if (boot_option_is(v, len, "require"))
		policy = TV_DMA_REQUIRE;
	else if (v != NULL && !boot_option_is(v, len, "warn"))
		hv_printf("hv: tv: unknown %s= value (require or warn): warn\n", OPT);
	hv_printf("hv: tv: %sDMA protection of PALs: %s%s\n", iommu_enabled() ? "" : "warning: ",
	          iommu_enabled() ? "by the IOMMU" : "none (no IOMMU)",
	          iommu_enabled() ? ""
	          : policy == TV_DMA_REQUIRE
	              ? "; tv_dma=require: PAL registration refused"
	              : "; tv_dma=warn: PALs register, devices can read and write them");
}

enum tv_dma_policy tv_dma_policy(void)
{
	return policy;
}

int64_t tv_dma_may_register(void)
{
	if (iommu_enabled()) {
		/* Faults are polled, not interrupts: print what devices tried so far. */
		iommu_report_faults();
		return TV_OK;
	}
	/* tv_dma=warn: the boot line was the warning; nothing printed here, so
	 * the registration's cost is the same with and without an IOMMU. */
	return policy == TV_DMA_REQUIRE ? TV_ERR_NO_DMA_PROTECTION : TV_OK;
}

static size_t page_list(const struct tv_pal *pal, uint64_t *out)
{
	for (uint32_t j = 0; j < pal->npages; j++)
		out[j] = pal->page[j].hpa;
	return pal->npages;
}

int64_t tv_dma_protect_pal(const struct tv_pal *pal)
{
	uint64_t pages[TV_MAX_PAL_PAGES];

	if (!iommu_enabled())
		return TV_OK; /* tv_dma_may_register decided */
	int err = iommu_protect_pages(pages, page_list(pal, pages));
	if (err == IOMMU_OK)
		return TV_OK;
	hv_printf("hv: tv: PAL %u: DMA protection failed (%s): registration refused\n", pal->id,
	          iommu_strerror(err));
	return TV_ERR_NO_DMA_PROTECTION;
}

void tv_dma_unprotect_pal(const struct tv_pal *pal)
{
	uint64_t pages[TV_MAX_PAL_PAGES];

	if (!iommu_enabled())
		return;
	iommu_report_faults(); /* e.g. a device that tried the PAL's pages */
	int err = iommu_unprotect_pages(pages, page_list(pal, pages));
	/* Failing closed: the pages stay out of the DMA map. */
	if (err != IOMMU_OK)
		hv_printf("hv: tv: PAL %u: pages not given back to DMA (%s)\n", pal->id,
		          iommu_strerror(err));
}
