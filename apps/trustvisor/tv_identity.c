/* A PAL's identity (format in tv_identity.h). */
#include "apps/trustvisor/tv_identity.h"

#include <stddef.h>

#include <bearssl.h>

#define PAGE 4096u

static void put_le(uint8_t *p, uint64_t v, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

bool tv_identity_compute(const struct tv_pal_desc *d, tv_identity_page_fn page, void *arg,
                         uint8_t out[TV_IDENTITY_SIZE])
{
	uint8_t order[TV_MAX_SECTIONS], rec[TV_IDENTITY_HEADER_SIZE];
	uint32_t n = d->nsections;
	br_sha256_context c;

	/* Ascending addresses: the descriptor's order means nothing to the PAL. */
	for (uint32_t i = 0; i < n; i++) {
		uint32_t j = i;
		for (; j > 0 && d->sec[order[j - 1]].gva > d->sec[i].gva; j--)
			order[j] = order[j - 1];
		order[j] = (uint8_t)i;
	}
	uint64_t base = d->sec[order[0]].gva;

	br_sha256_init(&c);
	for (unsigned i = 0; i < 8; i++)
		rec[i] = (uint8_t)TV_IDENTITY_TAG[i];
	put_le(rec + 8, d->in_words, 4);
	put_le(rec + 12, d->out_words, 4);
	put_le(rec + 16, d->entry - base, 8);
	put_le(rec + 24, n, 4);
	put_le(rec + 28, 0, 4);
	br_sha256_update(&c, rec, TV_IDENTITY_HEADER_SIZE);
	for (uint32_t i = 0; i < n; i++) {
		const struct tv_section *s = &d->sec[order[i]];
		put_le(rec, s->gva - base, 8);
		put_le(rec + 8, s->size, 8);
		put_le(rec + 16, s->kind, 4);
		put_le(rec + 20, 0, 4);
		br_sha256_update(&c, rec, TV_IDENTITY_ENTRY_SIZE);
	}
	for (uint32_t i = 0; i < n; i++) {
		const struct tv_section *s = &d->sec[order[i]];
		if (s->kind != TV_SEC_CODE)
			continue;
		for (uint64_t off = 0; off < s->size; off += PAGE) {
			const void *p = page(arg, s->gva + off);
			if (p == NULL)
				return false;
			br_sha256_update(&c, p, PAGE);
		}
	}
	br_sha256_out(&c, out);
	return true;
}
