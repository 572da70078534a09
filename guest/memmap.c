#include "guest/memmap.h"

#include <stdbool.h>

#include "guest/runner.h"

#define MB_INFO_MMAP (1u << 6) /* flags bit 6: mmap_length/mmap_addr valid */
#define MAX_ENTRIES  32
#define E820_RAM     1

struct mem_entry {
	uint64_t base, size;
	uint32_t type;
};

static struct mem_entry entries[MAX_ENTRIES];
static uint32_t nentries;

static uint32_t rd32(uint32_t pa)
{
	return *(const volatile uint32_t *)(uintptr_t)pa;
}

static uint64_t rd64(uint32_t pa)
{
	return rd32(pa) | ((uint64_t)rd32(pa + 4) << 32);
}

void memmap_init(uint32_t mbi_pa)
{
	nentries = 0;
	if (!(rd32(mbi_pa) & MB_INFO_MMAP))
		return;
	uint32_t len = rd32(mbi_pa + 44), addr = rd32(mbi_pa + 48);
	/* Each entry: size (of the rest), base_addr, length, type. Multiboot 0.6.96 section 3.3. */
	for (uint32_t p = addr; p < addr + len && nentries < MAX_ENTRIES; p += rd32(p) + 4) {
		entries[nentries].base = rd64(p + 4);
		entries[nentries].size = rd64(p + 12);
		entries[nentries].type = rd32(p + 20);
		nentries++;
	}
}

uint32_t memmap_count(void)
{
	return nentries;
}

static uint64_t overlap(uint64_t a, uint64_t alen, uint64_t b, uint64_t blen)
{
	uint64_t lo = a > b ? a : b;
	uint64_t hi = a + alen < b + blen ? a + alen : b + blen;
	return hi > lo ? hi - lo : 0;
}

enum mem_kind memmap_classify(uint64_t base, uint64_t size)
{
	if (!nentries)
		return MEM_UNKNOWN;
	uint64_t ram = 0;
	bool other = false;
	for (uint32_t i = 0; i < nentries; i++) {
		uint64_t o = overlap(base, size, entries[i].base, entries[i].size);
		if (entries[i].type == E820_RAM)
			ram += o;
		else if (o)
			other = true;
	}
	if (ram == 0)
		return MEM_NOT_RAM;
	/* RAM overlapped by a reserved entry is not usable RAM either. */
	return ram >= size && !other ? MEM_RAM : MEM_MIXED;
}

const char *mem_kind_name(enum mem_kind k)
{
	switch (k) {
	case MEM_RAM:
		return "RAM";
	case MEM_NOT_RAM:
		return "not RAM";
	case MEM_MIXED:
		return "partly RAM";
	default:
		return "unknown (no memory map)";
	}
}

void memmap_print(void)
{
	for (uint32_t i = 0; i < nentries; i++)
		runner_info("e820 %016llx-%016llx type %u", entries[i].base,
		            entries[i].base + entries[i].size, entries[i].type);
}
