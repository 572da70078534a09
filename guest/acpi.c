#include "guest/acpi.h"

#include <stdbool.h>
#include <stddef.h>

#include "guest/cpu.h"
#include "guest/runner.h"

#define MADT_LAPIC   0 /* Processor Local APIC */
#define MADT_X2APIC  9 /* Processor Local x2APIC */
#define MADT_ENABLED 1u

static const uint8_t *phys(uint32_t pa)
{
	return (const uint8_t *)(uintptr_t)pa;
}

static uint32_t rd32(const uint8_t *p)
{
	return p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static bool sum_ok(const uint8_t *p, uint32_t len)
{
	uint8_t sum = 0;
	for (uint32_t i = 0; i < len; i++)
		sum += p[i];
	return sum == 0;
}

static bool sig_is(const uint8_t *p, const char *sig, uint32_t len)
{
	for (uint32_t i = 0; i < len; i++)
		if (p[i] != (uint8_t)sig[i])
			return false;
	return true;
}

static const uint8_t *rsdp_scan(uint32_t start, uint32_t len)
{
	/* RSDP: "RSD PTR " on a 16-byte boundary, checksum over its first 20 bytes. */
	for (uint32_t pa = start; pa + 20 <= start + len; pa += 16)
		if (sig_is(phys(pa), "RSD PTR ", 8) && sum_ok(phys(pa), 20))
			return phys(pa);
	return NULL;
}

static const uint8_t *rsdp_find(void)
{
	/* First KiB of the EBDA (segment at 0x40e), then the BIOS area 0xe0000-0xfffff. */
	uint32_t ebda = (uint32_t)phys_read16(0x40e) << 4;
	const uint8_t *r = ebda >= 0x80000 && ebda < 0xa0000 ? rsdp_scan(ebda, 1024) : NULL;
	return r ? r : rsdp_scan(0xe0000, 0x20000);
}

static bool add_id(uint32_t *ids, uint32_t *n, uint32_t max, uint32_t id)
{
	for (uint32_t i = 0; i < *n; i++)
		if (ids[i] == id)
			return false;
	if (*n < max)
		ids[(*n)++] = id;
	return true;
}

uint32_t acpi_madt_cpus(uint32_t *ids, uint32_t max)
{
	const uint8_t *rsdp = rsdp_find();
	if (!rsdp) {
		runner_info("ACPI: no RSDP");
		return 0;
	}
	/* The 32-bit RSDT is enough here: the guest runs without paging below 4 GiB. */
	const uint8_t *rsdt = phys(rd32(rsdp + 16));
	if (!sig_is(rsdt, "RSDT", 4) || !sum_ok(rsdt, rd32(rsdt + 4))) {
		runner_info("ACPI: bad RSDT at %x", rd32(rsdp + 16));
		return 0;
	}
	uint32_t n = 0;
	for (uint32_t off = 36; off + 4 <= rd32(rsdt + 4); off += 4) {
		const uint8_t *t = phys(rd32(rsdt + off));
		if (!sig_is(t, "APIC", 4) || !sum_ok(t, rd32(t + 4)))
			continue;
		uint32_t len = rd32(t + 4);
		/* Header (36), local APIC address (4), flags (4), then type/length records. */
		for (uint32_t e = 44; e + 2 <= len && t[e + 1] >= 2; e += t[e + 1]) {
			if (t[e] == MADT_LAPIC && t[e + 1] >= 8 && (rd32(t + e + 4) & MADT_ENABLED))
				add_id(ids, &n, max, t[e + 3]);
			else if (t[e] == MADT_X2APIC && t[e + 1] >= 16 &&
			         (rd32(t + e + 8) & MADT_ENABLED))
				add_id(ids, &n, max, rd32(t + e + 4));
		}
		break;
	}
	return n;
}
