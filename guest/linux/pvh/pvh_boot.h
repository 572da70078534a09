/*
 * The PVH loader's pure parts (no I/O, no fixed addresses): the ELF64 reading,
 * the checks of where its segments go, the multiboot-to-hvm memory map and the
 * RSDP scan. The loader (loader.c) runs them on physical memory; the cmocka test
 * (tests/unit/pvh) runs them on host buffers.
 *
 * The start-of-day structure is Xen's public ABI (xen/include/public/arch-x86/hvm/
 * start_info.h, version 1: with a memory map) as Linux's PVH entry reads it
 * (arch/x86/platform/pvh/enlighten.c; without Xen it needs version >= 1 and a
 * non-empty memory map). Every address is physical; all of them stay below 4 GiB.
 */
#ifndef GUEST_LINUX_PVH_PVH_BOOT_H
#define GUEST_LINUX_PVH_PVH_BOOT_H

#include <stdbool.h>
#include <stdint.h>

#define HVM_START_MAGIC          0x336ec578u
#define HVM_START_VERSION        1u
#define XEN_ELFNOTE_PHYS32_ENTRY 18u

struct hvm_start_info {
	uint32_t magic;
	uint32_t version;
	uint32_t flags;
	uint32_t nr_modules;
	uint64_t modlist_paddr;
	uint64_t cmdline_paddr;
	uint64_t rsdp_paddr;
	uint64_t memmap_paddr; /* version 1 */
	uint32_t memmap_entries;
	uint32_t reserved;
};

struct hvm_modlist_entry {
	uint64_t paddr;
	uint64_t size;
	uint64_t cmdline_paddr;
	uint64_t reserved;
};

/* Types are the E820 ones (1 RAM, 2 reserved, 3 ACPI, 4 NVS, 5 unusable, ...). */
struct hvm_memmap_table_entry {
	uint64_t addr;
	uint64_t size;
	uint32_t type;
	uint32_t reserved;
};

_Static_assert(sizeof(struct hvm_start_info) == 56, "hvm_start_info v1 is 56 bytes");
_Static_assert(sizeof(struct hvm_modlist_entry) == 32, "hvm_modlist_entry is 32 bytes");
_Static_assert(sizeof(struct hvm_memmap_table_entry) == 24, "hvm_memmap_table_entry: 24 bytes");

#define HVM_MEMMAP_RAM      1u
#define HVM_MEMMAP_RESERVED 2u

#define PVH_MAX_SEGMENTS 16

/* One PT_LOAD: file bytes [offset, offset + filesz) go to paddr; memsz - filesz zeros follow. */
struct pvh_segment {
	uint64_t paddr;
	uint64_t offset;
	uint64_t filesz;
	uint64_t memsz;
};

struct pvh_image {
	uint32_t entry; /* the PHYS32_ENTRY note's address */
	uint32_t nsegs;
	struct pvh_segment seg[PVH_MAX_SEGMENTS];
};

/*
 * Reads an x86-64 ELF executable of `size` bytes: its PT_LOAD segments (each within
 * the file and below 4 GiB) and the Xen PHYS32_ENTRY note of its PT_NOTE segments,
 * which must point into a loaded segment. NULL, or what is wrong.
 */
const char *pvh_parse_elf(const uint8_t *elf, uint64_t size, struct pvh_image *img);

/* A physical range [base, base + len) the segments must not touch, named for messages. */
struct pvh_range {
	uint64_t base;
	uint64_t len;
	const char *name;
};

bool pvh_overlaps(uint64_t a, uint64_t alen, uint64_t b, uint64_t blen);

enum pvh_place {
	PVH_PLACE_OK = 0,
	PVH_PLACE_AVOID,    /* segment *seg overlaps avoid[*other] */
	PVH_PLACE_SEGMENTS, /* segment *seg overlaps segment *other */
	PVH_PLACE_NOT_RAM,  /* segment *seg is not all RAM in the map */
};

/* Whether the segments can be copied: in RAM, apart from each other and from `avoid`. */
enum pvh_place pvh_check_place(const struct pvh_image *img, const struct pvh_range *avoid,
                               uint32_t navoid, const struct hvm_memmap_table_entry *map,
                               uint32_t nmap, uint32_t *seg, uint32_t *other);

/* Whether the map's RAM entries cover [base, base + len) (adjacent entries may share it). */
bool pvh_is_ram(uint64_t base, uint64_t len, const struct hvm_memmap_table_entry *map,
                uint32_t nmap);

/*
 * Where the n modules must be for the segments not to overwrite them. GRUB puts
 * multiboot modules low (from ~1 MiB), under a kernel loaded from 16 MiB. If no
 * module touches the segments' span, each stays (dest[i] = mods[i].base);
 * otherwise all are packed, in order and page-aligned, from the first page at or
 * above both `floor` and the end of the segments. False when that space is not
 * all RAM.
 */
bool pvh_plan_modules(const struct pvh_image *img, const struct pvh_range *mods, uint32_t n,
                      uint64_t floor, const struct hvm_memmap_table_entry *map, uint32_t nmap,
                      uint64_t *dest);

/*
 * Converts a multiboot v1 memory map (`length` bytes of {size, base, length, type}
 * entries, each `size` + 4 bytes long) to hvm entries: the multiboot types 1-5 are
 * the E820 ones, any other type becomes reserved, empty entries are dropped. The
 * number written, or -1 when there are more than max or an entry is malformed.
 */
int32_t pvh_memmap_from_multiboot(const uint8_t *mmap, uint32_t length,
                                  struct hvm_memmap_table_entry *out, uint32_t max);

/* The kernel's arguments in a multiboot command line: GRUB puts the loader's path first. */
const char *pvh_cmdline_args(const char *mb_cmdline);

/* Whether p (room bytes readable) holds an RSDP: "RSD PTR ", both checksums. */
bool pvh_rsdp_valid(const uint8_t *p, uint64_t room);

/* The physical address of the first RSDP on a 16-byte boundary of mem (at phys), or 0. */
uint64_t pvh_find_rsdp(const uint8_t *mem, uint64_t phys, uint64_t len);

#endif
