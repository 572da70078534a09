/*
 * Finding one ACPI table by signature (ACPI 6.5 5.2.5 RSDP, 5.2.7 RSDT, 5.2.8
 * XSDT) in the BIOS areas, through the identity map of the low 4 GiB.
 */
#ifndef RT_ACPI_FIND_H
#define RT_ACPI_FIND_H

#include <stdbool.h>
#include <stdint.h>

/*
 * Physical address and length of the first table whose signature is `sig` (4
 * characters) and whose checksum is right; false if there is none (no RSDP,
 * or no such table in the XSDT, or the RSDT when there is no XSDT).
 */
bool acpi_find_table(const char *sig, uint64_t *pa, uint32_t *len);

#endif /* RT_ACPI_FIND_H */
