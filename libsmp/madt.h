/*
 * CPU discovery from the ACPI MADT (ACPI 6.5 sections 5.2.5 RSDP, 5.2.7 RSDT,
 * 5.2.8 XSDT, 5.2.12 MADT).
 *
 * Pure C over physical memory: every read goes through smp_phys() (phys.h),
 * which returns a pointer to [pa, pa + len) or NULL when that range is not
 * readable, so host tests can lay out firmware tables in a buffer.
 */
#ifndef LIBSMP_MADT_H
#define LIBSMP_MADT_H

#include <stddef.h>
#include <stdint.h>

#include "rt/layout.h"

struct smp_cpu_list {
	uint32_t count;                /* usable CPUs listed in apic_id[] */
	uint32_t apic_id[HV_MAX_CPUS]; /* in MADT order, duplicates removed */
	uint32_t dropped;              /* usable CPUs beyond HV_MAX_CPUS, not listed */
	/* On error: which table was bad ("RSDP", "RSDT", "XSDT", "MADT") and where. */
	const char *error_table;
	uint64_t error_pa;
};

enum madt_error {
	MADT_OK = 0,
	MADT_ERR_NO_RSDP = -1,    /* no signature + checksum match in the BIOS areas */
	MADT_ERR_UNREADABLE = -2, /* table outside readable physical memory */
	MADT_ERR_SIGNATURE = -3,  /* RSDT/XSDT signature does not match */
	MADT_ERR_LENGTH = -4,     /* table length too small or too large */
	MADT_ERR_CHECKSUM = -5,   /* table bytes do not sum to zero */
	MADT_ERR_NO_MADT = -6,    /* no "APIC" table in the RSDT/XSDT */
	MADT_ERR_BAD_ENTRY = -7,  /* MADT entry shorter than its type or past the end */
	MADT_ERR_NO_CPUS = -8,    /* MADT lists no enabled or online-capable CPU */
};

/*
 * Fills `out` with the APIC IDs of the processors the MADT marks enabled or
 * online-capable (local APIC entries, type 0, and x2APIC entries, type 9).
 * Returns MADT_OK or a negative enum madt_error (out->error_table says where).
 */
int madt_find_cpus(struct smp_cpu_list *out);

/* A sentence for an enum madt_error. */
const char *madt_strerror(int err);

#endif /* LIBSMP_MADT_H */
