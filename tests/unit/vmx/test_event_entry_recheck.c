/*
 * The last look for guest NMIs before VM entry (libvmx/vmx_entry.S,
 * event.c: vmx_entry_recheck_nmis). The NMI sweep (tools/sweep.py) found the
 * attack: a guest NMI that reaches the CPU in root after the injection point
 * collected NMIs, and before VMRESUME, was left for the next VM exit - never,
 * for a guest that runs without exits (41 of 7,510 PAL-call rounds under
 * TrustVisor, 87 of 1,292 VMCALL rounds under passthrough waited until the
 * guest's next VMCALL). Here the entry stub's condition and what it calls are
 * driven by hand against the fake VMCS; rt's restart of an NMI inside the
 * entry sequence is tests/unit/rt/trap_restart_test.c.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "libvmx/vmx.h"
#include "libvmx/vmx_internal.h"
#include "tests/unit/vmx/test_vmx_env.h"

static bool allow_nmi = true;
static bool may_take_nmi(struct vcpu *v)
{
	(void)v;
	return allow_nmi;
}
static const struct hv_app app = {
    .name = "entry-recheck-test",
    .guest_may_take_nmi = may_take_nmi,
};

static const uint32_t NMI_INFO = INTR_INFO_VALID | (INTR_TYPE_NMI << 8) | X86_VEC_NMI;

static struct vcpu *guest(void)
{
	allow_nmi = true;
	struct vcpu *v = env_guest(1, &app);
	env_protected_mode();
	return v;
}

static void exit_with(struct vcpu *v, uint32_t reason)
{
	struct exit_fields f = {.reason = reason, .instruction_len = 2};
	env_exit(v, &f);
}

static uint32_t injected(void)
{
	return (uint32_t)vmcs_get(VMCS_VM_ENTRY_INTR_INFO.enc);
}

static bool window(void)
{
	return (vmcs_get(VMCS_PRIMARY_PROC_CONTROLS.enc) & PROC_NMI_WINDOW_EXITING) != 0;
}

/* What vmx_entry.S compares before VMLAUNCH/VMRESUME. */
static bool entry_goes_back(const struct vcpu *v)
{
	return *v->entry_nmi_count != v->entry_nmis_seen;
}

static void test_nmi_after_the_injection_point_is_injected_before_entry(void **state)
{
	(void)state;
	struct vcpu *v = guest();

	exit_with(v, VMX_EXIT_CPUID); /* ends with the injection point: nothing to inject */
	assert_false(entry_goes_back(v));
	assert_int_equal(injected(), 0);
	vmx_host_nmi_handler(); /* the guest's NMI, in root, after the injection point */
	assert_true(entry_goes_back(v));
	vmx_entry_recheck_nmis(v);
	assert_false(entry_goes_back(v));
	assert_int_equal(injected(), NMI_INFO); /* on this entry, not the next exit's */
	assert_int_equal(v->ev.nmis_injected, 1);
	assert_int_equal(v->ev.nmi_pending, 0);
}

static void test_recheck_keeps_an_event_already_injected(void **state)
{
	(void)state;
	struct vcpu *v = guest();

	exit_with(v, VMX_EXIT_VMXON); /* #UD for the guest, written at the injection point */
	uint32_t ud = INTR_INFO(X86_VEC_UD, INTR_TYPE_HW_EXCEPTION);
	assert_int_equal(injected(), ud);
	vmx_host_nmi_handler();
	assert_true(entry_goes_back(v));
	vmx_entry_recheck_nmis(v);
	assert_int_equal(injected(), ud); /* not overwritten by the NMI */
	assert_true(window());            /* the NMI follows that delivery */
	assert_int_equal(v->ev.nmi_pending, 1);
	assert_false(entry_goes_back(v));
	exit_with(v, VMX_EXIT_NMI_WINDOW);
	assert_int_equal(injected(), NMI_INFO);
}

static void test_recheck_asks_the_app(void **state)
{
	(void)state;
	struct vcpu *v = guest();

	allow_nmi = false; /* a PAL runs on this CPU */
	exit_with(v, VMX_EXIT_CPUID);
	vmx_host_nmi_handler();
	assert_true(entry_goes_back(v));
	vmx_entry_recheck_nmis(v);
	assert_int_equal(injected(), 0); /* held: never into the PAL */
	assert_false(window());
	assert_int_equal(v->ev.nmi_pending, 1);
	assert_false(entry_goes_back(v)); /* no loop: the NMI is collected */
	allow_nmi = true;
	exit_with(v, VMX_EXIT_CPUID);
	assert_int_equal(injected(), NMI_INFO);
}

static bool own_signal;
static bool filter(void)
{
	return own_signal;
}

static void test_filtered_nmi_does_not_send_the_entry_back(void **state)
{
	(void)state;
	struct vcpu *v = guest();

	vmx_set_nmi_filter(filter);
	own_signal = true; /* a quiesce NMI */
	exit_with(v, VMX_EXIT_CPUID);
	vmx_host_nmi_handler();
	assert_false(entry_goes_back(v));
	own_signal = false;
	vmx_set_nmi_filter(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_nmi_after_the_injection_point_is_injected_before_entry),
	    cmocka_unit_test(test_recheck_keeps_an_event_already_injected),
	    cmocka_unit_test(test_recheck_asks_the_app),
	    cmocka_unit_test(test_filtered_nmi_does_not_send_the_entry_back),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
