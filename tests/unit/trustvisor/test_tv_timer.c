/*
 * A PAL's time budget (tv_proc.h's process): the VMX-preemption timer runs
 * only while a PAL runs, and its expiry ends the call with TV_ERR_PAL_TIMEOUT.
 * Outside a PAL nothing armed it, so TrustVisor refuses the exit and libvmx
 * panics: a timer exit there means VMCS state nobody set.
 *
 * The hook under test is the image's own: hv_app.preemption_timer is
 * tv_call.c's tv_timer_expired, built into the host tests unchanged.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "apps/trustvisor/tv_internal.h"
#include "libvmx/vmx.h"
#include "tests/unit/trustvisor/fake_platform.h"
#include "tests/unit/trustvisor/tv_env.h"
#include "tests/unit/trustvisor/tv_proc.h"

static void test_pal_timeout_ends_call(void **state)
{
	(void)state;
	assert_int_equal(register_desc(&good_desc), TV_OK);
	call_entry();
	tv_timer_expired(v); /* the preemption-timer exit (hv_app.preemption_timer) */
	assert_caller_restored(TV_ERR_PAL_TIMEOUT);
	assert_int_equal(get64(0x301100), 0xdead);
}

/* A looping PAL: the timer armed at entry expires; the caller gets the
 * timeout, no outputs, and the same PAL can be called again. */
static void test_timer_exit_in_pal_ends_call_with_timeout(void **state)
{
	(void)state;
	assert_int_equal(register_desc(&good_desc), TV_OK);
	call_entry();
	assert_true(vmcs_get(VMCS_PIN_BASED_CONTROLS.enc) & PIN_PREEMPTION_TIMER);
	pal_timer_exit();
	assert_caller_restored(TV_ERR_PAL_TIMEOUT);
	assert_int_equal(get64(0x301100), 0xdead);
	assert_int_equal(tv_pals[0].running_on, -1);
	assert_int_equal(vmcs_get(VMCS_VM_ENTRY_INTR_INFO.enc), 0); /* nothing for the caller */

	/* The hypervisor keeps serving: the same PAL runs to completion. */
	call_entry();
	pal_outputs_42();
	assert_int_equal(get64(0x301100), 42);
}

/* No PAL on this CPU (none registered, then one registered but not running,
 * then after a call ended): the hook refuses, libvmx panics naming the exit. */
static void test_timer_exit_outside_pal_is_refused(void **state)
{
	(void)state;
	assert_false(hv_app.preemption_timer(v));
	expect_assert_failure(pal_timer_exit());
	const char *out = env_console();
	assert_non_null(strstr(out, "unexpected VM exit on CPU 0: reason 52"));
	assert_non_null(strstr(out, "the app did not handle it"));

	assert_int_equal(register_desc(&good_desc), TV_OK);
	assert_false(hv_app.preemption_timer(v));
	call_entry();
	pal_returns(0);
	assert_caller_restored(TV_OK);
	assert_false(hv_app.preemption_timer(v));
	/* Refusing changed nothing: the PAL is still registered and callable. */
	assert_int_equal(registered(), 1);
	call_entry();
	pal_outputs_42();
	assert_int_equal(get64(0x301100), 42);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup(test_pal_timeout_ends_call, setup),
	    cmocka_unit_test_setup(test_timer_exit_in_pal_ends_call_with_timeout, setup),
	    cmocka_unit_test_setup(test_timer_exit_outside_pal_is_refused, setup),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
