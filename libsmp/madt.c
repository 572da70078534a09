/*
 * ACPI table walk: RSDP -> RSDT or XSDT -> MADT -> processor entries.
 *
 * Every table is checked before it is trusted: the header must be readable,
 * the length must hold the header and stay below a sane bound, the whole
 * table must be readable and sum to zero, and each MADT entry must fit both
 * its type's size and the table. Firmware data never indexes memory unchecked.
 */
#include "libsmp/madt.h"
#include "rt/le_bytes.h"

#include <stdbool.h>

#include "libsmp/phys.h"

/* Where the RSDP may be (ACPI 6.5 5.2.5.1): the first KiB of the EBDA, whose
 * segment is the BDA word at 0x40E, then the BIOS area 0xE0000-0xFFFFF, on
 * 16-byte boundaries. */
#define BDA_EBDA_SEGMENT 0x40eu
#define EBDA_SCAN_LEN    1024u
#define EBDA_LOWEST      0x500u   /* above the BDA */
#define EBDA_LIMIT       0xa0000u /* below video memory */
#define BIOS_AREA_BASE   0xe0000u
#define BIOS_AREA_LEN    0x20000u

#define RSDP_V1_LEN         20u
#define RSDP_V2_LEN         36u
#define SDT_HEADER_LEN      36u
#define MADT_ENTRIES_OFFSET 44u /* header + local APIC address + flags */
/* No MADT, RSDT or XSDT comes close; the bound keeps a corrupt length harmless. */
#define SDT_MAX_LEN (1u << 20)

#define MADT_TYPE_LAPIC     0u
#define MADT_TYPE_X2APIC    9u
#define MADT_LAPIC_LEN      8u
#define MADT_X2APIC_LEN     16u
#define MADT_CPU_ENABLED    (1u << 0)
#define MADT_CPU_ONLINE_CAP (1u << 1)

static bool same4(const uint8_t *p, const char *sig)
{
	return p[0] == (uint8_t)sig[0] && p[1] == (uint8_t)sig[1] && p[2] == (uint8_t)sig[2] &&
	       p[3] == (uint8_t)sig[3];
}

struct rsdp {
	uint8_t revision;
	uint32_t rsdt;
	uint64_t xsdt;
	uint64_t pa;
};

/* A candidate counts only with its checksum(s) right; a stray "RSD PTR " does not. */
static bool rsdp_at(const uint8_t *p, size_t avail, uint64_t pa, struct rsdp *out)
{
	static const char sig[8] = {'R', 'S', 'D', ' ', 'P', 'T', 'R', ' '};

	if (avail < RSDP_V1_LEN)
		return false;
	for (int i = 0; i < 8; i++) {
		if (p[i] != (uint8_t)sig[i])
			return false;
	}
	if (!sums_to_zero(p, RSDP_V1_LEN))
		return false;
	out->revision = p[15];
	out->rsdt = rd32(p + 16);
	out->xsdt = 0;
	out->pa = pa;
	if (out->revision >= 2) {
		/* ACPI 2.0+: the length and extended checksum cover the XSDT address. */
		if (avail < RSDP_V2_LEN)
			return false;
		uint32_t len = rd32(p + 20);
		if (len < RSDP_V2_LEN || len > avail || !sums_to_zero(p, len))
			return false;
		out->xsdt = rd64(p + 24);
	}
	return true;
}

static bool scan_area(uint64_t base, size_t len, struct rsdp *out)
{
	const uint8_t *area = smp_phys(base, len);

	if (area == NULL)
		return false;
	for (size_t off = 0; off + RSDP_V1_LEN <= len; off += 16) {
		if (rsdp_at(area + off, len - off, base + off, out))
			return true;
	}
	return false;
}

static bool find_rsdp(struct rsdp *out)
{
	const uint8_t *bda = smp_phys(BDA_EBDA_SEGMENT, 2);

	if (bda != NULL) {
		uint64_t ebda = (uint64_t)rd16(bda) << 4;
		if (ebda >= EBDA_LOWEST && ebda + EBDA_SCAN_LEN <= EBDA_LIMIT &&
		    scan_area(ebda, EBDA_SCAN_LEN, out))
			return true;
	}
	return scan_area(BIOS_AREA_BASE, BIOS_AREA_LEN, out);
}

static int fail(struct smp_cpu_list *out, const char *table, uint64_t pa, int err)
{
	out->error_table = table;
	out->error_pa = pa;
	return err;
}

/*
 * Maps a whole system description table after checking its header. `sig` is
 * checked when non-NULL. On success *table points at `*len` readable bytes.
 */
static int map_sdt(uint64_t pa, const char *sig, const char *name, struct smp_cpu_list *out,
                   const uint8_t **table, uint32_t *len)
{
	const uint8_t *hdr = smp_phys(pa, SDT_HEADER_LEN);

	if (hdr == NULL)
		return fail(out, name, pa, MADT_ERR_UNREADABLE);
	if (sig != NULL && !same4(hdr, sig))
		return fail(out, name, pa, MADT_ERR_SIGNATURE);
	*len = rd32(hdr + 4);
	if (*len < SDT_HEADER_LEN || *len > SDT_MAX_LEN)
		return fail(out, name, pa, MADT_ERR_LENGTH);
	*table = smp_phys(pa, *len);
	if (*table == NULL)
		return fail(out, name, pa, MADT_ERR_UNREADABLE);
	if (!sums_to_zero(*table, *len))
		return fail(out, name, pa, MADT_ERR_CHECKSUM);
	return MADT_OK;
}

/* Finds the "APIC" table among the root table's entries; 0 if there is none. */
static uint64_t find_madt(const uint8_t *root, uint32_t len, uint32_t entry_size)
{
	for (uint32_t off = SDT_HEADER_LEN; off + entry_size <= len; off += entry_size) {
		uint64_t pa = entry_size == 8 ? rd64(root + off) : rd32(root + off);
		const uint8_t *hdr = pa != 0 ? smp_phys(pa, SDT_HEADER_LEN) : NULL;

		/* An unreadable entry is some other table's problem, not ours. */
		if (hdr != NULL && same4(hdr, "APIC"))
			return pa;
	}
	return 0;
}

static void add_cpu(struct smp_cpu_list *out, uint32_t apic_id)
{
	for (uint32_t i = 0; i < out->count; i++) {
		/* Firmware may list a CPU both as local APIC and as x2APIC. */
		if (out->apic_id[i] == apic_id)
			return;
	}
	if (out->count < HV_MAX_CPUS)
		out->apic_id[out->count++] = apic_id;
	else
		out->dropped++;
}

static int parse_madt(const uint8_t *madt, uint32_t len, uint64_t pa, struct smp_cpu_list *out)
{
	if (len < MADT_ENTRIES_OFFSET)
		return fail(out, "MADT", pa, MADT_ERR_LENGTH);
	for (uint32_t off = MADT_ENTRIES_OFFSET; off < len;) {
		if (len - off < 2 || madt[off + 1] < 2 || madt[off + 1] > len - off)
			return fail(out, "MADT", pa + off, MADT_ERR_BAD_ENTRY);
		const uint8_t *e = madt + off;
		uint8_t type = e[0], elen = e[1];
		uint32_t apic_id, flags;

		off += elen;
		if (type == MADT_TYPE_LAPIC) {
			if (elen < MADT_LAPIC_LEN)
				return fail(out, "MADT", pa + (e - madt), MADT_ERR_BAD_ENTRY);
			apic_id = e[3];
			flags = rd32(e + 4);
			if (apic_id == 0xffu) /* "not present" marker */
				continue;
		} else if (type == MADT_TYPE_X2APIC) {
			if (elen < MADT_X2APIC_LEN)
				return fail(out, "MADT", pa + (e - madt), MADT_ERR_BAD_ENTRY);
			apic_id = rd32(e + 4);
			flags = rd32(e + 8);
			if (apic_id == 0xffffffffu)
				continue;
		} else {
			continue;
		}
		if (flags & (MADT_CPU_ENABLED | MADT_CPU_ONLINE_CAP))
			add_cpu(out, apic_id);
	}
	if (out->count == 0)
		return fail(out, "MADT", pa, MADT_ERR_NO_CPUS);
	return MADT_OK;
}

int madt_find_cpus(struct smp_cpu_list *out)
{
	struct rsdp rsdp;
	const uint8_t *root, *madt;
	uint32_t root_len, madt_len;
	uint64_t root_pa, madt_pa;
	const char *root_name;
	uint32_t entry_size;
	int err;

	*out = (struct smp_cpu_list){0};
	if (!find_rsdp(&rsdp))
		return fail(out, "RSDP", 0, MADT_ERR_NO_RSDP);
	/* ACPI 2.0+ firmware gives an XSDT, which supersedes the RSDT (5.2.5.3). */
	if (rsdp.revision >= 2 && rsdp.xsdt != 0) {
		root_pa = rsdp.xsdt;
		root_name = "XSDT";
		entry_size = 8;
	} else {
		root_pa = rsdp.rsdt;
		root_name = "RSDT";
		entry_size = 4;
	}
	err = map_sdt(root_pa, root_name, root_name, out, &root, &root_len);
	if (err != MADT_OK)
		return err;
	madt_pa = find_madt(root, root_len, entry_size);
	if (madt_pa == 0)
		return fail(out, root_name, root_pa, MADT_ERR_NO_MADT);
	err = map_sdt(madt_pa, "APIC", "MADT", out, &madt, &madt_len);
	if (err != MADT_OK)
		return err;
	return parse_madt(madt, madt_len, madt_pa, out);
}

const char *madt_strerror(int err)
{
	switch (err) {
	case MADT_OK:
		return "no error";
	case MADT_ERR_NO_RSDP:
		return "no ACPI RSDP with a valid checksum in the EBDA or 0xE0000-0xFFFFF";
	case MADT_ERR_UNREADABLE:
		return "table lies outside readable physical memory";
	case MADT_ERR_SIGNATURE:
		return "table signature does not match";
	case MADT_ERR_LENGTH:
		return "table length is too small or too large";
	case MADT_ERR_CHECKSUM:
		return "table checksum is wrong";
	case MADT_ERR_NO_MADT:
		return "no MADT (\"APIC\") table listed";
	case MADT_ERR_BAD_ENTRY:
		return "MADT entry is too short or runs past the end of the table";
	case MADT_ERR_NO_CPUS:
		return "MADT lists no enabled or online-capable processor";
	default:
		return "unknown error";
	}
}
