/*
 * Fake hardware: VT-d DMA-remapping units (Intel VT-d spec rev. 4.x). Enough of
 * a unit for libiommu's host tests: the register page (10.4), root-table
 * latching and translation enable (10.4.4-10.4.6), register-based context-cache
 * and IOTLB invalidation (6.5.1, 10.4.7, 10.4.8), second-level translation of
 * untranslated requests (3.6, 9.8) behind a context cache and an IOTLB, and
 * primary fault logging (7.2.1, 10.4.14). Commands take `latency` reads of
 * their status register, and caches empty only when an invalidation
 * completes, so code that does not wait or does not invalidate is caught.
 */
#include <stdlib.h>
#include <string.h>

#include "hw/fake/fake_internal.h"

static struct fake_vtd_unit units[FAKE_VTD_MAX_UNITS];
static size_t nunits;
static fake_hook_fn inval_hook;
static void *inval_hook_arg;

#define REG(u, off)   ((u)->regs[(off) / 4])
#define GSTS_RTPS     VTD_GCMD_SRTP /* same positions as the commands */
#define CCMD_HI_ICC   (1u << 31)
#define CCMD_HI_CAIG  (1u << 27) /* CAIG = 01: global, bits 60:59 */
#define IOTLB_HI_IVT  (1u << 31)
#define IOTLB_HI_IAIG (1u << 25) /* IAIG = 01: global, bits 58:57 */

void fake_vtd_reset(void)
{
	memset(units, 0, sizeof(units));
	nunits = 0;
	inval_hook = NULL;
	inval_hook_arg = NULL;
}

static uint64_t cap_of(const struct fake_vtd_unit *u)
{
	return REG(u, VTD_REG_CAP) | ((uint64_t)REG(u, VTD_REG_CAP + 4) << 32);
}

static uint64_t ecap_of(const struct fake_vtd_unit *u)
{
	return REG(u, VTD_REG_ECAP) | ((uint64_t)REG(u, VTD_REG_ECAP + 4) << 32);
}

struct fake_vtd_unit *fake_vtd_add(uint64_t base, uint64_t cap, uint64_t ecap)
{
	fake_lock();
	if (nunits == FAKE_VTD_MAX_UNITS || base % VTD_REG_PAGE != 0)
		abort();
	struct fake_vtd_unit *u = &units[nunits++];
	memset(u, 0, sizeof(*u));
	u->base = base;
	u->latency = 2;
	REG(u, VTD_REG_VER) = 0x10; /* 1.0 */
	REG(u, VTD_REG_CAP) = (uint32_t)cap;
	REG(u, VTD_REG_CAP + 4) = (uint32_t)(cap >> 32);
	REG(u, VTD_REG_ECAP) = (uint32_t)ecap;
	REG(u, VTD_REG_ECAP + 4) = (uint32_t)(ecap >> 32);
	if (VTD_CAP_FRO(cap) + VTD_CAP_NFR(cap) * VTD_FRCD_LEN > VTD_REG_PAGE ||
	    VTD_ECAP_IRO(ecap) + 16 > VTD_REG_PAGE)
		abort(); /* registers beyond the modelled page */
	fake_unlock();
	return u;
}

struct fake_vtd_unit *fake_vtd_get(uint64_t base)
{
	for (size_t i = 0; i < nunits; i++)
		if (units[i].base == base)
			return &units[i];
	return NULL;
}

void fake_vtd_set_latency(uint64_t base, uint32_t reads)
{
	fake_lock();
	struct fake_vtd_unit *u = fake_vtd_get(base);
	if (u == NULL || reads == 0)
		abort();
	u->latency = reads;
	fake_unlock();
}

void fake_vtd_set_inval_hook(fake_hook_fn fn, void *arg)
{
	fake_lock();
	inval_hook = fn;
	inval_hook_arg = arg;
	fake_unlock();
}

static struct fake_vtd_unit *unit_at(uint64_t pa, uint32_t *off)
{
	for (size_t i = 0; i < nunits; i++) {
		if (pa >= units[i].base && pa < units[i].base + VTD_REG_PAGE) {
			*off = (uint32_t)(pa - units[i].base) & ~3u;
			return &units[i];
		}
	}
	return NULL;
}

static bool busy(const struct fake_vtd_unit *u)
{
	return u->gsts_left != 0 || u->ccmd_left != 0 || u->iotlb_left != 0;
}

static void run_inval_hook(void)
{
	if (inval_hook != NULL)
		inval_hook(inval_hook_arg);
}

/* One read of a status register: the command completes on the last one. */
static bool tick(uint32_t *left)
{
	if (*left == 0)
		return false;
	return --*left == 0;
}

bool fake_vtd_mmio_read32(uint64_t pa, uint32_t *v)
{
	uint32_t off;
	struct fake_vtd_unit *u = unit_at(pa, &off);
	if (u == NULL)
		return false;
	uint32_t iotlb_hi = VTD_ECAP_IRO(ecap_of(u)) + VTD_REG_IOTLB + 4;
	if (off == VTD_REG_GSTS && tick(&u->gsts_left)) {
		if ((u->gsts_pending & GSTS_RTPS) && !(REG(u, VTD_REG_GSTS) & GSTS_RTPS)) {
			u->root_latched =
			    REG(u, VTD_REG_RTADDR) | ((uint64_t)REG(u, VTD_REG_RTADDR + 4) << 32);
			u->root_set = true;
		}
		REG(u, VTD_REG_GSTS) = u->gsts_pending;
	} else if (off == VTD_REG_CCMD + 4 && tick(&u->ccmd_left)) {
		memset(u->ctx, 0, sizeof(u->ctx));
		u->cc_invalidations++;
		REG(u, off) = (REG(u, off) & ~CCMD_HI_ICC & ~(3u << 27)) | CCMD_HI_CAIG;
		*v = REG(u, off);
		run_inval_hook();
		return true;
	} else if (off == iotlb_hi && tick(&u->iotlb_left)) {
		memset(u->iotlb, 0, sizeof(u->iotlb));
		u->iotlb_invalidations++;
		REG(u, off) = (REG(u, off) & ~IOTLB_HI_IVT & ~(3u << 25)) | IOTLB_HI_IAIG;
		*v = REG(u, off);
		run_inval_hook();
		return true;
	}
	*v = REG(u, off);
	return true;
}

static void recompute_ppf(struct fake_vtd_unit *u)
{
	unsigned fro = VTD_CAP_FRO(cap_of(u)), nfr = VTD_CAP_NFR(cap_of(u));
	bool any = false;

	for (unsigned i = 0; i < nfr; i++)
		any |= (REG(u, fro + i * VTD_FRCD_LEN + 12) & (1u << 31)) != 0;
	if (any)
		REG(u, VTD_REG_FSTS) |= VTD_FSTS_PPF;
	else
		REG(u, VTD_REG_FSTS) &= ~VTD_FSTS_PPF;
}

static void write_gcmd(struct fake_vtd_unit *u, uint32_t v)
{
	uint32_t status = REG(u, VTD_REG_GSTS);

	u->gcmd_writes++;
	if (busy(u))
		u->cmd_while_busy++;
	if (v & VTD_GCMD_WBF)
		u->wbf_flushes++;
	if ((v & VTD_GCMD_TE) && !(status & VTD_GCMD_TE) && !u->root_set)
		u->te_without_root++;
	/* States follow the command bits; RTPS is set by SRTP and stays. */
	status = (status & ~(VTD_GCMD_TE | VTD_GCMD_QIE)) | (v & (VTD_GCMD_TE | VTD_GCMD_QIE));
	if (v & VTD_GCMD_SRTP)
		status |= GSTS_RTPS;
	u->gsts_pending = status;
	if (v & VTD_GCMD_SRTP)
		REG(u, VTD_REG_GSTS) &= ~GSTS_RTPS; /* shows set again once latched */
	u->gsts_left = u->latency;
}

bool fake_vtd_mmio_write32(uint64_t pa, uint32_t v)
{
	uint32_t off;
	struct fake_vtd_unit *u = unit_at(pa, &off);

	if (u == NULL)
		return false;
	uint64_t cap = cap_of(u);
	uint32_t iotlb_hi = VTD_ECAP_IRO(ecap_of(u)) + VTD_REG_IOTLB + 4;
	uint32_t fro = VTD_CAP_FRO(cap), frend = fro + VTD_CAP_NFR(cap) * VTD_FRCD_LEN;

	if (off < VTD_REG_GCMD || off == VTD_REG_GSTS)
		return true; /* VER, CAP, ECAP, GSTS: read-only */
	if (off == VTD_REG_GCMD) {
		write_gcmd(u, v);
	} else if (off == VTD_REG_CCMD + 4 || off == iotlb_hi) {
		REG(u, off) = v;
		if (v & (1u << 31)) {
			if (busy(u))
				u->cmd_while_busy++;
			*(off == iotlb_hi ? &u->iotlb_left : &u->ccmd_left) = u->latency;
		}
	} else if (off == VTD_REG_FSTS) {
		REG(u, off) &= ~(v & VTD_FSTS_PFO); /* write 1 to clear */
	} else if (off >= fro && off < frend && (off - fro) % VTD_FRCD_LEN == 12) {
		REG(u, off) &= ~(v & (1u << 31)); /* F: write 1 to clear */
		recompute_ppf(u);
	} else if (off >= fro && off < frend) {
		/* the rest of a fault record is read-only */
	} else {
		REG(u, off) = v;
	}
	return true;
}

/* ---- DMA ---- */

static uint64_t rd64(uint64_t pa)
{
	uint64_t v;
	memcpy(&v, hw_phys_ptr(pa), sizeof(v));
	return v;
}

static struct fake_vtd_dma_result fault(struct fake_vtd_unit *u, uint16_t sid, uint64_t iova,
                                        bool write, uint8_t reason)
{
	uint64_t cap = cap_of(u);
	unsigned fro = VTD_CAP_FRO(cap), nfr = VTD_CAP_NFR(cap);
	uint32_t fsts = REG(u, VTD_REG_FSTS);

	u->dma_faults++;
	if (!(fsts & VTD_FSTS_PFO)) {
		/* The next record after the last one written; a full one overflows. */
		unsigned idx = u->frcd_next % nfr;
		uint32_t rec = fro + idx * VTD_FRCD_LEN;
		if (REG(u, rec + 12) & (1u << 31)) {
			REG(u, VTD_REG_FSTS) |= VTD_FSTS_PFO;
		} else {
			uint64_t lo = VTD_FRCD_LO_ADDR(iova);
			uint64_t hi = VTD_FRCD_HI_F | ((uint64_t)reason << 32) | sid;
			if (!write)
				hi |= VTD_FRCD_HI_T;
			REG(u, rec) = (uint32_t)lo;
			REG(u, rec + 4) = (uint32_t)(lo >> 32);
			REG(u, rec + 8) = (uint32_t)hi;
			REG(u, rec + 12) = (uint32_t)(hi >> 32);
			if (!(fsts & VTD_FSTS_PPF))
				fsts = (fsts & ~0xff00u) | (idx << 8); /* FRI: first pending */
			u->frcd_next = (idx + 1) % nfr;
			REG(u, VTD_REG_FSTS) = fsts | VTD_FSTS_PPF;
		}
	}
	return (struct fake_vtd_dma_result){.ok = false, .reason = reason};
}

/* Context entry of `sid` from the cache or the tables; 0 or a fault reason. */
static uint8_t context_of(struct fake_vtd_unit *u, uint16_t sid, size_t *slot)
{
	for (size_t i = 0; i < FAKE_VTD_CTX_CACHE; i++) {
		if (u->ctx[i].valid && u->ctx[i].sid == sid) {
			*slot = i;
			return 0;
		}
	}
	uint64_t root = rd64(u->root_latched + (uint64_t)(sid >> 8) * 16);
	if (!(root & VTD_ENTRY_P))
		return 1;
	uint64_t ce = (root & VTD_ADDR_MASK) + (uint64_t)(sid & 0xff) * 16;
	uint64_t lo = rd64(ce), hi = rd64(ce + 8);
	if (!(lo & VTD_ENTRY_P))
		return 2;
	unsigned aw = (unsigned)(hi & 7u);
	if (((lo >> VTD_CTX_TT_SHIFT) & 3u) != 0 || (aw != VTD_AW_39 && aw != VTD_AW_48) ||
	    !(VTD_CAP_SAGAW(cap_of(u)) & (1u << aw)))
		return 3;
	size_t i = u->ctx_next++ % FAKE_VTD_CTX_CACHE;
	u->ctx[i].valid = true;
	u->ctx[i].sid = sid;
	u->ctx[i].did = (uint16_t)(hi >> 8);
	u->ctx[i].aw = (uint8_t)aw;
	u->ctx[i].slptptr = lo & VTD_ADDR_MASK;
	*slot = i;
	return 0;
}

struct fake_vtd_dma_result fake_vtd_dma(uint64_t base, uint16_t sid, uint64_t iova, bool write)
{
	fake_lock();
	struct fake_vtd_unit *u = fake_vtd_get(base);
	struct fake_vtd_dma_result res = {.ok = true, .pa = iova};
	size_t c;
	uint8_t reason;

	if (u == NULL)
		abort();
	if (!(REG(u, VTD_REG_GSTS) & VTD_GCMD_TE)) {
		u->dma_ok++; /* translation off: the request goes straight to memory */
		goto out;
	}
	if ((reason = context_of(u, sid, &c)) != 0) {
		res = fault(u, sid, iova, write, reason);
		goto out;
	}
	unsigned levels = u->ctx[c].aw + 2u;
	if (iova >> (12 + 9 * levels) != 0) {
		res = fault(u, sid, iova, write, 4);
		goto out;
	}
	uint64_t page = iova >> 12;
	size_t t;
	for (t = 0; t < FAKE_VTD_IOTLB; t++)
		if (u->iotlb[t].valid && u->iotlb[t].did == u->ctx[c].did &&
		    u->iotlb[t].page == page)
			break;
	if (t < FAKE_VTD_IOTLB) {
		u->iotlb_hits++;
	} else {
		uint64_t table = u->ctx[c].slptptr, pa = 0;
		bool r = true, w = true, found = false;
		for (unsigned level = levels; level >= 1 && !found; level--) {
			unsigned shift = 12 + 9 * (level - 1);
			uint64_t e = rd64(table + ((iova >> shift) & 511) * 8);
			if (!(e & (VTD_SL_R | VTD_SL_W))) {
				res = fault(u, sid, iova, write, write ? 5 : 6);
				goto out;
			}
			r &= (e & VTD_SL_R) != 0;
			w &= (e & VTD_SL_W) != 0;
			if (level == 1 || (e & VTD_SL_PS)) {
				if (level > 2 || (level == 2 && !(cap_of(u) & VTD_CAP_SLLPS_2M))) {
					res = fault(u, sid, iova, write, 0xc);
					goto out;
				}
				uint64_t mask = (1ull << shift) - 1;
				pa = ((e & VTD_ADDR_MASK) & ~mask) | (iova & mask);
				found = true;
			}
			table = e & VTD_ADDR_MASK;
		}
		t = u->iotlb_next++ % FAKE_VTD_IOTLB;
		u->iotlb[t].valid = true;
		u->iotlb[t].did = u->ctx[c].did;
		u->iotlb[t].page = page;
		u->iotlb[t].pa_page = pa >> 12;
		u->iotlb[t].r = r;
		u->iotlb[t].w = w;
	}
	if (write ? !u->iotlb[t].w : !u->iotlb[t].r) {
		res = fault(u, sid, iova, write, write ? 5 : 6);
		goto out;
	}
	res.pa = (u->iotlb[t].pa_page << 12) | (iova & 0xfff);
	u->dma_ok++;
out:
	fake_unlock();
	return res;
}
