/*
 * E820 maps: normalising the firmware's map and carving the guest's.
 *
 * Every change goes through one overlay pass that rebuilds the map in a scratch
 * buffer, merging as it emits, so the result is normalised by construction and the
 * caller's map is untouched when the result would not fit.
 */
#include "libvmx/e820.h"

#include "rt/console.h"
#include "rt/layout.h"
#include "rt/multiboot.h"
#include "rt/spinlock.h"
#include "rt/string.h"

static struct spinlock scratch_lock = SPINLOCK_INIT;
static struct e820_map scratch;

static uint64_t entry_end(const struct e820_entry *e)
{
	return e->base + e->len;
}

/* Appends [base, end) to `out`, merging with the previous entry when possible. */
static bool emit(struct e820_map *out, uint64_t base, uint64_t end, uint32_t type)
{
	if (end <= base)
		return true;
	if (out->count > 0) {
		struct e820_entry *last = &out->entries[out->count - 1];
		if (entry_end(last) == base && last->type == type) {
			last->len = end - last->base;
			return true;
		}
	}
	if (out->count == E820_MAX_ENTRIES)
		return false;
	out->entries[out->count++] = (struct e820_entry){base, end - base, type};
	return true;
}

/*
 * Overlays [base, end) with `type` on the normalised `map` into `out`. Where an
 * entry overlaps, the overlap gets `type` if `force`, else the larger type.
 */
static bool overlay(const struct e820_map *map, uint64_t base, uint64_t end, uint32_t type,
                    bool force, struct e820_map *out)
{
	uint64_t cursor = base; /* start of the part of [base, end) not emitted yet */
	bool ok = true;

	out->count = 0;
	for (uint32_t i = 0; i < map->count && ok; i++) {
		const struct e820_entry *e = &map->entries[i];
		uint64_t e_end = entry_end(e);

		if (e_end <= base) {
			ok = emit(out, e->base, e_end, e->type);
			continue;
		}
		if (e->base >= end) {
			ok = emit(out, cursor, end, type) && emit(out, e->base, e_end, e->type);
			cursor = end;
			continue;
		}
		/* e overlaps [base, end): its part before, the gap before it, the overlap, its part
		 * after. */
		uint64_t lo = e->base > base ? e->base : base;
		uint64_t hi = e_end < end ? e_end : end;
		uint32_t t = force ? type : (e->type > type ? e->type : type);
		ok = emit(out, e->base, base, e->type) && emit(out, cursor, lo, type) &&
		     emit(out, lo, hi, t) && emit(out, end, e_end, e->type);
		cursor = hi;
	}
	return ok && emit(out, cursor, end, type);
}

static int apply(struct e820_map *map, uint64_t base, uint64_t len, uint32_t type, bool force)
{
	if (len == 0 || base >= E820_ADDR_LIMIT)
		return 0;
	uint64_t end = base + len;
	if (end < base || end > E820_ADDR_LIMIT)
		end = E820_ADDR_LIMIT;
	if (type == 0) /* undefined types are reserved (ACPI 6.x Table 15.4) */
		type = E820_RESERVED;

	spin_lock(&scratch_lock);
	bool ok = overlay(map, base, end, type, force, &scratch);
	if (ok) {
		map->count = scratch.count;
		memcpy(map->entries, scratch.entries, scratch.count * sizeof(scratch.entries[0]));
	}
	spin_unlock(&scratch_lock);
	return ok ? 0 : E820_ERR_FULL;
}

void e820_init(struct e820_map *map)
{
	map->count = 0;
}

int e820_add(struct e820_map *map, uint64_t base, uint64_t len, uint32_t type)
{
	return apply(map, base, len, type, false);
}

int e820_set(struct e820_map *map, uint64_t base, uint64_t len, uint32_t type)
{
	return apply(map, base, len, type, true);
}

int e820_from_entries(const struct e820_entry *in, uint32_t n, struct e820_map *out)
{
	e820_init(out);
	for (uint32_t i = 0; i < n; i++) {
		int rc = e820_add(out, in[i].base, in[i].len, in[i].type);
		if (rc < 0)
			return rc;
	}
	return 0;
}

/*
 * GRUB builds the multiboot mmap (Multiboot 0.6.96, 3.3: mmap_addr, each entry
 * preceded by its `size`, which rt/multiboot.c consumes) from the BIOS E820 map;
 * entries may be unsorted or overlap, and normalising takes care of both.
 * Without a map, mem_lower/mem_upper still describe the two RAM ranges of a PC.
 */
int e820_firmware_map(const struct mb_info *mbi, struct e820_map *out)
{
	e820_init(out);
	if (mbi->mmap_count == 0) {
		if (!(mbi->flags & MB_FLAG_MEM)) {
			hv_printf("hv: E820: the boot loader passed no memory map\n");
			return E820_ERR_INPUT;
		}
		if (e820_add(out, 0, (uint64_t)mbi->mem_lower_kb << 10, E820_RAM) < 0 ||
		    e820_add(out, 1ull << 20, (uint64_t)mbi->mem_upper_kb << 10, E820_RAM) < 0)
			return E820_ERR_FULL;
		return 0;
	}
	for (uint32_t i = 0; i < mbi->mmap_count && i < MB_MAX_MMAP; i++) {
		const struct mb_mmap_entry *m = &mbi->mmap[i];
		if (e820_add(out, m->base, m->len, m->type) < 0) {
			hv_printf("hv: E820: firmware map needs more than %u entries\n",
			          E820_MAX_ENTRIES);
			return E820_ERR_FULL;
		}
	}
	return 0;
}

int e820_build_guest_map(const struct mb_info *mbi, struct e820_map *out)
{
	int rc = e820_firmware_map(mbi, out);
	if (rc < 0)
		return rc;
	if (e820_set(out, HV_REGION_BASE, HV_REGION_SIZE, E820_RESERVED) < 0) {
		hv_printf("hv: E820: no room in the guest map for the hypervisor region\n");
		return E820_ERR_FULL;
	}
	return 0;
}

const struct e820_entry *e820_guest_entry(const struct e820_map *map, uint32_t index)
{
	return index < map->count ? &map->entries[index] : NULL;
}

const struct e820_entry *e820_find(const struct e820_map *map, uint64_t addr)
{
	for (uint32_t i = 0; i < map->count; i++) {
		const struct e820_entry *e = &map->entries[i];
		if (addr >= e->base && addr < entry_end(e))
			return e;
	}
	return NULL;
}

bool e820_range_is(const struct e820_map *map, uint64_t base, uint64_t len, uint32_t type)
{
	uint64_t end = base + len;
	/* Entries are sorted and merged, so a covered range is a run of touching entries. */
	for (uint32_t i = 0; i < map->count && base < end; i++) {
		const struct e820_entry *e = &map->entries[i];
		if (entry_end(e) <= base)
			continue;
		if (e->base > base || e->type != type)
			return false;
		base = entry_end(e);
	}
	return base >= end;
}

bool e820_range_has(const struct e820_map *map, uint64_t base, uint64_t len, uint32_t type)
{
	uint64_t end = base + len;
	for (uint32_t i = 0; i < map->count; i++) {
		const struct e820_entry *e = &map->entries[i];
		if (e->type == type && e->base < end && entry_end(e) > base)
			return true;
	}
	return false;
}

uint64_t e820_top(const struct e820_map *map)
{
	return map->count ? entry_end(&map->entries[map->count - 1]) : 0;
}

static const char *type_name(uint32_t type)
{
	switch (type) {
	case E820_RAM:
		return "RAM";
	case E820_RESERVED:
		return "reserved";
	case E820_ACPI:
		return "ACPI data";
	case E820_NVS:
		return "ACPI NVS";
	case E820_UNUSABLE:
		return "unusable";
	default:
		return "other";
	}
}

void e820_print(const struct e820_map *map, const char *title)
{
	hv_printf("hv: %s (%u entries)\n", title, map->count);
	for (uint32_t i = 0; i < map->count; i++) {
		const struct e820_entry *e = &map->entries[i];
		hv_printf("hv:   [%016llx-%016llx) %u %s\n", (unsigned long long)e->base,
		          (unsigned long long)entry_end(e), e->type, type_name(e->type));
	}
}
