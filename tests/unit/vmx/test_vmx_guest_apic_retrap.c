/*
 * libvmx guest_apic.c (issue 15.4): the LAPIC trap lifted once every AP has
 * started comes back when an INIT sends an AP back to wait-for-SIPI, every
 * other CPU drops its writable translation before its next entry, and the trap
 * is lifted again once that AP has restarted. Its own process: the trap's
 * state lives for the process.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "libvmx/ept.h"
#include "libvmx/quirks.h"
#include "libvmx/vmx.h"
#include "libvmx/vmx_internal.h"
#include "tests/unit/vmx/test_vmx_env.h"

static bool icr_write_exits(void)
{
	const uint8_t *b = hw_phys_ptr(vmx_msr_bitmap_pa());
	uint32_t bit = MSR_X2APIC_ICR & 0x1fffu;
	return (b[2048 + bit / 8] >> (bit % 8)) & 1;
}

static bool lapic_writable(void)
{
	struct ept_mapping m;
	assert_true(ept_lookup(env_eptp(), 0xfee00000, &m));
	assert_true(m.rwx & EPT_READ);
	return (m.rwx & EPT_WRITE) != 0;
}

static void on_cpu(uint32_t cpu, const struct exit_fields *f)
{
	fake_set_cpu(cpu);
	env_exit(vmx_vcpu(cpu), f);
	fake_set_cpu(0);
}

static const struct exit_fields sipi = {.reason = VMX_EXIT_SIPI, .qualification = 8};
static const struct exit_fields init = {.reason = VMX_EXIT_INIT};
static const struct exit_fields cpuid = {.reason = VMX_EXIT_CPUID, .instruction_len = 2};

/* Both APs started: the trap is lifted. */
static void start_both_aps(void)
{
	on_cpu(1, &sipi);
	on_cpu(1, &cpuid); /* runs: its next INIT is not the one before the SIPI */
	on_cpu(2, &sipi);
	on_cpu(2, &cpuid);
	assert_true(lapic_writable());
	assert_false(icr_write_exits());
}

static void test_init_to_started_ap_traps_again_until_it_restarts(void **state)
{
	env_guest(3, NULL);
	start_both_aps();

	/* The guest sends CPU 1 back to wait-for-SIPI (e.g. CPU offline/online). */
	uint64_t invepts = fake_hw.invept_count;
	on_cpu(1, &init);
	assert_true(vmx_vcpu(1)->waiting_for_sipi);
	assert_false(lapic_writable());
	assert_true(icr_write_exits());
	assert_true(fake_hw.invept_count > invepts); /* on CPU 1, at the change */

	/* CPU 2 may hold the writable translation: it INVEPTs before its next
	 * entry, once, and CPU 0 likewise. */
	invepts = fake_hw.invept_count;
	on_cpu(2, &cpuid);
	assert_int_equal(fake_hw.invept_count, invepts + 1);
	on_cpu(2, &cpuid);
	assert_int_equal(fake_hw.invept_count, invepts + 1);
	on_cpu(0, &cpuid);
	assert_int_equal(fake_hw.invept_count, invepts + 2);

	/* The trap works again: an INIT to CPU 1, waiting for SIPI, is dropped. */
	assert_true(
	    vmx_guest_init_dropped(vmx_vcpu(0), APIC_ICR_DM_INIT | APIC_ICR_LEVEL_ASSERT, 1));
	/* ... and an INIT to running CPU 2 is not. */
	assert_false(
	    vmx_guest_init_dropped(vmx_vcpu(0), APIC_ICR_DM_INIT | APIC_ICR_LEVEL_ASSERT, 2));

	/* CPU 1 restarts: nothing waits for SIPI any more, the trap is lifted. */
	on_cpu(1, &sipi);
	assert_true(lapic_writable());
	assert_false(icr_write_exits());

	/* And again: a second round trip behaves the same. */
	on_cpu(1, &cpuid);
	on_cpu(1, &init);
	assert_false(lapic_writable());
	assert_true(icr_write_exits());
	on_cpu(1, &sipi);
	assert_true(lapic_writable());
	assert_false(icr_write_exits());
}

/* Two APs sent back: the trap stays until the last of them restarts. */
static void test_trap_stays_until_the_last_waiting_ap_restarts(void **state)
{
	env_guest(3, NULL);
	start_both_aps();
	on_cpu(1, &init);
	on_cpu(2, &init);
	assert_false(lapic_writable());
	on_cpu(2, &sipi);
	assert_false(lapic_writable()); /* CPU 1 still waits */
	assert_true(icr_write_exits());
	on_cpu(1, &sipi);
	assert_true(lapic_writable());
	assert_false(icr_write_exits());
}

/* An INIT to the boot CPU runs its reset vector; it never waits for SIPI, so
 * nothing is trapped again. */
static void test_init_on_boot_cpu_does_not_trap(void **state)
{
	env_guest(3, NULL);
	start_both_aps();
	on_cpu(0, &init);
	assert_true(lapic_writable());
	assert_false(icr_write_exits());
}

/* Quirks off by the time of the INIT (vmx_quirks=none on a platform where the
 * trap was set up): the INIT exit leaves the page writable. */
static void test_no_retrap_without_its_quirks(void **state)
{
	env_guest(3, NULL);
	start_both_aps();
	vmx_quirks_set(VMX_QUIRKS_NONE);
	on_cpu(1, &init);
	assert_true(vmx_vcpu(1)->waiting_for_sipi);
	assert_true(lapic_writable());
	assert_false(icr_write_exits());
	vmx_quirks_set(VMX_QUIRKS_ALL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_init_to_started_ap_traps_again_until_it_restarts),
	    cmocka_unit_test(test_trap_stays_until_the_last_waiting_ap_restarts),
	    cmocka_unit_test(test_init_on_boot_cpu_does_not_trap),
	    cmocka_unit_test(test_no_retrap_without_its_quirks),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
