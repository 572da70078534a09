/*
 * mb_parse over a multiboot information structure built in host memory below
 * 4 GiB (its address fields are 32-bit; the fake's hw_phys_ptr is identity).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>

#include <cmocka.h>

#include "rt/multiboot.h"

#define LOW_SIZE (64 * 1024)

/* The raw layout (Multiboot 0.6.96 section 3.3), written independently of rt. */
struct raw_mbi {
	uint32_t flags, mem_lower, mem_upper, boot_device, cmdline, mods_count, mods_addr;
	uint32_t syms[4];
	uint32_t mmap_length, mmap_addr, drives_length, drives_addr, config_table;
	uint32_t boot_loader_name;
};

static uint8_t *low; /* host memory with 32-bit addresses */
static size_t used;  /* bump allocator inside it */
static struct mb_info info;

static void *low_alloc(size_t n)
{
	void *p = low + used;
	used += (n + 15) & ~(size_t)15;
	assert_true(used <= LOW_SIZE);
	return p;
}

static uint32_t pa32(const void *p)
{
	return (uint32_t)(uintptr_t)p;
}

static uint32_t low_string(const char *s)
{
	char *p = low_alloc(strlen(s) + 1);
	strcpy(p, s);
	return pa32(p);
}

/* One memory-map entry with the given size field (20 = no padding). */
static uint8_t *put_mmap_entry(uint8_t *at, uint32_t size, uint64_t base, uint64_t len,
                               uint32_t type)
{
	memcpy(at, &size, 4);
	memcpy(at + 4, &base, 8);
	memcpy(at + 12, &len, 8);
	memcpy(at + 20, &type, 4);
	return at + 4 + size;
}

static struct raw_mbi *new_mbi(void)
{
	struct raw_mbi *m = low_alloc(sizeof(*m));
	memset(m, 0, sizeof(*m));
	return m;
}

static void add_standard_mmap(struct raw_mbi *m)
{
	uint8_t *buf = low_alloc(3 * 28);
	uint8_t *p = put_mmap_entry(buf, 20, 0, 0x9f000, MB_MEMORY_AVAILABLE);
	/* An entry with a larger size field: the next one starts size + 4 later. */
	p = put_mmap_entry(p, 24, 0x9f000, 0x1000, MB_MEMORY_RESERVED);
	p = put_mmap_entry(p, 20, 0x100000, 0x0fef0000ULL, MB_MEMORY_AVAILABLE);
	m->flags |= MB_FLAG_MMAP;
	m->mmap_addr = pa32(buf);
	m->mmap_length = (uint32_t)(p - buf);
}

static int setup(void **state)
{
	if (low == NULL) {
		low = mmap(NULL, LOW_SIZE, PROT_READ | PROT_WRITE,
		           MAP_PRIVATE | MAP_ANONYMOUS | MAP_32BIT, -1, 0);
		if (low == MAP_FAILED)
			return -1;
	}
	used = 16; /* keep address 0 out of reach */
	memset(low, 0x5A, LOW_SIZE);
	memset(&info, 0x77, sizeof(info)); /* mb_parse must overwrite everything */
	return 0;
}

static void test_full_information(void **state)
{
	struct raw_mbi *m = new_mbi();
	add_standard_mmap(m);
	m->flags |= MB_FLAG_MEM | MB_FLAG_CMDLINE | MB_FLAG_LOADER_NAME | MB_FLAG_MODS;
	m->mem_lower = 639;
	m->mem_upper = 261056;
	m->cmdline = low_string("/boot/hv.elf verbose");
	m->boot_loader_name = low_string("GRUB 2.06");
	uint32_t *mods = low_alloc(2 * 16);
	uint32_t raw_mods[8] = {
	    0x0c100000, 0x0c100200, low_string("mbr"), 0, 0x0c101000, 0x0c105000, 0, 0};
	memcpy(mods, raw_mods, sizeof(raw_mods));
	m->mods_count = 2;
	m->mods_addr = pa32(mods);

	assert_int_equal(mb_parse(pa32(m), &info), MB_OK);
	assert_int_equal(info.mbi_pa, pa32(m));
	assert_int_equal(info.flags, m->flags);
	assert_int_equal(info.mem_lower_kb, 639);
	assert_int_equal(info.mem_upper_kb, 261056);
	assert_string_equal(info.cmdline, "/boot/hv.elf verbose");
	assert_string_equal(info.boot_loader_name, "GRUB 2.06");

	assert_int_equal(info.mmap_count, 3);
	assert_int_equal(info.mmap[0].base, 0);
	assert_int_equal(info.mmap[0].len, 0x9f000);
	assert_int_equal(info.mmap[0].type, MB_MEMORY_AVAILABLE);
	assert_int_equal(info.mmap[1].base, 0x9f000);
	assert_int_equal(info.mmap[1].type, MB_MEMORY_RESERVED);
	assert_int_equal(info.mmap[2].base, 0x100000);
	assert_int_equal(info.mmap[2].len, 0x0fef0000ULL);
	assert_int_equal(info.mmap[2].type, MB_MEMORY_AVAILABLE);

	assert_int_equal(info.module_count, 2);
	assert_int_equal(info.modules[0].start, 0x0c100000);
	assert_int_equal(info.modules[0].end, 0x0c100200);
	assert_string_equal(info.modules[0].string, "mbr");
	assert_int_equal(info.modules[1].start, 0x0c101000);
	assert_string_equal(info.modules[1].string, ""); /* no string pointer */
}

static void test_strings_are_copies(void **state)
{
	struct raw_mbi *m = new_mbi();
	add_standard_mmap(m);
	m->flags |= MB_FLAG_CMDLINE;
	m->cmdline = low_string("abc");
	assert_int_equal(mb_parse(pa32(m), &info), MB_OK);
	/* The guest later owns that memory: the parsed copy must not change. */
	memset((void *)(uintptr_t)m->cmdline, 'Z', 3);
	assert_string_equal(info.cmdline, "abc");
}

static void test_absent_fields_read_empty(void **state)
{
	struct raw_mbi *m = new_mbi();
	add_standard_mmap(m);
	/* Pointers present, flags not set: they must be ignored. */
	m->cmdline = low_string("stale");
	m->boot_loader_name = low_string("stale");
	m->mods_count = 5;
	m->mem_lower = 1;
	assert_int_equal(mb_parse(pa32(m), &info), MB_OK);
	assert_string_equal(info.cmdline, "");
	assert_string_equal(info.boot_loader_name, "");
	assert_int_equal(info.module_count, 0);
	assert_int_equal(info.mem_lower_kb, 0);
}

static void test_long_string_is_truncated(void **state)
{
	char longer[MB_STRING_MAX + 40];
	memset(longer, 'x', sizeof(longer) - 1);
	longer[sizeof(longer) - 1] = '\0';
	struct raw_mbi *m = new_mbi();
	add_standard_mmap(m);
	m->flags |= MB_FLAG_CMDLINE;
	m->cmdline = low_string(longer);
	assert_int_equal(mb_parse(pa32(m), &info), MB_OK);
	assert_int_equal(strlen(info.cmdline), MB_STRING_MAX - 1);
}

static void test_no_information(void **state)
{
	assert_int_equal(mb_parse(0, &info), MB_ERR_NO_INFO);
	assert_int_equal(info.mmap_count, 0);
}

static void test_missing_mmap_is_an_error(void **state)
{
	struct raw_mbi *m = new_mbi();
	m->flags = MB_FLAG_MEM | MB_FLAG_CMDLINE;
	m->cmdline = low_string("x");
	assert_int_equal(mb_parse(pa32(m), &info), MB_ERR_NO_MMAP);
	/* On error the result is zeroed, not half filled. */
	assert_string_equal(info.cmdline, "");
	assert_int_equal(info.mmap_count, 0);
}

static void test_bad_mmap_entry_size(void **state)
{
	struct raw_mbi *m = new_mbi();
	uint8_t *buf = low_alloc(64);
	uint8_t *p = put_mmap_entry(buf, 20, 0, 0x1000, 1);
	p = put_mmap_entry(p, 8, 0x1000, 0x1000, 1); /* too small to hold an entry */
	m->flags = MB_FLAG_MMAP;
	m->mmap_addr = pa32(buf);
	m->mmap_length = (uint32_t)(p - buf);
	assert_int_equal(mb_parse(pa32(m), &info), MB_ERR_BAD_MMAP);
}

static void test_mmap_length_cutting_an_entry(void **state)
{
	struct raw_mbi *m = new_mbi();
	add_standard_mmap(m);
	m->mmap_length -= 4; /* the last entry runs past the buffer */
	assert_int_equal(mb_parse(pa32(m), &info), MB_ERR_BAD_MMAP);
}

static void test_too_many_mmap_entries(void **state)
{
	struct raw_mbi *m = new_mbi();
	uint8_t *buf = low_alloc((MB_MAX_MMAP + 1) * 24);
	uint8_t *p = buf;
	for (uint32_t i = 0; i < MB_MAX_MMAP + 1; i++)
		p = put_mmap_entry(p, 20, (uint64_t)i << 20, 1 << 20, 1);
	m->flags = MB_FLAG_MMAP;
	m->mmap_addr = pa32(buf);
	m->mmap_length = (uint32_t)(p - buf);
	assert_int_equal(mb_parse(pa32(m), &info), MB_ERR_TOO_MANY_MMAP);

	/* Exactly MB_MAX_MMAP fit. */
	m->mmap_length -= 24;
	assert_int_equal(mb_parse(pa32(m), &info), MB_OK);
	assert_int_equal(info.mmap_count, MB_MAX_MMAP);
	assert_int_equal(info.mmap[MB_MAX_MMAP - 1].base, (uint64_t)(MB_MAX_MMAP - 1) << 20);
}

static void test_too_many_modules(void **state)
{
	struct raw_mbi *m = new_mbi();
	add_standard_mmap(m);
	uint32_t *mods = low_alloc((MB_MAX_MODULES + 1) * 16);
	memset(mods, 0, (MB_MAX_MODULES + 1) * 16);
	m->flags |= MB_FLAG_MODS;
	m->mods_count = MB_MAX_MODULES + 1;
	m->mods_addr = pa32(mods);
	assert_int_equal(mb_parse(pa32(m), &info), MB_ERR_TOO_MANY_MODULES);
}

static void test_error_strings_differ(void **state)
{
	const int errs[] = {MB_OK,           MB_ERR_NO_INFO,       MB_ERR_NO_MMAP,
	                    MB_ERR_BAD_MMAP, MB_ERR_TOO_MANY_MMAP, MB_ERR_TOO_MANY_MODULES};
	size_t n = sizeof(errs) / sizeof(errs[0]);
	for (size_t i = 0; i < n; i++) {
		for (size_t j = i + 1; j < n; j++)
			assert_string_not_equal(mb_strerror(errs[i]), mb_strerror(errs[j]));
	}
	assert_non_null(strstr(mb_strerror(MB_ERR_NO_MMAP), "memory map"));
}

#define T(f) cmocka_unit_test_setup(f, setup)

int main(void)
{
	const struct CMUnitTest tests[] = {
	    T(test_full_information),         T(test_strings_are_copies),
	    T(test_absent_fields_read_empty), T(test_long_string_is_truncated),
	    T(test_no_information),           T(test_missing_mmap_is_an_error),
	    T(test_bad_mmap_entry_size),      T(test_mmap_length_cutting_an_entry),
	    T(test_too_many_mmap_entries),    T(test_too_many_modules),
	    T(test_error_strings_differ),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
