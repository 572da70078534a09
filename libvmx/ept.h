/*
 * Extended page tables (SDM Vol. 3C 29.3 "The Extended Page Table Mechanism (EPT)").
 *
 * The guest's EPT is an identity map (GPA = HPA) of guest-physical
 * 0..max(4 GiB, top of the firmware map) with a 4-level walk:
 *  - RAM (E820 type 1, whole 4 KiB pages) is write-back, everything else
 *    (reserved, ACPI, holes, MMIO, the IOAPIC/LAPIC range) is uncached; the
 *    guest's PAT still combines with this (IPAT = 0), as it would with MTRRs;
 *  - the hypervisor region [HV_REGION_BASE, +HV_REGION_SIZE) is not present, so
 *    any guest access to it is an EPT violation;
 *  - 2 MiB pages where a whole 2 MiB range has one type and permission (and the
 *    CPU supports them), 4 KiB pages elsewhere.
 * Tables come from palloc. An EPTP value names a view; several views (per-CPU,
 * or per-PAL in TrustVisor) can exist side by side, made with ept_clone().
 *
 * Locks: one global lock serialises ept_set_page_access(), ept_clone() and
 * ept_free(); ept_lookup() takes no lock (entries are written with single
 * aligned 64-bit stores, and a table is linked in only once filled).
 */
#ifndef LIBVMX_EPT_H
#define LIBVMX_EPT_H

#include <stdbool.h>
#include <stdint.h>

#include "hw/hw.h"

struct e820_map;

/* Permissions are hw/vmx_defs.h's EPT_READ, EPT_WRITE, EPT_EXECUTE, EPT_RWX. */

/* EPT memory types (SDM Vol. 3C 29.3.7), unshifted; the same encodings as the MTRR types. */
#define EPT_MT_UC 0u
#define EPT_MT_WB 6u

#define EPT_PAGE_4K (1ull << 12)
#define EPT_PAGE_2M (1ull << 21)

/* Guest-physical [EPT_APIC_UC_BASE, EPT_APIC_UC_END) is uncached whatever E820 says. */
#define EPT_APIC_UC_BASE 0xFEC00000ull /* IOAPIC */
#define EPT_APIC_UC_END  0xFF000000ull /* past the LAPIC page at 0xFEE00000 */

/* Errors of ept_set_page_access(). */
#define EPT_ERR_ALIGN      (-1) /* gpa or len not 4 KiB aligned, or len 0 */
#define EPT_ERR_HV_REGION  (-2) /* the range touches the hypervisor region */
#define EPT_ERR_NOT_MAPPED (-3) /* part of the range is outside the view */
#define EPT_ERR_NOMEM      (-4) /* no page for splitting a 2 MiB page */
#define EPT_ERR_PERM       (-5) /* W without R, or X-only without CPU support */

/* What one guest-physical address maps to in a view. */
struct ept_mapping {
	bool present;       /* any of R/W/X */
	unsigned rwx;       /* EPT_READ | EPT_WRITE | EPT_EXECUTE */
	unsigned memtype;   /* EPT_MT_* */
	bool ipat;          /* ignore guest PAT */
	uint64_t hpa;       /* host-physical address of gpa (kept while rwx = 0) */
	uint64_t page_size; /* EPT_PAGE_4K or EPT_PAGE_2M */
};

/*
 * Builds the guest's EPT from an E820 map: the firmware map, or the guest map
 * (then the pages it carved as reserved, e.g. the BIOS-hook page, are UC; the
 * hypervisor region is absent whatever the map says). Reads IA32_VMX_EPT_VPID_CAP for 2 MiB page,
 * walk-length and memory-type support. Returns the EPTP (SDM Vol. 3C 25.6.11: paging-structure
 * memory type WB, or UC if the CPU lacks WB; page-walk length 4; accessed/dirty flags off), or 0
 * with the reason printed (out of memory, no 4-level walk). Does not INVEPT: run it before the view
 * is first used.
 */
uint64_t ept_build(const struct e820_map *firmware_map);

/* A second view: a deep copy of `eptp`'s tables. Returns its EPTP, 0 if out of memory. */
uint64_t ept_clone(uint64_t eptp);

/* Frees a view's tables. The view must not be in use by any CPU. */
void ept_free(uint64_t eptp);

/*
 * Sets the permissions of the 4 KiB-aligned range [gpa, gpa+len) in one view to
 * `rwx` (0 = not present: accesses cause EPT violations; the mapping's address
 * and memory type are kept, so access can be given back later). Splits 2 MiB
 * pages that the range covers only in part. Refuses ranges that touch the
 * hypervisor region. Then INVEPTs the view on the calling CPU (so call it in VMX
 * operation); other CPUs that use the view must INVEPT it themselves
 * (ept_invalidate()) before relying on the change - e.g. while quiesced.
 * Returns 0 or EPT_ERR_*; after EPT_ERR_NOMEM part of the range may be changed.
 */
int ept_set_page_access(uint64_t eptp, uint64_t gpa, uint64_t len, unsigned rwx);

/* Looks up `gpa` in a view. Returns false if no leaf maps it (out->present false). */
bool ept_lookup(uint64_t eptp, uint64_t gpa, struct ept_mapping *out);

/* True if the view maps the page of `gpa` to the same host page with all of
 * `rwx` (EPT_READ | EPT_WRITE | EPT_EXECUTE): where the hypervisor, which
 * reads guest-physical as host-physical, may touch memory for the guest. */
bool ept_maps_identity(uint64_t eptp, uint64_t gpa, unsigned rwx);

/* INVEPT for one view on the calling CPU: single-context, or all-context if unsupported. */
void ept_invalidate(uint64_t eptp);

/* Number of 4 KiB pages of tables behind a view (for the boot log and tests). */
uint64_t ept_table_pages(uint64_t eptp);

#endif /* LIBVMX_EPT_H */
