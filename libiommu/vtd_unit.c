/*
 * Register-level operations on one remapping unit (Intel VT-d spec rev. 4.x
 * 10.4). GCMD is written as (GSTS & VTD_GSTS_KEEP) | command, so one write
 * changes one thing (10.4.4), and each command is followed by polling its
 * status bit.
 */
#include "libiommu/vtd_unit.h"

#include "hw/hw.h"
#include "hw/vtd_defs.h"
#include "rt/console.h"

/* Hardware completes these in microseconds; the bound only turns a dead unit
 * into an error. */
#define POLL_LIMIT 10000000u
#define GSTS_WBFS  VTD_GCMD_WBF

static uint32_t rd32(const struct vtd_unit *u, uint32_t off)
{
	return hw_mmio_read32(u->base + off);
}

static uint64_t rd64(const struct vtd_unit *u, uint32_t off)
{
	return hw_mmio_read64(u->base + off);
}

int vtd_unit_probe(struct vtd_unit *u, uint64_t base)
{
	*u = (struct vtd_unit){.base = base};
	u->cap = rd64(u, VTD_REG_CAP);
	u->ecap = rd64(u, VTD_REG_ECAP);
	u->iotlb_off = VTD_ECAP_IRO(u->ecap);
	u->fro = VTD_CAP_FRO(u->cap);
	u->nfr = VTD_CAP_NFR(u->cap);
	if (u->iotlb_off + 16 > VTD_REG_PAGE || u->fro + u->nfr * VTD_FRCD_LEN > VTD_REG_PAGE ||
	    !(VTD_CAP_SAGAW(u->cap) & (VTD_SAGAW_39 | VTD_SAGAW_48)))
		return VTD_ERR_CAPS;
	return VTD_OK;
}

/* GCMD with `bit` set or cleared; waits until GSTS shows (status & want_mask) == want. */
static int gcmd(struct vtd_unit *u, uint32_t bit, bool on, uint32_t mask, uint32_t want)
{
	uint32_t v = rd32(u, VTD_REG_GSTS) & VTD_GSTS_KEEP;

	hw_mmio_write32(u->base + VTD_REG_GCMD, on ? v | bit : v & ~bit);
	for (uint32_t i = 0; i < POLL_LIMIT; i++) {
		if ((rd32(u, VTD_REG_GSTS) & mask) == want)
			return VTD_OK;
		hw_pause();
	}
	return VTD_ERR_TIMEOUT;
}

/* Waits for bit 63 of a 64-bit command register to clear; returns the register. */
static int wait_clear63(struct vtd_unit *u, uint32_t off, uint64_t *value)
{
	for (uint32_t i = 0; i < POLL_LIMIT; i++) {
		/* The command bit is in the high dword (10.2: dword reads are allowed). */
		if (!(rd32(u, off + 4) & (1u << 31))) {
			*value = rd64(u, off);
			return VTD_OK;
		}
		hw_pause();
	}
	return VTD_ERR_TIMEOUT;
}

int vtd_unit_quiet(struct vtd_unit *u)
{
	hw_mmio_write32(u->base + VTD_REG_FECTL, VTD_FECTL_IM);
	if (rd32(u, VTD_REG_GSTS) & VTD_GCMD_QIE)
		return gcmd(u, VTD_GCMD_QIE, false, VTD_GCMD_QIE, 0);
	return VTD_OK;
}

int vtd_unit_set_root(struct vtd_unit *u, uint64_t root_pa)
{
	hw_mmio_write64(u->base + VTD_REG_RTADDR, root_pa);
	return gcmd(u, VTD_GCMD_SRTP, true, VTD_GCMD_SRTP, VTD_GCMD_SRTP);
}

int vtd_unit_invalidate(struct vtd_unit *u)
{
	uint64_t v;
	int err;

	if (u->cap & VTD_CAP_RWBF) {
		err = gcmd(u, VTD_GCMD_WBF, true, GSTS_WBFS, 0);
		if (err != VTD_OK)
			return err;
	}
	hw_mmio_write64(u->base + VTD_REG_CCMD, VTD_CCMD_ICC | VTD_CCMD_CIRG_GLOBAL);
	if ((err = wait_clear63(u, VTD_REG_CCMD, &v)) != VTD_OK)
		return err;
	if (VTD_CCMD_CAIG(v) == 0)
		return VTD_ERR_INVAL;
	hw_mmio_write64(u->base + u->iotlb_off + VTD_REG_IOTLB,
	                VTD_IOTLB_IVT | VTD_IOTLB_IIRG_GLOBAL | VTD_IOTLB_DR | VTD_IOTLB_DW);
	if ((err = wait_clear63(u, u->iotlb_off + VTD_REG_IOTLB, &v)) != VTD_OK)
		return err;
	return VTD_IOTLB_IAIG(v) == 0 ? VTD_ERR_INVAL : VTD_OK;
}

int vtd_unit_enable(struct vtd_unit *u)
{
	return gcmd(u, VTD_GCMD_TE, true, VTD_GCMD_TE, VTD_GCMD_TE);
}

bool vtd_unit_enabled(const struct vtd_unit *u)
{
	return (rd32(u, VTD_REG_GSTS) & VTD_GCMD_TE) != 0;
}

unsigned vtd_unit_report_faults(struct vtd_unit *u)
{
	uint32_t fsts = rd32(u, VTD_REG_FSTS);
	unsigned n = 0;

	if (fsts & VTD_FSTS_PPF) {
		/* From the first pending record on, while records are pending (10.4.14). */
		for (unsigned k = 0, i = VTD_FSTS_FRI(fsts) % u->nfr; k < u->nfr;
		     k++, i = (i + 1) % u->nfr) {
			uint32_t off = u->fro + i * VTD_FRCD_LEN;
			uint64_t hi = rd64(u, off + 8);
			if (!(hi & VTD_FRCD_HI_F))
				break;
			uint64_t addr = VTD_FRCD_LO_ADDR(rd64(u, off));
			unsigned sid = VTD_FRCD_HI_SID(hi), reason = VTD_FRCD_HI_FR(hi);
			hv_printf(
			    "hv: iommu: DMA fault: unit 0x%llx device %02x:%02x.%u %s 0x%llx: "
			    "reason 0x%x (%s)\n",
			    (unsigned long long)u->base, sid >> 8, (sid >> 3) & 0x1f, sid & 7,
			    (hi & VTD_FRCD_HI_T) ? "read of" : "write to", (unsigned long long)addr,
			    reason, vtd_fault_reason(reason));
			hw_mmio_write32(u->base + off + 12, 1u << 31); /* F: write 1 to clear */
			n++;
		}
	}
	if (fsts & VTD_FSTS_PFO) {
		hv_printf("hv: iommu: unit 0x%llx: fault records overflowed, later faults lost\n",
		          (unsigned long long)u->base);
		hw_mmio_write32(u->base + VTD_REG_FSTS, VTD_FSTS_PFO);
		n++;
	}
	u->faults += n;
	return n;
}

const char *vtd_fault_reason(unsigned reason)
{
	static const char *const names[] = {
	    [0x1] = "root entry not present",
	    [0x2] = "context entry not present",
	    [0x3] = "invalid context entry",
	    [0x4] = "address beyond the address width",
	    [0x5] = "write to a page without write permission",
	    [0x6] = "read of a page without read permission",
	    [0x7] = "error reading a second-level paging entry",
	    [0x8] = "error reading the root entry",
	    [0x9] = "error reading the context entry",
	    [0xa] = "reserved bits set in the root entry",
	    [0xb] = "reserved bits set in the context entry",
	    [0xc] = "reserved bits set in a second-level paging entry",
	    [0xd] = "translation request blocked by the context entry",
	};
	if (reason < sizeof(names) / sizeof(names[0]) && names[reason] != NULL)
		return names[reason];
	return "other (see the VT-d spec, fault reasons)";
}
