/*
 * libiommu against QEMU's emulated VT-d (intel-iommu) with the edu device's
 * DMA engine: the same library the hypervisor links, on a machine where a
 * real (emulated) unit walks the tables and records faults.
 *
 * Checks, each printed as "IOMMUTEST: PASS|FAIL <what>":
 *  - a page not protected: DMA to and from it succeeds;
 *  - a protected page: DMA into it is blocked (its bytes stay), a fault is
 *    recorded; DMA out of it is blocked (the device buffer keeps its bytes);
 *  - a page used by a successful DMA, then protected: the next DMA faults
 *    (the unit's cached translation did not survive iommu_protect);
 *  - unprotect: DMA succeeds again; the hypervisor region is never reachable.
 * Ends with "IOMMUTEST: DONE pass=N fail=M" and powers off (code 0 if M == 0).
 */
#include <stdbool.h>
#include <stdint.h>

#include "hw/hw.h"
#include "libiommu/iommu.h"
#include "libiommu/iommu_boot.h"
#include "libiommu/qemu_test/edu.h"
#include "rt/boot.h"
#include "rt/console.h"
#include "rt/layout.h"
#include "rt/multiboot.h"
#include "rt/palloc.h"
#include "rt/panic.h"
#include "rt/power.h"
#include "rt/string.h"

/* Test pages at 32 MiB: RAM on a 256 MiB q35 machine, below the edu's 28-bit
 * DMA mask, away from GRUB's structures and the image. */
#define PAGE_A 0x02000000ull
#define PAGE_B 0x02001000ull
#define PAGE_C 0x02002000ull
#define PAGE_D 0x02003000ull
#define LEN    256u
#define MB_RAM 1u

static unsigned pass, fail;
static struct edu edu;

static void check(bool ok, const char *what)
{
	hv_printf("IOMMUTEST: %s %s\n", ok ? "PASS" : "FAIL", what);
	if (ok)
		pass++;
	else
		fail++;
}

static uint8_t *page(uint64_t pa)
{
	return hw_phys_ptr(pa);
}

static void fill(uint64_t pa, uint8_t seed)
{
	for (unsigned i = 0; i < LEN; i++)
		page(pa)[i] = (uint8_t)(seed + i * 7u);
}

static bool holds(uint64_t pa, uint8_t seed)
{
	for (unsigned i = 0; i < LEN; i++)
		if (page(pa)[i] != (uint8_t)(seed + i * 7u))
			return false;
	return true;
}

static bool all(uint64_t pa, uint8_t v)
{
	for (unsigned i = 0; i < LEN; i++)
		if (page(pa)[i] != v)
			return false;
	return true;
}

/* Puts the bytes of pattern `seed` into the device buffer through page C. */
static bool load_buffer(uint8_t seed)
{
	fill(PAGE_C, seed);
	return edu_dma_from_memory(&edu, PAGE_C, LEN);
}

static void run_checks(void)
{
	uint8_t *hv_page = hw_phys_ptr(palloc_page());

	/* 1. Unprotected: A -> device -> B. */
	memset(page(PAGE_B), 0, LEN);
	fill(PAGE_A, 1);
	bool ok = edu_dma_from_memory(&edu, PAGE_A, LEN) && edu_dma_to_memory(&edu, PAGE_B, LEN);
	check(ok && holds(PAGE_B, 1) && iommu_report_faults() == 0,
	      "unprotected page: DMA to and from it succeeds, no fault");

	/* 2. Protected B: the device's write is blocked. */
	check(iommu_protect(PAGE_B, HV_PAGE_SIZE) == IOMMU_OK, "iommu_protect(B)");
	memset(page(PAGE_B), 0xaa, LEN);
	ok = load_buffer(2) && edu_dma_to_memory(&edu, PAGE_B, LEN);
	check(ok && all(PAGE_B, 0xaa), "protected page: DMA write blocked, bytes unchanged");
	check(iommu_report_faults() >= 1, "protected page: the write fault was recorded");

	/* 3. Protected B: the device's read is blocked. QEMU hands a device whose
	 * read the IOMMU refused zeros (unassigned memory), so the buffer loses
	 * pattern 3 but must not hold B's bytes. */
	ok = load_buffer(3) && edu_dma_from_memory(&edu, PAGE_B, LEN) &&
	     edu_dma_to_memory(&edu, PAGE_A, LEN);
	hv_printf("IOMMUTEST: the blocked read gave the device 0x%02x 0x%02x ...\n",
	          page(PAGE_A)[0], page(PAGE_A)[1]);
	check(ok && !all(PAGE_A, 0xaa),
	      "protected page: DMA read blocked, device got no byte of it");
	check(iommu_report_faults() >= 1, "protected page: the read fault was recorded");

	/* 4. D used by a DMA (the unit caches its translation), then protected. */
	memset(page(PAGE_D), 0, LEN);
	ok = load_buffer(4) && edu_dma_to_memory(&edu, PAGE_D, LEN);
	check(ok && holds(PAGE_D, 4) && iommu_report_faults() == 0,
	      "page D: DMA succeeds before protect");
	uint64_t rounds = iommu_invalidation_rounds(), t0 = hw_rdtsc();
	int err = iommu_protect(PAGE_D, HV_PAGE_SIZE);
	uint64_t ticks = hw_rdtsc() - t0;
	hv_printf("IOMMUTEST: protect of one page: %llu TSC ticks, %llu invalidation round(s)\n",
	          (unsigned long long)ticks,
	          (unsigned long long)(iommu_invalidation_rounds() - rounds));
	memset(page(PAGE_D), 0x55, LEN);
	ok = err == IOMMU_OK && load_buffer(5) && edu_dma_to_memory(&edu, PAGE_D, LEN);
	check(ok && all(PAGE_D, 0x55) && iommu_report_faults() >= 1,
	      "protect after a successful DMA: the next DMA faults (no stale IOTLB entry)");

	/* 5. Unprotect B: DMA reaches it again. */
	ok = iommu_unprotect(PAGE_B, HV_PAGE_SIZE) == IOMMU_OK && load_buffer(6) &&
	     edu_dma_to_memory(&edu, PAGE_B, LEN);
	check(ok && holds(PAGE_B, 6) && iommu_report_faults() == 0,
	      "unprotect: DMA to the page succeeds again");

	/* 6. The hypervisor region: never in the map, cannot be unprotected. */
	memset(hv_page, 0x33, LEN);
	ok = load_buffer(7) && edu_dma_to_memory(&edu, hw_ptr_phys(hv_page), LEN);
	check(ok && all(hw_ptr_phys(hv_page), 0x33) && iommu_report_faults() >= 1,
	      "hypervisor region: DMA write blocked, fault recorded");
	check(iommu_unprotect(hw_ptr_phys(hv_page), HV_PAGE_SIZE) == IOMMU_ERR_RANGE,
	      "hypervisor region: unprotect refused");
}

void hv_main(const struct mb_info *mbi)
{
	struct iommu_ram_range ram[MB_MAX_MMAP];
	unsigned n = 0;

	for (uint32_t i = 0; i < mbi->mmap_count && n < MB_MAX_MMAP; i++)
		if (mbi->mmap[i].type == MB_RAM)
			ram[n++] = (struct iommu_ram_range){mbi->mmap[i].base, mbi->mmap[i].len};
	struct iommu_boot_result br;
	iommu_boot(ram, n, HV_REGION_BASE, HV_REGION_SIZE, false, &br);
	check(br.err == IOMMU_OK && iommu_enabled(), "DMAR table found, translation on");
	if (br.err == IOMMU_OK) {
		if (edu_find(&edu)) {
			hv_printf("IOMMUTEST: edu at 00:%02x.%u, BAR0 0x%llx\n", edu.dev, edu.fn,
			          (unsigned long long)edu.bar0);
			run_checks();
		} else {
			check(false, "edu device found on bus 0");
		}
	}
	hv_printf("IOMMUTEST: DONE pass=%u fail=%u\n", pass, fail);
	hv_power_off(fail == 0 ? 0 : 1);
}

void hv_ap_main(uint32_t cpu)
{
	hv_panic("the iommu test kernel starts no APs (CPU %u)", cpu);
}
