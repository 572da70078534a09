/* The PVH loader's pure parts; see pvh_boot.h. */
#include "guest/linux/pvh/pvh_boot.h"

#define EM_X86_64 62u
#define ET_EXEC   2u
#define PT_LOAD   1u
#define PT_NOTE   4u
#define PHDR_SIZE 56u
#define FOUR_GIB  0x100000000ull

static uint32_t rd16(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8;
}

static uint32_t rd32(const uint8_t *p)
{
	return rd16(p) | rd16(p + 2) << 16;
}

static uint64_t rd64(const uint8_t *p)
{
	return (uint64_t)rd32(p) | (uint64_t)rd32(p + 4) << 32;
}

/* Whether [off, off + len) lies within size bytes (no wrap-around). */
static bool within(uint64_t off, uint64_t len, uint64_t size)
{
	return off <= size && len <= size - off;
}

/* The PHYS32_ENTRY note in notes[0, len), if any: *entry set, true. */
static bool find_entry_note(const uint8_t *notes, uint64_t len, uint32_t *entry)
{
	uint64_t off = 0;
	while (within(off, 12, len)) {
		uint32_t namesz = rd32(notes + off);
		uint32_t descsz = rd32(notes + off + 4);
		uint32_t type = rd32(notes + off + 8);
		uint64_t name = off + 12;
		uint64_t desc = name + (((uint64_t)namesz + 3) & ~3ull);
		uint64_t next = desc + (((uint64_t)descsz + 3) & ~3ull);
		if (!within(name, namesz, len) || !within(desc, descsz, len))
			return false;
		const uint8_t *n = notes + name;
		if (type == XEN_ELFNOTE_PHYS32_ENTRY && namesz == 4 && n[0] == 'X' && n[1] == 'e' &&
		    n[2] == 'n' && n[3] == 0 && (descsz == 4 || descsz == 8)) {
			/* A 64-bit kernel stores it as a .quad; the address is below 4 GiB. */
			if (descsz == 8 && rd32(notes + desc + 4) != 0)
				return false;
			*entry = rd32(notes + desc);
			return true;
		}
		off = next;
	}
	return false;
}

const char *pvh_parse_elf(const uint8_t *elf, uint64_t size, struct pvh_image *img)
{
	if (size < 64 || elf[0] != 0x7f || elf[1] != 'E' || elf[2] != 'L' || elf[3] != 'F')
		return "not an ELF file";
	if (elf[4] != 2 || elf[5] != 1 || rd16(elf + 18) != EM_X86_64)
		return "not a little-endian x86-64 ELF (ELFCLASS64, EM_X86_64)";
	if (rd16(elf + 16) != ET_EXEC)
		return "not an executable ELF (ET_EXEC)";
	uint64_t phoff = rd64(elf + 32);
	uint32_t phentsize = rd16(elf + 54);
	uint32_t phnum = rd16(elf + 56);
	if (phentsize != PHDR_SIZE || !within(phoff, (uint64_t)phnum * PHDR_SIZE, size))
		return "program headers outside the file";
	img->nsegs = 0;
	bool have_entry = false;
	for (uint32_t i = 0; i < phnum; i++) {
		const uint8_t *ph = elf + phoff + (uint64_t)i * PHDR_SIZE;
		uint32_t type = rd32(ph);
		uint64_t offset = rd64(ph + 8);
		uint64_t paddr = rd64(ph + 24);
		uint64_t filesz = rd64(ph + 32);
		uint64_t memsz = rd64(ph + 40);
		if (type == PT_NOTE && !have_entry && within(offset, filesz, size))
			have_entry = find_entry_note(elf + offset, filesz, &img->entry);
		if (type != PT_LOAD || memsz == 0)
			continue;
		if (filesz > memsz)
			return "a PT_LOAD segment's file size exceeds its memory size";
		if (!within(offset, filesz, size))
			return "a PT_LOAD segment extends beyond the file";
		if (!within(paddr, memsz, FOUR_GIB))
			return "a PT_LOAD segment is not below 4 GiB";
		if (img->nsegs == PVH_MAX_SEGMENTS)
			return "too many PT_LOAD segments";
		img->seg[img->nsegs++] = (struct pvh_segment){paddr, offset, filesz, memsz};
	}
	if (img->nsegs == 0)
		return "no PT_LOAD segment";
	if (!have_entry)
		return "no Xen PHYS32_ENTRY note (type 18): a kernel built without CONFIG_PVH";
	for (uint32_t i = 0; i < img->nsegs; i++) {
		const struct pvh_segment *s = &img->seg[i];
		if (img->entry >= s->paddr && img->entry - s->paddr < s->filesz)
			return 0;
	}
	return "the PHYS32_ENTRY address is in no loaded segment";
}

bool pvh_overlaps(uint64_t a, uint64_t alen, uint64_t b, uint64_t blen)
{
	return alen != 0 && blen != 0 && a < b + blen && b < a + alen;
}

bool pvh_is_ram(uint64_t base, uint64_t len, const struct hvm_memmap_table_entry *map,
                uint32_t nmap)
{
	uint64_t cur = base;
	uint64_t end = base + len;
	while (cur < end) {
		bool found = false;
		for (uint32_t i = 0; i < nmap; i++) {
			const struct hvm_memmap_table_entry *e = &map[i];
			if (e->type == HVM_MEMMAP_RAM && e->addr <= cur &&
			    cur - e->addr < e->size) {
				cur = e->addr + e->size;
				found = true;
				break;
			}
		}
		if (!found)
			return false;
	}
	return true;
}

enum pvh_place pvh_check_place(const struct pvh_image *img, const struct pvh_range *avoid,
                               uint32_t navoid, const struct hvm_memmap_table_entry *map,
                               uint32_t nmap, uint32_t *seg, uint32_t *other)
{
	for (uint32_t i = 0; i < img->nsegs; i++) {
		const struct pvh_segment *s = &img->seg[i];
		*seg = i;
		for (uint32_t k = 0; k < navoid; k++) {
			*other = k;
			if (pvh_overlaps(s->paddr, s->memsz, avoid[k].base, avoid[k].len))
				return PVH_PLACE_AVOID;
		}
		for (uint32_t k = 0; k < i; k++) {
			*other = k;
			if (pvh_overlaps(s->paddr, s->memsz, img->seg[k].paddr, img->seg[k].memsz))
				return PVH_PLACE_SEGMENTS;
		}
		if (!pvh_is_ram(s->paddr, s->memsz, map, nmap))
			return PVH_PLACE_NOT_RAM;
	}
	return PVH_PLACE_OK;
}

bool pvh_plan_modules(const struct pvh_image *img, const struct pvh_range *mods, uint32_t n,
                      uint64_t floor, const struct hvm_memmap_table_entry *map, uint32_t nmap,
                      uint64_t *dest)
{
	uint64_t lo = UINT64_MAX, hi = 0;
	for (uint32_t i = 0; i < img->nsegs; i++) {
		const struct pvh_segment *s = &img->seg[i];
		if (s->paddr < lo)
			lo = s->paddr;
		if (s->paddr + s->memsz > hi)
			hi = s->paddr + s->memsz;
	}
	bool clear = true;
	for (uint32_t i = 0; i < n; i++) {
		dest[i] = mods[i].base;
		if (pvh_overlaps(mods[i].base, mods[i].len, lo, hi - lo))
			clear = false;
	}
	if (clear)
		return true;
	uint64_t at = (hi > floor ? hi : floor) + 0xfff;
	at &= ~0xfffull;
	for (uint32_t i = 0; i < n; i++) {
		dest[i] = at;
		at = (at + mods[i].len + 0xfff) & ~0xfffull;
	}
	uint64_t base = n ? dest[0] : 0;
	return at <= FOUR_GIB && pvh_is_ram(base, at - base, map, nmap);
}

int32_t pvh_memmap_from_multiboot(const uint8_t *mmap, uint32_t length,
                                  struct hvm_memmap_table_entry *out, uint32_t max)
{
	uint32_t n = 0;
	uint32_t off = 0;
	while (off < length) {
		if (length - off < 4)
			return -1;
		uint32_t size = rd32(mmap + off);
		if (size < 20 || size > length - off - 4)
			return -1;
		const uint8_t *e = mmap + off + 4;
		uint64_t base = rd64(e);
		uint64_t len = rd64(e + 8);
		uint32_t type = rd32(e + 16);
		off += size + 4;
		if (len == 0)
			continue;
		if (n == max)
			return -1;
		out[n++] = (struct hvm_memmap_table_entry){
		    base, len, type >= 1 && type <= 5 ? type : HVM_MEMMAP_RESERVED, 0};
	}
	return (int32_t)n;
}

static bool is_space(char c)
{
	return c == ' ' || c == '\t';
}

const char *pvh_cmdline_args(const char *s)
{
	while (is_space(*s))
		s++;
	if (*s == '/' || *s == '(') {
		while (*s && !is_space(*s))
			s++;
		while (is_space(*s))
			s++;
	}
	return s;
}

static bool sums_to_zero(const uint8_t *p, uint64_t len)
{
	uint8_t sum = 0;
	for (uint64_t i = 0; i < len; i++)
		sum = (uint8_t)(sum + p[i]);
	return sum == 0;
}

bool pvh_rsdp_valid(const uint8_t *p, uint64_t room)
{
	static const char sig[8] = {'R', 'S', 'D', ' ', 'P', 'T', 'R', ' '};
	if (room < 20)
		return false;
	for (int i = 0; i < 8; i++)
		if (p[i] != (uint8_t)sig[i])
			return false;
	if (!sums_to_zero(p, 20))
		return false;
	if (p[15] < 2) /* ACPI 1.0: 20 bytes */
		return true;
	if (room < 36)
		return false;
	uint32_t length = rd32(p + 20);
	return length >= 36 && length <= room && sums_to_zero(p, length);
}

uint64_t pvh_find_rsdp(const uint8_t *mem, uint64_t phys, uint64_t len)
{
	for (uint64_t off = (16 - (phys & 15)) & 15; off + 20 <= len; off += 16)
		if (pvh_rsdp_valid(mem + off, len - off))
			return phys + off;
	return 0;
}
