/*
 * A PAL's private translation: guest page tables that map exactly its pages
 * at their registered addresses (the PAL runs with CR3 = these tables), and
 * an EPT view that maps exactly those pages plus the tables themselves.
 *
 * Why private page tables: the guest's own tables can be changed by the OS on
 * another CPU while the PAL runs (remapping a PAL address to an OS page), and
 * the CPU walks them through the EPT, so the PAL view would have to expose
 * them. The tables live in hypervisor memory, which the guest view never maps;
 * in the PAL view they sit at guest-physical = host-physical, readable and
 * writable (the walk sets no A/D bits: they are preset, SDM Vol. 3A 4.8).
 * Leaves: code read-only and executable, everything else writable and
 * execute-disable (if EFER.NXE); U/S = 1 for PALs registered from ring 3.
 * EPT leaves (SDM Vol. 3C 29.3.2): code R+X, other kinds R+W, tables R+W,
 * memory type WB (guest RAM is WB in the guest view too).
 */
#include "apps/trustvisor/tv_internal.h"
#include "hw/hw.h"
#include "rt/palloc.h"
#include "rt/string.h"

#define PTE_P   (1ull << 0)
#define PTE_RW  (1ull << 1)
#define PTE_US  (1ull << 2)
#define PTE_A   (1ull << 5)
#define PTE_D   (1ull << 6)
#define PTE_XD  (1ull << 63)
#define ADDR_4K 0x000ffffffffff000ull
#define EPT_WB  (6ull << 3)

static uint64_t *table_ptr(uint64_t pa)
{
	return hw_phys_ptr(pa);
}

static uint64_t new_table(struct tv_pal *pal)
{
	if (pal->ntables >= TV_MAX_TABLE_PAGES)
		return 0;
	uint64_t pa = palloc_page();
	if (pa)
		pal->table[pal->ntables++] = pa;
	return pa;
}

/* Walks/creates levels 4..2 from `root`; returns the level-1 table. */
static uint64_t *leaf_table(struct tv_pal *pal, uint64_t root, uint64_t addr, uint64_t link)
{
	uint64_t table = root;
	for (int level = 4; level >= 2; level--) {
		uint64_t *t = table_ptr(table);
		unsigned idx = (unsigned)(addr >> (12 + 9 * (level - 1))) & 0x1ff;
		if (!(t[idx] & 7)) {
			uint64_t next = new_table(pal);
			if (!next)
				return NULL;
			t[idx] = next | link;
		}
		table = t[idx] & ADDR_4K;
	}
	return table_ptr(table);
}

static int build_pt(struct tv_pal *pal, bool nxe)
{
	uint64_t us = pal->user ? PTE_US : 0;

	pal->pt_root = new_table(pal);
	if (!pal->pt_root)
		return TV_ERR_NO_MEMORY;
	for (uint32_t i = 0; i < pal->npages; i++) {
		const struct tv_page *p = &pal->page[i];
		uint64_t *t = leaf_table(pal, pal->pt_root, p->gva, PTE_P | PTE_RW | us | PTE_A);
		if (!t)
			return TV_ERR_NO_MEMORY;
		uint64_t e = p->gpa | PTE_P | us | PTE_A | PTE_D;
		if (p->kind == TV_SEC_CODE)
			e &= ~PTE_D;
		else
			e |= PTE_RW | (nxe ? PTE_XD : 0);
		t[(p->gva >> 12) & 0x1ff] = e;
	}
	return TV_OK;
}

static int ept_map(struct tv_pal *pal, uint64_t root, uint64_t gpa, uint64_t hpa, unsigned rwx)
{
	uint64_t *t = leaf_table(pal, root, gpa, EPT_RWX);
	if (!t)
		return TV_ERR_NO_MEMORY;
	t[(gpa >> 12) & 0x1ff] = (hpa & ADDR_4K) | rwx | EPT_WB;
	return TV_OK;
}

static int build_ept(struct tv_pal *pal, uint64_t eptp_flags)
{
	uint32_t pt_pages = pal->ntables;
	uint64_t root = new_table(pal);

	if (!root)
		return TV_ERR_NO_MEMORY;
	for (uint32_t i = 0; i < pal->npages; i++) {
		const struct tv_page *p = &pal->page[i];
		unsigned rwx =
		    p->kind == TV_SEC_CODE ? (EPT_READ | EPT_EXECUTE) : (EPT_READ | EPT_WRITE);
		if (ept_map(pal, root, p->gpa, p->hpa, rwx))
			return TV_ERR_NO_MEMORY;
	}
	for (uint32_t i = 0; i < pt_pages; i++)
		if (ept_map(pal, root, pal->table[i], pal->table[i], EPT_READ | EPT_WRITE))
			return TV_ERR_NO_MEMORY;
	pal->eptp = root | (eptp_flags & 0xfffull);
	return TV_OK;
}

int tv_tables_build(struct tv_pal *pal, bool nxe, uint64_t guest_eptp_flags)
{
	pal->ntables = 0;
	if (build_pt(pal, nxe) || build_ept(pal, guest_eptp_flags)) {
		tv_tables_free(pal);
		return TV_ERR_NO_MEMORY;
	}
	return TV_OK;
}

void tv_tables_free(struct tv_pal *pal)
{
	for (uint32_t i = 0; i < pal->ntables; i++)
		palloc_free_pages(pal->table[i], 1);
	pal->ntables = 0;
	pal->pt_root = 0;
	pal->eptp = 0;
}
