/*
 * One VT-d remapping unit through its registers (Intel VT-d spec rev. 4.x ch.
 * 10), only through hw_mmio_read/write (hw/hw.h), so hw/fake can play a unit.
 *
 * Every command waits for its completion bit (with a bound: a unit that never
 * answers gives VTD_ERR_TIMEOUT instead of a hang).
 */
#ifndef LIBIOMMU_VTD_UNIT_H
#define LIBIOMMU_VTD_UNIT_H

#include <stdbool.h>
#include <stdint.h>

struct vtd_unit {
	uint64_t base;
	uint64_t cap, ecap;
	uint32_t iotlb_off; /* ECAP.IRO: IVA register; the IOTLB register is 8 above */
	uint32_t fro, nfr;  /* fault recording registers: offset, count */
	uint64_t faults;    /* fault records reported so far */
};

enum vtd_error {
	VTD_OK = 0,
	VTD_ERR_TIMEOUT = -1, /* a command never completed */
	VTD_ERR_INVAL = -2,   /* an invalidation reported granularity 0 (not done) */
	VTD_ERR_CAPS = -3,    /* registers outside the page, or no usable address width */
};

/* Reads CAP/ECAP and where the IOTLB and fault registers are. */
int vtd_unit_probe(struct vtd_unit *u, uint64_t base);
/* Queued invalidation off (this library invalidates through registers), fault
 * interrupt masked: faults are polled (vtd_unit_report_faults). */
int vtd_unit_quiet(struct vtd_unit *u);
/* RTADDR = root (legacy-mode root table), then Set Root Table Pointer. */
int vtd_unit_set_root(struct vtd_unit *u, uint64_t root_pa);
/* Write-buffer flush if CAP.RWBF, then global context-cache invalidation, then
 * global IOTLB invalidation (drain reads and writes): returns once the unit
 * says both completed (6.5.1, the order of 6.5.3.3/6.5.3.4 for table changes). */
int vtd_unit_invalidate(struct vtd_unit *u);
int vtd_unit_enable(struct vtd_unit *u);
bool vtd_unit_enabled(const struct vtd_unit *u);
/* Prints and clears every pending fault record ("hv: iommu: DMA fault: ...");
 * returns how many there were (an overflow counts as one more). */
unsigned vtd_unit_report_faults(struct vtd_unit *u);

/* The fault reason's meaning (VT-d spec 7.1.3 / appendix A). */
const char *vtd_fault_reason(unsigned reason);

#endif /* LIBIOMMU_VTD_UNIT_H */
