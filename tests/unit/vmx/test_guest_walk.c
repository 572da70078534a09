/*
 * The guest page-table walker over a fake guest RAM: every paging mode and
 * page size, the permission rules, errors, and copies across pages.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "libvmx/guest_walk.h"

#define RAM_SIZE (8u << 20)
#define PG       0x1000ull
#define P        1ull
#define RW       2ull
#define US       4ull
#define PS       0x80ull
#define XD       (1ull << 63)

static uint8_t *ram;
static uint64_t next_table;
/* A GPA range the guest may not access (like the hypervisor region). */
static uint64_t forbidden_lo, forbidden_hi;

static void *page_fn(void *arg, uint64_t gpa, bool write)
{
	(void)arg;
	(void)write;
	assert_int_equal(gpa & (PG - 1), 0);
	if (gpa >= RAM_SIZE || (gpa >= forbidden_lo && gpa < forbidden_hi))
		return NULL;
	return ram + gpa;
}

static uint64_t alloc_table(void)
{
	uint64_t t = next_table;
	next_table += PG;
	memset(ram + t, 0, PG);
	return t;
}

static void put64(uint64_t gpa, uint64_t v)
{
	memcpy(ram + gpa, &v, 8);
}

static uint64_t get64(uint64_t gpa)
{
	uint64_t v;
	memcpy(&v, ram + gpa, 8);
	return v;
}

static void put32(uint64_t gpa, uint32_t v)
{
	memcpy(ram + gpa, &v, 4);
}

/* 4-level (levels = 4) or PAE (levels = 2 below a 4-entry PDPT) mapping of one page of
 * size 4K (leaf_level 1), 2M (2) or 1G (3); `upper` = flags of the non-leaf entries. */
static void map64(uint64_t root, int levels, uint64_t gva, uint64_t gpa, uint64_t flags,
                  int leaf_level, uint64_t upper)
{
	uint64_t table = root;
	if (levels == 2) {
		uint64_t e = get64(root + ((gva >> 30) & 3) * 8);
		if (!(e & P)) {
			e = alloc_table() | P;
			put64(root + ((gva >> 30) & 3) * 8, e);
		}
		table = e & ~0xfffull;
	}
	for (int level = levels; level > leaf_level; level--) {
		uint64_t slot = table + ((gva >> (12 + 9 * (level - 1))) & 0x1ff) * 8;
		uint64_t e = get64(slot);
		if (!(e & P)) {
			e = alloc_table() | upper;
			put64(slot, e);
		}
		table = e & 0x000ffffffffff000ull;
	}
	put64(table + ((gva >> (12 + 9 * (leaf_level - 1))) & 0x1ff) * 8,
	      gpa | flags | (leaf_level > 1 ? PS : 0));
}

static struct vmx_gw_ctx ctx(enum vmx_gw_mode mode, uint64_t cr3)
{
	struct vmx_gw_ctx c = {
	    .mode = mode, .cr3 = cr3, .pse = true, .wp = true, .nxe = true, .page = page_fn};
	return c;
}

static int setup(void **state)
{
	(void)state;
	if (!ram)
		ram = aligned_alloc(PG, RAM_SIZE);
	memset(ram, 0, RAM_SIZE);
	next_table = 0x100000;
	forbidden_lo = forbidden_hi = 0;
	return 0;
}

static void test_paging_off_is_identity(void **state)
{
	(void)state;
	struct vmx_gw_ctx c = ctx(VMX_GW_PAGING_OFF, 0);
	uint64_t gpa = 0;
	assert_int_equal(vmx_gw_translate(&c, 0x123456, VMX_GW_USER | VMX_GW_WRITE, &gpa),
	                 VMX_GW_OK);
	assert_int_equal(gpa, 0x123456);
	assert_int_equal(vmx_gw_translate(&c, 1ull << 32, 0, &gpa), VMX_GW_ERR_NONCANONICAL);
}

static void test_4level_page_sizes(void **state)
{
	(void)state;
	uint64_t root = alloc_table(), gpa = 0;
	map64(root, 4, 0x00007f0000001000ull, 0x200000, P | RW | US, 1, P | RW | US);
	map64(root, 4, 0x00007f0040000000ull, 0x400000, P | RW | US, 2, P | RW | US);
	map64(root, 4, 0xffff880000000000ull, 0x40000000, P | RW, 3, P | RW);
	struct vmx_gw_ctx c = ctx(VMX_GW_PAGING_4LEVEL, root | 0x5 /* PCID bits */);

	assert_int_equal(vmx_gw_translate(&c, 0x00007f0000001abcull, VMX_GW_USER, &gpa), VMX_GW_OK);
	assert_int_equal(gpa, 0x200abc);
	assert_int_equal(vmx_gw_translate(&c, 0x00007f0040123456ull, VMX_GW_USER, &gpa), VMX_GW_OK);
	assert_int_equal(gpa, 0x523456);
	assert_int_equal(vmx_gw_translate(&c, 0xffff880012345678ull, 0, &gpa), VMX_GW_OK);
	assert_int_equal(gpa, 0x52345678);
	/* Neighbours are not mapped. */
	assert_int_equal(vmx_gw_translate(&c, 0x00007f0000002000ull, 0, &gpa),
	                 VMX_GW_ERR_NOT_PRESENT);
	assert_int_equal(vmx_gw_translate(&c, 0x0000800000000000ull, 0, &gpa),
	                 VMX_GW_ERR_NONCANONICAL);
}

static void test_4level_permissions(void **state)
{
	(void)state;
	uint64_t root = alloc_table(), gpa;
	uint64_t sup = 0x0000100000000000ull, ro = 0x0000100000001000ull,
	         nx = 0x0000100000002000ull, ro_upper = 0x0000200000000000ull;
	map64(root, 4, sup, 0x10000, P | RW, 1, P | RW | US); /* supervisor leaf */
	map64(root, 4, ro, 0x11000, P | US, 1, P | RW | US);  /* read-only */
	map64(root, 4, nx, 0x12000, P | RW | US | XD, 1, P | RW | US);
	map64(root, 4, ro_upper, 0x13000, P | RW | US, 1, P | US); /* R/W = 0 above */
	struct vmx_gw_ctx c = ctx(VMX_GW_PAGING_4LEVEL, root);

	assert_int_equal(vmx_gw_translate(&c, sup, VMX_GW_USER, &gpa), VMX_GW_ERR_PROTECTION);
	assert_int_equal(vmx_gw_translate(&c, sup, 0, &gpa), VMX_GW_OK);
	assert_int_equal(vmx_gw_translate(&c, ro, VMX_GW_USER, &gpa), VMX_GW_OK);
	assert_int_equal(vmx_gw_translate(&c, ro, VMX_GW_USER | VMX_GW_WRITE, &gpa),
	                 VMX_GW_ERR_PROTECTION);
	assert_int_equal(vmx_gw_translate(&c, ro, VMX_GW_WRITE, &gpa),
	                 VMX_GW_ERR_PROTECTION); /* CR0.WP */
	c.wp = false;
	assert_int_equal(vmx_gw_translate(&c, ro, VMX_GW_WRITE, &gpa), VMX_GW_OK);
	assert_int_equal(vmx_gw_translate(&c, ro_upper, VMX_GW_USER | VMX_GW_WRITE, &gpa),
	                 VMX_GW_ERR_PROTECTION);
	assert_int_equal(vmx_gw_translate(&c, nx, VMX_GW_USER, &gpa), VMX_GW_OK);
	assert_int_equal(vmx_gw_translate(&c, nx, VMX_GW_USER | VMX_GW_FETCH, &gpa),
	                 VMX_GW_ERR_PROTECTION);
	c.nxe = false; /* then bit 63 is reserved */
	assert_int_equal(vmx_gw_translate(&c, nx, VMX_GW_USER, &gpa), VMX_GW_ERR_RESERVED);
}

static void test_pae(void **state)
{
	(void)state;
	uint64_t pdpt = alloc_table(), gpa;
	map64(pdpt, 2, 0xc0001000ull, 0x300000, P | RW, 1, P | RW | US);
	map64(pdpt, 2, 0x40200000ull, 0x600000, P | RW | US, 2, P | RW | US);
	struct vmx_gw_ctx c = ctx(VMX_GW_PAGING_PAE, pdpt);

	assert_int_equal(vmx_gw_translate(&c, 0xc0001234ull, 0, &gpa), VMX_GW_OK);
	assert_int_equal(gpa, 0x300234);
	assert_int_equal(vmx_gw_translate(&c, 0xc0001234ull, VMX_GW_USER, &gpa),
	                 VMX_GW_ERR_PROTECTION);
	assert_int_equal(vmx_gw_translate(&c, 0x40212345ull, VMX_GW_USER | VMX_GW_WRITE, &gpa),
	                 VMX_GW_OK);
	assert_int_equal(gpa, 0x612345);
	assert_int_equal(vmx_gw_translate(&c, 0x80000000ull, 0, &gpa), VMX_GW_ERR_NOT_PRESENT);
}

/* With pdpte set (the VMCS copies), the PDPT in memory is not read. */
static void test_pae_pdptes_given(void **state)
{
	(void)state;
	uint64_t pdpt = alloc_table(), gpa;
	map64(pdpt, 2, 0xc0001000ull, 0x300000, P | RW, 1, P | RW);
	uint64_t pdptes[4] = {get64(pdpt), get64(pdpt + 8), get64(pdpt + 16), get64(pdpt + 24)};
	struct vmx_gw_ctx c = ctx(VMX_GW_PAGING_PAE, pdpt);

	c.pdpte = pdptes;
	memset(ram + pdpt, 0, 32); /* the guest changed the table, no MOV CR3 yet */
	assert_int_equal(vmx_gw_translate(&c, 0xc0001234ull, 0, &gpa), VMX_GW_OK);
	assert_int_equal(gpa, 0x300234);
	pdptes[3] = 0; /* the CPU's copy says not present */
	assert_int_equal(vmx_gw_translate(&c, 0xc0001234ull, 0, &gpa), VMX_GW_ERR_NOT_PRESENT);
	/* And without pdpte, the (now empty) table in memory is what counts. */
	pdptes[3] = get64(pdpt + 24);
	c.pdpte = NULL;
	assert_int_equal(vmx_gw_translate(&c, 0xc0001234ull, 0, &gpa), VMX_GW_ERR_NOT_PRESENT);
}

static void test_32bit_with_4m_pages(void **state)
{
	(void)state;
	uint64_t pd = alloc_table(), pt = alloc_table(), gpa;
	put32(pd + (0x00400000u >> 22) * 4, (uint32_t)(pt | P | RW | US));
	put32(pt + ((0x00403000u >> 12) & 0x3ff) * 4, 0x00700000u | P | US);
	/* A 4 MiB page at 0x80000000 -> 0x1_0040_0000 (PSE-36: bits 39:32 in 20:13). */
	put32(pd + (0x80000000u >> 22) * 4, 0x00400000u | (1u << 13) | P | RW | PS);
	struct vmx_gw_ctx c = ctx(VMX_GW_PAGING_32, pd);

	assert_int_equal(vmx_gw_translate(&c, 0x00403abcull, VMX_GW_USER, &gpa), VMX_GW_OK);
	assert_int_equal(gpa, 0x700abc);
	assert_int_equal(vmx_gw_translate(&c, 0x00403abcull, VMX_GW_USER | VMX_GW_WRITE, &gpa),
	                 VMX_GW_ERR_PROTECTION);
	assert_int_equal(vmx_gw_translate(&c, 0x80123456ull, 0, &gpa), VMX_GW_OK);
	assert_int_equal(gpa, 0x100523456ull);
	c.pse = false; /* PS is ignored: the PDE points to an (empty) page table */
	assert_int_equal(vmx_gw_translate(&c, 0x80123456ull, 0, &gpa), VMX_GW_ERR_NOT_PRESENT);
}

static void test_copies_cross_pages(void **state)
{
	(void)state;
	uint64_t root = alloc_table();
	/* Two virtually adjacent pages on non-adjacent physical pages. */
	map64(root, 4, 0x400000, 0x30000, P | RW | US, 1, P | RW | US);
	map64(root, 4, 0x401000, 0x10000, P | RW | US, 1, P | RW | US);
	struct vmx_gw_ctx c = ctx(VMX_GW_PAGING_4LEVEL, root);
	uint8_t src[64], dst[64];
	for (unsigned i = 0; i < sizeof(src); i++)
		src[i] = (uint8_t)(i * 7 + 1);

	assert_int_equal(vmx_gw_write(&c, 0x400fe0, src, sizeof(src), VMX_GW_USER), VMX_GW_OK);
	assert_memory_equal(ram + 0x30fe0, src, 32);
	assert_memory_equal(ram + 0x10000, src + 32, 32);
	memset(dst, 0, sizeof(dst));
	assert_int_equal(vmx_gw_read(&c, dst, 0x400fe0, sizeof(dst), VMX_GW_USER), VMX_GW_OK);
	assert_memory_equal(dst, src, sizeof(src));
	/* Running into an unmapped page fails. */
	assert_int_equal(vmx_gw_read(&c, dst, 0x401fe0, sizeof(dst), VMX_GW_USER),
	                 VMX_GW_ERR_NOT_PRESENT);
}

static void test_inaccessible_memory(void **state)
{
	(void)state;
	uint64_t root = alloc_table();
	map64(root, 4, 0x400000, 0x30000, P | RW | US, 1, P | RW | US);
	struct vmx_gw_ctx c = ctx(VMX_GW_PAGING_4LEVEL, root);
	uint8_t b[8];
	uint64_t gpa;

	/* The target page is not the guest's: no copy. */
	forbidden_lo = 0x30000;
	forbidden_hi = 0x31000;
	assert_int_equal(vmx_gw_translate(&c, 0x400000, VMX_GW_USER, &gpa), VMX_GW_OK);
	assert_int_equal(vmx_gw_read(&c, b, 0x400000, 8, VMX_GW_USER), VMX_GW_ERR_MEMORY);
	assert_int_equal(vmx_gw_write(&c, 0x400000, b, 8, VMX_GW_USER), VMX_GW_ERR_MEMORY);
	/* A page table in forbidden memory: the walk stops. */
	forbidden_lo = root;
	forbidden_hi = root + PG;
	assert_int_equal(vmx_gw_translate(&c, 0x400000, VMX_GW_USER, &gpa), VMX_GW_ERR_MEMORY);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup(test_paging_off_is_identity, setup),
	    cmocka_unit_test_setup(test_4level_page_sizes, setup),
	    cmocka_unit_test_setup(test_4level_permissions, setup),
	    cmocka_unit_test_setup(test_pae, setup),
	    cmocka_unit_test_setup(test_pae_pdptes_given, setup),
	    cmocka_unit_test_setup(test_32bit_with_4m_pages, setup),
	    cmocka_unit_test_setup(test_copies_cross_pages, setup),
	    cmocka_unit_test_setup(test_inaccessible_memory, setup),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
