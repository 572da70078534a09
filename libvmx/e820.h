/*
 * E820 memory maps: the firmware's (as GRUB passed it in the multiboot mmap) and
 * the guest's (the firmware's with the hypervisor region and the BIOS-hook page
 * taken out as reserved).
 *
 * A map held in a struct e820_map is always normalised: sorted by base, no
 * overlaps, no empty entries, adjacent entries of the same type merged. Where
 * input entries overlap, the larger type number wins (so reserved, ACPI, NVS
 * and unusable all beat RAM, as in Linux's sanitize_e820_map).
 *
 * Not locked: maps are built once on the boot CPU before the guest starts and
 * only read afterwards.
 */
#ifndef LIBVMX_E820_H
#define LIBVMX_E820_H

#include <stdbool.h>
#include <stdint.h>

struct mb_info; /* rt/multiboot.h */

/* Types (ACPI 6.x, 15.1 "INT 15H, E820H - Query System Address Map"). */
#define E820_RAM      1u
#define E820_RESERVED 2u
#define E820_ACPI     3u
#define E820_NVS      4u
#define E820_UNUSABLE 5u

/* Entries a map can hold; more than any firmware reports in practice. */
#define E820_MAX_ENTRIES 128u
/* Addresses at or above this are clipped (the architectural physical-address limit). */
#define E820_ADDR_LIMIT (1ull << 52)

/* Errors (negative return values). */
#define E820_ERR_FULL  (-1) /* the result would need more than E820_MAX_ENTRIES entries */
#define E820_ERR_INPUT (-2) /* no usable memory map from the boot loader */

struct e820_entry {
	uint64_t base;
	uint64_t len;
	uint32_t type;
};

struct e820_map {
	uint32_t count;
	struct e820_entry entries[E820_MAX_ENTRIES];
};

/* Empties `map`. */
void e820_init(struct e820_map *map);

/*
 * Adds [base, base+len) as `type` to a normalised map; where it overlaps existing
 * entries the larger type wins. Returns 0, or E820_ERR_FULL with `map` unchanged.
 */
int e820_add(struct e820_map *map, uint64_t base, uint64_t len, uint32_t type);

/*
 * Forces [base, base+len) to `type` (used to carve reserved ranges out of RAM).
 * Covers holes too. Returns 0, or E820_ERR_FULL with `map` unchanged.
 */
int e820_set(struct e820_map *map, uint64_t base, uint64_t len, uint32_t type);

/* Normalises `n` raw entries (any order, overlaps allowed) into `out`. */
int e820_from_entries(const struct e820_entry *in, uint32_t n, struct e820_map *out);

/* The firmware map: the multiboot mmap, normalised. Prints the reason on error. */
int e820_firmware_map(const struct mb_info *mbi, struct e820_map *out);

/*
 * The guest's map: the firmware map with [HV_REGION_BASE, +HV_REGION_SIZE) set to
 * reserved. The BIOS-hook page is carved by bios_hook_install(), which needs the
 * BDA and so runs after this. Prints the reason on error.
 */
int e820_build_guest_map(const struct mb_info *mbi, struct e820_map *out);

/* Entry `index` for the INT 15h E820h continuation protocol; NULL past the end. */
const struct e820_entry *e820_guest_entry(const struct e820_map *map, uint32_t index);

/* The entry containing `addr`, or NULL if `addr` is in a hole. */
const struct e820_entry *e820_find(const struct e820_map *map, uint64_t addr);

/* True if every byte of [base, base+len) is in entries of type `type`. */
bool e820_range_is(const struct e820_map *map, uint64_t base, uint64_t len, uint32_t type);

/* True if any byte of [base, base+len) is in an entry of type `type`. */
bool e820_range_has(const struct e820_map *map, uint64_t base, uint64_t len, uint32_t type);

/* Highest end address of any entry (0 for an empty map). */
uint64_t e820_top(const struct e820_map *map);

/* Prints the map, one "hv: " line per entry, under `title`. */
void e820_print(const struct e820_map *map, const char *title);

#endif /* LIBVMX_E820_H */
