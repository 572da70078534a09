/*
 * libvmx's isolated views (vmx_view.h) over the fake hardware: one call in,
 * one call out, everything the view replaced put back; the exception mask's
 * one owner; debug/trace state clean in a view; INIT in a view.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "hw/hw.h"
#include "libvmx/vmx.h"
#include "tests/unit/vmx/test_vmx_env.h"

#define APP_BITMAP (1u << X86_VEC_UD)
#define VIEW_EPTP  (0x5000ull | 0x1e)
#define VIEW_CR3   0x9000ull
#define VIEW_RIP   0x401000ull
#define VIEW_RSP   0x402ff8ull
#define OS_RIP     0x1234ull
#define OS_RSP     0x7ff0ull
#define OS_CR3     0x3000ull
#define OS_RFLAGS  0x246ull /* IF set */
#define OS_DR7     0x00000000000f0403ull
#define OS_DBGCTL  0x3ull
#define OS_PENDING 0x4000ull
#define OS_DR6     0xffff4ff1ull
#define OS_FS      0x7000ull
#define OS_GS      0x8000ull
#define OS_KGS     0xffff888000001000ull
#define OS_PERF    0x70000000full
#define TICKS      12345u

static const struct hv_app app = {.name = "view-test", .exception_bitmap = APP_BITMAP};

/* An OS in the middle of something: its registers, blocking, a breakpoint. */
static struct vcpu *os_guest(void)
{
	struct vcpu *v = env_guest(1, &app);
	vmcs_set(VMCS_GUEST_RIP.enc, OS_RIP);
	vmcs_set(VMCS_GUEST_RSP.enc, OS_RSP);
	vmcs_set(VMCS_GUEST_CR3.enc, OS_CR3);
	vmcs_set(VMCS_GUEST_RFLAGS.enc, OS_RFLAGS);
	vmcs_set(VMCS_GUEST_INTERRUPTIBILITY.enc, INTERRUPTIBILITY_STI);
	for (unsigned i = 0; i < GPR_COUNT; i++)
		if (i != GPR_RSP)
			vcpu_gpr_write(v, i, 0x100 + i);
	return v;
}

static struct vmx_view view(bool clean_debug, uint32_t ticks)
{
	struct vmx_view w = {.eptp = VIEW_EPTP,
	                     .cr3 = VIEW_CR3,
	                     .rip = VIEW_RIP,
	                     .rsp = VIEW_RSP,
	                     .preemption_ticks = ticks,
	                     .clean_debug = clean_debug};
	w.gpr[GPR_RDI] = 0xd1;
	w.gpr[GPR_RSI] = 0x51;
	return w;
}

static void arm_debug(void)
{
	struct fake_cpu *c = fake_cpu(0);
	for (unsigned i = 0; i < 4; i++)
		c->dr[i] = 0x1000 * (i + 1);
	c->dr[6] = OS_DR6;
	vmcs_set(VMCS_GUEST_DR7.enc, OS_DR7);
	vmcs_set(VMCS_GUEST_IA32_DEBUGCTL.enc, OS_DBGCTL);
	vmcs_set(VMCS_GUEST_PENDING_DBG_EXCEPTIONS.enc, OS_PENDING);
	vmcs_set(VMCS_GUEST_FS_BASE.enc, OS_FS);
	vmcs_set(VMCS_GUEST_GS_BASE.enc, OS_GS);
	fake_msr_set(MSR_IA32_KERNEL_GS_BASE, OS_KGS);
	/* Architectural performance monitoring version 4 (CPUID leaf 0AH). */
	struct hw_cpuid_regs l0, la = {4u | (4u << 8), 0, 0, 3};
	hw_cpuid(0, 0, &l0);
	l0.eax = 0xd;
	fake_cpuid_set(0, 0, &l0);
	fake_cpuid_set(0xa, 0, &la);
	fake_msr_set(MSR_IA32_PERF_GLOBAL_CTRL, OS_PERF);
}

static void assert_os_state(struct vcpu *v)
{
	assert_int_equal(vmcs_get(VMCS_GUEST_RIP.enc), OS_RIP);
	assert_int_equal(vmcs_get(VMCS_GUEST_RSP.enc), OS_RSP);
	assert_int_equal(vmcs_get(VMCS_GUEST_CR3.enc), OS_CR3);
	assert_int_equal(vmcs_get(VMCS_GUEST_RFLAGS.enc), OS_RFLAGS);
	assert_int_equal(vmcs_get(VMCS_EPT_POINTER.enc), env_eptp());
	assert_int_equal(vmcs_get(VMCS_EXCEPTION_BITMAP.enc), APP_BITMAP);
	assert_int_equal(vmcs_get(VMCS_PIN_BASED_CONTROLS.enc) & PIN_PREEMPTION_TIMER, 0);
	for (unsigned i = 0; i < GPR_COUNT; i++)
		if (i != GPR_RSP)
			assert_int_equal(vcpu_gpr_read(v, i), 0x100 + i);
	assert_false(vmx_view_active(v));
}

/* ---- enter and leave ---- */

static void test_enter_switches_everything_at_once(void **state)
{
	(void)state;
	struct vcpu *v = os_guest();
	struct vmx_view w = view(false, TICKS);

	vmx_view_enter(v, &w);
	assert_true(vmx_view_active(v));
	assert_int_equal(vmcs_get(VMCS_EPT_POINTER.enc), VIEW_EPTP);
	assert_int_equal(vmcs_get(VMCS_GUEST_CR3.enc), VIEW_CR3);
	assert_int_equal(vmcs_get(VMCS_GUEST_RIP.enc), VIEW_RIP);
	assert_int_equal(vmcs_get(VMCS_GUEST_RSP.enc), VIEW_RSP);
	/* IF = 0, TF = 0; no STI blocking (VM entry refuses it with IF = 0). */
	assert_int_equal(vmcs_get(VMCS_GUEST_RFLAGS.enc), RFLAGS_FIXED1);
	assert_int_equal(vmcs_get(VMCS_GUEST_INTERRUPTIBILITY.enc) &
	                     (INTERRUPTIBILITY_STI | INTERRUPTIBILITY_MOV_SS),
	                 0);
	assert_int_equal(vmcs_get(VMCS_EXCEPTION_BITMAP.enc), 0xffffffffu);
	assert_true(vmcs_get(VMCS_PIN_BASED_CONTROLS.enc) & PIN_PREEMPTION_TIMER);
	assert_int_equal(vmcs_get(VMCS_PREEMPTION_TIMER_VALUE.enc), TICKS);
	/* The view's registers, none of the OS's. */
	assert_int_equal(vcpu_gpr_read(v, GPR_RDI), 0xd1);
	assert_int_equal(vcpu_gpr_read(v, GPR_RSI), 0x51);
	assert_int_equal(vcpu_gpr_read(v, GPR_RBX), 0);
	assert_int_equal(vcpu_gpr_read(v, GPR_R15), 0);
}

static void test_leave_puts_everything_back(void **state)
{
	(void)state;
	struct vcpu *v = os_guest();
	struct vmx_view w = view(false, TICKS);

	vmx_view_enter(v, &w);
	/* The view runs: its registers change, it ends in a blocking shadow. */
	vcpu_gpr_write(v, GPR_RAX, 0xdead);
	vmcs_set(VMCS_GUEST_RIP.enc, 0x401234);
	vmcs_set(VMCS_GUEST_RSP.enc, 0x402000);
	vmcs_set(VMCS_GUEST_RFLAGS.enc, 0x2 | 0x100);
	vmcs_set(VMCS_GUEST_INTERRUPTIBILITY.enc, INTERRUPTIBILITY_MOV_SS);
	vmx_view_leave(v);
	assert_os_state(v);
	assert_int_equal(vmcs_get(VMCS_GUEST_INTERRUPTIBILITY.enc) &
	                     (INTERRUPTIBILITY_STI | INTERRUPTIBILITY_MOV_SS),
	                 0);
}

static void test_no_timer_without_ticks_and_a_timer_left_on(void **state)
{
	(void)state;
	struct vcpu *v = os_guest();
	struct vmx_view w = view(false, 0);
	uint32_t pin = (uint32_t)vmcs_get(VMCS_PIN_BASED_CONTROLS.enc);

	vmx_view_enter(v, &w);
	assert_int_equal(vmcs_get(VMCS_PIN_BASED_CONTROLS.enc), pin);
	vmx_view_leave(v);
	assert_int_equal(vmcs_get(VMCS_PIN_BASED_CONTROLS.enc), pin);

	/* A timer someone else runs stays on after the view. */
	vmcs_set(VMCS_PIN_BASED_CONTROLS.enc, pin | PIN_PREEMPTION_TIMER);
	w = view(false, TICKS);
	vmx_view_enter(v, &w);
	vmx_view_leave(v);
	assert_true(vmcs_get(VMCS_PIN_BASED_CONTROLS.enc) & PIN_PREEMPTION_TIMER);
}

static void test_leave_drops_the_views_events_keeps_nmis(void **state)
{
	(void)state;
	struct vcpu *v = os_guest();
	struct vmx_view w = view(false, 0);

	vmx_view_enter(v, &w);
	vmx_queue_exception(v, X86_VEC_GP, true, 0);
	v->ev.nmi_pending = 1; /* an NMI held while the view ran */
	vmx_view_leave(v);
	assert_false(v->ev.exception);
	assert_int_equal(v->ev.nmi_pending, 1);
}

static void test_nested_enter_and_stray_leave_panic(void **state)
{
	(void)state;
	struct vcpu *v = os_guest();
	struct vmx_view w = view(false, 0);

	expect_assert_failure(vmx_view_leave(v));
	vmx_view_enter(v, &w);
	expect_assert_failure(vmx_view_enter(v, &w));
	assert_non_null(strstr(env_console(), "already in a view"));
}

/* ---- debug and trace state ---- */

static void test_clean_debug_in_the_view_and_back(void **state)
{
	(void)state;
	struct vcpu *v = os_guest();
	struct vmx_view w = view(true, 0);
	struct fake_cpu *c = fake_cpu(0);

	arm_debug();
	vmx_view_enter(v, &w);
	for (unsigned i = 0; i < 4; i++)
		assert_int_equal(c->dr[i], 0);
	assert_int_equal(c->dr[6], 0xffff0ff0u);
	assert_int_equal(vmcs_get(VMCS_GUEST_DR7.enc), 0x400);
	assert_int_equal(vmcs_get(VMCS_GUEST_IA32_DEBUGCTL.enc), 0);
	assert_int_equal(vmcs_get(VMCS_GUEST_PENDING_DBG_EXCEPTIONS.enc), 0);
	assert_int_equal(vmcs_get(VMCS_GUEST_FS_BASE.enc), 0);
	assert_int_equal(vmcs_get(VMCS_GUEST_GS_BASE.enc), 0);
	assert_int_equal(fake_msr_get(MSR_IA32_KERNEL_GS_BASE), 0);
	assert_int_equal(fake_msr_get(MSR_IA32_PERF_GLOBAL_CTRL), 0);
	assert_true(vmcs_get(VMCS_PRIMARY_PROC_CONTROLS.enc) & PROC_MOV_DR_EXITING);

	/* The view writes its own debug state; leaving brings the OS's back. */
	c->dr[0] = 0x666;
	vmcs_set(VMCS_GUEST_FS_BASE.enc, 0x999);
	vmx_view_leave(v);
	for (unsigned i = 0; i < 4; i++)
		assert_int_equal(c->dr[i], 0x1000 * (i + 1));
	assert_int_equal(c->dr[6], OS_DR6);
	assert_int_equal(vmcs_get(VMCS_GUEST_DR7.enc), OS_DR7);
	assert_int_equal(vmcs_get(VMCS_GUEST_IA32_DEBUGCTL.enc), OS_DBGCTL);
	assert_int_equal(vmcs_get(VMCS_GUEST_PENDING_DBG_EXCEPTIONS.enc), OS_PENDING);
	assert_int_equal(vmcs_get(VMCS_GUEST_FS_BASE.enc), OS_FS);
	assert_int_equal(vmcs_get(VMCS_GUEST_GS_BASE.enc), OS_GS);
	assert_int_equal(fake_msr_get(MSR_IA32_KERNEL_GS_BASE), OS_KGS);
	assert_int_equal(fake_msr_get(MSR_IA32_PERF_GLOBAL_CTRL), OS_PERF);
	assert_false(vmcs_get(VMCS_PRIMARY_PROC_CONTROLS.enc) & PROC_MOV_DR_EXITING);
	assert_os_state(v);
}

static void test_without_clean_debug_the_debug_state_stays(void **state)
{
	(void)state;
	struct vcpu *v = os_guest();
	struct vmx_view w = view(false, 0);

	arm_debug();
	vmx_view_enter(v, &w);
	assert_int_equal(fake_cpu(0)->dr[0], 0x1000);
	assert_int_equal(vmcs_get(VMCS_GUEST_DR7.enc), OS_DR7);
	assert_int_equal(vmcs_get(VMCS_GUEST_FS_BASE.enc), OS_FS);
	assert_false(vmcs_get(VMCS_PRIMARY_PROC_CONTROLS.enc) & PROC_MOV_DR_EXITING);
	vmx_view_leave(v);
}

/* ---- the exception mask ---- */

static void test_exception_requests_combine_with_the_app_and_the_view(void **state)
{
	(void)state;
	struct vcpu *v = os_guest();
	struct vmx_view w = view(false, 0);

	assert_int_equal(vmcs_get(VMCS_EXCEPTION_BITMAP.enc), APP_BITMAP);
	vmx_exceptions_request(v, 1u << X86_VEC_DB | 1u << X86_VEC_BP);
	assert_int_equal(vmcs_get(VMCS_EXCEPTION_BITMAP.enc),
	                 APP_BITMAP | 1u << X86_VEC_DB | 1u << X86_VEC_BP);
	/* In a view every exception exits, whatever was requested ... */
	vmx_view_enter(v, &w);
	vmx_exceptions_release(v, 1u << X86_VEC_BP);
	assert_int_equal(vmcs_get(VMCS_EXCEPTION_BITMAP.enc), 0xffffffffu);
	/* ... and after it, what is requested now: not a saved copy. */
	vmx_view_leave(v);
	assert_int_equal(vmcs_get(VMCS_EXCEPTION_BITMAP.enc), APP_BITMAP | 1u << X86_VEC_DB);
	assert_int_equal(vmx_exceptions_intercepted(v), APP_BITMAP | 1u << X86_VEC_DB);
	/* The app's own bitmap cannot be released: it is the app's table. */
	vmx_exceptions_release(v, 0xffffffffu);
	assert_int_equal(vmcs_get(VMCS_EXCEPTION_BITMAP.enc), APP_BITMAP);
}

static void test_a_new_vmcs_forgets_requests(void **state)
{
	(void)state;
	struct vcpu *v = os_guest();
	vmx_exceptions_request(v, 1u << X86_VEC_PF);
	v = env_guest(1, &app); /* the VMCS set up again (next boot of the fake) */
	assert_int_equal(vmcs_get(VMCS_EXCEPTION_BITMAP.enc), APP_BITMAP);
}

/* ---- INIT in a view ---- */

static void test_init_in_a_view_the_app_left_on_ends_it(void **state)
{
	(void)state;
	env_guest(2, &app);
	fake_set_cpu(1);
	struct vcpu *ap = vmx_vcpu(1);
	struct exit_fields sipi = {.reason = VMX_EXIT_SIPI, .qualification = 0x9a};
	struct exit_fields init = {.reason = VMX_EXIT_INIT};
	struct exit_fields invd = {.reason = VMX_EXIT_INVD, .instruction_len = 2};
	struct vmx_view w = view(true, TICKS);

	env_exit(ap, &sipi);
	env_exit(ap, &init); /* the INIT held across the SIPI: dropped */
	env_exit(ap, &invd);
	vmx_view_enter(ap, &w);
	env_exit(ap, &init);
	assert_false(vmx_view_active(ap));
	assert_int_equal(vmcs_get(VMCS_EPT_POINTER.enc), env_eptp());
	assert_int_equal(vmcs_get(VMCS_EXCEPTION_BITMAP.enc), APP_BITMAP);
	assert_int_equal(vmcs_get(VMCS_PIN_BASED_CONTROLS.enc) & PIN_PREEMPTION_TIMER, 0);
	assert_false(vmcs_get(VMCS_PRIMARY_PROC_CONTROLS.enc) & PROC_MOV_DR_EXITING);
	fake_set_cpu(0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_enter_switches_everything_at_once),
	    cmocka_unit_test(test_leave_puts_everything_back),
	    cmocka_unit_test(test_no_timer_without_ticks_and_a_timer_left_on),
	    cmocka_unit_test(test_leave_drops_the_views_events_keeps_nmis),
	    cmocka_unit_test(test_nested_enter_and_stray_leave_panic),
	    cmocka_unit_test(test_clean_debug_in_the_view_and_back),
	    cmocka_unit_test(test_without_clean_debug_the_debug_state_stays),
	    cmocka_unit_test(test_exception_requests_combine_with_the_app_and_the_view),
	    cmocka_unit_test(test_a_new_vmcs_forgets_requests),
	    cmocka_unit_test(test_init_in_a_view_the_app_left_on_ends_it),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
