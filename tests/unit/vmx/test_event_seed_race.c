/*
 * The seed's race, replayed step by step (docs/design.md section 3, issue 4) against
 * the fake VMCS and the real libvmx exit dispatch and event code.
 *
 * The seed (a TrustVisor build) lost the race below: the NMI's fate was
 * decided when it arrived, before the app had switched to PAL mode, so it was
 * injected into the PAL, whose IDT is not the OS's; with every exception
 * intercepted in PAL mode, its delivery came back as an intercepted fault
 * (entry interruption info 0x80000b0e: #PF with error code) inside the PAL.
 *
 *   step  what happens                                    checked at the VM entry
 *   1     the OS calls a PAL: fetch EPT violation; an     nothing injected, no
 *         NMI arrives in root (host NMI handler) while    NMI window (the app
 *         that exit is handled; then the app enters PAL   says no), the NMI is
 *         mode and intercepts every exception             pending
 *   2     an NMI-window exit (the seed had asked for it    nothing injected, no
 *         at arrival; here it was never requested)        window
 *   3     the PAL runs: CPUID, a service VMCALL, an       nothing injected, no
 *         intercepted #PF, a second NMI (NMI exit) that   window, one NMI pending
 *         merges, CPUID
 *   4     the PAL returns to the OS (fetch EPT violation  exactly one NMI:
 *         at the return address): the app leaves PAL     0x80000202
 *         mode and calls vmx_event_app_unblocked()
 *   5     the OS runs its NMI handler, IRETs, exits       nothing more injected
 *
 * The check catches the seed bug. Mutation tried (not committed): event.c
 * decides at arrival time - vmx_nmi_arrived() stores the app's answer
 * (guest_may_take_nmi) for the CPU in a per-CPU array, and decide_nmi() tests
 * that stored answer instead of asking the app again at injection. Both tests
 * then fail on the entry that starts the PAL, with the NMI injected into it:
 *   entry  1 1 PAL call (EPT fetch), NMI in root  PAL  injected=0x80000202
 *   ERROR: entry 1 (1 PAL call (EPT fetch), NMI in root, into the PAL):
 *          injected 0x80000202, expected nothing, 0x00000000
 *   ERROR: entry 2 (1 PAL call (EPT fetch), into the PAL): injected 0x80000202 ...
 * (test_vmx_event.c fails 4 tests under the same mutation). With event.c
 * restored both pass. The fake has no IDT to deliver through, so the PAL's
 * fault that followed in the seed (0x80000b0e) is not simulated: the NMI
 * entering the PAL is already the failure.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "libvmx/vmx.h"
#include "libvmx/vmx_internal.h"
#include "rt/layout.h"
#include "tests/unit/vmx/test_vmx_env.h"

#define PAL_CODE   0x00400000ull /* guest-physical page of the PAL's code */
#define OS_RETURN  0x00100000ull /* where the PAL returns to, in the OS */
#define OS_BITMAP  (1u << X86_VEC_MC)
#define ALL_EXCEPT 0xffffffffu

static const uint32_t NMI_INFO = INTR_INFO_VALID | (INTR_TYPE_NMI << 8) | X86_VEC_NMI;

/* ---- the test app: a PAL-mode switch like TrustVisor's ---- */

static bool in_pal;
static bool nmi_during_pal_entry; /* the race: an NMI lands while the entry is handled */
static int pal_faults, pal_services;

static bool may_take_nmi(struct vcpu *v)
{
	(void)v;
	return !in_pal;
}

static enum hv_ept_action ept_violation(struct vcpu *v, uint64_t gpa, uint64_t q)
{
	(void)q;
	if (!in_pal && gpa == PAL_CODE) {
		/* Root mode, before the switch: the host NMI handler runs now. */
		if (nmi_during_pal_entry)
			vmx_host_nmi_handler();
		in_pal = true;
		vmx_exceptions_request(v, ALL_EXCEPT); /* libvmx owns the bitmap */
		return HV_EPT_RETRY;
	}
	if (in_pal && gpa == OS_RETURN) {
		in_pal = false;
		vmx_exceptions_release(v, ALL_EXCEPT); /* back to the app's OS_BITMAP */
		vmx_event_app_unblocked(v);
		return HV_EPT_RETRY;
	}
	return HV_EPT_UNHANDLED;
}

static bool exception(struct vcpu *v, uint8_t vector, uint32_t error)
{
	(void)v;
	(void)vector;
	(void)error;
	pal_faults++; /* the PAL's own fault, the app's business */
	return in_pal;
}

static bool hypercall(struct vcpu *v)
{
	pal_services++;
	v->gpr[GPR_RAX] = 0;
	return true;
}

static const struct hv_app app = {
    .name = "seed-race",
    .exception_bitmap = OS_BITMAP,
    .guest_may_take_nmi = may_take_nmi,
    .ept_violation = ept_violation,
    .exception = exception,
    .hypercall = hypercall,
};

/* ---- the replay ---- */

static int entry_no;

static uint32_t entry_info(void)
{
	return (uint32_t)vmcs_get(VMCS_VM_ENTRY_INTR_INFO.enc);
}

static bool window(void)
{
	return (vmcs_get(VMCS_PRIMARY_PROC_CONTROLS.enc) & PROC_NMI_WINDOW_EXITING) != 0;
}

/*
 * One VM exit through the real dispatch (which ends in the injection point),
 * then the checks for the VM entry that follows. expect_info is the whole
 * entry interruption-information word (0 = nothing injected).
 */
static void exit_and_enter(struct vcpu *v, const char *what, const struct exit_fields *f,
                           uint32_t expect_info, bool expect_window)
{
	env_exit(v, f);
	entry_no++;
	uint32_t info = entry_info() & INTR_INFO_VALID ? entry_info() : 0;
	print_message("  entry %2d %-44s %s  injected=0x%08x window=%d pending=%u\n", entry_no,
	              what, in_pal ? "PAL" : "OS ", info, window(), v->ev.nmi_pending);
	if (info != expect_info)
		fail_msg("entry %d (%s, %s): injected 0x%08x, expected %s0x%08x", entry_no, what,
		         in_pal ? "into the PAL" : "into the OS", info,
		         expect_info ? "" : "nothing, ", expect_info);
	if (window() != expect_window)
		fail_msg("entry %d (%s): NMI-window exiting %s", entry_no, what,
		         window() ? "requested" : "not requested");
	if (in_pal) {
		/* The invariant itself, whatever the step: nothing enters a PAL. */
		assert_int_equal(info & INTR_INFO_VALID, 0);
		assert_false(window());
	}
}

static void ept_fetch(struct vcpu *v, const char *what, uint64_t gpa, uint32_t expect,
                      bool expect_window)
{
	struct exit_fields f = {.reason = VMX_EXIT_EPT_VIOLATION,
	                        .qualification = EPTQUAL_FETCH | EPTQUAL_READABLE,
	                        .gpa = gpa};
	vmcs_set(VMCS_GUEST_RIP.enc, gpa);
	exit_and_enter(v, what, &f, expect, expect_window);
}

static void simple_exit(struct vcpu *v, const char *what, uint32_t reason, uint32_t expect)
{
	struct exit_fields f = {.reason = reason, .instruction_len = 3};
	v->gpr[GPR_RAX] = 0;
	exit_and_enter(v, what, &f, expect, false);
}

static struct vcpu *start(void)
{
	in_pal = false;
	nmi_during_pal_entry = true;
	pal_faults = pal_services = 0;
	entry_no = 0;
	struct vcpu *v = env_guest(1, &app);
	env_protected_mode();
	assert_int_equal(vmcs_get(VMCS_EXCEPTION_BITMAP.enc), OS_BITMAP);
	vmcs_set(VMCS_GUEST_INTERRUPTIBILITY.enc, 0);
	return v;
}

static void test_seed_race_table(void **state)
{
	(void)state;
	struct vcpu *v = start();

	/* 1. PAL call; the NMI arrives in root during that exit; PAL mode. */
	ept_fetch(v, "1 PAL call (EPT fetch), NMI in root", PAL_CODE, 0, false);
	assert_true(in_pal);
	assert_int_equal(vmcs_get(VMCS_EXCEPTION_BITMAP.enc), ALL_EXCEPT);
	assert_int_equal(v->ev.nmi_pending, 1);

	/* 2. The NMI-window exit of the seed's table (never requested here). */
	simple_exit(v, "2 NMI-window exit", VMX_EXIT_NMI_WINDOW, 0);

	/* 3. The PAL runs. */
	simple_exit(v, "3 PAL: CPUID", VMX_EXIT_CPUID, 0);
	simple_exit(v, "3 PAL: service VMCALL", VMX_EXIT_VMCALL, 0);
	struct exit_fields pf = {.reason = VMX_EXIT_EXCEPTION_NMI,
	                         .qualification = 0x1000,
	                         .intr_info = INTR_INFO(X86_VEC_PF, INTR_TYPE_HW_EXCEPTION) |
	                                      INTR_INFO_DELIVER_CODE,
	                         .intr_error = 2};
	exit_and_enter(v, "3 PAL: intercepted #PF", &pf, 0, false);
	struct exit_fields nmi = {.reason = VMX_EXIT_EXCEPTION_NMI, .intr_info = NMI_INFO};
	uint64_t unblocks = vmx_fake_nmi_unblocks;
	exit_and_enter(v, "3 PAL: second NMI (NMI exit)", &nmi, 0, false);
	/* The NMI exit's blocking is ended in root (IRET), or no NMI comes again. */
	assert_int_equal(vmx_fake_nmi_unblocks, unblocks + 1);
	simple_exit(v, "3 PAL: CPUID", VMX_EXIT_CPUID, 0);
	assert_int_equal(pal_faults, 1);
	assert_int_equal(pal_services, 1);
	assert_int_equal(v->ev.nmi_pending, 1);
	assert_int_equal(v->ev.nmis_injected, 0);

	/* 4. The PAL returns: exactly one NMI, into the OS. */
	ept_fetch(v, "4 PAL return (EPT fetch), app unblocks", OS_RETURN, NMI_INFO, false);
	assert_false(in_pal);
	assert_int_equal(v->ev.nmis_injected, 1);
	assert_int_equal(v->ev.nmis_merged, 1); /* the second NMI merged, as hardware would */
	assert_int_equal(v->ev.nmi_pending, 0);

	/* 5. The OS handles it (virtual-NMI blocking), IRETs, goes on. */
	vmcs_set(VMCS_GUEST_INTERRUPTIBILITY.enc, INTERRUPTIBILITY_NMI);
	simple_exit(v, "5 OS NMI handler: CPUID", VMX_EXIT_CPUID, 0);
	vmcs_set(VMCS_GUEST_INTERRUPTIBILITY.enc, 0);
	simple_exit(v, "5 OS after IRET: CPUID", VMX_EXIT_CPUID, 0);
	simple_exit(v, "5 OS: CPUID", VMX_EXIT_CPUID, 0);
	assert_int_equal(v->ev.nmis_injected, 1);
}

/*
 * The same table with the NMI arriving in the guest instead (an NMI exit) one
 * exit before the PAL call, while the OS was still NMI-blocked: the window it
 * asked for must be withdrawn as soon as the app says no, and the NMI still
 * reaches the OS once, after the PAL.
 */
static void test_window_withdrawn_when_pal_starts(void **state)
{
	(void)state;
	struct vcpu *v = start();
	nmi_during_pal_entry = false;

	vmcs_set(VMCS_GUEST_INTERRUPTIBILITY.enc, INTERRUPTIBILITY_NMI);
	struct exit_fields nmi = {.reason = VMX_EXIT_EXCEPTION_NMI, .intr_info = NMI_INFO};
	exit_and_enter(v, "0 OS NMI-blocked: NMI exit", &nmi, 0, true);
	vmcs_set(VMCS_GUEST_INTERRUPTIBILITY.enc, 0);
	ept_fetch(v, "1 PAL call (EPT fetch)", PAL_CODE, 0, false);
	simple_exit(v, "2 NMI-window exit", VMX_EXIT_NMI_WINDOW, 0);
	simple_exit(v, "3 PAL: CPUID", VMX_EXIT_CPUID, 0);
	ept_fetch(v, "4 PAL return (EPT fetch), app unblocks", OS_RETURN, NMI_INFO, false);
	simple_exit(v, "5 OS: CPUID", VMX_EXIT_CPUID, 0);
	assert_int_equal(v->ev.nmis_injected, 1);
	assert_int_equal(v->ev.nmis_merged, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_seed_race_table),
	    cmocka_unit_test(test_window_withdrawn_when_pal_starts),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
