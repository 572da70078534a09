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
 * Host-testable: no VMCS access here (tv_platform.h builds a gw_ctx from the VMCS).
 */
#ifndef APPS_TRUSTVISOR_GUEST_WALK_H
#define APPS_TRUSTVISOR_GUEST_WALK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum gw_mode {
	GW_PAGING_OFF, /* GVA = GPA */
	GW_PAGING_32,  /* 2 levels, 4 MiB pages with CR4.PSE */
	GW_PAGING_PAE, /* PDPT + 2 levels, 2 MiB pages */
	GW_PAGING_4LEVEL,
};

struct gw_ctx {
	enum gw_mode mode;
	uint64_t cr3;
	bool pse; /* CR4.PSE (32-bit paging only) */
	bool wp;  /* CR0.WP: supervisor writes honour R/W */
	bool nxe; /* EFER.NXE: bit 63 is execute-disable, otherwise reserved */
	/* Maps the 4 KiB guest-physical page `gpa_page`; NULL = not accessible. */
	void *(*page)(void *arg, uint64_t gpa_page, bool write);
	void *arg;
};

/* Access kinds (combine). */
#define GW_WRITE 1u
#define GW_USER  2u /* a CPL 3 access: every level must have U/S = 1 */
#define GW_FETCH 4u

#define GW_OK               0
#define GW_ERR_NOT_PRESENT  (-1)
#define GW_ERR_PROTECTION   (-2) /* user/supervisor, read-only, or execute-disable */
#define GW_ERR_NONCANONICAL (-3)
#define GW_ERR_MEMORY       (-4) /* a page table or the target is not accessible */
#define GW_ERR_RESERVED     (-5) /* a reserved bit set in an entry */

/* Translates `gva`; *gpa gets the guest-physical address. */
int gw_translate(const struct gw_ctx *c, uint64_t gva, unsigned access, uint64_t *gpa);
/* Copies n bytes; stops at the first failing page (nothing is undone). */
int gw_read(const struct gw_ctx *c, void *dst, uint64_t gva, size_t n, unsigned access);
int gw_write(const struct gw_ctx *c, uint64_t gva, const void *src, size_t n, unsigned access);

#endif /* APPS_TRUSTVISOR_GUEST_WALK_H */
