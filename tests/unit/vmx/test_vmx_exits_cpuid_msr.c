/* libvmx exit handlers, CPUID and MSRs: VMX hidden from the guest, VMX MSRs
 * and unknown MSRs #GP, an app MSR handler. */
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

static bool lstar_handler(struct vcpu *v, uint32_t msr, bool write, uint64_t *value)
{
	if (!write)
		*value = 0x1122334455667788ull;
	return !write;
}

static void test_cpuid_hides_vmx_only(void **state)
{
	struct vcpu *v = env_guest(1, NULL);
	struct hw_cpuid_regs real,
	    l1 = {0x50654, 0x800,
	          CPUID1_ECX_VMX | CPUID1_ECX_XSAVE | CPUID1_ECX_HYPERVISOR | CPUID1_ECX_X2APIC,
	          0x178bfbff};
	fake_cpuid_set(1, 0, &l1);
	hw_cpuid(1, 0, &real);

	v->gpr[GPR_RAX] = 0xffffffff00000001ull;
	v->gpr[GPR_RCX] = 0;
	instr_exit(v, VMX_EXIT_CPUID, 0, 2);
	assert_int_equal(v->gpr[GPR_RAX], real.eax);
	assert_int_equal(v->gpr[GPR_RBX], real.ebx);
	assert_int_equal(v->gpr[GPR_RDX], real.edx);
	assert_false(v->gpr[GPR_RCX] & CPUID1_ECX_VMX);
	assert_false(v->gpr[GPR_RCX] & CPUID1_ECX_HYPERVISOR);
	/* Everything else as the CPU says (OSXSAVE follows the guest's CR4: clear). */
	assert_int_equal(v->gpr[GPR_RCX],
	                 real.ecx & ~(CPUID1_ECX_VMX | CPUID1_ECX_HYPERVISOR | CPUID1_ECX_OSXSAVE));
	assert_int_equal(rip(), 0x1002);
	assert_int_equal(injected() & INTR_INFO_VALID, 0);

	vmx_cpuid_show_hypervisor(true);
	v->gpr[GPR_RAX] = 1;
	instr_exit(v, VMX_EXIT_CPUID, 0, 2);
	assert_true(v->gpr[GPR_RCX] & CPUID1_ECX_HYPERVISOR);
	assert_false(v->gpr[GPR_RCX] & CPUID1_ECX_VMX);
	vmx_cpuid_show_hypervisor(false);
}

/* DS, PEBS, PT and the PMU are hidden: the MSR policy refuses their MSRs. */
static void test_cpuid_hides_tracing_and_pmu(void **state)
{
	struct vcpu *v = env_guest(1, NULL);
	struct hw_cpuid_regs l1 = {0x50654, 0x800, (1u << 2) | (1u << 4) | (1u << 15) | (1u << 0),
	                           (1u << 21) | 1u},
	                     l7 = {0, (1u << 25) | (1u << 0), 0, 0}, la = {0x07300805, 0, 0, 0x603},
	                     l14 = {1, 0xf, 7, 0};
	fake_cpuid_set(1, 0, &l1);
	fake_cpuid_set(7, 0, &l7);
	fake_cpuid_set(0xa, 0, &la);
	fake_cpuid_set(0x14, 0, &l14);

	v->gpr[GPR_RAX] = 1;
	v->gpr[GPR_RCX] = 0;
	instr_exit(v, VMX_EXIT_CPUID, 0, 2);
	assert_int_equal(v->gpr[GPR_RCX] & ((1u << 2) | (1u << 4) | (1u << 15)), 0);
	assert_true(v->gpr[GPR_RCX] & 1u); /* SSE3 stays */
	assert_int_equal(v->gpr[GPR_RDX], 1u);
	v->gpr[GPR_RAX] = 7;
	v->gpr[GPR_RCX] = 0;
	instr_exit(v, VMX_EXIT_CPUID, 0, 2);
	assert_int_equal(v->gpr[GPR_RBX], 1u); /* FSGSBASE stays, PT goes */
	for (uint32_t leaf = 0xa; leaf <= 0x14; leaf += 0xa) {
		v->gpr[GPR_RAX] = leaf;
		v->gpr[GPR_RCX] = 0;
		instr_exit(v, VMX_EXIT_CPUID, 0, 2);
		assert_int_equal(
		    v->gpr[GPR_RAX] | v->gpr[GPR_RBX] | v->gpr[GPR_RCX] | v->gpr[GPR_RDX], 0);
	}
}

static void test_cpuid_osxsave_follows_guest_cr4(void **state)
{
	struct vcpu *v = env_guest(1, NULL);

	vmcs_set(VMCS_GUEST_CR4.enc, vmcs_get(VMCS_GUEST_CR4.enc) | CR4_OSXSAVE);
	v->gpr[GPR_RAX] = 1;
	instr_exit(v, VMX_EXIT_CPUID, 0, 2);
	assert_true(v->gpr[GPR_RCX] & CPUID1_ECX_OSXSAVE);
}

static void test_rdmsr_feature_control_shows_vmx_locked_off(void **state)
{
	struct vcpu *v = env_guest(1, NULL);

	v->gpr[GPR_RCX] = MSR_IA32_FEATURE_CONTROL;
	v->gpr[GPR_RAX] = v->gpr[GPR_RDX] = 0xdead;
	instr_exit(v, VMX_EXIT_RDMSR, 0, 2);
	uint64_t value = (v->gpr[GPR_RDX] << 32) | v->gpr[GPR_RAX];
	assert_true(value & FEATURE_CONTROL_LOCKED);
	assert_false(value & (FEATURE_CONTROL_VMX_IN_SMX | FEATURE_CONTROL_VMX_OUTSIDE_SMX));
	assert_int_equal(rip(), 0x1002);

	/* Locked: a write faults. */
	env_protected_mode();
	instr_exit(v, VMX_EXIT_WRMSR, 0, 2);
	assert_gp0_injected();
}

static void test_vmx_msrs_and_unknown_msrs_gp(void **state)
{
	struct vcpu *v = env_guest(1, NULL);
	env_protected_mode();

	v->gpr[GPR_RCX] = MSR_IA32_VMX_BASIC;
	instr_exit(v, VMX_EXIT_RDMSR, 0, 2);
	assert_gp0_injected();

	v->gpr[GPR_RCX] = MSR_IA32_VMX_EPT_VPID_CAP;
	uint64_t before = fake_msr_get(MSR_IA32_VMX_EPT_VPID_CAP);
	instr_exit(v, VMX_EXIT_WRMSR, 0, 2);
	assert_gp0_injected();
	assert_int_equal(fake_msr_get(MSR_IA32_VMX_EPT_VPID_CAP), before);

	/* Outside the bitmap's ranges an MSR always exits: no such MSR, #GP. */
	v->gpr[GPR_RCX] = 0x40000000;
	instr_exit(v, VMX_EXIT_RDMSR, 0, 2);
	assert_gp0_injected();
	assert_int_equal(fake_hw.unknown_msr_reads, 0); /* never tried in root mode */
}

static void test_app_msr_handler(void **state)
{
	struct vcpu *v = env_guest(1, NULL);
	env_protected_mode();
	assert_int_equal(vmx_intercept_msr(MSR_IA32_LSTAR, lstar_handler), 0);

	v->gpr[GPR_RCX] = MSR_IA32_LSTAR;
	instr_exit(v, VMX_EXIT_RDMSR, 0, 2);
	assert_int_equal(v->gpr[GPR_RAX], 0x55667788);
	assert_int_equal(v->gpr[GPR_RDX], 0x11223344);
	assert_int_equal(rip(), 0x1002);
	instr_exit(v, VMX_EXIT_WRMSR, 0, 2);
	assert_gp0_injected();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_cpuid_hides_vmx_only),
	    cmocka_unit_test(test_cpuid_osxsave_follows_guest_cr4),
	    cmocka_unit_test(test_cpuid_hides_tracing_and_pmu),
	    cmocka_unit_test(test_rdmsr_feature_control_shows_vmx_locked_off),
	    cmocka_unit_test(test_vmx_msrs_and_unknown_msrs_gp),
	    cmocka_unit_test(test_app_msr_handler),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
