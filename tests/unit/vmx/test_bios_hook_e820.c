/*
 * The INT 15h hook, the memory-size protocol through the installed stub (run
 * by real_mode_cpu.h's interpreter): E820 iteration, its errors, the
 * caller's flags, E801/88h capped below the hypervisor, every other function
 * chained to the BIOS.
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
#include "tests/unit/vmx/real_mode_cpu.h"

static void test_e820_iterates_whole_map(void **state)
{
	uint32_t ebx = 0, n = 0;
	do {
		struct cpu16 c = caller(0xE820, ebx, 24, 0x0050, 0x0100);
		memset(&low[0x600], 0xEE, 32);
		int15(&c);
		assert_false(c.far_jumped);
		assert_int_equal(c.vmcalls, 1);
		assert_int_equal(c.flags & FLAG_CF, 0);
		assert_int_equal(c.eax, SMAP);
		assert_int_equal(c.ecx, 24);
		assert_int_equal(c.bp, 0x5555);
		assert_true(c.flags & FLAG_IF); /* the caller's IF, not the INT's */
		const struct e820_entry *e = &gmap.entries[n];
		uint64_t base, len;
		uint32_t type, attr;
		memcpy(&base, &low[0x600], 8);
		memcpy(&len, &low[0x608], 8);
		memcpy(&type, &low[0x610], 4);
		memcpy(&attr, &low[0x614], 4);
		assert_int_equal(base, e->base);
		assert_int_equal(len, e->len);
		assert_int_equal(type, e->type);
		assert_int_equal(attr, BIOS_E820_ATTR_ENABLED);
		assert_int_equal(low[0x618], 0xEE); /* nothing past 24 bytes */
		ebx = c.ebx;
		n++;
		assert_true(n <= gmap.count);
	} while (ebx != 0);
	assert_int_equal(n, gmap.count);
	/* the guest sees its hook page and the hypervisor region as reserved */
	assert_int_equal(e820_find(&gmap, HV_REGION_BASE)->type, E820_RESERVED);
	assert_int_equal(e820_find(&gmap, HOOK_PAGE)->type, E820_RESERVED);
}

static void test_e820_20_byte_buffer(void **state)
{
	struct cpu16 c = caller(0xE820, 0, 20, 0, 0x600);
	memset(&low[0x600], 0xEE, 32);
	int15(&c);
	assert_int_equal(c.flags & FLAG_CF, 0);
	assert_int_equal(c.ecx, 20);
	assert_int_equal(low[0x613], 0); /* high byte of type 1 */
	assert_int_equal(low[0x614], 0xEE);
	assert_int_equal(c.ebx, 1);
}

static void test_e820_errors_set_cf(void **state)
{
	struct {
		uint32_t ebx, ecx, edx;
	} bad[] = {
	    {0, 24, 0x12345678},    /* no 'SMAP' signature */
	    {0, 19, SMAP},          /* buffer too small */
	    {gmap.count, 24, SMAP}, /* continuation past the end */
	    {0xFFFFFFFF, 24, SMAP},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct cpu16 c = caller(0xE820, bad[i].ebx, bad[i].ecx, 0, 0x600);
		c.edx = bad[i].edx;
		memset(&low[0x600], 0xEE, 32);
		int15(&c);
		assert_int_equal(c.flags & FLAG_CF, FLAG_CF);
		assert_int_equal((c.eax >> 8) & 0xFF, BIOS_ERR_UNSUPPORTED);
		assert_true(c.flags & FLAG_IF);
		assert_int_equal(low[0x600], 0xEE); /* nothing written */
	}
}

static void test_caller_flags_survive_except_cf(void **state)
{
	/* IF clear and CF set on entry: CF becomes the answer, IF stays clear. */
	struct cpu16 c = caller(0xE820, 0, 24, 0, 0x600);
	c.flags = 0x0002 | FLAG_CF | FLAG_TF;
	int15(&c);
	assert_int_equal(c.flags, 0x0002 | FLAG_TF);
}

static void test_other_functions_chain_to_original(void **state)
{
	const uint32_t eaxes[] = {0x2401, 0xC000, 0x8600, 0x0000E821, 0x0001E820, 0xE980};
	for (size_t i = 0; i < sizeof(eaxes) / sizeof(eaxes[0]); i++) {
		struct cpu16 c = caller(eaxes[i], 0, 24, 0, 0x600);
		int15(&c);
		assert_true(c.far_jumped);
		assert_int_equal(c.vmcalls, 0);
		assert_int_equal(c.far_cs, ORIG_SEG);
		assert_int_equal(c.far_ip, ORIG_OFF);
		assert_int_equal(c.eax, eaxes[i]); /* untouched for the real BIOS */
	}
}

static void test_e801_and_88_stop_below_hypervisor(void **state)
{
	struct cpu16 c = caller(0xE801, 0, 0, 0, 0);
	int15(&c);
	assert_int_equal(c.vmcalls, 1);
	assert_int_equal(c.flags & FLAG_CF, 0);
	assert_int_equal(c.eax & 0xFFFF, 15 * 1024);
	assert_int_equal(c.ecx & 0xFFFF, 15 * 1024);
	assert_int_equal(c.ebx & 0xFFFF, (HV_REGION_BASE - 16 * MIB) >> 16);
	assert_int_equal(c.edx & 0xFFFF, (HV_REGION_BASE - 16 * MIB) >> 16);

	c = caller(0x8800, 0, 0, 0, 0);
	int15(&c);
	assert_int_equal(c.vmcalls, 1);
	assert_int_equal(c.flags & FLAG_CF, 0);
	assert_int_equal(c.eax & 0xFFFF, 0xFFFF); /* 191 MiB does not fit in 16 bits */

	/* a small machine: 8 MiB */
	const struct e820_entry small[] = {{0, 0x9F000, E820_RAM}, {MIB, 7 * MIB, E820_RAM}};
	assert_int_equal(e820_from_entries(small, 2, &gmap), 0);
	c = caller(0xE801, 0, 0, 0, 0);
	int15(&c);
	assert_int_equal(c.eax & 0xFFFF, 7 * 1024);
	assert_int_equal(c.ebx & 0xFFFF, 0);
	c = caller(0x8800, 0, 0, 0, 0);
	int15(&c);
	assert_int_equal(c.eax & 0xFFFF, 7 * 1024);
}

int main(void)
{
#define TI(f) cmocka_unit_test_setup_teardown(f, setup_installed, teardown)
	const struct CMUnitTest tests[] = {
	    TI(test_e820_iterates_whole_map),
	    TI(test_e820_20_byte_buffer),
	    TI(test_e820_errors_set_cf),
	    TI(test_caller_flags_survive_except_cf),
	    TI(test_other_functions_chain_to_original),
	    TI(test_e801_and_88_stop_below_hypervisor),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
