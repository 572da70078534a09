/* libvmx exit handlers, EPT violations: hypervisor memory gets #GP, anything
 * else goes to the app first, then panics with a VMCS dump. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "libvmx/vmx.h"
#include "libvmx/vmx_caps.h"
#include "libvmx/vmx_internal.h"
#include "rt/layout.h"
#include "tests/unit/vmx/vmx_exit_util.h"

static void test_ept_violation_in_hv_region_injects_gp(void **state)
{
	struct vcpu *v = env_guest(1, NULL);
	env_protected_mode();
	vmcs_set(VMCS_GUEST_RIP.enc, 0x2000);
	struct exit_fields f = {.reason = VMX_EXIT_EPT_VIOLATION,
	                        .qualification = EPTQUAL_READ,
	                        .gpa = HV_REGION_BASE + 0x1234};
	env_exit(v, &f);
	assert_int_equal(injected(),
	                 INTR_INFO(X86_VEC_GP, INTR_TYPE_HW_EXCEPTION) | INTR_INFO_DELIVER_CODE);
	assert_int_equal(vmcs_get(VMCS_GUEST_RIP.enc), 0x2000);
	assert_non_null(
	    strstr(env_console(), "hv: guest access to hypervisor memory at GPA 0xc001234"));
}

static void test_ept_violation_elsewhere_panics(void **state)
{
	struct vcpu *v = env_guest(1, NULL);
	struct exit_fields f = {.reason = VMX_EXIT_EPT_VIOLATION, .gpa = 0x100000};

	expect_assert_failure(env_exit(v, &f));
	const char *out = env_console();
	assert_non_null(strstr(out, "EPT violation on CPU 0 at GPA 0x100000"));
	/* The panic hook dumps the VMCS. */
	assert_non_null(strstr(out, "hv: vmcs: exit reason 0x30 (EPT violation)"));
	assert_non_null(strstr(out, "guest RIP"));
	assert_non_null(strstr(out, "interruptibility"));
}

static int ept_calls;
static enum hv_ept_action app_ept(struct vcpu *v, uint64_t gpa, uint64_t q)
{
	ept_calls++;
	return HV_EPT_RETRY;
}

static void test_ept_violation_goes_to_app_first(void **state)
{
	static const struct hv_app app = {.name = "t", .ept_violation = app_ept};
	struct vcpu *v = env_guest(1, &app);
	struct exit_fields f = {.reason = VMX_EXIT_EPT_VIOLATION, .gpa = HV_REGION_BASE};

	ept_calls = 0;
	env_exit(v, &f);
	assert_int_equal(ept_calls, 1);
	assert_int_equal(injected() & INTR_INFO_VALID, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_ept_violation_in_hv_region_injects_gp),
	    cmocka_unit_test(test_ept_violation_elsewhere_panics),
	    cmocka_unit_test(test_ept_violation_goes_to_app_first),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
