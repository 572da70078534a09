/*
 * Guest memory by guest-linear address with the guest's current paging
 * (libvmx/guest_walk.h over the VMCS): the instruction behind an MMIO exit,
 * the memory operand of INS/OUTS. Guest-physical = host-physical (identity
 * EPT); only what the CPU's current EPT view lets the guest access is touched
 * for it (guest_ept_check.c), and nothing above 4 GiB, which the hypervisor
 * itself does not map (rt/entry.S): RAM above 4 GiB is in the EPT, and a
 * guest page table pointing there must not fault the host.
 */
#include "hw/hw.h"
#include "libvmx/ept.h"
#include "libvmx/guest_memory.h"
#include "libvmx/guest_walk.h"
#include "libvmx/vmx_internal.h"

/* The hypervisor's identity map ends here (rt/entry.S). */
#define HOST_MAPPED_TOP 0x100000000ull

/* Every page the walk touches (paging structures and data) must be readable
 * in the CPU's current EPT view: a PAL's pages are not, in the OS's view, even
 * when a stale guest TLB entry let the guest execute from one. */
static void *guest_page(void *arg, uint64_t gpa_page, bool write)
{
	uint64_t *denied = arg;
	if (gpa_page >= HOST_MAPPED_TOP)
		return NULL;
	if (!vmx_guest_gpa_allowed(gpa_page, write ? EPT_READ | EPT_WRITE : EPT_READ)) {
		if (denied)
			*denied = gpa_page;
		return NULL;
	}
	return guest_phys_ptr(gpa_page);
}

/* The guest's current paging, from the VMCS; false for 5-level paging (not walked). */
static bool guest_ctx(struct vmx_gw_ctx *c, uint64_t pdpte[4], uint64_t *denied_gpa)
{
	uint64_t cr0 = vmcs_readnat(VMCS_GUEST_CR0), cr4 = vmcs_readnat(VMCS_GUEST_CR4);
	uint64_t efer = vmcs_read64(VMCS_GUEST_IA32_EFER);
	*c = (struct vmx_gw_ctx){
	    .cr3 = vmcs_readnat(VMCS_GUEST_CR3),
	    .pse = (cr4 & CR4_PSE) != 0,
	    .wp = (cr0 & CR0_WP) != 0,
	    .nxe = (efer & EFER_NXE) != 0,
	    .page = guest_page,
	    .arg = denied_gpa,
	};

	if (!(cr0 & CR0_PG)) {
		c->mode = VMX_GW_PAGING_OFF;
	} else if (efer & EFER_LMA) {
		if (cr4 & CR4_LA57)
			return false; /* 5-level paging is not walked */
		c->mode = VMX_GW_PAGING_4LEVEL;
	} else if (cr4 & CR4_PAE) {
		/* With EPT the CPU uses the PDPTEs in the VMCS, not the table now in
		 * memory (guest_walk.h). */
		pdpte[0] = vmcs_read64(VMCS_GUEST_PDPTE0);
		pdpte[1] = vmcs_read64(VMCS_GUEST_PDPTE1);
		pdpte[2] = vmcs_read64(VMCS_GUEST_PDPTE2);
		pdpte[3] = vmcs_read64(VMCS_GUEST_PDPTE3);
		c->mode = VMX_GW_PAGING_PAE;
		c->pdpte = pdpte;
	} else {
		c->mode = VMX_GW_PAGING_32;
	}
	return true;
}

bool vmx_guest_read_linear(uint64_t la, void *buf, size_t n, uint64_t *denied_gpa)
{
	struct vmx_gw_ctx c;
	uint64_t pdpte[4];

	/* As the device the hypervisor stands in for: no U/S, R/W or XD check
	 * (the guest has just executed these bytes). */
	return guest_ctx(&c, pdpte, denied_gpa) && vmx_gw_read(&c, buf, la, n, 0) == VMX_GW_OK;
}

bool vmx_guest_access_linear(uint64_t la, void *buf, size_t n, unsigned access,
                             uint64_t *denied_gpa)
{
	struct vmx_gw_ctx c;
	uint64_t pdpte[4];

	if (!guest_ctx(&c, pdpte, denied_gpa))
		return false;
	if (access & VMX_GW_WRITE)
		return vmx_gw_write(&c, la, buf, n, access) == VMX_GW_OK;
	return vmx_gw_read(&c, buf, la, n, access) == VMX_GW_OK;
}

bool vmx_guest_probe_linear(uint64_t la, size_t n, unsigned access, uint64_t *denied_gpa)
{
	struct vmx_gw_ctx c;
	uint64_t pdpte[4];

	if (!guest_ctx(&c, pdpte, denied_gpa))
		return false;
	/* Every page the access touches: translated as the guest would, then
	 * looked up exactly as a copy would, without touching it. */
	for (uint64_t p = la & ~0xfffull; n && p <= la + n - 1; p += 0x1000) {
		uint64_t gpa;
		uint64_t gva = p < la ? la : p;
		if (vmx_gw_translate(&c, gva, access, &gpa) != VMX_GW_OK ||
		    !guest_page(denied_gpa, gpa & ~0xfffull, (access & VMX_GW_WRITE) != 0))
			return false;
	}
	return true;
}
