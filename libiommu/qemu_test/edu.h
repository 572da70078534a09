/*
 * QEMU's `edu` educational PCI device (QEMU docs/specs/edu.rst): a 4 KiB
 * buffer inside the device at device address 0x40000 and a DMA engine that
 * copies between it and memory through the platform IOMMU.
 */
#ifndef LIBIOMMU_QEMU_TEST_EDU_H
#define LIBIOMMU_QEMU_TEST_EDU_H

#include <stdbool.h>
#include <stdint.h>

#define EDU_BUF_ADDR 0x40000u
#define EDU_BUF_SIZE 4096u

struct edu {
	uint8_t bus, dev, fn;
	uint64_t bar0; /* the MMIO registers */
};

/* Finds the first edu (1234:11e8) on bus 0 and turns on memory decoding and
 * bus mastering; false if there is none. */
bool edu_find(struct edu *e);
/* One DMA of `len` bytes between memory at `addr` and the device buffer, in
 * the given direction; waits until the engine is idle again (false if it never
 * was: the engine is stuck). A DMA the IOMMU blocks still completes: the
 * device sees the error, memory or buffer stays unchanged. */
bool edu_dma_to_memory(const struct edu *e, uint64_t addr, uint32_t len);
bool edu_dma_from_memory(const struct edu *e, uint64_t addr, uint32_t len);

#endif /* LIBIOMMU_QEMU_TEST_EDU_H */
