/*
 * What libvmx hands to others besides the exit handlers: the VMX-preemption
 * timer exit (to the app, or a panic) and the before-entry hook chain
 * (registration order, a fixed number, boot only).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "libvmx/vmx.h"
#include "libvmx/vmx_internal.h"
#include "rt/panic.h"
#include "tests/unit/vmx/test_vmx_env.h"

/* ---- the VMX-preemption timer exit (reason 52) ---- */

static int timer_calls;
static bool timer_answer;
static bool app_timer(struct vcpu *v)
{
	timer_calls++;
	/* The hook runs with the exit read: it may look at the reason itself. */
	assert_int_equal(VMX_EXIT_REASON_BASIC(v->exit.reason), VMX_EXIT_PREEMPTION_TIMER);
	return timer_answer;
}

static const struct hv_app timer_app = {
    .name = "timer-test",
    .preemption_timer = app_timer,
};

static void timer_exit(struct vcpu *v)
{
	struct exit_fields f = {.reason = VMX_EXIT_PREEMPTION_TIMER};
	env_exit(v, &f);
}

static void test_timer_exit_reaches_app(void **state)
{
	struct vcpu *v = env_guest(1, &timer_app);
	uint64_t rip = vmcs_get(VMCS_GUEST_RIP.enc);

	timer_calls = 0;
	timer_answer = true;
	timer_exit(v);
	assert_int_equal(timer_calls, 1);
	/* Counted under its own reason; no instruction skipped, nothing injected. */
	assert_int_equal(v->exit_count[VMX_EXIT_PREEMPTION_TIMER], 1);
	assert_int_equal(vmcs_get(VMCS_GUEST_RIP.enc), rip);
	assert_int_equal(vmcs_get(VMCS_VM_ENTRY_INTR_INFO.enc) & INTR_INFO_VALID, 0);
	env_console();
	vmx_print_exit_counters();
	assert_string_equal(env_console(), "hv: cpu 0 exits: VMX-preemption-timer-expired=1\n");
}

static void test_timer_exit_without_hook_panics(void **state)
{
	struct vcpu *v = env_guest(1, NULL);

	expect_assert_failure(timer_exit(v));
	const char *out = env_console();
	assert_non_null(strstr(out, "unexpected VM exit on CPU 0: reason 52 "
	                            "(VMX-preemption timer expired): the app has no "
	                            "preemption_timer hook"));
	/* The panic hook dumps the VMCS, as for every unexpected exit. */
	assert_non_null(strstr(out, "hv: vmcs: exit reason 0x34"));
	assert_non_null(strstr(out, "guest RIP"));
}

static void test_timer_exit_declined_panics(void **state)
{
	struct vcpu *v = env_guest(1, &timer_app);

	timer_calls = 0;
	timer_answer = false;
	expect_assert_failure(timer_exit(v));
	assert_int_equal(timer_calls, 1);
	assert_non_null(strstr(env_console(), "reason 52 (VMX-preemption timer expired): the "
	                                      "app did not handle it"));
}

/* ---- the before-entry chain ---- */

static char order[16];
static size_t order_len;
static void note(char c)
{
	assert_true(order_len < sizeof(order) - 1);
	order[order_len++] = c;
	order[order_len] = 0;
}
static void hook_a(struct vcpu *v)
{
	note('a');
}
static void hook_b(struct vcpu *v)
{
	note('b');
}
static void hook_c(struct vcpu *v)
{
	note('c');
}
static void after_exit(struct vcpu *v)
{
	note('x');
}

static void cpuid_exit(struct vcpu *v)
{
	struct exit_fields f = {.reason = VMX_EXIT_CPUID, .instruction_len = 2};
	env_exit(v, &f);
}

static void register_cab(void)
{
	vmx_set_after_exit_hook(after_exit);
	vmx_add_before_entry_hook(hook_c);
	vmx_add_before_entry_hook(hook_a);
	vmx_add_before_entry_hook(hook_b);
}

static void test_hooks_run_in_registration_order(void **state)
{
	order_len = 0;
	struct vcpu *v = env_guest_booted(1, NULL, register_cab);

	/* The first entry (launch) runs the chain too, with no exit before it. */
	assert_string_equal(order, "cab");
	cpuid_exit(v);
	assert_string_equal(order, "cabxcab");
	cpuid_exit(v);
	assert_string_equal(order, "cabxcabxcab");
	vmx_transition_hooks_reset();
}

static void register_too_many(void)
{
	for (unsigned i = 0; i < VMX_MAX_BEFORE_ENTRY_HOOKS; i++)
		vmx_add_before_entry_hook(hook_a);
	expect_assert_failure(vmx_add_before_entry_hook(hook_b));
	assert_non_null(strstr(rt_panic_reason(), "more than 4 before-entry hooks"));
}

static void test_too_many_hooks_panics(void **state)
{
	order_len = 0;
	struct vcpu *v = env_guest_booted(1, NULL, register_too_many);

	/* The four that fit all run; the refused one never does. */
	order_len = 0;
	cpuid_exit(v);
	assert_string_equal(order, "aaaa");
	vmx_transition_hooks_reset();
}

static void test_null_hook_panics(void **state)
{
	env_setup(1);
	expect_assert_failure(vmx_add_before_entry_hook(NULL));
	assert_non_null(strstr(rt_panic_reason(), "NULL hook"));
}

static void test_hook_after_first_entry_panics(void **state)
{
	env_guest(1, NULL); /* prepares the guest: its first entry */
	expect_assert_failure(vmx_add_before_entry_hook(hook_b));
	assert_non_null(strstr(rt_panic_reason(), "after the first VM entry"));
	vmx_transition_hooks_reset();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_timer_exit_reaches_app),
	    cmocka_unit_test(test_timer_exit_without_hook_panics),
	    cmocka_unit_test(test_timer_exit_declined_panics),
	    cmocka_unit_test(test_hooks_run_in_registration_order),
	    cmocka_unit_test(test_too_many_hooks_panics),
	    cmocka_unit_test(test_null_hook_panics),
	    cmocka_unit_test(test_hook_after_first_entry_panics),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
