/* Test support: fake low memory and ACPI table builders (lowmem.h). */
#include "tests/unit/smp/lowmem.h"

#include <stdlib.h>
#include <string.h>

#include "libsmp/phys.h"

uint8_t *lowmem;

static void *lowmem_view(uint64_t pa, size_t len)
{
	if (pa == 0 || len > LOWMEM_SIZE || pa > LOWMEM_SIZE - len)
		return NULL;
	return lowmem + pa;
}

void lowmem_reset(void)
{
	if (lowmem == NULL)
		lowmem = malloc(LOWMEM_SIZE);
	memset(lowmem, 0, LOWMEM_SIZE);
	smp_set_phys_view(lowmem_view);
}

static void put32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static void put64(uint8_t *p, uint64_t v)
{
	put32(p, (uint32_t)v);
	put32(p + 4, (uint32_t)(v >> 32));
}

static uint8_t checksum(const uint8_t *p, size_t len)
{
	uint8_t sum = 0;
	for (size_t i = 0; i < len; i++)
		sum = (uint8_t)(sum + p[i]);
	return (uint8_t)(0x100 - sum);
}

void acpi_put_rsdp(uint64_t pa, uint8_t revision, uint32_t rsdt, uint64_t xsdt)
{
	uint8_t *p = lowmem + pa;

	memset(p, 0, revision >= 2 ? 36 : 20);
	memcpy(p, "RSD PTR ", 8);
	memcpy(p + 9, "TESTOE", 6);
	p[15] = revision;
	put32(p + 16, rsdt);
	p[8] = checksum(p, 20);
	if (revision >= 2) {
		put32(p + 20, 36);
		put64(p + 24, xsdt);
		p[32] = checksum(p, 36);
	}
}

void acpi_put_sdt(uint64_t pa, const char *sig, const void *body, uint32_t body_len)
{
	uint8_t *p = lowmem + pa;

	memset(p, 0, 36);
	memcpy(p, sig, 4);
	put32(p + 4, 36 + body_len);
	p[8] = 1;
	memcpy(p + 10, "TESTOE", 6);
	memcpy(p + 16, "TESTTABL", 8);
	memcpy(p + 36, body, body_len);
	p[9] = checksum(p, 36 + body_len);
}

void acpi_fix_checksum(uint64_t pa)
{
	uint8_t *p = lowmem + pa;
	uint32_t len =
	    (uint32_t)p[4] | (uint32_t)p[5] << 8 | (uint32_t)p[6] << 16 | (uint32_t)p[7] << 24;

	p[9] = 0;
	p[9] = checksum(p, len);
}

void acpi_put_rsdt(uint64_t pa, const uint64_t *tables, size_t n)
{
	uint8_t body[256];

	for (size_t i = 0; i < n; i++)
		put32(body + 4 * i, (uint32_t)tables[i]);
	acpi_put_sdt(pa, "RSDT", body, (uint32_t)(4 * n));
}

void acpi_put_xsdt(uint64_t pa, const uint64_t *tables, size_t n)
{
	uint8_t body[256];

	for (size_t i = 0; i < n; i++)
		put64(body + 8 * i, tables[i]);
	acpi_put_sdt(pa, "XSDT", body, (uint32_t)(8 * n));
}

void madt_begin(struct madt_body *m)
{
	memset(m, 0, sizeof(*m));
	put32(m->bytes, 0xfee00000u); /* local APIC address */
	put32(m->bytes + 4, 1);       /* PCAT_COMPAT */
	m->len = 8;
}

void madt_add_lapic(struct madt_body *m, uint8_t uid, uint8_t apic_id, uint32_t flags)
{
	uint8_t *e = m->bytes + m->len;

	e[0] = 0;
	e[1] = 8;
	e[2] = uid;
	e[3] = apic_id;
	put32(e + 4, flags);
	m->len += 8;
}

void madt_add_x2apic(struct madt_body *m, uint32_t apic_id, uint32_t flags, uint32_t uid)
{
	uint8_t *e = m->bytes + m->len;

	memset(e, 0, 16);
	e[0] = 9;
	e[1] = 16;
	put32(e + 4, apic_id);
	put32(e + 8, flags);
	put32(e + 12, uid);
	m->len += 16;
}

void madt_add_ioapic(struct madt_body *m, uint8_t id, uint32_t address)
{
	uint8_t *e = m->bytes + m->len;

	memset(e, 0, 12);
	e[0] = 1;
	e[1] = 12;
	e[2] = id;
	put32(e + 4, address);
	m->len += 12;
}

void madt_put(uint64_t pa, const struct madt_body *m)
{
	acpi_put_sdt(pa, "APIC", m->bytes, m->len);
}

void acpi_put_machine(const uint8_t *ids, size_t n)
{
	struct madt_body m;
	const uint64_t tables[] = {FACP_PA, MADT_PA};
	uint8_t facp[8] = {0};

	madt_begin(&m);
	for (size_t i = 0; i < n; i++)
		madt_add_lapic(&m, (uint8_t)i, ids[i], 1);
	madt_add_ioapic(&m, (uint8_t)n, 0xfec00000u);
	madt_put(MADT_PA, &m);
	acpi_put_sdt(FACP_PA, "FACP", facp, sizeof(facp));
	acpi_put_rsdt(RSDT_PA, tables, 2);
	acpi_put_rsdp(RSDP_PA, 0, RSDT_PA, 0);
}
