/*
 * Hardware task switches emulated by libvmx (task_switch.c, SDM Vol. 3A ch. 8):
 * round trips (CALL then IRET, JMP, IDT task gates with and without an error
 * code) and the checks on the new TSS, each with the fault and error code the
 * CPU would give and nothing changed. The machine: task_switch_env.h.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "libvmx/vmx.h"
#include "libvmx/vmx_internal.h"
#include "tests/unit/vmx/task_switch_env.h"

/* ---- round trips ---- */

static void test_call_then_iret_round_trip(void **state)
{
	struct vcpu *v = guest();

	put32(TSS_MAIN + T_DS, 0xbeef0000u);
	/* lcall $0x20, $0 (7 bytes) at 0x1000. */
	ts_exit(v, SRC_CALL, SEL_TASK, 7, 0, 0);
	assert_int_equal(injected() & INTR_INFO_VALID, 0);
	assert_in_task(v, SEL_TASK, TSS_TASK);
	assert_int_equal(vmcs_get(VMCS_GUEST_RSP.enc), STACK_TOP);
	/* Nested: NT set, back-link to the caller, the caller still busy. */
	assert_true(vmcs_get(VMCS_GUEST_RFLAGS.enc) & RFLAGS_NT);
	assert_int_equal(get32(TSS_TASK + T_LINK), SEL_MAIN);
	assert_int_equal(gdt_type(SEL_MAIN), 0x0b);
	/* The caller's state, saved: EIP past the CALL. */
	assert_int_equal(get32(TSS_MAIN + T_EIP), 0x1007);
	assert_int_equal(get32(TSS_MAIN + T_EFLAGS), 0x202);
	assert_int_equal(get32(TSS_MAIN + T_EAX), 0x11110000u);
	assert_int_equal(get32(TSS_MAIN + T_ESP), 0x9000);
	assert_int_equal(get32(TSS_MAIN + T_EDI), 0x11110007u);
	assert_int_equal(get32(TSS_MAIN + T_CS), SEL_CODE);
	assert_int_equal(get32(TSS_MAIN + T_SS), SEL_DATA);
	/* The reserved upper half of a selector field is left as it was. */
	assert_int_equal(get32(TSS_MAIN + T_DS), 0xbeef0000u | SEL_DATA);

	/* The task IRETs (1 byte at 0x3010): back to the caller, past the CALL. */
	vmcs_set(VMCS_GUEST_RIP.enc, 0x3010);
	v->gpr[GPR_RAX] = 0xabcd;
	ts_exit(v, SRC_IRET, SEL_MAIN, 1, 0, 0);
	assert_int_equal(injected() & INTR_INFO_VALID, 0);
	assert_int_equal(rip(), 0x1007);
	assert_int_equal(v->gpr[GPR_RAX], 0x11110000u);
	assert_int_equal(vmcs_get(VMCS_GUEST_RSP.enc), 0x9000);
	assert_int_equal(vmcs_get(VMCS_GUEST_RFLAGS.enc), 0x202);
	assert_int_equal(vmcs_get(VMCS_GUEST_TR_SELECTOR.enc), SEL_MAIN);
	/* The task is available again; its saved state resumes after the IRET
	 * with NT clear, so the next CALL starts there. */
	assert_int_equal(gdt_type(SEL_TASK), 0x09);
	assert_int_equal(gdt_type(SEL_MAIN), 0x0b);
	assert_int_equal(get32(TSS_TASK + T_EIP), 0x3011);
	assert_int_equal(get32(TSS_TASK + T_EAX), 0xabcd);
	assert_false(get32(TSS_TASK + T_EFLAGS) & RFLAGS_NT);
}

static void test_jmp_does_not_nest(void **state)
{
	struct vcpu *v = guest();

	ts_exit(v, SRC_JMP, SEL_TASK, 7, 0, 0);
	assert_in_task(v, SEL_TASK, TSS_TASK);
	assert_false(vmcs_get(VMCS_GUEST_RFLAGS.enc) & RFLAGS_NT);
	assert_int_equal(get32(TSS_TASK + T_LINK), 0);
	assert_int_equal(gdt_type(SEL_MAIN), 0x09); /* the old task is available */
	assert_int_equal(get32(TSS_MAIN + T_EIP), 0x1007);
}

static void test_task_gate_exception_pushes_error_code(void **state)
{
	struct vcpu *v = guest();
	uint32_t gp = INTR_INFO(X86_VEC_GP, INTR_TYPE_HW_EXCEPTION) | INTR_INFO_DELIVER_CODE;

	/* A #GP(0x50) at 0x1000, delivered through a task gate: the fault's EIP,
	 * RF in the saved EFLAGS, the error code on the new task's stack, and the
	 * #GP not injected again. */
	ts_exit(v, SRC_GATE, SEL_TASK, 0, gp, 0x50);
	assert_int_equal(injected() & INTR_INFO_VALID, 0);
	assert_false(v->ev.reinject);
	assert_in_task(v, SEL_TASK, TSS_TASK);
	assert_int_equal(vmcs_get(VMCS_GUEST_RSP.enc), STACK_TOP - 4);
	assert_int_equal(get32(STACK_TOP - 4), 0x50);
	assert_true(vmcs_get(VMCS_GUEST_RFLAGS.enc) & RFLAGS_NT);
	assert_int_equal(get32(TSS_TASK + T_LINK), SEL_MAIN);
	assert_int_equal(get32(TSS_MAIN + T_EIP), 0x1000);
	assert_int_equal(get32(TSS_MAIN + T_EFLAGS), 0x202 | RFLAGS_RF);
}

static void test_task_gate_interrupt_and_int_n(void **state)
{
	struct vcpu *v = guest();

	/* An external interrupt that woke a HLT: the interrupted EIP, nothing
	 * pushed, the CPU active in the new task. */
	vmcs_set(VMCS_GUEST_ACTIVITY_STATE.enc, VMX_ACTIVITY_HLT);
	ts_exit(v, SRC_GATE, SEL_TASK, 0, INTR_INFO(0x30, INTR_TYPE_EXTERNAL), 0);
	assert_int_equal(vmcs_get(VMCS_GUEST_ACTIVITY_STATE.enc), VMX_ACTIVITY_ACTIVE);
	assert_int_equal(injected() & INTR_INFO_VALID, 0);
	assert_int_equal(get32(TSS_MAIN + T_EIP), 0x1000);
	assert_int_equal(vmcs_get(VMCS_GUEST_RSP.enc), STACK_TOP);

	/* INT 0x40 (2 bytes): the EIP after it. */
	v = guest();
	ts_exit(v, SRC_GATE, SEL_TASK, 2, INTR_INFO(0x40, INTR_TYPE_SW_INTERRUPT), 0);
	assert_int_equal(injected() & INTR_INFO_VALID, 0);
	assert_int_equal(get32(TSS_MAIN + T_EIP), 0x1002);
	assert_int_equal(rip(), TASK_EIP);

	/* An NMI: delivered by the switch, NMIs blocked until the task's IRET. */
	v = guest();
	ts_exit(v, SRC_GATE, SEL_TASK, 0, INTR_INFO(X86_VEC_NMI, INTR_TYPE_NMI), 0);
	assert_int_equal(injected() & INTR_INFO_VALID, 0);
	assert_true(vmcs_get(VMCS_GUEST_INTERRUPTIBILITY.enc) & INTERRUPTIBILITY_NMI);
	/* ... and the handler task's IRET back unblocks them. */
	vmcs_set(VMCS_GUEST_RIP.enc, 0x3010);
	ts_exit(v, SRC_IRET, SEL_MAIN, 1, 0, 0);
	assert_int_equal(rip(), 0x1000);
	assert_false(vmcs_get(VMCS_GUEST_INTERRUPTIBILITY.enc) & INTERRUPTIBILITY_NMI);
}

/* ---- checks on the new TSS: faults with nothing changed ---- */

static void test_short_tss_limit_is_ts(void **state)
{
	struct vcpu *v = guest();

	ts_exit(v, SRC_CALL, SEL_SHORT, 7, 0, 0);
	assert_fault(X86_VEC_TS, SEL_SHORT);
	assert_untouched(v);
	assert_int_equal(gdt_type(SEL_SHORT), 0x09);
}

static void test_absent_tss_is_np(void **state)
{
	struct vcpu *v = guest();

	ts_exit(v, SRC_JMP, SEL_ABSENT, 7, 0, 0);
	assert_fault(X86_VEC_NP, SEL_ABSENT);
	assert_untouched(v);
}

static void test_busy_tss_on_call_is_gp(void **state)
{
	struct vcpu *v = guest();

	ts_exit(v, SRC_CALL, SEL_BUSY, 7, 0, 0);
	assert_fault(X86_VEC_GP, SEL_BUSY);
	assert_untouched(v);
}

static void test_iret_to_available_tss_is_ts(void **state)
{
	struct vcpu *v = guest();

	ts_exit(v, SRC_IRET, SEL_TASK | 3, 1, 0, 0); /* RPL is ignored in the error code */
	assert_fault(X86_VEC_TS, SEL_TASK);
	assert_untouched(v);
}

static void test_not_a_tss_or_beyond_gdt_is_gp(void **state)
{
	struct vcpu *v = guest();

	ts_exit(v, SRC_JMP, SEL_DATA, 7, 0, 0);
	assert_fault(X86_VEC_GP, SEL_DATA);
	assert_untouched(v);
	v = guest();
	ts_exit(v, SRC_JMP, 0x60, 7, 0, 0); /* past GDT_LIMIT */
	assert_fault(X86_VEC_GP, 0x60);
	assert_untouched(v);
	v = guest();
	ts_exit(v, SRC_CALL, SEL_TASK | 4, 7, 0, 0); /* a TSS in the LDT */
	assert_fault(X86_VEC_GP, SEL_TASK | 4);
	assert_untouched(v);
}

static void test_current_tss_too_short_is_ts(void **state)
{
	struct vcpu *v = guest();

	/* The state would not fit in the current TSS (offsets up to 0x5f). */
	vmcs_set(VMCS_GUEST_TR_LIMIT.enc, 0x50);
	ts_exit(v, SRC_CALL, SEL_TASK, 7, 0, 0);
	assert_fault(X86_VEC_TS, SEL_MAIN);
	assert_untouched(v);
	assert_int_equal(gdt_type(SEL_TASK), 0x09);
}

static void test_event_fault_has_ext_and_interrupt_is_not_reinjected(void **state)
{
	struct vcpu *v = guest();

	/* An interrupt through a task gate to a short TSS: #TS(sel | EXT). */
	ts_exit(v, SRC_GATE, SEL_SHORT, 0, INTR_INFO(0x30, INTR_TYPE_EXTERNAL), 0);
	assert_fault(X86_VEC_TS, SEL_SHORT | 1);
	assert_false(v->ev.reinject);
	assert_untouched(v);
}

static void test_exception_gate_fault_makes_df(void **state)
{
	struct vcpu *v = guest();
	uint32_t np = INTR_INFO(X86_VEC_NP, INTR_TYPE_HW_EXCEPTION) | INTR_INFO_DELIVER_CODE;

	/* #NP delivered through a gate to an absent TSS: #NP then #NP, #DF(0). */
	ts_exit(v, SRC_GATE, SEL_ABSENT, 0, np, 0x12);
	assert_fault(X86_VEC_DF, 0);
	assert_false(v->ev.reinject);
}

static void test_df_gate_fault_is_triple_fault(void **state)
{
	struct vcpu *v = guest();
	uint32_t df = INTR_INFO(X86_VEC_DF, INTR_TYPE_HW_EXCEPTION) | INTR_INFO_DELIVER_CODE;

	expect_assert_failure(ts_exit(v, SRC_GATE, SEL_SHORT, 0, df, 0));
	const char *out = env_console();
	assert_non_null(strstr(out, "guest triple fault"));
	assert_null(strstr(out, "PANIC"));
}

int main(void)
{
#define T(f) cmocka_unit_test_teardown(f, done)
	const struct CMUnitTest tests[] = {
	    T(test_call_then_iret_round_trip),
	    T(test_jmp_does_not_nest),
	    T(test_task_gate_exception_pushes_error_code),
	    T(test_task_gate_interrupt_and_int_n),
	    T(test_short_tss_limit_is_ts),
	    T(test_absent_tss_is_np),
	    T(test_busy_tss_on_call_is_gp),
	    T(test_iret_to_available_tss_is_ts),
	    T(test_not_a_tss_or_beyond_gdt_is_gp),
	    T(test_current_tss_too_short_is_ts),
	    T(test_event_fault_has_ext_and_interrupt_is_not_reinjected),
	    T(test_exception_gate_fault_makes_df),
	    T(test_df_gate_fault_is_triple_fault),
	};
#undef T
	return cmocka_run_group_tests(tests, NULL, NULL);
}
