/*
 * Extended page tables: building the guest's identity map, views, permissions.
 * Entry formats: SDM Vol. 3C 29.3.2 (the EPT entry format tables); EPTP: 25.6.11.
 */
#include "libvmx/ept.h"

#include "hw/hw.h"
#include "libvmx/e820.h"
#include "rt/console.h"
#include "rt/layout.h"
#include "rt/palloc.h"
#include "rt/spinlock.h"

/* Entry bits (SDM Vol. 3C 29.3.2) are hw/vmx_defs.h's EPT_*; the capability bits
 * (IA32_VMX_EPT_VPID_CAP, SDM Vol. 3D A.10) its VMX_EPT_CAP_*. */
#define E_MT_SHIFT EPT_MEMTYPE_SHIFT
#define E_MT_MASK  (7ull << E_MT_SHIFT)
#define E_IPAT     EPT_IGNORE_PAT
#define E_LARGE    EPT_LARGE_PAGE /* PDE maps a 2 MiB page */
/* Bit 11 is ignored by the CPU in every EPT entry format; every leaf this file
 * writes has it, so a leaf with no permissions left (and maybe address 0 and type
 * UC) still differs from an empty slot (the hypervisor region, or unmapped). */
#define E_SW_LEAF   (1ull << 11)
#define E_ADDR_MASK EPT_ADDR_MASK

/* EPTP (SDM Vol. 3C 25.6.11): bits 2:0 memory type, 5:3 walk length - 1. */
#define EPTP_ADDR_MASK EPT_ADDR_MASK

#define ENTRIES   512u
#define GPA_LIMIT (1ull << 48) /* what a 4-level walk translates */
#define FOUR_GIB  (1ull << 32)

static struct spinlock ept_lock = SPINLOCK_INIT;
static uint64_t ept_caps;

static uint64_t *table(uint64_t pa)
{
	return hw_phys_ptr(pa & E_ADDR_MASK);
}

static unsigned index_at(uint64_t gpa, unsigned level) /* level 4 = PML4 ... 1 = PT */
{
	return (unsigned)(gpa >> (12 + 9 * (level - 1))) & (ENTRIES - 1);
}

static uint64_t leaf(uint64_t hpa, unsigned rwx, unsigned memtype)
{
	return (hpa & E_ADDR_MASK) | ((uint64_t)memtype << E_MT_SHIFT) | E_SW_LEAF |
	       (rwx & EPT_RWX);
}

static bool in_hv_region(uint64_t base, uint64_t len)
{
	return base < HV_REGION_BASE + HV_REGION_SIZE && base + len > HV_REGION_BASE;
}

/* ---- classification of guest-physical ranges for ept_build ---- */

enum kind { K_ABSENT, K_WB, K_UC, K_MIXED };

static enum kind page_kind(const struct e820_map *map, uint64_t pa)
{
	if (in_hv_region(pa, EPT_PAGE_4K))
		return K_ABSENT;
	if (pa < EPT_APIC_UC_END && pa + EPT_PAGE_4K > EPT_APIC_UC_BASE)
		return K_UC;
	return e820_range_is(map, pa, EPT_PAGE_4K, E820_RAM) ? K_WB : K_UC;
}

static enum kind range_kind(const struct e820_map *map, uint64_t base, uint64_t len)
{
	if (base >= HV_REGION_BASE && base + len <= HV_REGION_BASE + HV_REGION_SIZE)
		return K_ABSENT;
	if (in_hv_region(base, len))
		return K_MIXED;
	bool apic = base < EPT_APIC_UC_END && base + len > EPT_APIC_UC_BASE;
	if (!apic && e820_range_is(map, base, len, E820_RAM))
		return K_WB;
	if (apic && base >= EPT_APIC_UC_BASE && base + len <= EPT_APIC_UC_END)
		return K_UC;
	/* Byte-level: a RAM entry touching the range makes it mixed even if it
	 * covers no whole page; the per-page pass then sorts it out. */
	return e820_range_has(map, base, len, E820_RAM) ? K_MIXED : K_UC;
}

static uint64_t kind_entry(enum kind k, uint64_t pa)
{
	switch (k) {
	case K_WB:
		return leaf(pa, EPT_RWX, EPT_MT_WB);
	case K_UC:
		return leaf(pa, EPT_RWX, EPT_MT_UC);
	default:
		return 0; /* absent: not present, no address */
	}
}

/* Returns the table `*slot` points to, allocating it if the slot is empty; 0 if out of memory. */
static uint64_t next_table(uint64_t *slot)
{
	if (*slot == 0) {
		uint64_t pa = palloc_page();
		if (!pa)
			return 0;
		*slot = pa | EPT_RWX; /* non-leaf: all permissions, leaves decide */
	}
	return *slot & E_ADDR_MASK;
}

/* The PDE slot for `gpa`, allocating the PDPT and PD on the way; NULL if out of memory. */
static uint64_t *pde_slot(uint64_t pml4, uint64_t gpa)
{
	uint64_t pdpt = next_table(&table(pml4)[index_at(gpa, 4)]);
	if (!pdpt)
		return NULL;
	uint64_t pd = next_table(&table(pdpt)[index_at(gpa, 3)]);
	if (!pd)
		return NULL;
	return &table(pd)[index_at(gpa, 2)];
}

static uint64_t eptp_of(uint64_t pml4)
{
	uint64_t mt = (ept_caps & VMX_EPT_CAP_MEMTYPE_WB) ? EPT_MT_WB : EPT_MT_UC;
	return (pml4 & EPTP_ADDR_MASK) | EPTP_WALK_LENGTH_4 | mt;
}

uint64_t ept_build(const struct e820_map *firmware_map)
{
	ept_caps = hw_rdmsr(MSR_IA32_VMX_EPT_VPID_CAP);
	if (!(ept_caps & VMX_EPT_CAP_WALK_4) ||
	    !(ept_caps & (VMX_EPT_CAP_MEMTYPE_WB | VMX_EPT_CAP_MEMTYPE_UC))) {
		hv_printf("hv: EPT: CPU lacks a 4-level walk or a usable memory type (cap %llx)\n",
		          (unsigned long long)ept_caps);
		return 0;
	}
	bool use_2m = (ept_caps & VMX_EPT_CAP_2MB_PAGES) != 0;

	uint64_t top = e820_top(firmware_map);
	if (top < FOUR_GIB)
		top = FOUR_GIB;
	if (top > GPA_LIMIT)
		top = GPA_LIMIT;
	top = (top + EPT_PAGE_2M - 1) & ~(EPT_PAGE_2M - 1);

	uint64_t pml4 = palloc_page();
	if (!pml4)
		goto oom;
	for (uint64_t gpa = 0; gpa < top; gpa += EPT_PAGE_2M) {
		enum kind k = range_kind(firmware_map, gpa, EPT_PAGE_2M);
		if (k == K_ABSENT)
			continue; /* an empty PDE (or none at all) is not present */
		uint64_t *pde = pde_slot(pml4, gpa);
		if (!pde)
			goto oom;
		if (k != K_MIXED && use_2m) {
			*pde = kind_entry(k, gpa) | E_LARGE;
			continue;
		}
		uint64_t pt = next_table(pde);
		if (!pt)
			goto oom;
		for (unsigned i = 0; i < ENTRIES; i++) {
			uint64_t pa = gpa + i * EPT_PAGE_4K;
			table(pt)[i] =
			    kind_entry(k == K_MIXED ? page_kind(firmware_map, pa) : k, pa);
		}
	}
	return eptp_of(pml4);
oom:
	/* Boot cannot go on without the EPT; what was allocated stays allocated. */
	hv_printf("hv: EPT: out of memory building the tables\n");
	return 0;
}

/* ---- views ---- */

static uint64_t clone_table(uint64_t pa, unsigned level)
{
	uint64_t copy = palloc_page();
	if (!copy)
		return 0;
	uint64_t *src = table(pa), *dst = table(copy);
	for (unsigned i = 0; i < ENTRIES; i++) {
		uint64_t e = src[i];
		bool subtable = level > 1 && e != 0 && !(e & E_LARGE);
		if (subtable) {
			uint64_t sub = clone_table(e, level - 1);
			if (!sub)
				return 0; /* the partial copy leaks; the caller panics */
			e = (e & ~E_ADDR_MASK) | sub;
		}
		dst[i] = e;
	}
	return copy;
}

uint64_t ept_clone(uint64_t eptp)
{
	spin_lock(&ept_lock);
	uint64_t pml4 = clone_table(eptp, 4);
	spin_unlock(&ept_lock);
	return pml4 ? (eptp & ~EPTP_ADDR_MASK) | pml4 : 0;
}

static void free_table(uint64_t pa, unsigned level)
{
	uint64_t *t = table(pa);
	for (unsigned i = 0; level > 1 && i < ENTRIES; i++)
		if (t[i] != 0 && !(t[i] & E_LARGE))
			free_table(t[i], level - 1);
	palloc_free_pages(pa & E_ADDR_MASK, 1);
}

void ept_free(uint64_t eptp)
{
	spin_lock(&ept_lock);
	free_table(eptp, 4);
	spin_unlock(&ept_lock);
}

static uint64_t count_tables(uint64_t pa, unsigned level)
{
	uint64_t n = 1, *t = table(pa);
	for (unsigned i = 0; level > 1 && i < ENTRIES; i++)
		if (t[i] != 0 && !(t[i] & E_LARGE))
			n += count_tables(t[i], level - 1);
	return n;
}

uint64_t ept_table_pages(uint64_t eptp)
{
	return count_tables(eptp, 4);
}

/* ---- lookup and permissions ---- */

/* The leaf slot mapping `gpa` and its level (2 = 2 MiB, 1 = 4 KiB); NULL if none. */
static uint64_t *find_leaf(uint64_t eptp, uint64_t gpa, unsigned *level)
{
	uint64_t pa = eptp;
	for (unsigned l = 4; l >= 1; l--) {
		uint64_t *slot = &table(pa)[index_at(gpa, l)];
		if (*slot == 0)
			return NULL;
		if (l == 1 || (l == 2 && (*slot & E_LARGE))) {
			*level = l;
			return slot;
		}
		pa = *slot;
	}
	return NULL;
}

bool ept_lookup(uint64_t eptp, uint64_t gpa, struct ept_mapping *out)
{
	unsigned level = 0;
	uint64_t *slot = gpa < GPA_LIMIT ? find_leaf(eptp, gpa, &level) : NULL;
	*out = (struct ept_mapping){0};
	if (!slot)
		return false;
	uint64_t e = *slot;
	uint64_t size = level == 2 ? EPT_PAGE_2M : EPT_PAGE_4K;
	out->rwx = (unsigned)(e & EPT_RWX);
	out->present = out->rwx != 0;
	out->memtype = (unsigned)((e & E_MT_MASK) >> E_MT_SHIFT);
	out->ipat = (e & E_IPAT) != 0;
	out->page_size = size;
	out->hpa = (e & E_ADDR_MASK & ~(size - 1)) + (gpa & (size - 1));
	return true;
}

bool ept_maps_identity(uint64_t eptp, uint64_t gpa, unsigned rwx)
{
	struct ept_mapping m;

	return ept_lookup(eptp, gpa, &m) && (m.rwx & rwx) == rwx &&
	       (m.hpa & ~(EPT_PAGE_4K - 1)) == (gpa & ~(EPT_PAGE_4K - 1));
}

/* Replaces a 2 MiB leaf by a page table of 512 equal 4 KiB leaves. */
static bool split_2m(uint64_t *pde)
{
	uint64_t pt = palloc_page();
	if (!pt)
		return false;
	uint64_t e = *pde & ~E_LARGE;
	for (unsigned i = 0; i < ENTRIES; i++)
		table(pt)[i] = e + i * EPT_PAGE_4K;
	/* One aligned store links the filled table in: a concurrent walk sees old or new. */
	*pde = pt | EPT_RWX;
	return true;
}

static uint64_t with_rwx(uint64_t e, unsigned rwx)
{
	return (e & ~(uint64_t)EPT_RWX) | (rwx & EPT_RWX);
}

int ept_set_page_access(uint64_t eptp, uint64_t gpa, uint64_t len, unsigned rwx)
{
	if (len == 0 || (gpa | len) & (EPT_PAGE_4K - 1) || gpa + len < gpa)
		return EPT_ERR_ALIGN;
	if (in_hv_region(gpa, len))
		return EPT_ERR_HV_REGION;
	/* Write without read, or execute-only without CPU support, is an EPT
	 * misconfiguration (SDM Vol. 3C 29.3.3.1). */
	if (((rwx & EPT_WRITE) && !(rwx & EPT_READ)) ||
	    (rwx == EPT_EXECUTE && !(ept_caps & VMX_EPT_CAP_EXECUTE_ONLY)))
		return EPT_ERR_PERM;

	int rc = 0;
	spin_lock(&ept_lock);
	/* Check the whole range first, so a hole makes no partial change. */
	for (uint64_t a = gpa; a < gpa + len && rc == 0;) {
		unsigned level = 0;
		if (a >= GPA_LIMIT || !find_leaf(eptp, a, &level))
			rc = EPT_ERR_NOT_MAPPED;
		else
			a = (a | ((level == 2 ? EPT_PAGE_2M : EPT_PAGE_4K) - 1)) + 1;
	}
	for (uint64_t a = gpa; a < gpa + len && rc == 0;) {
		unsigned level = 0;
		uint64_t *slot = find_leaf(eptp, a, &level);
		if (level == 2) {
			bool whole = (a & (EPT_PAGE_2M - 1)) == 0 && gpa + len - a >= EPT_PAGE_2M;
			if (whole) {
				*slot = with_rwx(*slot, rwx);
				a += EPT_PAGE_2M;
			} else if (!split_2m(slot)) {
				rc = EPT_ERR_NOMEM;
			}
			continue; /* after a split, the same address again at level 1 */
		}
		*slot = with_rwx(*slot, rwx);
		a += EPT_PAGE_4K;
	}
	spin_unlock(&ept_lock);
	ept_invalidate(eptp);
	return rc;
}

void ept_invalidate(uint64_t eptp)
{
	uint64_t caps = ept_caps ? ept_caps : hw_rdmsr(MSR_IA32_VMX_EPT_VPID_CAP);
	uint64_t type =
	    (caps & VMX_EPT_CAP_INVEPT_SINGLE) ? INVEPT_SINGLE_CONTEXT : INVEPT_ALL_CONTEXT;
	enum hw_vmx_result r = hw_invept(type, type == INVEPT_SINGLE_CONTEXT ? eptp : 0);

	/* A stale translation left behind would be a hole in the isolation. */
	if (r != HW_VMX_OK)
		hw_vmx_failed("INVEPT type", (uint32_t)type, eptp, r);
}
