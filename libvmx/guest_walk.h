/*
 * Guest page-table walker: guest-virtual -> guest-physical for the guest's
 * current paging mode (SDM Vol. 3A 4.3 32-bit, 4.4 PAE, 4.5 4-level), and
 * copies to/from guest-virtual memory across pages.
 *
 * The walker never touches memory itself: the caller's `page` function maps a
 * guest-physical page to a hypervisor pointer, or returns NULL if the guest
 * could not reach that page (hypervisor memory, a PAL's page, not RAM), so a
 * guest cannot make the hypervisor read or write through a forged page table.
 * Accessed/dirty bits are not set (the hypervisor reads as a device would).
 * Host-testable: no VMCS access here (tv_platform.h builds a vmx_gw_ctx from the VMCS).
 */
#ifndef LIBVMX_GUEST_WALK_H
#define LIBVMX_GUEST_WALK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum vmx_gw_mode {
	VMX_GW_PAGING_OFF, /* GVA = GPA */
	VMX_GW_PAGING_32,  /* 2 levels, 4 MiB pages with CR4.PSE */
	VMX_GW_PAGING_PAE, /* PDPT + 2 levels, 2 MiB pages */
	VMX_GW_PAGING_4LEVEL,
};

struct vmx_gw_ctx {
	enum vmx_gw_mode mode;
	uint64_t cr3;
	bool pse; /* CR4.PSE (32-bit paging only) */
	bool wp;  /* CR0.WP: supervisor writes honour R/W */
	bool nxe; /* EFER.NXE: bit 63 is execute-disable, otherwise reserved */
	/*
	 * PAE only: the four PDPTEs the CPU uses, or NULL to read them from the
	 * PDPT at CR3. With EPT the CPU loads them at MOV CR3 and keeps them in
	 * the VMCS across exits (SDM Vol. 3C: VM entry "Loading Page-Directory-
	 * Pointer-Table Entries", VM exit saves them): the table in
	 * memory may have changed since.
	 */
	const uint64_t *pdpte;
	/* Maps the 4 KiB guest-physical page `gpa_page`; NULL = not accessible. */
	void *(*page)(void *arg, uint64_t gpa_page, bool write);
	void *arg;
};

/* Access kinds (combine). */
#define VMX_GW_WRITE 1u
#define VMX_GW_USER  2u /* a CPL 3 access: every level must have U/S = 1 */
#define VMX_GW_FETCH 4u

#define VMX_GW_OK               0
#define VMX_GW_ERR_NOT_PRESENT  (-1)
#define VMX_GW_ERR_PROTECTION   (-2) /* user/supervisor, read-only, or execute-disable */
#define VMX_GW_ERR_NONCANONICAL (-3)
#define VMX_GW_ERR_MEMORY       (-4) /* a page table or the target is not accessible */
#define VMX_GW_ERR_RESERVED     (-5) /* a reserved bit set in an entry */

/* Translates `gva`; *gpa gets the guest-physical address. */
int vmx_gw_translate(const struct vmx_gw_ctx *c, uint64_t gva, unsigned access, uint64_t *gpa);
/* Copies n bytes; stops at the first failing page (nothing is undone). */
int vmx_gw_read(const struct vmx_gw_ctx *c, void *dst, uint64_t gva, size_t n, unsigned access);
int vmx_gw_write(const struct vmx_gw_ctx *c, uint64_t gva, const void *src, size_t n,
                 unsigned access);

#endif /* LIBVMX_GUEST_WALK_H */
