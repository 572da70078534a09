/*
 * TrustVisor and DMA (tv_dma.c): a PAL's pages leave the IOMMU's DMA map
 * before the PAL is callable and come back only after they are scrubbed.
 * Without an IOMMU the boot-line policy decides: tv_dma=warn (default) lets
 * PALs register (the warning is printed once, at boot), tv_dma=require
 * refuses them.
 */
#ifndef APPS_TRUSTVISOR_TV_DMA_H
#define APPS_TRUSTVISOR_TV_DMA_H

#include <stdint.h>

#include "apps/trustvisor/tv_internal.h"

enum tv_dma_policy { TV_DMA_WARN = 0, TV_DMA_REQUIRE = 1 };

/* The policy from the hypervisor's command line ("tv_dma=require|warn"; any
 * other value or none: warn, with a message for an unknown value). */
void tv_dma_boot(const char *cmdline);
enum tv_dma_policy tv_dma_policy(void);
/* At the start of registration: TV_ERR_NO_DMA_PROTECTION if the policy
 * requires DMA protection and no IOMMU translates; TV_OK otherwise. */
int64_t tv_dma_may_register(void);
/* After the all-CPU sync, before the PAL becomes callable: every page of the
 * PAL out of the DMA map, invalidation completed. TV_ERR_NO_DMA_PROTECTION if
 * the IOMMU failed (the caller undoes the registration). */
int64_t tv_dma_protect_pal(const struct tv_pal *pal);
/* After the scrub: the pages back in the DMA map. */
void tv_dma_unprotect_pal(const struct tv_pal *pal);

#endif /* APPS_TRUSTVISOR_TV_DMA_H */
