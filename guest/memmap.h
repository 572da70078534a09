/* The boot memory map (multiboot v1 mmap, i.e. the BIOS E820 map GRUB saw). */
#ifndef GUEST_MEMMAP_H
#define GUEST_MEMMAP_H

#include <stdint.h>

enum mem_kind {
	MEM_UNKNOWN, /* no memory map */
	MEM_RAM,     /* entirely usable RAM (type 1) */
	MEM_NOT_RAM, /* no byte of it is usable RAM (reserved or absent) */
	MEM_MIXED,   /* partly RAM */
};

/* Copies the map out of the multiboot info (which lives in memory the guest reuses). */
void memmap_init(uint32_t mbi_pa);
uint32_t memmap_count(void);
/* Classifies [base, base + size). */
enum mem_kind memmap_classify(uint64_t base, uint64_t size);
const char *mem_kind_name(enum mem_kind k);
/* Prints the map as info lines. */
void memmap_print(void);

#endif
