/*
 * Reading guest memory by guest-linear address: the guest's own paging
 * (SDM Vol. 3A chapter 4), walked in software. Used to fetch the instruction
 * behind an MMIO exit; guest-physical = host-physical (identity EPT), except
 * the hypervisor region, which is never read on the guest's behalf.
 */
#include "hw/hw.h"
#include "libvmx/guest_memory.h"
#include "libvmx/vmx_internal.h"

#define PTE_P   (1ull << 0)
#define PTE_PS  (1ull << 7)
#define ADDR_52 0x000ffffffffff000ull

static bool read_phys(uint64_t gpa, void *out, size_t n)
{
	if (vmx_gpa_in_hv_region(gpa) || vmx_gpa_in_hv_region(gpa + n - 1))
		return false;
	const uint8_t *p = guest_phys_ptr(gpa);
	for (size_t i = 0; i < n; i++)
		((uint8_t *)out)[i] = p[i];
	return true;
}

static bool read_pte64(uint64_t table, uint64_t index, uint64_t *e)
{
	return read_phys((table & ADDR_52) + index * 8, e, 8) && (*e & PTE_P);
}

bool guest_linear_to_phys(uint64_t la, uint64_t *gpa)
{
	uint64_t cr0 = vmcs_readnat(VMCS_GUEST_CR0), cr4 = vmcs_readnat(VMCS_GUEST_CR4);
	uint64_t cr3 = vmcs_readnat(VMCS_GUEST_CR3);
	uint64_t e;

	if (!(cr0 & CR0_PG)) {
		*gpa = la & 0xffffffffull;
		return true;
	}
	if (vmcs_read64(VMCS_GUEST_IA32_EFER) & EFER_LMA) {
		/* 4-level paging (SDM 4.5); 5-level is not supported here. */
		if (cr4 & CR4_LA57)
			return false;
		uint64_t table = cr3;
		for (int level = 4; level >= 1; level--) {
			unsigned shift = 12 + 9 * (unsigned)(level - 1);
			if (!read_pte64(table, (la >> shift) & 511, &e))
				return false;
			if (level <= 3 && level > 1 && (e & PTE_PS)) {
				uint64_t size = 1ull << shift;
				*gpa = (e & ADDR_52 & ~(size - 1)) | (la & (size - 1));
				return true;
			}
			table = e;
		}
		*gpa = (e & ADDR_52) | (la & 0xfff);
		return true;
	}
	if (cr4 & CR4_PAE) {
		/* PAE paging (SDM 4.4): the PDPTEs are in the VMCS with EPT. */
		static const vmcs_field64_t pdptes[4] = {VMCS_GUEST_PDPTE0, VMCS_GUEST_PDPTE1,
		                                         VMCS_GUEST_PDPTE2, VMCS_GUEST_PDPTE3};
		e = vmcs_read64(pdptes[(la >> 30) & 3]);
		if (!(e & PTE_P) || !read_pte64(e, (la >> 21) & 511, &e))
			return false;
		if (e & PTE_PS) {
			*gpa = (e & ADDR_52 & ~0x1fffffull) | (la & 0x1fffff);
			return true;
		}
		if (!read_pte64(e, (la >> 12) & 511, &e))
			return false;
		*gpa = (e & ADDR_52) | (la & 0xfff);
		return true;
	}
	/* 32-bit paging (SDM 4.3). */
	uint32_t pde, pte;
	if (!read_phys((cr3 & 0xfffff000u) + ((la >> 22) & 1023) * 4, &pde, 4) || !(pde & PTE_P))
		return false;
	if ((pde & PTE_PS) && (cr4 & CR4_PSE)) {
		*gpa =
		    (pde & 0xffc00000u) | ((uint64_t)((pde >> 13) & 0xff) << 32) | (la & 0x3fffff);
		return true;
	}
	if (!read_phys((pde & 0xfffff000u) + ((la >> 12) & 1023) * 4, &pte, 4) || !(pte & PTE_P))
		return false;
	*gpa = (pte & 0xfffff000u) | (la & 0xfff);
	return true;
}

bool guest_read_linear(uint64_t la, void *buf, size_t n)
{
	uint8_t *out = buf;

	/* Page by page: the bytes may straddle two guest pages. */
	while (n) {
		uint64_t gpa;
		size_t chunk = 4096 - (la & 0xfff);
		if (chunk > n)
			chunk = n;
		if (!guest_linear_to_phys(la, &gpa) || !read_phys(gpa, out, chunk))
			return false;
		out += chunk;
		la += chunk;
		n -= chunk;
	}
	return true;
}
