/*
 * A guest that disabled its local APIC globally (IA32_APIC_BASE[11] = 0) makes
 * every NMI IPI of a quiesce round started on its CPU go nowhere (SDM Vol. 3A
 * 11.4.3). The production platform with core's wiring: the round does not
 * spin toward the "did not park" panic, the guest is stopped cleanly at once,
 * and the round is abandoned (a later round runs). The same for a target that
 * never parks, after the stuck limit.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "core/quiesce_wiring.h"
#include "libquiesce/quiesce.h"
#include "libvmx/vmx.h"
#include "tests/unit/vmx/test_vmx_env.h"

/* core's quiesce wiring pulls in libsmp, whose smp.c names rt_ap_init (images only). */
void rt_ap_init(uint32_t cpu_index, uint32_t apic_id);
__attribute__((weak)) void rt_ap_init(uint32_t cpu_index, uint32_t apic_id)
{
	(void)cpu_index;
	(void)apic_id;
	fail_msg("rt_ap_init called in a quiesce test");
}

static void install_quiesce(void)
{
	quiesce_wiring_install(2, "");
}

static void test_apic_disabled_quiescer_stops_guest_cleanly(void **state)
{
	env_guest_booted(2, NULL, install_quiesce);
	quiesce_cpu_online(0);
	quiesce_cpu_online(1); /* CPU 1 runs the guest: a round waits for it */

	/* CPU 0's guest turns its local APIC off (passed-through MSR write). */
	uint64_t base = fake_msr_get_cpu(0, MSR_IA32_APIC_BASE);
	fake_msr_set_cpu(0, MSR_IA32_APIC_BASE, base & ~APIC_BASE_ENABLE);
	env_console();
	expect_assert_failure(quiesce_begin());
	const char *out = env_console();
	assert_non_null(strstr(out, "hv: guest stopped on CPU 0: quiesce: no NMI can reach CPU 1: "
	                            "this CPU's local APIC is disabled"));
	assert_non_null(strstr(out, "hv: power off (code 4)"));
	assert_null(strstr(out, "PANIC"));

	/* The round was abandoned, not left holding the lock: with CPU 1 gone
	 * offline the next round completes at once. */
	fake_msr_set_cpu(0, MSR_IA32_APIC_BASE, base);
	uint64_t rounds = quiesce_rounds();
	quiesce_cpu_offline(1);
	quiesce_begin();
	quiesce_end();
	assert_int_equal(quiesce_rounds(), rounds + 1);
}

/* A target that never parks (on hardware: its guest disabled its APIC, so the
 * NMI never arrives): after the stuck limit a clean stop, not a panic. */
static void test_silent_target_stops_guest_cleanly(void **state)
{
	env_guest_booted(2, NULL, install_quiesce);
	quiesce_platform_set_spins(0, 1000);
	quiesce_cpu_online(0);
	quiesce_cpu_online(1); /* and never answers: nothing runs CPU 1 here */
	env_console();
	expect_assert_failure(quiesce_begin());
	const char *out = env_console();
	assert_non_null(
	    strstr(out, "hv: guest stopped on CPU 0: quiesce: CPU 1 did not park for round"));
	assert_non_null(strstr(out, "hv: power off (code 4)"));
	assert_null(strstr(out, "PANIC"));
	quiesce_cpu_offline(1);
	quiesce_platform_set_spins(0, 0);
}

/* quiesce_stuck_spins= on the hypervisor's command line sets the stuck limit
 * (tests/boot/test_quirks.py relies on it to stop in seconds); out of range,
 * the default stays and the line says so. */
static const char *cmdline;

static void install_quiesce_with_cmdline(void)
{
	quiesce_wiring_install(2, cmdline);
}

static void test_stuck_spins_option_sets_the_limit(void **state)
{
	cmdline = "console quiesce_stuck_spins=65536";
	env_console();
	env_guest_booted(2, NULL, install_quiesce_with_cmdline);
	const char *out = env_console();
	assert_non_null(strstr(
	    out, "hv: quiesce: a round gives up after 65536 relax steps (quiesce_stuck_spins=)"));
	quiesce_cpu_online(0);
	quiesce_cpu_online(1); /* never answers */
	expect_assert_failure(quiesce_begin());
	out = env_console();
	assert_non_null(
	    strstr(out, "hv: guest stopped on CPU 0: quiesce: CPU 1 did not park for round"));
	quiesce_cpu_offline(1);
	quiesce_platform_set_spins(0, 0);
	(void)state;
}

static void test_stuck_spins_option_out_of_range_keeps_the_default(void **state)
{
	cmdline = "quiesce_stuck_spins=100";
	env_console();
	env_guest_booted(2, NULL, install_quiesce_with_cmdline);
	const char *out = env_console();
	assert_non_null(strstr(out, "hv: quiesce_stuck_spins= wants relax steps in [2^16, 2^40]"));
	assert_null(strstr(out, "a round gives up after"));
	(void)state;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_apic_disabled_quiescer_stops_guest_cleanly),
	    cmocka_unit_test(test_silent_target_stops_guest_cleanly),
	    cmocka_unit_test(test_stuck_spins_option_sets_the_limit),
	    cmocka_unit_test(test_stuck_spins_option_out_of_range_keeps_the_default),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
