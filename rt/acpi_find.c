/*
 * RSDP -> XSDT (or RSDT) -> a table by signature. The RSDP is searched where
 * ACPI 6.5 5.2.5.1 puts it: the first KiB of the EBDA, then 0xE0000-0xFFFFF.
 * Only the low 4 GiB is reachable (the hypervisor's identity map): tables
 * above it are not found. Used by libiommu (DMAR) and core (FADT); libsmp/madt.c
 * walks the same tables itself, to report which table is malformed.
 */
#include "rt/acpi_find.h"

#include <stddef.h>

#include "hw/hw.h"

#define BDA_EBDA_SEGMENT 0x40eu
#define EBDA_SCAN_LEN    1024u
#define EBDA_LOWEST      0x500u
#define EBDA_LIMIT       0xa0000u
#define BIOS_AREA_BASE   0xe0000u
#define BIOS_AREA_LEN    0x20000u
#define RSDP_V1_LEN      20u
#define RSDP_V2_LEN      36u
#define SDT_HEADER_LEN   36u
#define SDT_MAX_LEN      (1u << 20)
#define REACHABLE_TOP    (1ull << 32)

#ifdef __clang__
#define NO_IPA __attribute__((noinline))
#else
#define NO_IPA __attribute__((noipa))
#endif

static uint32_t rd32(const uint8_t *p)
{
	return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) |
	       ((uint32_t)p[3] << 24);
}

static uint64_t rd64(const uint8_t *p)
{
	return rd32(p) | ((uint64_t)rd32(p + 4) << 32);
}

static bool sums_to_zero(const uint8_t *p, size_t len)
{
	uint8_t s = 0;
	for (size_t i = 0; i < len; i++)
		s = (uint8_t)(s + p[i]);
	return s == 0;
}

/* noipa: GCC otherwise warns about reading the BIOS data area at 0x40E through a
 * constant pointer (-Warray-bounds treats the low 4 KiB as a null page). */
NO_IPA static const uint8_t *phys(uint64_t pa, uint64_t len)
{
	if (pa == 0 || pa >= REACHABLE_TOP || len > REACHABLE_TOP - pa)
		return NULL;
	return hw_phys_ptr(pa);
}

/* A checked table header and body at `pa`; NULL if bad. */
static const uint8_t *table_at(uint64_t pa, uint32_t *len)
{
	const uint8_t *h = phys(pa, SDT_HEADER_LEN);
	if (h == NULL)
		return NULL;
	*len = rd32(h + 4);
	if (*len < SDT_HEADER_LEN || *len > SDT_MAX_LEN || phys(pa, *len) == NULL ||
	    !sums_to_zero(h, *len))
		return NULL;
	return h;
}

static bool rsdp_in(uint64_t base, uint32_t len, uint64_t *root, unsigned *entry_size)
{
	static const char sig[8] = {'R', 'S', 'D', ' ', 'P', 'T', 'R', ' '};
	const uint8_t *area = phys(base, len);

	if (area == NULL)
		return false;
	for (uint32_t off = 0; off + RSDP_V2_LEN <= len; off += 16) {
		const uint8_t *p = area + off;
		bool match = true;
		for (int i = 0; i < 8; i++)
			match = match && p[i] == (uint8_t)sig[i];
		if (!match || !sums_to_zero(p, RSDP_V1_LEN))
			continue;
		if (p[15] >= 2 && sums_to_zero(p, RSDP_V2_LEN) && rd64(p + 24) != 0) {
			*root = rd64(p + 24); /* XSDT: 64-bit entries */
			*entry_size = 8;
		} else {
			*root = rd32(p + 16); /* RSDT: 32-bit entries */
			*entry_size = 4;
		}
		return true;
	}
	return false;
}

bool acpi_find_table(const char *sig, uint64_t *pa, uint32_t *len)
{
	uint64_t root = 0;
	unsigned esz = 0;
	const uint8_t *bda = phys(BDA_EBDA_SEGMENT, 2);
	uint64_t ebda = bda ? (uint64_t)(bda[0] | (bda[1] << 8)) << 4 : 0;

	if (!(ebda >= EBDA_LOWEST && ebda + EBDA_SCAN_LEN <= EBDA_LIMIT &&
	      rsdp_in(ebda, EBDA_SCAN_LEN, &root, &esz)) &&
	    !rsdp_in(BIOS_AREA_BASE, BIOS_AREA_LEN, &root, &esz))
		return false;
	uint32_t rlen;
	const uint8_t *r = table_at(root, &rlen);
	if (r == NULL)
		return false;
	for (uint32_t off = SDT_HEADER_LEN; off + esz <= rlen; off += esz) {
		uint64_t tpa = esz == 8 ? rd64(r + off) : rd32(r + off);
		uint32_t tlen;
		const uint8_t *t = table_at(tpa, &tlen);
		if (t != NULL && t[0] == (uint8_t)sig[0] && t[1] == (uint8_t)sig[1] &&
		    t[2] == (uint8_t)sig[2] && t[3] == (uint8_t)sig[3]) {
			*pa = tpa;
			*len = tlen;
			return true;
		}
	}
	return false;
}
