/*
 * The ACPI DMA Remapping Reporting table (Intel VT-d spec rev. 4.x ch. 8):
 * remapping units (DRHD, 8.3), reserved memory regions that devices keep
 * using (RMRR, 8.4), and their device scopes (8.3.1).
 *
 * Pure C over a byte buffer: every length is checked against the table before
 * it is used, so a corrupt table is refused, never followed.
 */
#ifndef LIBIOMMU_DMAR_H
#define LIBIOMMU_DMAR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define DMAR_MAX_UNITS  8
#define DMAR_MAX_RMRRS  16
#define DMAR_MAX_SCOPES 8 /* kept per structure; more are counted, not stored */

/* Device scope types (8.3.1 table 8-4). */
enum dmar_scope_type {
	DMAR_SCOPE_PCI_ENDPOINT = 1,
	DMAR_SCOPE_PCI_SUBHIERARCHY = 2,
	DMAR_SCOPE_IOAPIC = 3,
	DMAR_SCOPE_HPET = 4,
	DMAR_SCOPE_ACPI_NAMESPACE = 5,
};

struct dmar_scope {
	uint8_t type;     /* enum dmar_scope_type */
	uint8_t enum_id;  /* IOAPIC/HPET id */
	uint8_t bus;      /* start bus number */
	uint8_t dev, fn;  /* first element of the path */
	uint8_t path_len; /* elements; >1 crosses bridges (bus found by walking PCI) */
};

struct dmar_unit {
	uint64_t base;     /* register page, 4 KiB aligned */
	uint16_t segment;  /* PCI segment */
	bool include_all;  /* INCLUDE_PCI_ALL: every device of the segment not under another unit */
	uint8_t size_log2; /* register set is 2^size_log2 pages (rev. 3+) */
	uint32_t nscopes;  /* all scopes; the first DMAR_MAX_SCOPES are in scope[] */
	struct dmar_scope scope[DMAR_MAX_SCOPES];
};

struct dmar_rmrr {
	uint64_t base, limit; /* [base, limit], limit inclusive */
	uint16_t segment;
	uint32_t nscopes;
	struct dmar_scope scope[DMAR_MAX_SCOPES];
};

struct dmar_info {
	uint8_t host_addr_width; /* bits of DMA address the platform supports */
	uint8_t flags;           /* bit 0 INTR_REMAP, bit 1 X2APIC_OPT_OUT, bit 2 DMA_CTRL_OPT_IN */
	uint32_t nunits;
	struct dmar_unit unit[DMAR_MAX_UNITS];
	uint32_t nrmrrs;
	struct dmar_rmrr rmrr[DMAR_MAX_RMRRS];
};

enum dmar_error {
	DMAR_OK = 0,
	DMAR_ERR_SIGNATURE = -1, /* not "DMAR" */
	DMAR_ERR_LENGTH = -2,    /* header length shorter than the header or than `avail` allows */
	DMAR_ERR_CHECKSUM = -3,  /* bytes do not sum to zero */
	DMAR_ERR_ENTRY = -4,     /* a structure or scope shorter than its type or past the end */
	DMAR_ERR_TOO_MANY = -5,  /* more than DMAR_MAX_UNITS units or DMAR_MAX_RMRRS regions */
	DMAR_ERR_UNIT = -6,      /* a unit address not 4 KiB aligned, an RMRR with limit < base */
};

/* Parses the table at `table` (`avail` readable bytes). */
int dmar_parse(const uint8_t *table, size_t avail, struct dmar_info *out);
const char *dmar_strerror(int err);

/*
 * Makes the table unusable to whoever reads it next (the guest): the signature
 * becomes four zero bytes, as XMHF/TrustVisor's vmx_eap_zap() did, and the
 * checksum byte is fixed so the table still sums to zero (an OS that walks all
 * tables then sees a valid table of an unknown type and skips it).
 */
void dmar_hide(uint8_t *table);

#endif /* LIBIOMMU_DMAR_H */
