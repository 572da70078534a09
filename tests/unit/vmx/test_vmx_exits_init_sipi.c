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

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_init_then_sipi_starts_an_ap),
	    cmocka_unit_test(test_init_on_boot_cpu_runs_reset_vector),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
