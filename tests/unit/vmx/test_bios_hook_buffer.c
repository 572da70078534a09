/*
 * The INT 15h hook, the E820 handler's own checks on the caller's buffer:
 * never hypervisor memory, never above 4 GiB, never a page the guest's EPT
 * view does not let it write.
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

static void test_handler_refuses_hypervisor_and_protected_buffers(void **state)
{
	struct bios_e820_regs r = {
	    .rax = 0xE820, .rcx = 24, .rdx = SMAP, .es_base = HV_REGION_BASE, .rflags = 0x202};
	bios_hook_handle_e820(&r, &gmap);
	assert_int_equal(r.rflags & FLAG_CF, FLAG_CF);
	r = (struct bios_e820_regs){.rax = 0xE820,
	                            .rcx = 24,
	                            .rdx = SMAP,
	                            .es_base = 0xFFFFFFF0,
	                            .rdi = 0x20,
	                            .rflags = 0x202};
	bios_hook_handle_e820(&r, &gmap); /* above 4 GiB */
	assert_int_equal(r.rflags & FLAG_CF, FLAG_CF);

	/* With the guest's EPT view: a page the guest may not write is refused. */
	fake_msr_set(0x48C, (1ull << 6) | (1ull << 14) | (1ull << 16) | (1ull << 25));
	fake_cpu(0)->vmx_on = true;
	palloc_reset();
	void *pool = aligned_alloc(0x1000, 64 * 0x1000);
	palloc_add_range(hw_ptr_phys(pool), 64 * 0x1000);
	uint64_t eptp = ept_build(&gmap);
	assert_int_not_equal(eptp, 0);
	assert_int_equal(ept_set_page_access(eptp, 0x1000, 0x1000, EPT_READ | EPT_EXECUTE), 0);

	struct cpu16 c = caller(0xE820, 0, 24, 0x0100, 0x1000); /* 0x2000..0x2018: writable */
	c.eptp = eptp;
	int15(&c);
	assert_int_equal(c.flags & FLAG_CF, 0);
	low[0x1FF0] = 0xEE;
	c = caller(0xE820, 0, 24, 0x0000, 0x1FF0); /* 0x1FF0..0x2008: one page read-only */
	c.eptp = eptp;
	int15(&c);
	assert_int_equal(c.flags & FLAG_CF, FLAG_CF);
	assert_int_equal(low[0x1FF0], 0xEE);
	palloc_reset();
	free(pool);
}

int main(void)
{
#define TI(f) cmocka_unit_test_setup_teardown(f, setup_installed, teardown)
	const struct CMUnitTest tests[] = {
	    TI(test_handler_refuses_hypervisor_and_protected_buffers),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
