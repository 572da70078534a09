/*
 * The edu device through PCI configuration mechanism #1 (ports 0xCF8/0xCFC,
 * PCI Local Bus spec 3.0 3.2.2.3.2) and its BAR 0 registers: 0x80 source,
 * 0x88 destination, 0x90 count, 0x98 command (bit 0 run, bit 1 direction:
 * 1 = buffer to memory).
 */
#include "libiommu/qemu_test/edu.h"

#include "hw/hw.h"

#define PCI_ADDR       0xcf8u
#define PCI_DATA       0xcfcu
#define PCI_VENDOR_DEV 0x00u
#define PCI_COMMAND    0x04u
#define PCI_BAR0       0x10u
#define PCI_CMD_MEM    (1u << 1)
#define PCI_CMD_MASTER (1u << 2)
#define EDU_ID         0x11e81234u

#define EDU_DMA_SRC    0x80u
#define EDU_DMA_DST    0x88u
#define EDU_DMA_CNT    0x90u
#define EDU_DMA_CMD    0x98u
#define EDU_CMD_RUN    1u
#define EDU_CMD_TO_MEM 2u
/* The engine runs 100 ms (QEMU's virtual clock) after the command. */
#define EDU_POLL_LIMIT 200000000u

static uint32_t cfg_read(uint8_t bus, uint8_t dev, uint8_t fn, uint8_t off)
{
	hw_outl(PCI_ADDR, 0x80000000u | (uint32_t)bus << 16 | (uint32_t)dev << 11 |
	                      (uint32_t)fn << 8 | (off & 0xfcu));
	return hw_inl(PCI_DATA);
}

static void cfg_write(uint8_t bus, uint8_t dev, uint8_t fn, uint8_t off, uint32_t v)
{
	hw_outl(PCI_ADDR, 0x80000000u | (uint32_t)bus << 16 | (uint32_t)dev << 11 |
	                      (uint32_t)fn << 8 | (off & 0xfcu));
	hw_outl(PCI_DATA, v);
}

bool edu_find(struct edu *e)
{
	for (uint8_t dev = 0; dev < 32; dev++) {
		if (cfg_read(0, dev, 0, PCI_VENDOR_DEV) != EDU_ID)
			continue;
		e->bus = 0;
		e->dev = dev;
		e->fn = 0;
		e->bar0 = cfg_read(0, dev, 0, PCI_BAR0) & ~0xfull;
		uint32_t cmd = cfg_read(0, dev, 0, PCI_COMMAND) & 0xffffu;
		cfg_write(0, dev, 0, PCI_COMMAND, cmd | PCI_CMD_MEM | PCI_CMD_MASTER);
		return e->bar0 != 0;
	}
	return false;
}

static bool dma(const struct edu *e, uint64_t src, uint64_t dst, uint32_t len, uint32_t cmd)
{
	hw_mmio_write64(e->bar0 + EDU_DMA_SRC, src);
	hw_mmio_write64(e->bar0 + EDU_DMA_DST, dst);
	hw_mmio_write64(e->bar0 + EDU_DMA_CNT, len);
	hw_mmio_write64(e->bar0 + EDU_DMA_CMD, cmd | EDU_CMD_RUN);
	for (uint32_t i = 0; i < EDU_POLL_LIMIT; i++) {
		if (!(hw_mmio_read32(e->bar0 + EDU_DMA_CMD) & EDU_CMD_RUN))
			return true;
		hw_pause();
	}
	return false;
}

bool edu_dma_to_memory(const struct edu *e, uint64_t addr, uint32_t len)
{
	return dma(e, EDU_BUF_ADDR, addr, len, EDU_CMD_TO_MEM);
}

bool edu_dma_from_memory(const struct edu *e, uint64_t addr, uint32_t len)
{
	return dma(e, addr, EDU_BUF_ADDR, len, 0);
}
