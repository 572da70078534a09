/*
 * DMAR parsing (Intel VT-d spec rev. 4.x 8.1-8.4): the header, then remapping
 * structures of type DRHD (0) and RMRR (1); ATSR, RHSA, ANDD, SATC and SIDP
 * are skipped by their length. Each length is checked before it is followed.
 */
#include "libiommu/dmar.h"

#define SDT_HEADER_LEN   36u
#define DMAR_STRUCTS_OFF 48u /* header, host address width, flags, 10 reserved */
#define DMAR_TYPE_DRHD   0u
#define DMAR_TYPE_RMRR   1u
#define DRHD_SCOPES_OFF  16u
#define RMRR_SCOPES_OFF  24u
#define SCOPE_PATH_OFF   6u
#define DRHD_INCLUDE_ALL 1u
#define SDT_MAX_LEN      (1u << 20)

static uint16_t rd16(const uint8_t *p)
{
	return (uint16_t)(p[0] | (p[1] << 8));
}

static uint32_t rd32(const uint8_t *p)
{
	return (uint32_t)rd16(p) | ((uint32_t)rd16(p + 2) << 16);
}

static uint64_t rd64(const uint8_t *p)
{
	return rd32(p) | ((uint64_t)rd32(p + 4) << 32);
}

static uint8_t sum(const uint8_t *p, size_t len)
{
	uint8_t s = 0;
	for (size_t i = 0; i < len; i++)
		s = (uint8_t)(s + p[i]);
	return s;
}

/* Device scopes in [p, end): stores the first DMAR_MAX_SCOPES, counts all. */
static int parse_scopes(const uint8_t *p, const uint8_t *end, struct dmar_scope *scope,
                        uint32_t *count)
{
	*count = 0;
	while (p < end) {
		if (end - p < (long)SCOPE_PATH_OFF + 2 || p[1] < SCOPE_PATH_OFF + 2 ||
		    p[1] > end - p || (p[1] - SCOPE_PATH_OFF) % 2 != 0)
			return DMAR_ERR_ENTRY;
		if (*count < DMAR_MAX_SCOPES) {
			struct dmar_scope *s = &scope[*count];
			s->type = p[0];
			s->enum_id = p[4];
			s->bus = p[5];
			s->dev = p[SCOPE_PATH_OFF];
			s->fn = p[SCOPE_PATH_OFF + 1];
			s->path_len = (uint8_t)((p[1] - SCOPE_PATH_OFF) / 2);
		}
		(*count)++;
		p += p[1];
	}
	return DMAR_OK;
}

static int parse_drhd(const uint8_t *p, uint16_t len, struct dmar_info *out)
{
	if (len < DRHD_SCOPES_OFF)
		return DMAR_ERR_ENTRY;
	if (out->nunits == DMAR_MAX_UNITS)
		return DMAR_ERR_TOO_MANY;
	struct dmar_unit *u = &out->unit[out->nunits];
	u->include_all = (p[4] & DRHD_INCLUDE_ALL) != 0;
	u->size_log2 = p[5] & 0xfu;
	u->segment = rd16(p + 6);
	u->base = rd64(p + 8);
	if (u->base == 0 || u->base % 4096 != 0)
		return DMAR_ERR_UNIT;
	int err = parse_scopes(p + DRHD_SCOPES_OFF, p + len, u->scope, &u->nscopes);
	if (err == DMAR_OK)
		out->nunits++;
	return err;
}

static int parse_rmrr(const uint8_t *p, uint16_t len, struct dmar_info *out)
{
	if (len < RMRR_SCOPES_OFF)
		return DMAR_ERR_ENTRY;
	if (out->nrmrrs == DMAR_MAX_RMRRS)
		return DMAR_ERR_TOO_MANY;
	struct dmar_rmrr *r = &out->rmrr[out->nrmrrs];
	r->segment = rd16(p + 6);
	r->base = rd64(p + 8);
	r->limit = rd64(p + 16);
	if (r->limit < r->base)
		return DMAR_ERR_UNIT;
	int err = parse_scopes(p + RMRR_SCOPES_OFF, p + len, r->scope, &r->nscopes);
	if (err == DMAR_OK)
		out->nrmrrs++;
	return err;
}

int dmar_parse(const uint8_t *table, size_t avail, struct dmar_info *out)
{
	*out = (struct dmar_info){0};
	if (avail < DMAR_STRUCTS_OFF)
		return DMAR_ERR_LENGTH;
	if (table[0] != 'D' || table[1] != 'M' || table[2] != 'A' || table[3] != 'R')
		return DMAR_ERR_SIGNATURE;
	uint32_t len = rd32(table + 4);
	if (len < DMAR_STRUCTS_OFF || len > avail || len > SDT_MAX_LEN)
		return DMAR_ERR_LENGTH;
	if (sum(table, len) != 0)
		return DMAR_ERR_CHECKSUM;
	out->host_addr_width = (uint8_t)(table[SDT_HEADER_LEN] + 1u);
	out->flags = table[SDT_HEADER_LEN + 1];
	for (uint32_t off = DMAR_STRUCTS_OFF; off < len;) {
		if (len - off < 4)
			return DMAR_ERR_ENTRY;
		uint16_t type = rd16(table + off), slen = rd16(table + off + 2);
		if (slen < 4 || slen > len - off)
			return DMAR_ERR_ENTRY;
		int err = DMAR_OK;
		if (type == DMAR_TYPE_DRHD)
			err = parse_drhd(table + off, slen, out);
		else if (type == DMAR_TYPE_RMRR)
			err = parse_rmrr(table + off, slen, out);
		if (err != DMAR_OK)
			return err;
		off += slen;
	}
	return DMAR_OK;
}

const char *dmar_strerror(int err)
{
	switch (err) {
	case DMAR_OK:
		return "ok";
	case DMAR_ERR_SIGNATURE:
		return "signature is not DMAR";
	case DMAR_ERR_LENGTH:
		return "bad table length";
	case DMAR_ERR_CHECKSUM:
		return "bad checksum";
	case DMAR_ERR_ENTRY:
		return "a remapping structure or device scope runs past its end";
	case DMAR_ERR_TOO_MANY:
		return "more remapping units or RMRRs than libiommu holds";
	case DMAR_ERR_UNIT:
		return "a unit address or RMRR range is invalid";
	}
	return "unknown error";
}

void dmar_hide(uint8_t *table)
{
	uint32_t len = rd32(table + 4);
	for (int i = 0; i < 4; i++)
		table[i] = 0;
	table[9] = 0; /* the checksum byte (ACPI 5.2.6) */
	table[9] = (uint8_t)(0u - sum(table, len));
}
