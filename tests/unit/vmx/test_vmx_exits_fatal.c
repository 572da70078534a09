/* libvmx exit handlers, exits with no handler and failed VM entries: a panic
 * that names the exit, with the VMCS dump. Only exits the library never
 * enables can have no handler: a broken invariant, not guest input (an
 * instruction the guest can execute has a handler: test_vmx_guest_input.c). */
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

static void test_unhandled_exit_panics_with_dump(void **state)
{
	struct vcpu *v = env_guest(1, NULL);
	/* External-interrupt exiting is never set (vmx_caps.c): this cannot happen. */
	struct exit_fields f = {.reason = VMX_EXIT_EXTERNAL_INTERRUPT};

	expect_assert_failure(env_exit(v, &f));
	const char *out = env_console();
	assert_non_null(strstr(out, "unhandled VM exit on CPU 0: reason 1 (external interrupt)"));
	assert_non_null(strstr(out, "hv: vmcs: exit reason 0x1"));
}

static void test_entry_failure_exit_panics(void **state)
{
	struct vcpu *v = env_guest(1, NULL);
	struct exit_fields f = {.reason =
	                            VMX_EXIT_REASON_ENTRY_FAILURE | VMX_EXIT_INVALID_GUEST_STATE,
	                        .qualification = 0};

	expect_assert_failure(env_exit(v, &f));
	assert_non_null(strstr(env_console(), "VM-entry failure on CPU 0: exit reason 33"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_unhandled_exit_panics_with_dump),
	    cmocka_unit_test(test_entry_failure_exit_panics),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
