/*
 * The INT 15h hook tests' machine (test_bios_hook_*.c, test_guest_mbr.c): a
 * fake real-mode low memory behind libvmx's guest-memory window, with a BDA
 * (EBDA at 9FC0:0, 639 KiB base memory) and the BIOS's INT 15h vector, and the
 * guest E820 map of a Bochs-like PC with 512 MiB.
 */
#ifndef TESTS_UNIT_VMX_BIOS_LOWMEM_H
#define TESTS_UNIT_VMX_BIOS_LOWMEM_H

#include <stdint.h>

#include "libvmx/e820.h"

#define MIB       (1ull << 20)
#define LOW_SIZE  (MIB + 0x10000) /* real-mode addressable memory */
#define SMAP      0x534D4150u
#define FLAG_CF   0x0001u
#define FLAG_ZF   0x0040u
#define FLAG_TF   0x0100u
#define FLAG_IF   0x0200u
#define ORIG_SEG  0xF000u
#define ORIG_OFF  0xF859u
#define HOOK_PAGE 0x9E000u /* below EBDA 9FC0:0 / 639 KiB, page aligned */

extern uint8_t *low;
extern struct e820_map gmap;

uint16_t rd16(uint32_t a);
void wr16(uint32_t a, uint16_t v);

/* cmocka fixtures: fresh low memory and guest map; the same with the hook installed. */
int setup(void **state);
int setup_installed(void **state);
int teardown(void **state);

#endif
