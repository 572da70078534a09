/*
 * The multiboot (v1) information GRUB passes to the hypervisor, parsed into a
 * self-contained copy (Multiboot Specification 0.6.96, section 3.3).
 *
 * Everything is copied, strings included: the raw structures live in low memory
 * that becomes guest RAM. Module contents are not copied; their [start, end)
 * ranges are kept out of the page allocator.
 */
#ifndef RT_MULTIBOOT_H
#define RT_MULTIBOOT_H

#include <stdint.h>

/* EAX at entry from a multiboot v1 loader. */
#define MB_BOOTLOADER_MAGIC 0x2BADB002

#define MB_MAX_MMAP    128
#define MB_MAX_MODULES 16
#define MB_STRING_MAX  256

/* mb_info.flags bits (which optional fields the loader provided). */
#define MB_FLAG_MEM         (1u << 0)
#define MB_FLAG_CMDLINE     (1u << 2)
#define MB_FLAG_MODS        (1u << 3)
#define MB_FLAG_MMAP        (1u << 6)
#define MB_FLAG_LOADER_NAME (1u << 9)

/* E820-style types of mmap entries. */
#define MB_MEMORY_AVAILABLE        1
#define MB_MEMORY_RESERVED         2
#define MB_MEMORY_ACPI_RECLAIMABLE 3
#define MB_MEMORY_NVS              4
#define MB_MEMORY_BADRAM           5

struct mb_mmap_entry {
	uint64_t base;
	uint64_t len;
	uint32_t type;
};

struct mb_module {
	uint64_t start; /* physical, [start, end) */
	uint64_t end;
	char string[MB_STRING_MAX]; /* its command line ("" if none) */
};

struct mb_info {
	uint64_t mbi_pa;                     /* where the raw structure was */
	uint32_t flags;                      /* the raw flags word */
	uint32_t mem_lower_kb, mem_upper_kb; /* valid if flags & MB_FLAG_MEM */
	uint32_t mmap_count;
	struct mb_mmap_entry mmap[MB_MAX_MMAP];
	uint32_t module_count;
	struct mb_module modules[MB_MAX_MODULES];
	char cmdline[MB_STRING_MAX];          /* "" if absent */
	char boot_loader_name[MB_STRING_MAX]; /* "" if absent */
};

/* mb_parse() results. */
enum mb_error {
	MB_OK = 0,
	MB_ERR_NO_INFO = -1,         /* mbi_pa is 0 */
	MB_ERR_NO_MMAP = -2,         /* flags bit 6 clear: no memory map */
	MB_ERR_BAD_MMAP = -3,        /* an entry's size field is too small */
	MB_ERR_TOO_MANY_MMAP = -4,   /* more than MB_MAX_MMAP entries */
	MB_ERR_TOO_MANY_MODULES = -5 /* more than MB_MAX_MODULES modules */
};

/* Parses the information at physical mbi_pa into *out. Returns MB_OK or an
 * enum mb_error; *out is fully written either way (zeroed on error). */
int mb_parse(uint64_t mbi_pa, struct mb_info *out);

/* A sentence for an enum mb_error. */
const char *mb_strerror(int err);

#endif /* RT_MULTIBOOT_H */
