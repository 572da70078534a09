/* The fake's VMX model: VMXON preconditions, VMCS regions by address, current
 * VMCS per CPU, read-only fields, width truncation, INVEPT/INVVPID checks. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <cmocka.h>

#include "hw/fake/fake_hw.h"

struct regions {
	uint32_t *vmxon, *a, *b;
	uint64_t vmxon_pa, a_pa, b_pa;
};

static uint32_t *region(uint32_t revision)
{
	uint32_t *p = aligned_alloc(4096, 4096);
	assert_non_null(p);
	p[0] = revision;
	return p;
}

static uint32_t revision(void)
{
	return (uint32_t)(fake_msr_get(MSR_IA32_VMX_BASIC) & VMX_BASIC_REVISION_MASK);
}

static int setup(void **state)
{
	struct regions *r = calloc(1, sizeof(*r));

	fake_hw_reset();
	r->vmxon = region(revision());
	r->a = region(revision());
	r->b = region(revision());
	r->vmxon_pa = hw_ptr_phys(r->vmxon);
	r->a_pa = hw_ptr_phys(r->a);
	r->b_pa = hw_ptr_phys(r->b);
	*state = r;
	return 0;
}

static int teardown(void **state)
{
	struct regions *r = *state;
	free(r->vmxon);
	free(r->a);
	free(r->b);
	free(r);
	return 0;
}

/* CR4.VMXE on and VMXON done: what libvmx does first. */
static void enter_vmx(struct regions *r)
{
	hw_write_cr4(hw_read_cr4() | CR4_VMXE);
	assert_int_equal(hw_vmxon(r->vmxon_pa), HW_VMX_OK);
}

static void test_vmxon_needs_cr4_vmxe(void **state)
{
	struct regions *r = *state;

	assert_int_equal(hw_vmxon(r->vmxon_pa), HW_VMX_FAIL_INVALID);
	assert_int_equal(fake_cpu(0)->ud_faults, 1);
	assert_false(fake_cpu(0)->vmx_on);
	enter_vmx(r);
	assert_true(fake_cpu(0)->vmx_on);
	assert_int_equal(fake_cpu(0)->vmxon_pa, r->vmxon_pa);
}

static void test_vmxon_needs_feature_control_and_fixed_bits(void **state)
{
	struct regions *r = *state;

	hw_write_cr4(hw_read_cr4() | CR4_VMXE);
	fake_msr_set(MSR_IA32_FEATURE_CONTROL, FEATURE_CONTROL_VMX_OUTSIDE_SMX); /* not locked */
	assert_int_equal(hw_vmxon(r->vmxon_pa), HW_VMX_FAIL_INVALID);
	assert_int_equal(fake_cpu(0)->gp_faults, 1);

	fake_msr_set(MSR_IA32_FEATURE_CONTROL,
	             FEATURE_CONTROL_LOCKED | FEATURE_CONTROL_VMX_OUTSIDE_SMX);
	hw_write_cr0(hw_read_cr0() & ~CR0_NE); /* CR0.NE is fixed to 1 in VMX operation */
	assert_int_equal(hw_vmxon(r->vmxon_pa), HW_VMX_FAIL_INVALID);
	assert_int_equal(fake_cpu(0)->gp_faults, 2);

	hw_write_cr0(hw_read_cr0() | CR0_NE);
	assert_int_equal(hw_vmxon(r->vmxon_pa), HW_VMX_OK);
}

static void test_vmxon_checks_region(void **state)
{
	struct regions *r = *state;

	hw_write_cr4(hw_read_cr4() | CR4_VMXE);
	r->vmxon[0] = revision() + 1;
	assert_int_equal(hw_vmxon(r->vmxon_pa), HW_VMX_FAIL_INVALID);
	r->vmxon[0] = revision();
	assert_int_equal(hw_vmxon(r->vmxon_pa + 8), HW_VMX_FAIL_INVALID); /* not page aligned */
	assert_false(fake_cpu(0)->vmx_on);
	assert_int_equal(hw_vmxon(r->vmxon_pa), HW_VMX_OK);
}

static void test_vmxon_twice(void **state)
{
	struct regions *r = *state;

	enter_vmx(r);
	/* No current VMCS: VMfailInvalid; with one: VMfailValid(15). */
	assert_int_equal(hw_vmxon(r->vmxon_pa), HW_VMX_FAIL_INVALID);
	assert_int_equal(hw_vmptrld(r->a_pa), HW_VMX_OK);
	assert_int_equal(hw_vmxon(r->vmxon_pa), HW_VMX_FAIL_VALID);
	assert_int_equal(vmcs_read32(VMCS_VM_INSTRUCTION_ERROR), VMXERR_VMXON_IN_ROOT);
}

static void test_vmx_instructions_outside_vmx_fault(void **state)
{
	struct regions *r = *state;

	assert_int_equal(hw_vmptrld(r->a_pa), HW_VMX_FAIL_INVALID);
	assert_int_equal(hw_vmclear(r->a_pa), HW_VMX_FAIL_INVALID);
	assert_int_equal(hw_vmread(VMCS_GUEST_RIP.enc), 0);
	assert_int_equal(fake_cpu(0)->ud_faults, 3);
}

static void test_unwritten_field_reads_zero(void **state)
{
	struct regions *r = *state;

	enter_vmx(r);
	fake_vmcs_set(r->a_pa, VMCS_GUEST_RSP.enc, 0x1234);
	assert_int_equal(hw_vmptrld(r->a_pa), HW_VMX_OK);
	assert_int_equal(vmcs_readnat(VMCS_GUEST_RSP), 0x1234);
	assert_int_equal(vmcs_readnat(VMCS_GUEST_RIP), 0);
	assert_false(fake_vmcs_written(r->a_pa, VMCS_GUEST_RIP.enc));
}

static void test_regions_are_independent(void **state)
{
	struct regions *r = *state;

	enter_vmx(r);
	assert_int_equal(hw_vmclear(r->a_pa), HW_VMX_OK);
	assert_int_equal(hw_vmclear(r->b_pa), HW_VMX_OK);
	assert_int_equal(hw_vmptrld(r->a_pa), HW_VMX_OK);
	assert_int_equal(hw_vmwrite(VMCS_GUEST_RIP.enc, 0x1000), HW_VMX_OK);
	assert_int_equal(hw_vmptrld(r->b_pa), HW_VMX_OK);
	assert_int_equal(hw_vmwrite(VMCS_GUEST_RIP.enc, 0x2000), HW_VMX_OK);
	assert_int_equal(vmcs_readnat(VMCS_GUEST_RIP), 0x2000);
	assert_int_equal(hw_vmptrld(r->a_pa), HW_VMX_OK);
	assert_int_equal(vmcs_readnat(VMCS_GUEST_RIP), 0x1000);
	assert_int_equal(fake_vmcs_get(r->a_pa, VMCS_GUEST_RIP.enc), 0x1000);
	assert_int_equal(fake_vmcs_get(r->b_pa, VMCS_GUEST_RIP.enc), 0x2000);
	assert_int_equal(fake_cpu(0)->current_vmcs, r->a_pa);
}

static void test_vmclear_of_current_vmcs_unloads_it(void **state)
{
	struct regions *r = *state;

	enter_vmx(r);
	assert_int_equal(hw_vmptrld(r->a_pa), HW_VMX_OK);
	fake_vmcs_set_launched(r->a_pa, true);
	assert_int_equal(hw_vmclear(r->a_pa), HW_VMX_OK);
	assert_false(fake_vmcs_launched(r->a_pa));
	assert_int_equal(fake_cpu(0)->current_vmcs, FAKE_NO_VMCS);
	assert_int_equal(hw_vmwrite(VMCS_GUEST_RIP.enc, 1), HW_VMX_FAIL_INVALID);
	assert_int_equal(hw_vmread(VMCS_GUEST_RIP.enc), 0);
	assert_int_equal(fake_hw.vmread_no_vmcs, 1);
}

static void test_vmclear_and_vmptrld_errors(void **state)
{
	struct regions *r = *state;

	enter_vmx(r);
	assert_int_equal(hw_vmptrld(r->a_pa), HW_VMX_OK);
	assert_int_equal(hw_vmclear(r->b_pa + 0x10), HW_VMX_FAIL_VALID);
	assert_int_equal(vmcs_read32(VMCS_VM_INSTRUCTION_ERROR), VMXERR_VMCLEAR_INVALID_ADDRESS);
	assert_int_equal(hw_vmclear(r->vmxon_pa), HW_VMX_FAIL_VALID);
	assert_int_equal(vmcs_read32(VMCS_VM_INSTRUCTION_ERROR), VMXERR_VMCLEAR_VMXON_POINTER);
	assert_int_equal(hw_vmptrld(r->vmxon_pa), HW_VMX_FAIL_VALID);
	assert_int_equal(vmcs_read32(VMCS_VM_INSTRUCTION_ERROR), VMXERR_VMPTRLD_VMXON_POINTER);
	r->b[0] = revision() ^ 0x10;
	assert_int_equal(hw_vmptrld(r->b_pa), HW_VMX_FAIL_VALID);
	assert_int_equal(vmcs_read32(VMCS_VM_INSTRUCTION_ERROR), VMXERR_VMPTRLD_WRONG_REVISION);
	/* The failed loads left the current VMCS alone. */
	assert_int_equal(fake_cpu(0)->current_vmcs, r->a_pa);
}

static void test_read_only_fields_reject_vmwrite(void **state)
{
	struct regions *r = *state;
	const uint32_t read_only[] = {
	    VMCS_EXIT_REASON.enc,
	    VMCS_EXIT_QUALIFICATION.enc,
	    VMCS_VM_EXIT_INTR_INFO.enc,
	    VMCS_IDT_VECTORING_INFO.enc,
	    VMCS_GUEST_PHYSICAL_ADDRESS.enc,
	    VMCS_VM_EXIT_INSTRUCTION_LEN.enc,
	    VMCS_GUEST_LINEAR_ADDRESS.enc,
	};

	enter_vmx(r);
	assert_int_equal(hw_vmptrld(r->a_pa), HW_VMX_OK);
	for (size_t i = 0; i < sizeof(read_only) / sizeof(read_only[0]); i++) {
		fake_vmcs_set(r->a_pa, read_only[i], 7);
		fake_vmcs_set(r->a_pa, VMCS_VM_INSTRUCTION_ERROR.enc, 0);
		assert_int_equal(hw_vmwrite(read_only[i], 99), HW_VMX_FAIL_VALID);
		assert_int_equal(vmcs_read32(VMCS_VM_INSTRUCTION_ERROR),
		                 VMXERR_VMWRITE_READ_ONLY_COMPONENT);
		assert_int_equal(hw_vmread(read_only[i]), 7);
	}
	/* A writable field next to them still works. */
	assert_int_equal(hw_vmwrite(VMCS_VM_ENTRY_INTR_INFO.enc, 0x80000202), HW_VMX_OK);

	/* IA32_VMX_MISC bit 29: VMWRITE may write VM-exit information fields. */
	fake_msr_set(MSR_IA32_VMX_MISC,
	             fake_msr_get(MSR_IA32_VMX_MISC) | VMX_MISC_VMWRITE_ANY_FIELD);
	assert_int_equal(hw_vmwrite(VMCS_EXIT_REASON.enc, VMX_EXIT_CPUID), HW_VMX_OK);
	assert_int_equal(vmcs_read32(VMCS_EXIT_REASON), VMX_EXIT_CPUID);
}

static void test_field_width_and_high_access(void **state)
{
	struct regions *r = *state;

	enter_vmx(r);
	assert_int_equal(hw_vmptrld(r->a_pa), HW_VMX_OK);
	/* A 16-bit field keeps 16 bits, a 32-bit field 32. */
	assert_int_equal(hw_vmwrite(VMCS_GUEST_CS_SELECTOR.enc, 0x12345), HW_VMX_OK);
	assert_int_equal(vmcs_read16(VMCS_GUEST_CS_SELECTOR), 0x2345);
	assert_int_equal(hw_vmwrite(VMCS_GUEST_CS_LIMIT.enc, 0x1ffffffffull), HW_VMX_OK);
	assert_int_equal(hw_vmread(VMCS_GUEST_CS_LIMIT.enc), 0xffffffffu);
	/* The "high" encoding of a 64-bit field is its upper half. */
	assert_int_equal(hw_vmwrite(VMCS_EPT_POINTER.enc, 0x1111222233334444ull), HW_VMX_OK);
	assert_int_equal(hw_vmread(VMCS_EPT_POINTER.enc | 1), 0x11112222u);
	assert_int_equal(hw_vmwrite(VMCS_EPT_POINTER.enc | 1, 0xabcd), HW_VMX_OK);
	assert_int_equal(vmcs_read64(VMCS_EPT_POINTER), 0x0000abcd33334444ull);
	/* Bit 0 set on a 32-bit field is not a field. */
	assert_int_equal(hw_vmwrite(VMCS_GUEST_CS_LIMIT.enc | 1, 1), HW_VMX_FAIL_VALID);
	assert_int_equal(vmcs_read32(VMCS_VM_INSTRUCTION_ERROR), VMXERR_UNSUPPORTED_VMCS_COMPONENT);
}

static void test_exit_simulated_with_fake_vmcs_set(void **state)
{
	struct regions *r = *state;

	enter_vmx(r);
	assert_int_equal(hw_vmptrld(r->a_pa), HW_VMX_OK);
	/* A test plays the processor: it fills the exit fields, the code reads them. */
	fake_vmcs_cur_set(VMCS_EXIT_REASON.enc, VMX_EXIT_EPT_VIOLATION);
	fake_vmcs_cur_set(VMCS_GUEST_PHYSICAL_ADDRESS.enc, 0xfee00300);
	fake_vmcs_cur_set(VMCS_EXIT_QUALIFICATION.enc, EPTQUAL_WRITE);
	assert_int_equal(vmcs_read32(VMCS_EXIT_REASON), VMX_EXIT_EPT_VIOLATION);
	assert_int_equal(vmcs_read64(VMCS_GUEST_PHYSICAL_ADDRESS), 0xfee00300);
	assert_int_equal(vmcs_readnat(VMCS_EXIT_QUALIFICATION), EPTQUAL_WRITE);
	assert_int_equal(fake_vmcs_cur_get(VMCS_EXIT_REASON.enc), VMX_EXIT_EPT_VIOLATION);
}

static void test_current_vmcs_is_per_cpu(void **state)
{
	struct regions *r = *state;
	uint32_t *vmxon1 = region(revision());

	enter_vmx(r);
	assert_int_equal(hw_vmptrld(r->a_pa), HW_VMX_OK);
	assert_int_equal(hw_vmwrite(VMCS_VPID.enc, 1), HW_VMX_OK);

	fake_set_cpu(1);
	assert_int_equal(hw_vmptrld(r->b_pa), HW_VMX_FAIL_INVALID); /* CPU 1 not in VMX yet */
	hw_write_cr4(hw_read_cr4() | CR4_VMXE);
	assert_int_equal(hw_vmxon(hw_ptr_phys(vmxon1)), HW_VMX_OK);
	assert_int_equal(hw_vmptrld(r->b_pa), HW_VMX_OK);
	assert_int_equal(hw_vmwrite(VMCS_VPID.enc, 2), HW_VMX_OK);

	fake_set_cpu(0);
	assert_int_equal(vmcs_read16(VMCS_VPID), 1);
	fake_set_cpu(1);
	assert_int_equal(vmcs_read16(VMCS_VPID), 2);
	assert_int_equal(hw_vmxoff(), HW_VMX_OK);
	assert_false(fake_cpu(1)->vmx_on);
	assert_true(fake_cpu(0)->vmx_on);
	fake_set_cpu(0);
	free(vmxon1);
}

static void test_scripted_failure(void **state)
{
	struct regions *r = *state;

	enter_vmx(r);
	assert_int_equal(hw_vmptrld(r->a_pa), HW_VMX_OK);
	fake_vmx_script_result(FAKE_OP_VMPTRLD, HW_VMX_FAIL_VALID, VMXERR_VMPTRLD_WRONG_REVISION);
	assert_int_equal(hw_vmptrld(r->b_pa), HW_VMX_FAIL_VALID);
	assert_int_equal(vmcs_read32(VMCS_VM_INSTRUCTION_ERROR), VMXERR_VMPTRLD_WRONG_REVISION);
	assert_int_equal(fake_cpu(0)->current_vmcs, r->a_pa);
	fake_vmx_script_result(FAKE_OP_VMPTRLD, HW_VMX_OK, 0);
	assert_int_equal(hw_vmptrld(r->b_pa), HW_VMX_OK);
	assert_int_equal(fake_hw.vmx_calls[FAKE_OP_VMPTRLD], 3);

	fake_vmx_script_result(FAKE_OP_VMWRITE, HW_VMX_FAIL_INVALID, 0);
	assert_int_equal(hw_vmwrite(VMCS_GUEST_RIP.enc, 5), HW_VMX_FAIL_INVALID);
	assert_false(fake_vmcs_written(r->b_pa, VMCS_GUEST_RIP.enc));
}

static void test_invept_invvpid(void **state)
{
	struct regions *r = *state;

	enter_vmx(r);
	assert_int_equal(hw_vmptrld(r->a_pa), HW_VMX_OK);
	assert_int_equal(hw_invept(INVEPT_SINGLE_CONTEXT, 0x5000 | EPTP_WALK_LENGTH_4), HW_VMX_OK);
	assert_int_equal(fake_hw.invept_count, 1);
	assert_int_equal(fake_hw.last_invept_eptp, 0x5000 | EPTP_WALK_LENGTH_4);
	assert_int_equal(hw_invept(3, 0), HW_VMX_FAIL_VALID);
	assert_int_equal(vmcs_read32(VMCS_VM_INSTRUCTION_ERROR),
	                 VMXERR_INVALID_INVEPT_INVVPID_OPERAND);
	/* Without the capability bit, all-context INVEPT is an invalid operand. */
	fake_msr_set(MSR_IA32_VMX_EPT_VPID_CAP,
	             fake_msr_get(MSR_IA32_VMX_EPT_VPID_CAP) & ~VMX_EPT_CAP_INVEPT_ALL);
	assert_int_equal(hw_invept(INVEPT_ALL_CONTEXT, 0), HW_VMX_FAIL_VALID);

	assert_int_equal(hw_invvpid(INVVPID_SINGLE_CONTEXT, 3, 0), HW_VMX_OK);
	assert_int_equal(fake_hw.last_invvpid_vpid, 3);
	assert_int_equal(hw_invvpid(INVVPID_SINGLE_CONTEXT, 0, 0), HW_VMX_FAIL_VALID);
	assert_int_equal(hw_invvpid(INVVPID_ALL_CONTEXT, 0, 0), HW_VMX_OK);
	assert_int_equal(fake_hw.invvpid_count, 3);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_vmxon_needs_cr4_vmxe, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_vmxon_needs_feature_control_and_fixed_bits, setup,
	                                    teardown),
	    cmocka_unit_test_setup_teardown(test_vmxon_checks_region, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_vmxon_twice, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_vmx_instructions_outside_vmx_fault, setup,
	                                    teardown),
	    cmocka_unit_test_setup_teardown(test_unwritten_field_reads_zero, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_regions_are_independent, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_vmclear_of_current_vmcs_unloads_it, setup,
	                                    teardown),
	    cmocka_unit_test_setup_teardown(test_vmclear_and_vmptrld_errors, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_read_only_fields_reject_vmwrite, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_field_width_and_high_access, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_exit_simulated_with_fake_vmcs_set, setup,
	                                    teardown),
	    cmocka_unit_test_setup_teardown(test_current_vmcs_is_per_cpu, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_scripted_failure, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_invept_invvpid, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
