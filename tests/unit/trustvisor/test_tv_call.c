/*
 * Calling a PAL through TrustVisor (tv_proc.h's process): the EPT violation at
 * the entry switches to the PAL's state, the sentinel #PF brings the outputs
 * and the caller's state back; a PAL that faults ends its call with
 * TV_ERR_PAL_FAULT; the checks made before a PAL runs.
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

static void test_call_round_trip(void **state)
{
	(void)state;
	assert_int_equal(register_desc(&good_desc), TV_OK);
	struct tv_pal *pal = &tv_pals[0];
	call_entry();

	/* PAL state on this CPU. */
	assert_ptr_equal(tv_call_of(0)->pal, pal);
	assert_false(tv_may_take_nmi(v));
	assert_int_equal(vmcs_get(VMCS_GUEST_RIP.enc), ENTRY);
	assert_int_equal(vmcs_get(VMCS_GUEST_RSP.enc), STACK_GVA + 2 * PG - 8);
	assert_int_equal(get64(0x203ff8), TV_PAL_SENTINEL);
	assert_int_equal(vmcs_get(VMCS_GUEST_CR3.enc), pal->pt_root);
	assert_int_equal(vmcs_get(VMCS_EPT_POINTER.enc), pal->eptp);
	assert_int_equal(vmcs_get(VMCS_EXCEPTION_BITMAP.enc), 0xffffffffu);
	assert_int_equal(vmcs_get(VMCS_GUEST_RFLAGS.enc) & (1u << 9), 0); /* IF = 0 */
	assert_true(vmcs_get(VMCS_PIN_BASED_CONTROLS.enc) & PIN_PREEMPTION_TIMER);
	assert_int_equal(vmcs_get(VMCS_PREEMPTION_TIMER_VALUE.enc), 12345);
	assert_int_equal(v->gpr[GPR_RDI], PARAMS_GVA);
	assert_int_equal(v->gpr[GPR_RSI], 2);
	assert_int_equal(v->gpr[GPR_RDX], PARAMS_GVA + 16);
	assert_int_equal(v->gpr[GPR_RCX], 1);
	assert_int_equal(v->gpr[GPR_RBX], 0); /* caller registers cleared */
	assert_int_equal(get64(0x201000), 40);
	assert_int_equal(get64(0x201008), 2);
	assert_int_equal(tvf_invepts, 1);

	/* The PAL computes and returns. */
	put64(0x201010, get64(0x201000) + get64(0x201008));
	pal_returns(7);
	assert_caller_restored(TV_OK);
	assert_int_equal(v->gpr[GPR_RDX], 7);
	assert_int_equal(get64(0x301100), 42);
	assert_int_equal(pal->running_on, -1);
	assert_int_equal(vmcs_get(VMCS_VM_ENTRY_INTR_INFO.enc), 0);
}

static void test_pal_fault_ends_call(void **state)
{
	(void)state;
	assert_int_equal(register_desc(&good_desc), TV_OK);
	call_entry();
	pal_gp_faults();
	assert_caller_restored(TV_ERR_PAL_FAULT);
	assert_int_equal(vmcs_get(VMCS_VM_ENTRY_INTR_INFO.enc), 0); /* nothing for the caller */
	assert_int_equal(get64(0x301100), 0xdead);                  /* no outputs */

	/* A #PF while the PAL's INT 0x80 was being delivered: not re-injected. */
	call_entry();
	env_exit(v, &(struct exit_fields){
	                .reason = VMX_EXIT_EXCEPTION_NMI,
	                .qualification = 0xffffffff81000000ull,
	                .intr_info =
	                    INTR_INFO(X86_VEC_PF, INTR_TYPE_HW_EXCEPTION) | INTR_INFO_DELIVER_CODE,
	                .idt_info = INTR_INFO(0x80, INTR_TYPE_SW_INTERRUPT),
	                .instruction_len = 2,
	            });
	assert_caller_restored(TV_ERR_PAL_FAULT);
	assert_int_equal(vmcs_get(VMCS_VM_ENTRY_INTR_INFO.enc), 0);

	/* An EPT violation from inside the PAL. */
	call_entry();
	env_exit(v, &(struct exit_fields){.reason = VMX_EXIT_EPT_VIOLATION,
	                                  .qualification = EPTQUAL_READ,
	                                  .gpa = 0x301000});
	assert_caller_restored(TV_ERR_PAL_FAULT);
	/* The PAL still works afterwards. */
	call_entry();
	pal_outputs_42();
	assert_int_equal(tv_pals[0].faults, 3);
}

static void test_call_checks(void **state)
{
	(void)state;
	assert_int_equal(register_desc(&good_desc), TV_OK);
	/* Another process reaching the same page at the same address. */
	user_mode(cr3_b);
	call_entry();
	assert_int_equal((int64_t)v->gpr[GPR_RAX], TV_ERR_WRONG_PROCESS);
	assert_int_equal(vmcs_get(VMCS_GUEST_RIP.enc), RET_RIP);
	assert_null(tv_call_of(0)->pal);
	/* Too many inputs. */
	user_mode(cr3_a);
	put64(0x300000 + (CALLER_RSP & 0xfff), RET_RIP);
	vmcs_set(VMCS_GUEST_RSP.enc, CALLER_RSP);
	vmcs_set(VMCS_GUEST_RIP.enc, ENTRY);
	vmcs_set(VMCS_GUEST_LINEAR_ADDRESS.enc, ENTRY);
	v->gpr[GPR_RSI] = 3;
	v->gpr[GPR_RCX] = 1;
	env_exit(v, &(struct exit_fields){.reason = VMX_EXIT_EPT_VIOLATION,
	                                  .qualification = EPTQUAL_FETCH | EPTQUAL_GLA_VALID,
	                                  .gpa = 0x200040});
	assert_int_equal((int64_t)v->gpr[GPR_RAX], TV_ERR_TOO_LARGE);
	assert_null(tv_call_of(0)->pal);
	/* Hypercalls for the micro-TPM outside a PAL. */
	assert_int_equal(hypercall(TV_HC_GET_RANDOM, 0), TV_ERR_NOT_IN_PAL);
	/* Unknown hypercall: #UD as without a hypervisor. */
	vmcs_set(VMCS_GUEST_RIP.enc, 0x410000);
	v->gpr[GPR_RAX] = 0x1234;
	env_exit(v, &(struct exit_fields){.reason = VMX_EXIT_VMCALL, .instruction_len = 3});
	assert_int_equal(vmcs_get(VMCS_VM_ENTRY_INTR_INFO.enc),
	                 INTR_INFO(X86_VEC_UD, INTR_TYPE_HW_EXCEPTION));
}

/*
 * Calling a PAL that is not registered: its pages are ordinary guest memory,
 * so on hardware the call does not even exit; should an EPT violation at the
 * entry still reach TrustVisor (one from before another CPU's unregister), it
 * is re-executed and nothing runs (no PAL state; UNHANDLED would be libvmx's
 * panic for a mapped page), and the hypercall that names it answers
 * TV_ERR_NOT_REGISTERED.
 * Registering and calling afterwards work as usual.
 */
static void test_call_unregistered_pal(void **state)
{
	(void)state;
	/* Never registered. */
	assert_int_equal(hypercall(TV_HC_UNREGISTER, ENTRY), TV_ERR_NOT_REGISTERED);
	assert_int_equal(tv_ept_violation(v, 0x200040, EPTQUAL_FETCH), HV_EPT_RETRY);
	assert_null(tv_call_of(0)->pal);
	/* Registered, then unregistered: the same again. */
	assert_int_equal(register_desc(&good_desc), TV_OK);
	assert_int_equal(hypercall(TV_HC_UNREGISTER, ENTRY), TV_OK);
	assert_int_equal(hypercall(TV_HC_UNREGISTER, ENTRY), TV_ERR_NOT_REGISTERED);
	vmcs_set(VMCS_GUEST_RIP.enc, ENTRY);
	vmcs_set(VMCS_GUEST_LINEAR_ADDRESS.enc, ENTRY);
	assert_int_equal(
	    tv_ept_violation(v, 0x200040,
	                     EPTQUAL_FETCH | EPTQUAL_GLA_VALID | EPTQUAL_GLA_TRANSLATION),
	    HV_EPT_RETRY);
	assert_null(tv_call_of(0)->pal);
	assert_int_equal(vmcs_get(VMCS_GUEST_CR3.enc), cr3_a); /* still the caller's */

	/* The hypervisor keeps serving: register again, a full call. */
	assert_int_equal(register_desc(&good_desc), TV_OK);
	call_entry();
	assert_non_null(tv_call_of(0)->pal);
	pal_outputs_42();
	assert_int_equal(get64(0x301100), 42);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup(test_call_round_trip, setup),
	    cmocka_unit_test_setup(test_pal_fault_ends_call, setup),
	    cmocka_unit_test_setup(test_call_checks, setup),
	    cmocka_unit_test_setup(test_call_unregistered_pal, setup),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
