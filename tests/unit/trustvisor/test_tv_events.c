/*
 * NMIs and PALs (tv_proc.h's process): an NMI that arrives while a PAL runs
 * is held, then injected exactly once after the PAL returns.
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

static void nmi_exit(void)
{
	env_exit(v, &(struct exit_fields){.reason = VMX_EXIT_EXCEPTION_NMI,
	                                  .intr_info = INTR_INFO(2, INTR_TYPE_NMI)});
}

static void test_nmi_during_pal_waits_for_its_exit(void **state)
{
	(void)state;
	assert_int_equal(register_desc(&good_desc), TV_OK);
	call_entry();
	uint64_t injected = v->ev.nmis_injected;

	/* Two NMIs while the PAL runs: neither reaches the PAL, no window loop. */
	nmi_exit();
	assert_int_equal(vmcs_get(VMCS_VM_ENTRY_INTR_INFO.enc), 0);
	assert_int_equal(v->ev.nmi_pending, 1);
	assert_false(vmcs_get(VMCS_PRIMARY_PROC_CONTROLS.enc) & PROC_NMI_WINDOW_EXITING);
	nmi_exit();
	assert_int_equal(vmcs_get(VMCS_VM_ENTRY_INTR_INFO.enc), 0);
	assert_int_equal(v->ev.nmis_injected, injected);

	/* PAL exit: the held NMI goes to the caller's context, once. */
	pal_outputs_42();
	assert_int_equal(vmcs_get(VMCS_VM_ENTRY_INTR_INFO.enc), INTR_INFO(2, INTR_TYPE_NMI));
	assert_int_equal(v->ev.nmis_injected, injected + 1);
	assert_int_equal(v->ev.nmi_pending, 0);
	env_exit(v, &(struct exit_fields){.reason = VMX_EXIT_CPUID, .instruction_len = 2});
	assert_int_equal(vmcs_get(VMCS_VM_ENTRY_INTR_INFO.enc), 0);
	assert_int_equal(v->ev.nmis_injected, injected + 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup(test_nmi_during_pal_waits_for_its_exit, setup),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
