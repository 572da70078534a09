/* The fake low memory of bios_lowmem.h. */
#include "tests/unit/vmx/bios_lowmem.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>

#include <cmocka.h>

#include "hw/fake/fake_hw.h"
#include "libvmx/bios_hook.h"
#include "libvmx/guest_memory.h"
#include "rt/layout.h"

uint8_t *low;
struct e820_map gmap;

uint16_t rd16(uint32_t a)
{
	return (uint16_t)(low[a] | low[a + 1] << 8);
}

void wr16(uint32_t a, uint16_t v)
{
	low[a] = (uint8_t)v;
	low[a + 1] = (uint8_t)(v >> 8);
}

/* The guest map of a Bochs-like PC with 512 MiB. */
static void bochs_guest_map(void)
{
	const struct e820_entry in[] = {
	    {0, 0x9F000, E820_RAM},
	    {0x9F000, 0x1000, E820_RESERVED},
	    {0xE8000, 0x18000, E820_RESERVED},
	    {MIB, 0x1FFF0000 - MIB, E820_RAM},
	    {0x1FFF0000, 0x10000, E820_ACPI},
	    {0xFFFC0000, 0x40000, E820_RESERVED},
	};
	assert_int_equal(e820_from_entries(in, 6, &gmap), 0);
	assert_int_equal(e820_set(&gmap, HV_REGION_BASE, HV_REGION_SIZE, E820_RESERVED), 0);
}

int setup(void **state)
{
	fake_hw_reset();
	low = calloc(1, LOW_SIZE);
	assert_non_null(low);
	guest_memory_test_window(low, LOW_SIZE);
	wr16(BDA_EBDA_SEGMENT, 0x9FC0);
	wr16(BDA_BASE_MEM_KIB, 639);
	wr16(IVT_INT15, ORIG_OFF);
	wr16(IVT_INT15 + 2, ORIG_SEG);
	bochs_guest_map();
	return 0;
}

int setup_installed(void **state)
{
	setup(state);
	assert_int_equal(bios_hook_install(&gmap), 0);
	return 0;
}

int teardown(void **state)
{
	guest_memory_test_window(NULL, 0);
	free(low);
	return 0;
}
