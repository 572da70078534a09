/* libvmx exit handlers, INIT and SIPI: an AP started and restarted, INIT on
 * the boot CPU runs the reset vector. */
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

static void test_init_then_sipi_starts_an_ap(void **state)
{
	env_guest(2, NULL);
	fake_set_cpu(1);
	struct vcpu *ap = vmx_vcpu(1);

	/* The guest's SIPI while the AP waits: start at vector << 12. */
	struct exit_fields sipi = {.reason = VMX_EXIT_SIPI, .qualification = 0x9a};
	env_exit(ap, &sipi);
	assert_int_equal(vmcs_get(VMCS_GUEST_CS_SELECTOR.enc), 0x9a00);
	assert_int_equal(vmcs_get(VMCS_GUEST_CS_BASE.enc), 0x9a000);
	assert_int_equal(vmcs_get(VMCS_GUEST_RIP.enc), 0);
	assert_int_equal(vmcs_get(VMCS_GUEST_ACTIVITY_STATE.enc), VMX_ACTIVITY_ACTIVE);

	assert_false(ap->waiting_for_sipi);

	/* The INIT that preceded the SIPI, held while the CPU waited for it, arrives
	 * before the AP ran an instruction: already consumed on bare metal, dropped. */
	struct exit_fields init = {.reason = VMX_EXIT_INIT};
	env_exit(ap, &init);
	assert_int_equal(vmcs_get(VMCS_GUEST_ACTIVITY_STATE.enc), VMX_ACTIVITY_ACTIVE);
	assert_int_equal(vmcs_get(VMCS_GUEST_CS_BASE.enc), 0x9a000);

	/* The AP runs on into long mode ... then the guest sends INIT again. */
	instr_exit(ap, VMX_EXIT_INVD, 0, 2);
	vmcs_set(VMCS_GUEST_CR0.enc, CR0_PG | CR0_PE | CR0_NE);
	vmcs_set(VMCS_GUEST_IA32_EFER.enc, EFER_LME | EFER_LMA);
	vmcs_set(VMCS_ENTRY_CONTROLS.enc,
	         vmcs_get(VMCS_ENTRY_CONTROLS.enc) | ENTRY_IA32E_MODE_GUEST);
	ap->gpr[GPR_R12] = 77;
	env_exit(ap, &init);
	assert_true(ap->waiting_for_sipi);
	assert_int_equal(vmcs_get(VMCS_GUEST_ACTIVITY_STATE.enc), VMX_ACTIVITY_WAIT_SIPI);
	assert_int_equal(vmcs_get(VMCS_GUEST_CS_SELECTOR.enc), 0xf000);
	assert_int_equal(vmcs_get(VMCS_GUEST_RIP.enc), 0xfff0);
	assert_int_equal(vmcs_get(VMCS_CR0_READ_SHADOW.enc), 0x60000010);
	assert_false(vmcs_get(VMCS_GUEST_CR0.enc) & (CR0_PG | CR0_PE));
	assert_int_equal(vmcs_get(VMCS_GUEST_IA32_EFER.enc), 0);
	assert_false(vmcs_get(VMCS_ENTRY_CONTROLS.enc) & ENTRY_IA32E_MODE_GUEST);
	assert_int_equal(ap->gpr[GPR_R12], 0);

	/* A second SIPI after INIT starts it again. */
	sipi.qualification = 0x10;
	env_exit(ap, &sipi);
	assert_int_equal(vmcs_get(VMCS_GUEST_CS_BASE.enc), 0x10000);
	assert_int_equal(vmcs_get(VMCS_GUEST_ACTIVITY_STATE.enc), VMX_ACTIVITY_ACTIVE);
}

static void test_init_on_boot_cpu_runs_reset_vector(void **state)
{
	struct vcpu *v = env_guest(1, NULL);
	struct exit_fields init = {.reason = VMX_EXIT_INIT};

	env_exit(v, &init);
	assert_int_equal(vmcs_get(VMCS_GUEST_ACTIVITY_STATE.enc), VMX_ACTIVITY_ACTIVE);
	assert_int_equal(vmcs_get(VMCS_GUEST_CS_BASE.enc), 0xffff0000ull);
	assert_int_equal(rip(), 0xfff0);
}

/*
 * hv_app.before_init: called once per INIT libvmx acts on, before the reset,
 * so the app sees the guest state the INIT interrupted (here a long-mode AP
 * with its own EPTP and exception bitmap, as an app's private view would be).
 */
static unsigned before_init_calls;
static uint64_t seen_rip, seen_efer, seen_eptp;
static uint32_t seen_activity;

static void record_before_init(struct vcpu *v)
{
	(void)v;
	before_init_calls++;
	seen_rip = vmcs_get(VMCS_GUEST_RIP.enc);
	seen_efer = vmcs_get(VMCS_GUEST_IA32_EFER.enc);
	seen_eptp = vmcs_get(VMCS_EPT_POINTER.enc);
	seen_activity = (uint32_t)vmcs_get(VMCS_GUEST_ACTIVITY_STATE.enc);
	/* What an app puts back: its own view's controls, which INIT keeps. */
	vmcs_set(VMCS_EPT_POINTER.enc, 0x7000 | 0x1e);
	vmcs_set(VMCS_EXCEPTION_BITMAP.enc, 0);
}

static const struct hv_app init_app = {.name = "init-app", .before_init = record_before_init};

static void test_before_init_hook_runs_before_the_reset(void **state)
{
	(void)state;
	before_init_calls = 0;
	env_guest(2, &init_app);
	fake_set_cpu(1);
	struct vcpu *ap = vmx_vcpu(1);
	struct exit_fields sipi = {.reason = VMX_EXIT_SIPI, .qualification = 0x9a};
	struct exit_fields init = {.reason = VMX_EXIT_INIT};

	env_exit(ap, &sipi);
	/* The INIT held across the SIPI is dropped, not acted on: no hook. */
	env_exit(ap, &init);
	assert_int_equal(before_init_calls, 0);

	/* The AP runs in long mode at 0x4321 in an app's view ... then INIT. */
	instr_exit(ap, VMX_EXIT_INVD, 0, 2);
	vmcs_set(VMCS_GUEST_RIP.enc, 0x4321);
	vmcs_set(VMCS_GUEST_IA32_EFER.enc, EFER_LME | EFER_LMA);
	vmcs_set(VMCS_EPT_POINTER.enc, 0xbad000 | 0x1e);
	vmcs_set(VMCS_EXCEPTION_BITMAP.enc, 0xffffffffu);
	env_exit(ap, &init);
	assert_int_equal(before_init_calls, 1);
	/* The hook saw the state before the reset ... */
	assert_int_equal(seen_rip, 0x4321);
	assert_int_equal(seen_efer, EFER_LME | EFER_LMA);
	assert_int_equal(seen_eptp, 0xbad000 | 0x1e);
	assert_int_equal(seen_activity, VMX_ACTIVITY_ACTIVE);
	/* ... and the reset came after it, keeping what the hook put back. */
	assert_true(ap->waiting_for_sipi);
	assert_int_equal(vmcs_get(VMCS_GUEST_ACTIVITY_STATE.enc), VMX_ACTIVITY_WAIT_SIPI);
	assert_int_equal(rip(), 0xfff0);
	assert_int_equal(vmcs_get(VMCS_GUEST_IA32_EFER.enc), 0);
	assert_int_equal(vmcs_get(VMCS_EPT_POINTER.enc), 0x7000 | 0x1e);
	assert_int_equal(vmcs_get(VMCS_EXCEPTION_BITMAP.enc), 0);
}

static void test_init_without_before_init_hook(void **state)
{
	(void)state;
	/* An app with no hook (and no app at all, the tests above): the reset alone. */
	static const struct hv_app no_hook = {.name = "no-hook"};
	struct vcpu *v = env_guest(1, &no_hook);

	before_init_calls = 0;
	vmcs_set(VMCS_GUEST_RIP.enc, 0x4321);
	env_exit(v, &(struct exit_fields){.reason = VMX_EXIT_INIT});
	assert_int_equal(before_init_calls, 0);
	assert_int_equal(rip(), 0xfff0);
	assert_int_equal(vmcs_get(VMCS_GUEST_CS_BASE.enc), 0xffff0000ull);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_init_then_sipi_starts_an_ap),
	    cmocka_unit_test(test_init_on_boot_cpu_runs_reset_vector),
	    cmocka_unit_test(test_before_init_hook_runs_before_the_reset),
	    cmocka_unit_test(test_init_without_before_init_hook),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
