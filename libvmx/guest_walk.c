/*
 * Guest page-table walker (guest_walk.h). Permission rules, SDM Vol. 3A 4.6:
 * a user access needs U/S = 1 at every level; a write needs R/W = 1 at every
 * level unless it is a supervisor write with CR0.WP = 0; a fetch fails if any
 * level has XD = 1 (with EFER.NXE). SMEP/SMAP are not modelled: the hypervisor
 * checks what the caller's privilege allows, not what the kernel configured.
 */
#include "libvmx/guest_walk.h"

#include "rt/string.h"

#define PTE_P   (1ull << 0)
#define PTE_RW  (1ull << 1)
#define PTE_US  (1ull << 2)
#define PTE_PS  (1ull << 7)
#define PTE_XD  (1ull << 63)
#define ADDR_4K 0x000ffffffffff000ull
#define PAGE_4K 0x1000ull

/* Reads the 8-byte (or 4-byte) entry `index` of the table at `table_gpa`. */
static int read_entry(const struct vmx_gw_ctx *c, uint64_t table_gpa, unsigned index, bool wide,
                      uint64_t *out)
{
	uint64_t off = (uint64_t)index * (wide ? 8u : 4u);
	uint64_t gpa = table_gpa + off;
	const uint8_t *p = c->page(c->arg, gpa & ~(PAGE_4K - 1), false);

	if (!p)
		return VMX_GW_ERR_MEMORY;
	p += gpa & (PAGE_4K - 1);
	if (wide) {
		uint64_t v;
		memcpy(&v, p, 8);
		*out = v;
	} else {
		uint32_t v;
		memcpy(&v, p, 4);
		*out = v;
	}
	return VMX_GW_OK;
}

/* Folds one level's entry into the permission state; returns an error or VMX_GW_OK. */
static int check_level(const struct vmx_gw_ctx *c, uint64_t e, bool *rw, bool *us, bool *xd)
{
	if (!(e & PTE_P))
		return VMX_GW_ERR_NOT_PRESENT;
	*rw = *rw && (e & PTE_RW);
	*us = *us && (e & PTE_US);
	if (c->nxe)
		*xd = *xd || (e & PTE_XD);
	else if (c->mode != VMX_GW_PAGING_32 && (e & PTE_XD))
		return VMX_GW_ERR_RESERVED;
	return VMX_GW_OK;
}

static int check_access(const struct vmx_gw_ctx *c, unsigned access, bool rw, bool us, bool xd)
{
	if ((access & VMX_GW_USER) && !us)
		return VMX_GW_ERR_PROTECTION;
	if ((access & VMX_GW_WRITE) && !rw && ((access & VMX_GW_USER) || c->wp))
		return VMX_GW_ERR_PROTECTION;
	if ((access & VMX_GW_FETCH) && xd)
		return VMX_GW_ERR_PROTECTION;
	return VMX_GW_OK;
}

static int walk_32(const struct vmx_gw_ctx *c, uint64_t gva, unsigned access, uint64_t *gpa)
{
	bool rw = true, us = true, xd = false;
	uint64_t pde, pte;
	int rc;

	if (gva >> 32)
		return VMX_GW_ERR_NONCANONICAL;
	rc = read_entry(c, c->cr3 & 0xfffff000ull, (unsigned)(gva >> 22) & 0x3ff, false, &pde);
	if (rc || (rc = check_level(c, pde, &rw, &us, &xd)))
		return rc;
	if ((pde & PTE_PS) && c->pse) {
		/* 4 MiB page; PSE-36 puts address bits 39:32 in PDE bits 20:13. */
		uint64_t base = (pde & 0xffc00000ull) | (((pde >> 13) & 0xff) << 32);
		*gpa = base | (gva & 0x3fffffull);
		return check_access(c, access, rw, us, xd);
	}
	rc = read_entry(c, pde & 0xfffff000ull, (unsigned)(gva >> 12) & 0x3ff, false, &pte);
	if (rc || (rc = check_level(c, pte, &rw, &us, &xd)))
		return rc;
	*gpa = (pte & 0xfffff000ull) | (gva & 0xfffull);
	return check_access(c, access, rw, us, xd);
}

/* PAE and 4-level: the same 8-byte entries; PAE starts at the PDPT. */
static int walk_64(const struct vmx_gw_ctx *c, uint64_t gva, unsigned access, uint64_t *gpa)
{
	bool rw = true, us = true, xd = false;
	uint64_t table, e;
	int level, rc;

	if (c->mode == VMX_GW_PAGING_PAE) {
		if (gva >> 32)
			return VMX_GW_ERR_NONCANONICAL;
		/* PDPTEs have no R/W, U/S or XD (SDM 4.4.1): only P matters. */
		unsigned i = (unsigned)(gva >> 30) & 3;
		if (c->pdpte)
			e = c->pdpte[i];
		else if ((rc = read_entry(c, c->cr3 & 0xffffffe0ull, i, true, &e)))
			return rc;
		if (!(e & PTE_P))
			return VMX_GW_ERR_NOT_PRESENT;
		table = e & ADDR_4K;
		level = 2;
	} else {
		/* Bits 63:47 must equal bit 47 (48-bit linear addresses). */
		uint64_t top = gva >> 47;
		if (top != 0 && top != 0x1ffff)
			return VMX_GW_ERR_NONCANONICAL;
		table = c->cr3 & ADDR_4K;
		level = 4;
	}
	for (; level >= 1; level--) {
		unsigned shift = 12 + 9 * (unsigned)(level - 1);
		rc = read_entry(c, table, (unsigned)(gva >> shift) & 0x1ff, true, &e);
		if (rc || (rc = check_level(c, e, &rw, &us, &xd)))
			return rc;
		if (level == 1 || ((level == 2 || level == 3) && (e & PTE_PS))) {
			uint64_t size = 1ull << shift;
			if (level == 3 && c->mode == VMX_GW_PAGING_PAE)
				return VMX_GW_ERR_RESERVED;
			*gpa = (e & ADDR_4K & ~(size - 1)) | (gva & (size - 1));
			return check_access(c, access, rw, us, xd);
		}
		table = e & ADDR_4K;
	}
	return VMX_GW_ERR_NOT_PRESENT; /* not reached */
}

int vmx_gw_translate(const struct vmx_gw_ctx *c, uint64_t gva, unsigned access, uint64_t *gpa)
{
	switch (c->mode) {
	case VMX_GW_PAGING_OFF:
		if (gva >> 32)
			return VMX_GW_ERR_NONCANONICAL;
		*gpa = gva;
		return VMX_GW_OK;
	case VMX_GW_PAGING_32:
		return walk_32(c, gva, access, gpa);
	case VMX_GW_PAGING_PAE:
	case VMX_GW_PAGING_4LEVEL:
		return walk_64(c, gva, access, gpa);
	}
	return VMX_GW_ERR_RESERVED;
}

/* One page-bounded chunk at a time: each page is translated and mapped on its own. */
static int copy(const struct vmx_gw_ctx *c, uint64_t gva, void *buf, size_t n, unsigned access,
                bool to_guest)
{
	uint8_t *b = buf;

	while (n) {
		uint64_t gpa;
		size_t chunk = (size_t)(PAGE_4K - (gva & (PAGE_4K - 1)));
		if (chunk > n)
			chunk = n;
		int rc = vmx_gw_translate(c, gva, access | (to_guest ? VMX_GW_WRITE : 0), &gpa);
		if (rc)
			return rc;
		uint8_t *p = c->page(c->arg, gpa & ~(PAGE_4K - 1), to_guest);
		if (!p)
			return VMX_GW_ERR_MEMORY;
		p += gpa & (PAGE_4K - 1);
		if (to_guest)
			memcpy(p, b, chunk);
		else
			memcpy(b, p, chunk);
		b += chunk;
		gva += chunk;
		n -= chunk;
	}
	return VMX_GW_OK;
}

int vmx_gw_read(const struct vmx_gw_ctx *c, void *dst, uint64_t gva, size_t n, unsigned access)
{
	return copy(c, gva, dst, n, access & ~VMX_GW_WRITE, false);
}

int vmx_gw_write(const struct vmx_gw_ctx *c, uint64_t gva, const void *src, size_t n,
                 unsigned access)
{
	return copy(c, gva, (void *)src, n, access, true);
}
