/* Finds the CPUs the firmware lists in the ACPI MADT (ACPI 6.x, 5.2.12). */
#ifndef GUEST_ACPI_H
#define GUEST_ACPI_H

#include <stdint.h>

/* Fills ids with the APIC ids of enabled processors; returns how many (0: no MADT found). */
uint32_t acpi_madt_cpus(uint32_t *ids, uint32_t max);

#endif
