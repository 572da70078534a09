/*
 * The PVH loader's pure parts: reading a vmlinux-like ELF64 (segments, the Xen
 * PHYS32_ENTRY note), the placement checks, the multiboot-to-hvm memory map, the
 * command line and the RSDP scan.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "guest/linux/pvh/pvh_boot.h"

static uint8_t elf[0x3000];
static struct pvh_image img;

static void w16(uint8_t *p, uint16_t v)
{
	memcpy(p, &v, 2);
}

static void w32(uint8_t *p, uint32_t v)
{
	memcpy(p, &v, 4);
}

static void w64(uint8_t *p, uint64_t v)
{
	memcpy(p, &v, 8);
}

static void phdr(int i, uint32_t type, uint64_t off, uint64_t paddr, uint64_t filesz,
                 uint64_t memsz)
{
	uint8_t *p = elf + 64 + 56 * i;
	w32(p, type);
	w64(p + 8, off);
	w64(p + 16, 0xffffffff80000000ull + paddr);
	w64(p + 24, paddr);
	w64(p + 32, filesz);
	w64(p + 40, memsz);
}

/* A note at off: name, type, a descsz-byte value. */
static uint32_t note(uint32_t off, const char *name, uint32_t type, uint64_t value, uint32_t descsz)
{
	uint32_t namesz = (uint32_t)strlen(name) + 1;
	w32(elf + off, namesz);
	w32(elf + off + 4, descsz);
	w32(elf + off + 8, type);
	memcpy(elf + off + 12, name, namesz);
	uint32_t desc = off + 12 + ((namesz + 3) & ~3u);
	memcpy(elf + desc, &value, descsz);
	return desc + ((descsz + 3) & ~3u) - off;
}

/*
 * Like Debian's vmlinux: text at 16 MiB, data with a bss tail, a PT_NOTE whose
 * Linux and Xen notes come before the PHYS32 one, whose desc is a .quad.
 */
static int setup(void **state)
{
	memset(elf, 0, sizeof(elf));
	memset(&img, 0, sizeof(img));
	memcpy(elf,
	       "\x7f"
	       "ELF",
	       4);
	elf[4] = 2;
	elf[5] = 1;
	elf[6] = 1;
	w16(elf + 16, 2);
	w16(elf + 18, 62);
	w64(elf + 24, 0xffffffff81000000ull);
	w64(elf + 32, 64);
	w16(elf + 52, 64);
	w16(elf + 54, 56);
	w16(elf + 56, 3);
	phdr(0, 1, 0x1000, 0x1000000, 0x1000, 0x1000);
	phdr(1, 1, 0x2000, 0x1200000, 0x800, 0x3000);
	uint32_t n = 0x2800;
	n += note(0x2800, "Xen", 6, 0x78756e696c, 8);
	n += note(n, "GNU", 3, 0x1234, 8);
	n += note(n, "Xen", 18, 0x1000850, 8);
	phdr(2, 4, 0x2800, 0x1200800, n - 0x2800, n - 0x2800);
	return 0;
}

static void test_debian_like_vmlinux(void **state)
{
	assert_null(pvh_parse_elf(elf, sizeof(elf), &img));
	assert_int_equal(img.entry, 0x1000850);
	assert_int_equal(img.nsegs, 2);
	assert_int_equal(img.seg[0].paddr, 0x1000000);
	assert_int_equal(img.seg[0].offset, 0x1000);
	assert_int_equal(img.seg[1].filesz, 0x800);
	assert_int_equal(img.seg[1].memsz, 0x3000);
}

static void test_four_byte_entry_note(void **state)
{
	memset(elf + 0x2800, 0, 0x800);
	uint32_t n = note(0x2800, "Xen", 18, 0x1000400, 4);
	phdr(2, 4, 0x2800, 0x1200800, n, n);
	assert_null(pvh_parse_elf(elf, sizeof(elf), &img));
	assert_int_equal(img.entry, 0x1000400);
}

static void test_no_entry_note_is_refused(void **state)
{
	w32(elf + 0x2800 + 48 + 8, 17); /* the third note's type: now 17, not PHYS32_ENTRY */
	const char *why = pvh_parse_elf(elf, sizeof(elf), &img);
	assert_non_null(why);
	assert_non_null(strstr(why, "CONFIG_PVH"));
}

static void test_entry_outside_segments_is_refused(void **state)
{
	memset(elf + 0x2800, 0, 0x800);
	uint32_t n = note(0x2800, "Xen", 18, 0x1001800, 8); /* past segment 0's file bytes */
	phdr(2, 4, 0x2800, 0x1200800, n, n);
	assert_non_null(pvh_parse_elf(elf, sizeof(elf), &img));
}

static void test_bad_files_are_refused(void **state)
{
	assert_non_null(pvh_parse_elf(elf, 32, &img));
	phdr(1, 1, 0x2000, 0x1200000, 0x1800, 0x3000); /* beyond the 0x3000-byte file */
	assert_non_null(pvh_parse_elf(elf, sizeof(elf), &img));
	phdr(1, 1, 0x2000, 0xfffff000, 0x800, 0x3000); /* crosses 4 GiB */
	assert_non_null(pvh_parse_elf(elf, sizeof(elf), &img));
	phdr(1, 1, 0x2000, 0x1200000, 0x800, 0x400); /* filesz > memsz */
	assert_non_null(pvh_parse_elf(elf, sizeof(elf), &img));
	setup(NULL);
	elf[4] = 1; /* ELFCLASS32 */
	assert_non_null(pvh_parse_elf(elf, sizeof(elf), &img));
	setup(NULL);
	w16(elf + 56, 1000); /* program headers past the end */
	assert_non_null(pvh_parse_elf(elf, sizeof(elf), &img));
	setup(NULL);
	w32(elf + 0x2800, 0x7fffffff); /* a note's name size past the end */
	assert_non_null(pvh_parse_elf(elf, sizeof(elf), &img));
}

static const struct hvm_memmap_table_entry bochs_map[] = {
    {0, 0x9f000, 1, 0},           {0x9f000, 0x1000, 2, 0},      {0xe8000, 0x18000, 2, 0},
    {0x100000, 0xbf00000, 1, 0},  {0xc000000, 0x1000000, 2, 0}, /* the hypervisor's */
    {0xd000000, 0x2ff0000, 1, 0}, {0xfff0000, 0x10000, 3, 0},
};

static void test_placement(void **state)
{
	assert_null(pvh_parse_elf(elf, sizeof(elf), &img));
	uint32_t seg = 99, other = 99;
	struct pvh_range avoid[2] = {{0x5000000, 0x10000, "the loader"},
	                             {0x5010000, 0x4000000, "the vmlinux module"}};
	assert_int_equal(pvh_check_place(&img, avoid, 2, bochs_map, 7, &seg, &other), PVH_PLACE_OK);

	avoid[1].base = 0x1202000; /* under segment 1's bss tail */
	assert_int_equal(pvh_check_place(&img, avoid, 2, bochs_map, 7, &seg, &other),
	                 PVH_PLACE_AVOID);
	assert_int_equal(seg, 1);
	assert_int_equal(other, 1);

	avoid[1].base = 0x1203000; /* just after it: fine */
	assert_int_equal(pvh_check_place(&img, avoid, 2, bochs_map, 7, &seg, &other), PVH_PLACE_OK);

	img.seg[1].paddr = 0x1000800;
	assert_int_equal(pvh_check_place(&img, avoid, 0, bochs_map, 7, &seg, &other),
	                 PVH_PLACE_SEGMENTS);
	assert_int_equal(seg, 1);
	assert_int_equal(other, 0);

	img.seg[1].paddr = 0xbfff000; /* runs into the hypervisor's region */
	assert_int_equal(pvh_check_place(&img, avoid, 0, bochs_map, 7, &seg, &other),
	                 PVH_PLACE_NOT_RAM);
	img.seg[1].paddr = 0xcfff000;
	assert_int_equal(pvh_check_place(&img, avoid, 0, bochs_map, 7, &seg, &other),
	                 PVH_PLACE_NOT_RAM);
}

static void test_ram_may_span_adjacent_entries(void **state)
{
	const struct hvm_memmap_table_entry split[] = {{0x100000, 0x1100000, 1, 0},
	                                               {0x1200000, 0x1000000, 1, 0}};
	uint32_t seg, other;
	assert_null(pvh_parse_elf(elf, sizeof(elf), &img));
	img.seg[1].paddr = 0x11ff000;
	assert_int_equal(pvh_check_place(&img, NULL, 0, split, 2, &seg, &other), PVH_PLACE_OK);
}

static void test_modules_under_the_kernel_move_above_it(void **state)
{
	assert_null(pvh_parse_elf(elf, sizeof(elf), &img)); /* [0x1000000, 0x1203000) */
	struct pvh_range mods[2] = {{0x101000, 0x3edb7b4, "vmlinux"},
	                            {0x3fdc000, 0x2d0000, "initrd"}};
	uint64_t dest[2];
	/* As GRUB loads them: both move, packed from the loader's end. */
	assert_true(pvh_plan_modules(&img, mods, 2, 0x5006c98, bochs_map, 7, dest));
	assert_int_equal(dest[0], 0x5007000);
	assert_int_equal(dest[1], 0x5007000 + 0x3edc000);
	/* Above the segments, with no floor: from the segments' end. */
	assert_true(pvh_plan_modules(&img, mods, 2, 0, bochs_map, 7, dest));
	assert_int_equal(dest[0], 0x1203000);
	/* Clear of the segments: they stay. */
	mods[0].base = 0x100000;
	mods[0].len = 0x800000;
	mods[1].base = 0x900000;
	mods[1].len = 0x1000;
	assert_true(pvh_plan_modules(&img, mods, 2, 0x5006c98, bochs_map, 7, dest));
	assert_int_equal(dest[0], 0x100000);
	assert_int_equal(dest[1], 0x900000);
	/* Too big for the RAM below the hypervisor's region (0xc000000). */
	mods[0].base = 0x101000;
	mods[0].len = 0x7000000;
	assert_false(pvh_plan_modules(&img, mods, 2, 0x5006c98, bochs_map, 7, dest));
}

static void test_overlaps(void **state)
{
	assert_true(pvh_overlaps(0, 10, 9, 1));
	assert_false(pvh_overlaps(0, 10, 10, 1));
	assert_false(pvh_overlaps(10, 1, 0, 10));
	assert_false(pvh_overlaps(0, 0, 0, 10));
	assert_true(pvh_overlaps(5, 1, 0, 10));
}

static uint32_t mb_entry(uint8_t *p, uint32_t size, uint64_t base, uint64_t len, uint32_t type)
{
	w32(p, size);
	w64(p + 4, base);
	w64(p + 12, len);
	w32(p + 20, type);
	return size + 4;
}

static void test_memmap_from_multiboot(void **state)
{
	uint8_t mm[200];
	struct hvm_memmap_table_entry out[8];
	uint32_t n = 0;
	n += mb_entry(mm + n, 20, 0, 0x9f000, 1);
	n += mb_entry(mm + n, 24, 0x9f000, 0x1000, 2); /* a bigger entry: size says so */
	n += mb_entry(mm + n, 20, 0x100000, 0, 1);     /* empty: dropped */
	n += mb_entry(mm + n, 20, 0x100000, 0xfef0000, 1);
	n += mb_entry(mm + n, 20, 0xfff0000, 0x10000, 3);
	n += mb_entry(mm + n, 20, 0xfffc0000, 0x40000, 9); /* unknown: reserved */
	assert_int_equal(pvh_memmap_from_multiboot(mm, n, out, 8), 5);
	assert_int_equal(out[0].addr, 0);
	assert_int_equal(out[0].size, 0x9f000);
	assert_int_equal(out[0].type, 1);
	assert_int_equal(out[1].addr, 0x9f000);
	assert_int_equal(out[1].type, 2);
	assert_int_equal(out[2].addr, 0x100000);
	assert_int_equal(out[2].size, 0xfef0000);
	assert_int_equal(out[3].type, 3);
	assert_int_equal(out[4].addr, 0xfffc0000);
	assert_int_equal(out[4].type, 2);
	assert_int_equal(out[4].reserved, 0);

	assert_int_equal(pvh_memmap_from_multiboot(mm, n, out, 4), -1);     /* too many */
	assert_int_equal(pvh_memmap_from_multiboot(mm, n - 1, out, 8), -1); /* truncated */
	w32(mm, 8);
	assert_int_equal(pvh_memmap_from_multiboot(mm, n, out, 8), -1); /* too small */
}

static void test_cmdline_args(void **state)
{
	assert_string_equal(pvh_cmdline_args("/boot/kernel console=ttyS0 quiet"),
	                    "console=ttyS0 quiet");
	assert_string_equal(pvh_cmdline_args("(hd0)/boot/kernel  a=b"), "a=b");
	assert_string_equal(pvh_cmdline_args("/boot/kernel"), "");
	assert_string_equal(pvh_cmdline_args("console=ttyS0"), "console=ttyS0");
	assert_string_equal(pvh_cmdline_args(""), "");
}

static void put_rsdp(uint8_t *p, uint8_t revision)
{
	memset(p, 0, 36);
	memcpy(p, "RSD PTR ", 8);
	memcpy(p + 9, "BOCHS ", 6);
	p[15] = revision;
	w32(p + 16, 0x0fff0000);
	w32(p + 20, 36);
	uint8_t sum = 0;
	for (int i = 0; i < 20; i++)
		sum = (uint8_t)(sum + p[i]);
	p[8] = (uint8_t)-sum;
	sum = 0;
	for (int i = 0; i < 36; i++)
		sum = (uint8_t)(sum + p[i]);
	p[32] = (uint8_t)-sum;
}

static void test_rsdp_scan(void **state)
{
	static uint8_t bios[0x20000];
	memset(bios, 0, sizeof(bios));
	memcpy(bios + 0x100, "RSD PTR ", 8); /* bad checksum: skipped */
	bios[0x108] = 1;
	memcpy(bios + 0x208, "RSD PTR ", 8); /* not on a 16-byte boundary: skipped */
	put_rsdp(bios + 0x10e0, 0);
	assert_int_equal(pvh_find_rsdp(bios, 0xe0000, sizeof(bios)), 0xf10e0 - 0x10000);

	put_rsdp(bios + 0x10e0, 2);
	assert_true(pvh_rsdp_valid(bios + 0x10e0, 36));
	bios[0x10e0 + 33] ^= 1; /* extended checksum broken */
	assert_false(pvh_rsdp_valid(bios + 0x10e0, 36));
	assert_int_equal(pvh_find_rsdp(bios, 0xe0000, sizeof(bios)), 0);

	put_rsdp(bios + sizeof(bios) - 32, 2); /* an ACPI 2.0 table cut off by the region */
	assert_false(pvh_rsdp_valid(bios + sizeof(bios) - 32, 32));
	assert_int_equal(pvh_find_rsdp(bios, 0xe0000, sizeof(bios) - 16), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup(test_debian_like_vmlinux, setup),
	    cmocka_unit_test_setup(test_four_byte_entry_note, setup),
	    cmocka_unit_test_setup(test_no_entry_note_is_refused, setup),
	    cmocka_unit_test_setup(test_entry_outside_segments_is_refused, setup),
	    cmocka_unit_test_setup(test_bad_files_are_refused, setup),
	    cmocka_unit_test_setup(test_placement, setup),
	    cmocka_unit_test_setup(test_ram_may_span_adjacent_entries, setup),
	    cmocka_unit_test_setup(test_modules_under_the_kernel_move_above_it, setup),
	    cmocka_unit_test(test_overlaps),
	    cmocka_unit_test(test_memmap_from_multiboot),
	    cmocka_unit_test(test_cmdline_args),
	    cmocka_unit_test(test_rsdp_scan),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
