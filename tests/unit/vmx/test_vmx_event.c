/*
 * libvmx/event.c: the single injection point (docs/design.md section 3), as a state
 * machine against the fake VMCS: priorities, re-injection, the app's NMI
 * question asked at injection time, windows, and every interleaving of
 * {NMI arrives, app blocks, app unblocks, guest IRET, VM exit} up to a length.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "libvmx/vmx.h"
#include "libvmx/vmx_internal.h"
#include "rt/layout.h"
#include "rt/panic.h"
#include "tests/unit/vmx/test_vmx_env.h"

static bool allow_nmi = true;
static int asked;
static bool may_take_nmi(struct vcpu *v)
{
	asked++;
	return allow_nmi;
}
static bool hypercall_unblocks(struct vcpu *v)
{
	allow_nmi = true;
	vmx_event_app_unblocked(v);
	return true;
}
static const struct hv_app app = {
    .name = "event-test",
    .guest_may_take_nmi = may_take_nmi,
    .hypercall = hypercall_unblocks,
};

static const uint32_t NMI_INFO = INTR_INFO_VALID | (INTR_TYPE_NMI << 8) | X86_VEC_NMI;

static struct vcpu *guest(void)
{
	allow_nmi = true;
	asked = 0;
	struct vcpu *v = env_guest(1, &app);
	env_protected_mode();
	return v;
}

static uint32_t injected(void)
{
	return (uint32_t)vmcs_get(VMCS_VM_ENTRY_INTR_INFO.enc);
}

static bool window(void)
{
	return (vmcs_get(VMCS_PRIMARY_PROC_CONTROLS.enc) & PROC_NMI_WINDOW_EXITING) != 0;
}

static void set_intr(uint32_t bits)
{
	vmcs_set(VMCS_GUEST_INTERRUPTIBILITY.enc, bits);
}

static void exit_with(struct vcpu *v, uint32_t reason)
{
	struct exit_fields f = {.reason = reason, .instruction_len = 2};
	env_exit(v, &f);
}

/* A physical NMI while the guest ran: an NMI exit (NMI exiting is on). */
static void nmi_exit(struct vcpu *v)
{
	struct exit_fields f = {.reason = VMX_EXIT_EXCEPTION_NMI, .intr_info = NMI_INFO};
	env_exit(v, &f);
}

static void test_nmi_exit_injects_when_free(void **state)
{
	struct vcpu *v = guest();

	nmi_exit(v);
	assert_int_equal(injected(), NMI_INFO);
	assert_false(window());
	assert_int_equal(v->ev.nmi_pending, 0);
	assert_int_equal(v->ev.nmis_injected, 1);
	assert_int_equal(asked, 1);
	/* The next exit has nothing to inject. */
	exit_with(v, VMX_EXIT_CPUID);
	assert_int_equal(injected() & INTR_INFO_VALID, 0);
	assert_int_equal(v->ev.nmis_injected, 1);
}

static void test_reinjection_first_then_nmi_window(void **state)
{
	struct vcpu *v = guest();

	/* An NMI taken in root mode, then an exit that interrupted the delivery
	 * of external interrupt 0x30 (an EPT violation on the guest's stack, say). */
	vmx_host_nmi_handler();
	struct exit_fields f = {.reason = VMX_EXIT_CPUID,
	                        .instruction_len = 2,
	                        .idt_info = INTR_INFO_VALID | (INTR_TYPE_EXTERNAL << 8) | 0x30};
	vmcs_set(VMCS_GUEST_RIP.enc, 0x500);
	v->gpr[GPR_RAX] = 0;
	env_exit(v, &f);
	assert_int_equal(injected(), INTR_INFO_VALID | 0x30);
	assert_true(window()); /* the NMI waits for the window after that delivery */
	assert_int_equal(v->ev.nmi_pending, 1);

	exit_with(v, VMX_EXIT_NMI_WINDOW);
	assert_int_equal(injected(), NMI_INFO);
	assert_false(window());
	assert_int_equal(v->ev.nmi_pending, 0);
}

static void test_software_interrupt_reinjected_with_length(void **state)
{
	struct vcpu *v = guest();
	/* INT 0x80 whose delivery touched the hypervisor's memory: the library
	 * injects #GP for that access. */
	struct exit_fields f = {.reason = VMX_EXIT_EPT_VIOLATION,
	                        .qualification = EPTQUAL_WRITE,
	                        .instruction_len = 2,
	                        .idt_info = INTR_INFO_VALID | (INTR_TYPE_SW_INTERRUPT << 8) | 0x80,
	                        .gpa = HV_REGION_BASE};
	env_exit(v, &f);
	/* #GP during delivery of a software interrupt: benign + contributory = #GP. */
	assert_int_equal(injected(),
	                 INTR_INFO(X86_VEC_GP, INTR_TYPE_HW_EXCEPTION) | INTR_INFO_DELIVER_CODE);
	/* The interrupted INT 0x80 is brought in by the window right after. */
	assert_true(window());
	exit_with(v, VMX_EXIT_NMI_WINDOW);
	assert_int_equal(injected(), INTR_INFO_VALID | (INTR_TYPE_SW_INTERRUPT << 8) | 0x80);
	assert_int_equal(vmcs_get(VMCS_VM_ENTRY_INSTRUCTION_LEN.enc), 2);
	assert_false(window());
}

static void test_exception_before_nmi(void **state)
{
	struct vcpu *v = guest();

	vmx_host_nmi_handler();
	exit_with(v, VMX_EXIT_VMXON); /* #UD */
	assert_int_equal(injected(), INTR_INFO(X86_VEC_UD, INTR_TYPE_HW_EXCEPTION));
	assert_true(window());
	assert_int_equal(v->ev.nmi_pending, 1);
	exit_with(v, VMX_EXIT_NMI_WINDOW);
	assert_int_equal(injected(), NMI_INFO);
}

static void test_fault_during_exception_delivery_is_double_fault(void **state)
{
	struct vcpu *v = guest();
	struct exit_fields f = {
	    .reason = VMX_EXIT_EPT_VIOLATION,
	    .idt_info = INTR_INFO(X86_VEC_PF, INTR_TYPE_HW_EXCEPTION) | INTR_INFO_DELIVER_CODE,
	    .idt_error = 2,
	    .gpa = HV_REGION_BASE + 0x40,
	};
	env_exit(v, &f);
	assert_int_equal(injected(),
	                 INTR_INFO(X86_VEC_DF, INTR_TYPE_HW_EXCEPTION) | INTR_INFO_DELIVER_CODE);
	assert_int_equal(vmcs_get(VMCS_VM_ENTRY_EXCEPTION_ERROR_CODE.enc), 0);
	assert_false(v->ev.reinject);
}

static void test_nmi_reinjection_clears_virtual_nmi_blocking(void **state)
{
	struct vcpu *v = guest();
	/* An exit interrupted the delivery of an NMI: virtual-NMI blocking is
	 * already set, and VM entry refuses NMI injection with it. */
	struct exit_fields f = {
	    .reason = VMX_EXIT_CPUID, .instruction_len = 2, .idt_info = NMI_INFO};
	set_intr(INTERRUPTIBILITY_NMI);
	v->gpr[GPR_RAX] = 0;
	env_exit(v, &f);
	assert_int_equal(injected(), NMI_INFO);
	assert_false(vmcs_get(VMCS_GUEST_INTERRUPTIBILITY.enc) & INTERRUPTIBILITY_NMI);
}

/* The invariants the design relies on are asserted where they could break
 * (HV_ASSERT, active in images and here): each broken on purpose panics. */
static void test_broken_invariants_panic(void **state)
{
	struct vcpu *v = guest();

	/* A third pending NMI: at most one being delivered and one latched. */
	v->ev.nmi_pending = 3;
	expect_assert_failure(vmx_inject_pending_events(v));
	assert_non_null(strstr(rt_panic_reason(), "assertion failed: v->ev.nmi_pending <= 2"));
	v->ev.nmi_pending = 0;

	/* A second injection for one entry: the entry field already holds an event. */
	vmcs_set(VMCS_VM_ENTRY_INTR_INFO.enc, NMI_INFO);
	vmx_queue_exception(v, X86_VEC_GP, true, 0);
	expect_assert_failure(vmx_inject_pending_events(v));
	assert_non_null(strstr(rt_panic_reason(), "VMCS_VM_ENTRY_INTR_INFO"));
	vmcs_set(VMCS_VM_ENTRY_INTR_INFO.enc, 0);
	v->ev.exception = false;

	/* An NMI (here a re-injected one) into blocking by MOV SS. */
	v->ev.reinject = true;
	v->ev.reinject_info = NMI_INFO;
	set_intr(INTERRUPTIBILITY_MOV_SS);
	expect_assert_failure(vmx_inject_pending_events(v));
	assert_non_null(strstr(rt_panic_reason(), "INTERRUPTIBILITY_MOV_SS"));

	/* Unbroken, the same re-injection goes in. */
	set_intr(0);
	v->ev.reinject = true;
	vmx_inject_pending_events(v);
	assert_int_equal(injected(), NMI_INFO);
}

static void test_nmi_unblocking_due_to_iret_restores_blocking(void **state)
{
	struct vcpu *v = guest();

	/* An EPT violation in the guest's IRET, which had unblocked NMIs. */
	set_intr(0);
	struct exit_fields f = {.reason = VMX_EXIT_EPT_VIOLATION,
	                        .qualification = EPTQUAL_READ | EPTQUAL_NMI_UNBLOCK_IRET,
	                        .gpa = HV_REGION_BASE};
	env_exit(v, &f);
	assert_true(vmcs_get(VMCS_GUEST_INTERRUPTIBILITY.enc) & INTERRUPTIBILITY_NMI);

	/* Not when the exit happened during event delivery (bit 12 undefined then). */
	set_intr(0);
	f.idt_info = INTR_INFO_VALID | 0x31;
	env_exit(v, &f);
	assert_false(vmcs_get(VMCS_GUEST_INTERRUPTIBILITY.enc) & INTERRUPTIBILITY_NMI);
}

static void test_blocked_guest_gets_window_not_injection(void **state)
{
	const uint32_t blocks[] = {INTERRUPTIBILITY_STI, INTERRUPTIBILITY_MOV_SS,
	                           INTERRUPTIBILITY_NMI};
	for (size_t i = 0; i < sizeof(blocks) / sizeof(blocks[0]); i++) {
		struct vcpu *v = guest();
		set_intr(blocks[i]);
		nmi_exit(v);
		assert_int_equal(injected() & INTR_INFO_VALID, 0);
		assert_true(window());
		assert_int_equal(v->ev.nmi_pending, 1);
		/* The blocking ends; the window exit delivers it. */
		set_intr(0);
		exit_with(v, VMX_EXIT_NMI_WINDOW);
		assert_int_equal(injected(), NMI_INFO);
		assert_false(window());
	}
}

static void test_app_says_no_nmi_stays_pending_without_window(void **state)
{
	struct vcpu *v = guest();

	/* The seed's race: an NMI while a PAL runs. */
	allow_nmi = false;
	nmi_exit(v);
	assert_int_equal(injected() & INTR_INFO_VALID, 0);
	assert_false(window()); /* no window: it would exit at once, forever */
	assert_int_equal(v->ev.nmi_pending, 1);
	for (int i = 0; i < 5; i++) {
		v->gpr[GPR_RAX] = 0;
		exit_with(v, VMX_EXIT_CPUID);
		assert_int_equal(injected() & INTR_INFO_VALID, 0);
		assert_false(window());
	}
	assert_int_equal(v->ev.nmis_injected, 0);
	/* More NMIs meanwhile merge into the one pending. */
	nmi_exit(v);
	assert_int_equal(v->ev.nmi_pending, 1);

	/* PAL exit: a hypercall during which the app unblocks. */
	exit_with(v, VMX_EXIT_VMCALL);
	assert_int_equal(injected(), NMI_INFO);
	assert_int_equal(v->ev.nmis_injected, 1);
	assert_int_equal(v->ev.nmi_pending, 0);
	/* Exactly once. */
	v->gpr[GPR_RAX] = 0;
	exit_with(v, VMX_EXIT_CPUID);
	assert_int_equal(injected() & INTR_INFO_VALID, 0);
	assert_int_equal(v->ev.nmis_injected, 1);
}

static void test_app_asked_at_injection_time_not_arrival(void **state)
{
	struct vcpu *v = guest();

	/* The NMI arrives while the app would say yes, but the guest is blocked;
	 * by the window exit the app says no: it must not be injected. */
	set_intr(INTERRUPTIBILITY_STI);
	nmi_exit(v);
	assert_true(window());
	allow_nmi = false;
	set_intr(0);
	exit_with(v, VMX_EXIT_NMI_WINDOW);
	assert_int_equal(injected() & INTR_INFO_VALID, 0);
	assert_false(window());
	assert_int_equal(v->ev.nmi_pending, 1);
}

static void test_host_nmis_bounded_to_one_pending(void **state)
{
	struct vcpu *v = guest();

	allow_nmi = false;
	for (int i = 0; i < 3; i++)
		vmx_host_nmi_handler();
	exit_with(v, VMX_EXIT_VMCALL); /* unblocks */
	assert_int_equal(v->ev.nmis_injected, 1);
	assert_int_equal(v->ev.nmis_merged, 2);
	assert_int_equal(v->ev.nmi_pending, 0);
}

static bool own_signal;
static bool filter(void)
{
	return own_signal;
}

static void test_filtered_nmi_is_not_the_guests(void **state)
{
	struct vcpu *v = guest();

	vmx_set_nmi_filter(filter);
	own_signal = true;
	nmi_exit(v);
	assert_int_equal(injected() & INTR_INFO_VALID, 0);
	assert_int_equal(v->ev.nmi_pending, 0);
	own_signal = false;
	nmi_exit(v);
	assert_int_equal(injected(), NMI_INFO);
	vmx_set_nmi_filter(NULL);
}

static void test_no_nmi_into_wait_for_sipi(void **state)
{
	env_guest(2, &app);
	allow_nmi = true;
	fake_set_cpu(1);
	struct vcpu *ap = vmx_vcpu(1);

	nmi_exit(ap);
	assert_int_equal(injected() & INTR_INFO_VALID, 0);
	assert_false(window());
	assert_int_equal(ap->ev.nmi_pending, 1);
	struct exit_fields sipi = {.reason = VMX_EXIT_SIPI, .qualification = 0x9a};
	env_exit(ap, &sipi);
	assert_int_equal(injected(), NMI_INFO);
}

static int hook_exits, hook_entries;
static void after_exit(struct vcpu *v)
{
	hook_exits++;
}
static void before_entry(struct vcpu *v)
{
	hook_entries++;
	/* Runs before the injection point: nothing injected yet for this entry. */
	assert_int_equal(injected() & INTR_INFO_VALID, 0);
}

static void install_hooks(void)
{
	vmx_set_after_exit_hook(after_exit);
	vmx_add_before_entry_hook(before_entry);
}

static void test_transition_hooks(void **state)
{
	allow_nmi = true;
	asked = 0;
	hook_exits = hook_entries = 0;
	struct vcpu *v = env_guest_booted(1, &app, install_hooks);
	env_protected_mode();

	/* The before-entry hook ran before the first entry too. */
	assert_int_equal(hook_entries, 1);
	hook_exits = hook_entries = 0;
	nmi_exit(v);
	assert_int_equal(hook_exits, 1);
	assert_int_equal(hook_entries, 1);
	assert_int_equal(injected(), NMI_INFO);
	vmx_transition_hooks_reset();
}

/* ---- every interleaving ---- */

enum ev { EV_NMI_EXIT, EV_ROOT_NMI, EV_APP_BLOCK, EV_APP_UNBLOCK, EV_GUEST_IRET, EV_EXIT, EV_N };

struct model {
	int arrived, uncollected, delivered;
};

/*
 * What the CPU does after the VM entry that follows vmx_handle_exit(): an
 * injected NMI enters the guest's handler (virtual-NMI blocking); an open
 * window with no blocking exits at once. Asserts the invariants.
 */
static void after_entry(struct vcpu *v, struct model *m)
{
	for (int guard = 0;; guard++) {
		assert_true(guard < 3); /* no window loop */
		if ((injected() & INTR_INFO_VALID) && INTR_INFO_TYPE(injected()) == INTR_TYPE_NMI) {
			assert_true(allow_nmi); /* never into a PAL */
			m->delivered++;
			set_intr(INTERRUPTIBILITY_NMI);
			vmcs_set(VMCS_VM_ENTRY_INTR_INFO.enc, 0);
		}
		if (!allow_nmi)
			assert_false(window());
		if (!window() || (vmcs_get(VMCS_GUEST_INTERRUPTIBILITY.enc) & INTERRUPTIBILITY_NMI))
			break;
		exit_with(v, VMX_EXIT_NMI_WINDOW);
		m->uncollected = 0;
	}
	assert_true(v->ev.nmi_pending <= 1);
	assert_int_equal(m->arrived, m->delivered + (int)v->ev.nmi_pending +
	                                 (int)v->ev.nmis_merged + m->uncollected);
}

static void step(struct vcpu *v, struct model *m, enum ev e)
{
	switch (e) {
	case EV_NMI_EXIT:
		m->arrived++;
		nmi_exit(v);
		m->uncollected = 0;
		break;
	case EV_ROOT_NMI:
		/* Taken while the CPU is in root mode: counted, collected at the next exit. */
		m->arrived++;
		m->uncollected++;
		vmx_host_nmi_handler();
		return;
	case EV_APP_BLOCK:
		allow_nmi = false; /* e.g. a PAL starts (during a hypercall exit) */
		v->gpr[GPR_RAX] = 0;
		exit_with(v, VMX_EXIT_CPUID);
		m->uncollected = 0;
		break;
	case EV_APP_UNBLOCK:
		exit_with(v, VMX_EXIT_VMCALL);
		m->uncollected = 0;
		break;
	case EV_GUEST_IRET:
		/* The guest's NMI handler returns: no exit unless a window is open. */
		set_intr(0);
		break;
	case EV_EXIT:
		v->gpr[GPR_RAX] = 0;
		exit_with(v, VMX_EXIT_CPUID);
		m->uncollected = 0;
		break;
	default:
		break;
	}
	after_entry(v, m);
}

static void test_every_interleaving(void **state)
{
	enum { LEN = 6 };
	int total = 1;
	for (int i = 0; i < LEN; i++)
		total *= EV_N;

	struct vcpu *v = guest();
	for (int seq = 0; seq < total; seq++) {
		struct model m = {0};
		/* A fresh guest on the same CPU (no new VMXON: memory is finite). */
		allow_nmi = true;
		vmx_event_reset(v);
		vmx_prepare_guest(0, true, v->eptp);
		env_protected_mode();
		int s = seq;
		for (int i = 0; i < LEN; i++, s /= EV_N)
			step(v, &m, (enum ev)(s % EV_N));
		/* Finally the app says yes and the guest leaves its handler. */
		step(v, &m, EV_APP_UNBLOCK);
		step(v, &m, EV_GUEST_IRET);
		step(v, &m, EV_EXIT);
		assert_int_equal(v->ev.nmi_pending, 0);
		assert_int_equal(m.uncollected, 0);
		if (m.arrived)
			assert_true(m.delivered >= 1);
		assert_int_equal(m.arrived, m.delivered + (int)v->ev.nmis_merged);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_nmi_exit_injects_when_free),
	    cmocka_unit_test(test_reinjection_first_then_nmi_window),
	    cmocka_unit_test(test_software_interrupt_reinjected_with_length),
	    cmocka_unit_test(test_exception_before_nmi),
	    cmocka_unit_test(test_fault_during_exception_delivery_is_double_fault),
	    cmocka_unit_test(test_nmi_reinjection_clears_virtual_nmi_blocking),
	    cmocka_unit_test(test_broken_invariants_panic),
	    cmocka_unit_test(test_nmi_unblocking_due_to_iret_restores_blocking),
	    cmocka_unit_test(test_blocked_guest_gets_window_not_injection),
	    cmocka_unit_test(test_app_says_no_nmi_stays_pending_without_window),
	    cmocka_unit_test(test_app_asked_at_injection_time_not_arrival),
	    cmocka_unit_test(test_host_nmis_bounded_to_one_pending),
	    cmocka_unit_test(test_filtered_nmi_is_not_the_guests),
	    cmocka_unit_test(test_no_nmi_into_wait_for_sipi),
	    cmocka_unit_test(test_transition_hooks),
	    cmocka_unit_test(test_every_interleaving),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
