/* The boot sector: guest_load_mbr copies a sector to 0:7C00 only with its 55 AA signature. */
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

static void test_mbr_signature(void **state)
{
	uint8_t mbr[512];
	for (int i = 0; i < 512; i++)
		mbr[i] = (uint8_t)(i * 7);
	mbr[510] = 0x55;
	mbr[511] = 0xAA;
	assert_true(guest_mbr_valid(mbr));
	assert_int_equal(guest_load_mbr(mbr), 0);
	assert_memory_equal(&low[0x7C00], mbr, 512);

	mbr[511] = 0xAB;
	assert_false(guest_mbr_valid(mbr));
	memset(&low[0x7C00], 0, 512);
	assert_int_equal(guest_load_mbr(mbr), GUEST_ERR_NO_BOOT_SIGNATURE);
	for (int i = 0; i < 512; i++)
		assert_int_equal(low[0x7C00 + i], 0); /* nothing copied */
	mbr[511] = 0xAA;
	mbr[510] = 0x00;
	assert_false(guest_mbr_valid(mbr));
	assert_int_equal(guest_load_mbr(mbr), GUEST_ERR_NO_BOOT_SIGNATURE);
	assert_int_equal(low[0x7C00], 0);
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
	const struct CMUnitTest tests[] = {
	    T(test_mbr_signature),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
