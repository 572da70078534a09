/*
 * libvmx guest_apic.c on a one-CPU machine: no guest AP will ever wait for
 * SIPI, so the LAPIC page keeps its write access and the x2APIC ICR is not
 * intercepted (otherwise every EOI, timer and ICR write would exit for the
 * whole run). Its own process: guest_apic.c's protection is set once per
 * process, and test_vmx_guest_apic.c's 3-CPU guests set it.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "libvmx/ept.h"
#include "libvmx/vmx.h"
#include "tests/unit/vmx/test_vmx_env.h"

static void test_one_cpu_leaves_the_lapic_writable(void **state)
{
	(void)state;
	env_guest(1, NULL);
	struct ept_mapping m;

	assert_true(ept_lookup(env_eptp(), 0xfee00000, &m));
	assert_true(m.rwx & EPT_READ);
	assert_true(m.rwx & EPT_WRITE);
	const uint8_t *msr = hw_phys_ptr(vmcs_get(VMCS_MSR_BITMAP.enc));
	assert_false(msr[2048 + 0x830 / 8] & (1u << (0x830 % 8)));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_one_cpu_leaves_the_lapic_writable),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
