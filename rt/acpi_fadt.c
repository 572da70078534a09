/*
 * FADT power-control fields (acpi_fadt.h). Offsets from ACPI 6.5 Table 5.9; a
 * revision-1 table is 116 bytes and has no reset register, the 64-bit X_
 * blocks exist from 244-byte tables on and win over the 32-bit ones when set
 * (section 5.2.9: "If this field contains a nonzero value ... the X_ field is
 * used"). Only I/O-space blocks are reported: a hypervisor intercepts ports.
 */
#include "rt/acpi_fadt.h"

#define FADT_PM1A_CNT_BLK   64u
#define FADT_PM1B_CNT_BLK   68u
#define FADT_FLAGS          112u
#define FADT_RESET_REG      116u /* a Generic Address Structure (5.2.3.2), 12 bytes */
#define FADT_RESET_VALUE    128u
#define FADT_X_PM1A_CNT_BLK 172u
#define FADT_X_PM1B_CNT_BLK 184u
#define FADT_MIN_LEN        116u
#define FADT_RESET_MIN_LEN  129u
#define FADT_X_MIN_LEN      196u
#define FLAG_RESET_REG_SUP  (1u << 10)
#define GAS_SYSTEM_IO       1u

static uint32_t rd32(const uint8_t *p)
{
	return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) |
	       ((uint32_t)p[3] << 24);
}

static uint64_t rd64(const uint8_t *p)
{
	return rd32(p) | ((uint64_t)rd32(p + 4) << 32);
}

/* The I/O port of a GAS, or 0 if it is not in I/O space or not a 16-bit port. */
static uint16_t gas_port(const uint8_t *gas)
{
	uint64_t addr = rd64(gas + 4);
	return gas[0] == GAS_SYSTEM_IO && addr != 0 && addr <= 0xffff ? (uint16_t)addr : 0;
}

static uint16_t port32(uint32_t v)
{
	return v <= 0xffff ? (uint16_t)v : 0;
}

bool acpi_fadt_power(const uint8_t *fadt, uint32_t len, struct acpi_fadt_power *out)
{
	*out = (struct acpi_fadt_power){0};
	if (len < FADT_MIN_LEN || fadt[0] != 'F' || fadt[1] != 'A' || fadt[2] != 'C' ||
	    fadt[3] != 'P')
		return false;
	out->pm1a_cnt = port32(rd32(fadt + FADT_PM1A_CNT_BLK));
	out->pm1b_cnt = port32(rd32(fadt + FADT_PM1B_CNT_BLK));
	if (len >= FADT_X_MIN_LEN) {
		if (rd64(fadt + FADT_X_PM1A_CNT_BLK + 4) != 0)
			out->pm1a_cnt = gas_port(fadt + FADT_X_PM1A_CNT_BLK);
		if (rd64(fadt + FADT_X_PM1B_CNT_BLK + 4) != 0)
			out->pm1b_cnt = gas_port(fadt + FADT_X_PM1B_CNT_BLK);
	}
	if (len >= FADT_RESET_MIN_LEN && (rd32(fadt + FADT_FLAGS) & FLAG_RESET_REG_SUP)) {
		out->reset_port = gas_port(fadt + FADT_RESET_REG);
		out->reset_io = out->reset_port != 0;
		out->reset_value = fadt[FADT_RESET_VALUE];
	}
	return true;
}
