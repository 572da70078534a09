/*
 * Second-level page tables. Non-leaf entries always allow read and write (the
 * unit ANDs permissions down the walk, VT-d spec 3.6.1), so only leaves
 * decide. Leaves are identity: the DMA address is the physical address.
 */
#include "libiommu/sl_pt.h"

#include "hw/hw.h"
#include "hw/vtd_defs.h"
#include "rt/palloc.h"

#define ENTRIES 512u
#define RW      (VTD_SL_R | VTD_SL_W)
#define SPAN(l) (1ull << (12u + 9u * ((l)-1u)))

static uint64_t *table(uint64_t pa)
{
	return hw_phys_ptr(pa);
}

static uint64_t new_table(struct slpt *t)
{
	uint64_t pa = palloc_page(); /* zeroed: every entry absent */
	if (pa != 0)
		t->tables++;
	return pa;
}

int slpt_init(struct slpt *t, unsigned levels, bool large)
{
	*t = (struct slpt){.levels = levels, .large = large};
	if (levels != 3 && levels != 4)
		return SLPT_ERR_RANGE;
	t->root = new_table(t);
	return t->root ? SLPT_OK : SLPT_ERR_NOMEM;
}

/* A 2 MiB leaf becomes a table of 512 4 KiB leaves with the same rights. */
static int split(struct slpt *t, uint64_t *e, uint64_t start)
{
	uint64_t pa = new_table(t);
	if (pa == 0)
		return SLPT_ERR_NOMEM;
	uint64_t *sub = table(pa);
	for (unsigned i = 0; i < ENTRIES; i++)
		sub[i] = (start + i * SPAN(1)) | (*e & RW);
	*e = pa | RW;
	return SLPT_OK;
}

static int set_level(struct slpt *t, uint64_t tpa, unsigned level, uint64_t a, uint64_t end,
                     bool map)
{
	uint64_t *tbl = table(tpa), span = SPAN(level);

	while (a < end) {
		uint64_t *e = &tbl[(a / span) % ENTRIES];
		uint64_t start = a & ~(span - 1), stop = start + span;
		uint64_t sub_end = end < stop ? end : stop;
		bool leaf = level == 1 || (*e & VTD_SL_PS);
		bool whole = a == start && end >= stop;

		if (level == 1) {
			*e = map ? a | RW : 0;
		} else if (whole && level == 2 && t->large && (*e == 0 || leaf)) {
			*e = map ? start | RW | VTD_SL_PS : 0;
		} else if (*e == 0 && !map) {
			/* already absent */
		} else {
			int err = SLPT_OK;
			if (*e == 0) {
				uint64_t pa = new_table(t);
				if (pa == 0)
					return SLPT_ERR_NOMEM;
				*e = pa | RW;
			} else if (leaf) {
				err = split(t, e, start);
			}
			if (err == SLPT_OK)
				err = set_level(t, *e & VTD_ADDR_MASK, level - 1, a, sub_end, map);
			if (err != SLPT_OK)
				return err;
		}
		a = sub_end;
	}
	return SLPT_OK;
}

int slpt_set(struct slpt *t, uint64_t base, uint64_t size, bool map)
{
	uint64_t top = SPAN(t->levels) * ENTRIES;

	if (size == 0 || base % SPAN(1) != 0 || size % SPAN(1) != 0 || base >= top ||
	    size > top - base)
		return SLPT_ERR_RANGE;
	return set_level(t, t->root, t->levels, base, base + size, map);
}

uint64_t slpt_leaf(const struct slpt *t, uint64_t addr, unsigned *level)
{
	uint64_t tpa = t->root;

	for (unsigned l = t->levels; l >= 1; l--) {
		uint64_t e = table(tpa)[(addr / SPAN(l)) % ENTRIES];
		*level = l;
		if (e == 0 || l == 1 || (e & VTD_SL_PS))
			return e;
		tpa = e & VTD_ADDR_MASK;
	}
	return 0;
}
