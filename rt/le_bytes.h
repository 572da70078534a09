/*
 * Little-endian fields of firmware tables (ACPI, multiboot) read byte by byte:
 * the tables are packed and their fields unaligned. And the ACPI checksum rule
 * (ACPI 6.5 5.2.6: all bytes of a table sum to zero, modulo 256).
 */
#ifndef RT_LE_BYTES_H
#define RT_LE_BYTES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

static inline uint16_t rd16(const uint8_t *p)
{
	return (uint16_t)(p[0] | (p[1] << 8));
}

static inline uint32_t rd32(const uint8_t *p)
{
	return (uint32_t)rd16(p) | ((uint32_t)rd16(p + 2) << 16);
}

static inline uint64_t rd64(const uint8_t *p)
{
	return rd32(p) | ((uint64_t)rd32(p + 4) << 32);
}

static inline bool sums_to_zero(const uint8_t *p, size_t len)
{
	uint8_t sum = 0;
	for (size_t i = 0; i < len; i++)
		sum = (uint8_t)(sum + p[i]);
	return sum == 0;
}

#endif /* RT_LE_BYTES_H */
