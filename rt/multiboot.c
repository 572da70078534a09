/* Multiboot v1 information parsing (rt/multiboot.h; spec 0.6.96 section 3.3). */
#include "rt/multiboot.h"

#include "hw/hw.h"
#include "rt/string.h"

/* The raw boot information, as the loader lays it out. */
struct __attribute__((packed)) raw_info {
	uint32_t flags;
	uint32_t mem_lower, mem_upper;
	uint32_t boot_device;
	uint32_t cmdline;
	uint32_t mods_count, mods_addr;
	uint32_t syms[4];
	uint32_t mmap_length, mmap_addr;
	uint32_t drives_length, drives_addr;
	uint32_t config_table;
	uint32_t boot_loader_name;
};

struct __attribute__((packed)) raw_module {
	uint32_t mod_start, mod_end;
	uint32_t string;
	uint32_t reserved;
};

/* `size` does not count itself: the next entry is at entry + size + 4. */
struct __attribute__((packed)) raw_mmap_entry {
	uint32_t size;
	uint64_t base_addr;
	uint64_t length;
	uint32_t type;
};
#define RAW_MMAP_MIN_SIZE 20 /* base_addr, length, type */

static void copy_string(char *dst, uint32_t pa)
{
	dst[0] = '\0';
	if (pa == 0)
		return;
	const char *src = hw_phys_ptr(pa);
	size_t i = 0;
	for (; i < MB_STRING_MAX - 1 && src[i] != '\0'; i++)
		dst[i] = src[i];
	dst[i] = '\0';
}

static int parse_mmap(const struct raw_info *raw, struct mb_info *out)
{
	if (!(raw->flags & MB_FLAG_MMAP))
		return MB_ERR_NO_MMAP;
	uint64_t pa = raw->mmap_addr;
	uint64_t end = pa + raw->mmap_length;
	while (pa < end) {
		const struct raw_mmap_entry *e = hw_phys_ptr(pa);
		if (e->size < RAW_MMAP_MIN_SIZE || pa + 4 + e->size > end)
			return MB_ERR_BAD_MMAP;
		if (out->mmap_count == MB_MAX_MMAP)
			return MB_ERR_TOO_MANY_MMAP;
		out->mmap[out->mmap_count++] =
		    (struct mb_mmap_entry){.base = e->base_addr, .len = e->length, .type = e->type};
		pa += 4 + (uint64_t)e->size;
	}
	return MB_OK;
}

static int parse_modules(const struct raw_info *raw, struct mb_info *out)
{
	if (!(raw->flags & MB_FLAG_MODS))
		return MB_OK;
	if (raw->mods_count > MB_MAX_MODULES)
		return MB_ERR_TOO_MANY_MODULES;
	const struct raw_module *m = hw_phys_ptr(raw->mods_addr);
	for (uint32_t i = 0; i < raw->mods_count; i++) {
		out->modules[i].start = m[i].mod_start;
		out->modules[i].end = m[i].mod_end;
		copy_string(out->modules[i].string, m[i].string);
	}
	out->module_count = raw->mods_count;
	return MB_OK;
}

int mb_parse(uint64_t mbi_pa, struct mb_info *out)
{
	memset(out, 0, sizeof(*out));
	if (mbi_pa == 0)
		return MB_ERR_NO_INFO;

	const struct raw_info *raw = hw_phys_ptr(mbi_pa);
	out->mbi_pa = mbi_pa;
	out->flags = raw->flags;
	if (raw->flags & MB_FLAG_MEM) {
		out->mem_lower_kb = raw->mem_lower;
		out->mem_upper_kb = raw->mem_upper;
	}
	if (raw->flags & MB_FLAG_CMDLINE)
		copy_string(out->cmdline, raw->cmdline);
	if (raw->flags & MB_FLAG_LOADER_NAME)
		copy_string(out->boot_loader_name, raw->boot_loader_name);

	int err = parse_mmap(raw, out);
	if (err == MB_OK)
		err = parse_modules(raw, out);
	if (err != MB_OK)
		memset(out, 0, sizeof(*out));
	return err;
}

const char *mb_strerror(int err)
{
	switch (err) {
	case MB_OK:
		return "no error";
	case MB_ERR_NO_INFO:
		return "no multiboot information (EBX was 0)";
	case MB_ERR_NO_MMAP:
		return "the boot loader passed no memory map (multiboot flags bit 6 clear)";
	case MB_ERR_BAD_MMAP:
		return "the memory map is malformed (entry size below 20 or past its end)";
	case MB_ERR_TOO_MANY_MMAP:
		return "the memory map has more entries than MB_MAX_MMAP";
	case MB_ERR_TOO_MANY_MODULES:
		return "more multiboot modules than MB_MAX_MODULES";
	default:
		return "unknown multiboot error";
	}
}
