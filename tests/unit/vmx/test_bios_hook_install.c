/*
 * The INT 15h hook, installation: the page below the EBDA taken from base
 * memory and reserved in the guest map, the refusals that leave the BIOS as it
 * was, and the stub's bytes where bios_hook.h says they are.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "hw/fake/fake_hw.h"
#include "libvmx/bios_hook.h"
#include "libvmx/e820.h"
#include "libvmx/ept.h"
#include "libvmx/guest_memory.h"
#include "rt/layout.h"
#include "rt/palloc.h"
#include "tests/unit/vmx/bios_lowmem.h"

static void test_install_takes_page_below_ebda(void **state)
{
	assert_int_equal(bios_hook_install(&gmap), 0);
	assert_int_equal(bios_hook_page(), HOOK_PAGE);
	assert_int_equal(rd16(IVT_INT15), 0);
	assert_int_equal(rd16(IVT_INT15 + 2), HOOK_PAGE >> 4);
	assert_int_equal(rd16(BDA_BASE_MEM_KIB), HOOK_PAGE >> 10);
	/* reserved in the guest map (and merged with the reserved EBDA page after it) */
	const struct e820_entry *e = e820_find(&gmap, HOOK_PAGE);
	assert_non_null(e);
	assert_int_equal(e->type, E820_RESERVED);
	assert_int_equal(e->base, HOOK_PAGE);
	assert_int_equal(e->base + e->len, 0xA0000);
	assert_true(e820_range_is(&gmap, 0, HOOK_PAGE, E820_RAM));
}

static void test_install_honours_lower_base_memory(void **state)
{
	wr16(BDA_BASE_MEM_KIB, 600); /* something already took memory below the EBDA */
	assert_int_equal(bios_hook_install(&gmap), 0);
	assert_int_equal(bios_hook_page(), (600 * 1024 - 0x1000) & ~0xFFFu);
	assert_int_equal(rd16(BDA_BASE_MEM_KIB), ((600 * 1024 - 0x1000) & ~0xFFFu) >> 10);
}

static void test_install_rejects_nonsense_bda(void **state)
{
	struct e820_map before = gmap;
	wr16(BDA_BASE_MEM_KIB, 0);
	assert_int_equal(bios_hook_install(&gmap), BIOS_HOOK_ERR_BDA);
	wr16(BDA_BASE_MEM_KIB, 1024); /* above the VGA memory, no EBDA */
	wr16(BDA_EBDA_SEGMENT, 0);
	assert_int_equal(bios_hook_install(&gmap), BIOS_HOOK_ERR_BDA);
	assert_memory_equal(&gmap, &before, sizeof(gmap));
	assert_int_equal(rd16(IVT_INT15 + 2), ORIG_SEG);
}

static void test_install_reports_full_guest_map(void **state)
{
	e820_init(&gmap);
	for (uint32_t i = 0; i < E820_MAX_ENTRIES; i++)
		assert_int_equal(e820_add(&gmap, 2 * i * 0x2000, 0x2000, E820_RAM), 0);
	/* the page (0x9E000) falls in a hole between two entries: no room for another */
	assert_int_equal(bios_hook_install(&gmap), BIOS_HOOK_ERR_E820);
	assert_int_equal(rd16(IVT_INT15 + 2), ORIG_SEG);
	assert_int_equal(rd16(BDA_BASE_MEM_KIB), 639);
}

static void test_stub_bytes_at_documented_offsets(void **state)
{
	const uint8_t *s = &low[HOOK_PAGE];
	assert_int_equal(s[BIOS_HOOK_OFF_VMCALL], 0x0F);
	assert_int_equal(s[BIOS_HOOK_OFF_VMCALL + 1], 0x01);
	assert_int_equal(s[BIOS_HOOK_OFF_VMCALL + 2], 0xC1);
	assert_int_equal(s[BIOS_HOOK_OFF_FAR_JMP], 0xEA);
	assert_int_equal(BIOS_HOOK_OFF_ORIG, BIOS_HOOK_OFF_FAR_JMP + 1);
	assert_int_equal(rd16(HOOK_PAGE + BIOS_HOOK_OFF_ORIG), ORIG_OFF);
	assert_int_equal(rd16(HOOK_PAGE + BIOS_HOOK_OFF_ORIG + 2), ORIG_SEG);
	assert_int_equal(s[BIOS_HOOK_STUB_LEN - 1], 0xCF); /* ends in IRET */
	for (unsigned i = BIOS_HOOK_STUB_LEN; i < 0x1000; i++)
		assert_int_equal(s[i], 0);
	assert_true(bios_hook_is_e820_call(HOOK_PAGE + BIOS_HOOK_OFF_VMCALL));
	assert_false(bios_hook_is_e820_call(HOOK_PAGE + BIOS_HOOK_OFF_VMCALL + 3));
	assert_false(bios_hook_is_e820_call(HOOK_PAGE));
	assert_false(bios_hook_is_e820_call(0x7C00));
}

int main(void)
{
#define T(f)  cmocka_unit_test_setup_teardown(f, setup, teardown)
#define TI(f) cmocka_unit_test_setup_teardown(f, setup_installed, teardown)
	const struct CMUnitTest tests[] = {
	    T(test_install_takes_page_below_ebda),     T(test_install_honours_lower_base_memory),
	    T(test_install_rejects_nonsense_bda),      T(test_install_reports_full_guest_map),
	    TI(test_stub_bytes_at_documented_offsets),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
