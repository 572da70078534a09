/*
 * What the ACPI FADT says about power control (ACPI 6.5 section 5.2.9, Table
 * 5.9): the PM1 control ports, whose SLP_EN starts a sleep or soft power-off,
 * and the reset register. Pure: the caller hands in the table's bytes.
 */
#ifndef RT_ACPI_FADT_H
#define RT_ACPI_FADT_H

#include <stdbool.h>
#include <stdint.h>

struct acpi_fadt_power {
	uint16_t pm1a_cnt, pm1b_cnt; /* I/O ports, 0 = none */
	bool reset_io;               /* the reset register exists and is an I/O port: */
	uint16_t reset_port;         /*   its port */
	uint8_t reset_value;         /*   and the value written to reset */
};

/* False if the table is not a FADT ("FACP") or too short for the PM1 blocks. */
bool acpi_fadt_power(const uint8_t *fadt, uint32_t len, struct acpi_fadt_power *out);

#endif /* RT_ACPI_FADT_H */
