/*
 * Guest state by meaning (vmx_guest.h, guest_state.c) and the host-state
 * refresh (vmcs_host.c) over the fake hardware: each name reads or writes the
 * VMCS field it stands for, and the questions answer as the SDM says.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "hw/hw.h"
#include "libvmx/vmx.h"
#include "tests/unit/vmx/test_vmx_env.h"

#define CS_L (1u << 13)

static void test_registers_by_name(void **state)
{
	(void)state;
	struct vcpu *v = env_guest(1, NULL);

	vmcs_set(VMCS_GUEST_CR0.enc, CR0_PE | CR0_PG);
	vmcs_set(VMCS_GUEST_CR3.enc, 0x3000);
	vmcs_set(VMCS_GUEST_CR4.enc, CR4_PAE);
	vmcs_set(VMCS_GUEST_IA32_EFER.enc, EFER_LME | EFER_LMA);
	assert_int_equal(vmx_guest_cr0(v), CR0_PE | CR0_PG);
	assert_int_equal(vmx_guest_cr3(v), 0x3000);
	assert_int_equal(vmx_guest_cr4(v), CR4_PAE);
	assert_int_equal(vmx_guest_efer(v), EFER_LME | EFER_LMA);

	vmx_guest_set_rip(v, 0xabc);
	vmx_guest_set_rsp(v, 0xdef0);
	assert_int_equal(vmcs_get(VMCS_GUEST_RIP.enc), 0xabc);
	assert_int_equal(vmcs_get(VMCS_GUEST_RSP.enc), 0xdef0);
	assert_int_equal(vmx_guest_rip(v), 0xabc);
	assert_int_equal(vmx_guest_rsp(v), 0xdef0);
	assert_int_equal(vcpu_gpr_read(v, GPR_RSP), 0xdef0);

	assert_int_equal(vmx_vcpu_index(v), 0);
	assert_true(vmx_vcpu_is_boot(v));
	assert_int_equal(vmx_vcpu_guest_eptp(v), env_eptp());
}

static void test_64bit_mode_needs_lma_and_cs_l(void **state)
{
	(void)state;
	struct vcpu *v = env_guest(1, NULL);
	uint32_t ar = (uint32_t)vmcs_get(VMCS_GUEST_CS_ACCESS_RIGHTS.enc) & ~CS_L;

	vmcs_set(VMCS_GUEST_IA32_EFER.enc, EFER_LME | EFER_LMA);
	vmcs_set(VMCS_GUEST_CS_ACCESS_RIGHTS.enc, ar | CS_L);
	assert_true(vmx_guest_in_64bit_mode(v));
	/* Compatibility mode: IA-32e active, CS.L = 0. */
	vmcs_set(VMCS_GUEST_CS_ACCESS_RIGHTS.enc, ar);
	assert_false(vmx_guest_in_64bit_mode(v));
	/* Legacy mode with a stray L bit: not 64-bit. */
	vmcs_set(VMCS_GUEST_IA32_EFER.enc, 0);
	vmcs_set(VMCS_GUEST_CS_ACCESS_RIGHTS.enc, ar | CS_L);
	assert_false(vmx_guest_in_64bit_mode(v));
}

static enum hv_ept_action seen_action;
static bool seen_valid;
static uint64_t seen_gla, seen_qual;
static enum hv_ept_action ept_hook(struct vcpu *v, uint64_t gpa, uint64_t q)
{
	(void)gpa;
	(void)q;
	seen_gla = 0;
	seen_valid = vmx_ept_violation_linear(v, &seen_gla);
	seen_qual = vmx_exit_qualification(v);
	return seen_action;
}
static const struct hv_app ept_app = {.name = "ept", .ept_violation = ept_hook};

static void test_ept_violation_linear_only_when_valid(void **state)
{
	(void)state;
	struct vcpu *v = env_guest(1, &ept_app);
	struct exit_fields f = {.reason = VMX_EXIT_EPT_VIOLATION,
	                        .qualification = EPTQUAL_FETCH | EPTQUAL_GLA_VALID,
	                        .gpa = 0x100000};

	seen_action = HV_EPT_RETRY;
	vmcs_set(VMCS_GUEST_LINEAR_ADDRESS.enc, 0xffff800000100000ull);
	env_exit(v, &f);
	assert_true(seen_valid);
	assert_int_equal(seen_gla, 0xffff800000100000ull);
	assert_int_equal(seen_qual, EPTQUAL_FETCH | EPTQUAL_GLA_VALID);

	/* No linear address (bit 7 clear): the field is not to be believed. */
	f.qualification = EPTQUAL_FETCH;
	env_exit(v, &f);
	assert_false(seen_valid);
	assert_int_equal(seen_gla, 0);
	/* Nor outside an EPT violation. */
	struct exit_fields cpuid = {
	    .reason = VMX_EXIT_CPUID, .instruction_len = 2, .qualification = EPTQUAL_GLA_VALID};
	env_exit(v, &cpuid);
	uint64_t gla = 0;
	assert_false(vmx_ept_violation_linear(v, &gla));
}

static void test_host_state_refresh_takes_the_registers_again(void **state)
{
	(void)state;
	struct vcpu *v = env_guest(1, NULL);
	uint64_t cr0 = hw_read_cr0(), cr4 = hw_read_cr4();

	/* An app changes CR0 and CR4 in root and moves its FS base (the
	 * micro-TPM's runtime: SSE on, its stack canary block). */
	hw_write_cr0(cr0 ^ CR0_MP);
	hw_write_cr4(cr4 ^ CR4_PGE);
	hw_wrmsr(MSR_IA32_FS_BASE, 0x1234000);
	assert_int_equal(vmcs_get(VMCS_HOST_CR0.enc), cr0);
	assert_int_equal(vmcs_get(VMCS_HOST_CR4.enc), cr4);
	vmx_host_state_refresh(v);
	assert_int_equal(vmcs_get(VMCS_HOST_CR0.enc), cr0 ^ CR0_MP);
	assert_int_equal(vmcs_get(VMCS_HOST_CR4.enc), cr4 ^ CR4_PGE);
	assert_int_equal(vmcs_get(VMCS_HOST_FS_BASE.enc), 0x1234000);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_registers_by_name),
	    cmocka_unit_test(test_64bit_mode_needs_lma_and_cs_l),
	    cmocka_unit_test(test_ept_violation_linear_only_when_valid),
	    cmocka_unit_test(test_host_state_refresh_takes_the_registers_again),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
