/*
 * libiommu's state and public calls (iommu.h): one domain, shared tables, all
 * units driven in the same way.
 */
#include "libiommu/iommu.h"

#include "hw/hw.h"
#include "hw/vtd_defs.h"
#include "libiommu/sl_pt.h"
#include "libiommu/vtd_unit.h"
#include "rt/console.h"
#include "rt/layout.h"
#include "rt/palloc.h"
#include "rt/spinlock.h"

/* Domain id of the one domain: 0 is reserved when CAP.CM is set (VT-d 9.3). */
#define IOMMU_DID 1u

struct iommu_state {
	bool set_up, enabled, coherent;
	unsigned nunits;
	struct vtd_unit unit[DMAR_MAX_UNITS];
	uint64_t root, context;
	struct slpt pt;
	uint64_t keep_base, keep_size;
	uint64_t rounds;
};
static struct iommu_state st;
static struct spinlock lock = SPINLOCK_INIT;

void iommu_reset(void)
{
	st = (struct iommu_state){0};
}

static int from_slpt(int err)
{
	return err == SLPT_OK          ? IOMMU_OK
	       : err == SLPT_ERR_NOMEM ? IOMMU_ERR_NOMEM
	                               : IOMMU_ERR_RANGE;
}

static int from_vtd(int err)
{
	return err == VTD_OK ? IOMMU_OK : err == VTD_ERR_CAPS ? IOMMU_ERR_UNIT : IOMMU_ERR_TIMEOUT;
}

/* Units whose page walks do not snoop the CPU caches (ECAP.C = 0) read the
 * tables from memory: write the caches back first (VT-d spec 6.2.1). */
static void tables_visible(void)
{
	if (!st.coherent)
		hw_wbinvd();
}

static void build_root_and_context(unsigned aw)
{
	uint64_t *root = hw_phys_ptr(st.root), *ctx = hw_phys_ptr(st.context);

	for (unsigned bus = 0; bus < 256; bus++) {
		root[2 * bus] = st.context | VTD_ENTRY_P;
		root[2 * bus + 1] = 0;
	}
	for (unsigned devfn = 0; devfn < 256; devfn++) {
		/* TT = 00: untranslated requests through the second-level tables. */
		ctx[2 * devfn] = st.pt.root | VTD_ENTRY_P;
		ctx[2 * devfn + 1] = VTD_CTX_HI_AW(aw) | VTD_CTX_HI_DID(IOMMU_DID);
	}
}

/* [base, end) minus keep_out, as at most two pieces. */
static int set_outside_keep(uint64_t base, uint64_t end, bool map)
{
	uint64_t kb = st.keep_base, ke = st.keep_base + st.keep_size;
	int err = IOMMU_OK;

	if (base < kb && base < end)
		err = from_slpt(slpt_set(&st.pt, base, (end < kb ? end : kb) - base, map));
	if (err == IOMMU_OK && end > ke && end > base) {
		uint64_t b = base > ke ? base : ke;
		err = from_slpt(slpt_set(&st.pt, b, end - b, map));
	}
	return err;
}

int iommu_setup(const struct dmar_info *dmar, uint64_t keep_out_base, uint64_t keep_out_size)
{
	bool all48 = true, large = true;
	int err;

	iommu_reset();
	if (dmar == NULL || dmar->nunits == 0)
		return IOMMU_ERR_NONE;
	st.coherent = true;
	for (unsigned i = 0; i < dmar->nunits; i++) {
		if (dmar->unit[i].segment != 0)
			return IOMMU_ERR_UNIT; /* one root table: segment 0 only */
		if ((err = vtd_unit_probe(&st.unit[i], dmar->unit[i].base)) != VTD_OK)
			return from_vtd(err);
		all48 &= (VTD_CAP_SAGAW(st.unit[i].cap) & VTD_SAGAW_48) != 0;
		large &= (st.unit[i].cap & VTD_CAP_SLLPS_2M) != 0;
		st.coherent &= (st.unit[i].ecap & VTD_ECAP_C) != 0;
	}
	/* A unit with only 4-level tables and another with only 3 cannot share them. */
	for (unsigned i = 0; i < dmar->nunits && !all48; i++)
		if (!(VTD_CAP_SAGAW(st.unit[i].cap) & VTD_SAGAW_39))
			return IOMMU_ERR_UNIT;
	st.nunits = dmar->nunits;
	st.keep_base = keep_out_base;
	st.keep_size = keep_out_size;
	if ((err = from_slpt(slpt_init(&st.pt, all48 ? 4 : 3, large))) != IOMMU_OK)
		return err;
	st.root = palloc_page();
	st.context = palloc_page();
	if (st.root == 0 || st.context == 0)
		return IOMMU_ERR_NOMEM;
	build_root_and_context(all48 ? VTD_AW_48 : VTD_AW_39);
	for (unsigned i = 0; i < dmar->nrmrrs; i++) {
		const struct dmar_rmrr *r = &dmar->rmrr[i];
		uint64_t b = r->base & ~0xfffull, e = (r->limit | 0xfffull) + 1;
		if (b < st.keep_base + st.keep_size && e > st.keep_base)
			hv_printf(
			    "hv: iommu: RMRR 0x%llx-0x%llx overlaps the hypervisor: that part "
			    "stays unmapped\n",
			    (unsigned long long)r->base, (unsigned long long)r->limit);
		if ((err = set_outside_keep(b, e, true)) != IOMMU_OK)
			return err;
	}
	st.set_up = true;
	return IOMMU_OK;
}

int iommu_map(uint64_t base, uint64_t size)
{
	if (!st.set_up)
		return IOMMU_ERR_STATE;
	uint64_t b = base & ~0xfffull, e = (base + size + 0xfff) & ~0xfffull;
	spin_lock(&lock);
	int err = e > b ? set_outside_keep(b, e, true) : IOMMU_OK;
	spin_unlock(&lock);
	return err;
}

static int invalidate_all(void)
{
	tables_visible();
	st.rounds++;
	for (unsigned i = 0; i < st.nunits; i++) {
		int err = vtd_unit_invalidate(&st.unit[i]);
		if (err != VTD_OK)
			return from_vtd(err);
	}
	return IOMMU_OK;
}

int iommu_enable(void)
{
	int err = IOMMU_OK;

	if (!st.set_up || st.enabled)
		return IOMMU_ERR_STATE;
	spin_lock(&lock);
	tables_visible();
	for (unsigned i = 0; i < st.nunits && err == IOMMU_OK; i++) {
		struct vtd_unit *u = &st.unit[i];
		if (vtd_unit_enabled(u))
			hv_printf("hv: iommu: unit 0x%llx was already translating (firmware): "
			          "taken over\n",
			          (unsigned long long)u->base);
		vtd_unit_report_faults(u); /* whatever firmware left behind */
		err = from_vtd(vtd_unit_quiet(u));
		if (err == IOMMU_OK)
			err = from_vtd(vtd_unit_set_root(u, st.root));
		if (err == IOMMU_OK)
			err = from_vtd(vtd_unit_invalidate(u));
		if (err == IOMMU_OK)
			err = from_vtd(vtd_unit_enable(u));
	}
	st.enabled = err == IOMMU_OK;
	spin_unlock(&lock);
	return err;
}

static int check_range(uint64_t base, uint64_t size, bool map)
{
	if (size == 0 || base % HV_PAGE_SIZE != 0 || size % HV_PAGE_SIZE != 0 || base + size < base)
		return IOMMU_ERR_RANGE;
	if (map && base < st.keep_base + st.keep_size && base + size > st.keep_base)
		return IOMMU_ERR_RANGE; /* the hypervisor's memory never re-enters the map */
	return IOMMU_OK;
}

/* `n` ranges of `size` at base[i] (or `base0` when base is NULL), then one
 * invalidation round; returns after it completed on every unit. */
static int change(const uint64_t *base, uint64_t base0, size_t n, uint64_t size, bool map)
{
	int err = IOMMU_OK;

	if (!st.set_up)
		return IOMMU_ERR_STATE;
	for (size_t i = 0; i < n && err == IOMMU_OK; i++)
		err = check_range(base ? base[i] : base0, size, map);
	if (err != IOMMU_OK)
		return err;
	spin_lock(&lock);
	for (size_t i = 0; i < n && err == IOMMU_OK; i++)
		err = from_slpt(slpt_set(&st.pt, base ? base[i] : base0, size, map));
	/* Even a failed change may have taken effect in part: invalidate anyway. */
	if (st.enabled) {
		int inv = invalidate_all();
		if (err == IOMMU_OK)
			err = inv;
	}
	spin_unlock(&lock);
	return err;
}

int iommu_protect(uint64_t base, uint64_t size)
{
	return change(NULL, base, 1, size, false);
}

int iommu_unprotect(uint64_t base, uint64_t size)
{
	return change(NULL, base, 1, size, true);
}

int iommu_protect_pages(const uint64_t *pages, size_t n)
{
	return n ? change(pages, 0, n, HV_PAGE_SIZE, false) : IOMMU_OK;
}

int iommu_unprotect_pages(const uint64_t *pages, size_t n)
{
	return n ? change(pages, 0, n, HV_PAGE_SIZE, true) : IOMMU_OK;
}

unsigned iommu_report_faults(void)
{
	unsigned n = 0;
	spin_lock(&lock);
	for (unsigned i = 0; i < st.nunits; i++)
		n += vtd_unit_report_faults(&st.unit[i]);
	spin_unlock(&lock);
	return n;
}

bool iommu_enabled(void)
{
	return st.enabled;
}

unsigned iommu_unit_count(void)
{
	return st.nunits;
}

uint64_t iommu_unit_base(unsigned i)
{
	return i < st.nunits ? st.unit[i].base : 0;
}

uint64_t iommu_invalidation_rounds(void)
{
	return st.rounds;
}

const char *iommu_strerror(int err)
{
	switch (err) {
	case IOMMU_OK:
		return "ok";
	case IOMMU_ERR_NONE:
		return "no DMA remapping unit";
	case IOMMU_ERR_TABLE:
		return "malformed DMAR table";
	case IOMMU_ERR_UNIT:
		return "unsupported remapping unit";
	case IOMMU_ERR_NOMEM:
		return "out of pages for DMA tables";
	case IOMMU_ERR_RANGE:
		return "bad range";
	case IOMMU_ERR_TIMEOUT:
		return "a remapping unit did not complete a command";
	case IOMMU_ERR_STATE:
		return "not set up, or already enabled";
	}
	return "unknown error";
}
