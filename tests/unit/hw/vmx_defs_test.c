/* hw/vmx_defs: exit-reason names, event-information helpers, and the typed
 * VMCS accessors of hw/hw.h (each reaches the encoding its constant names). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "hw/fake/fake_hw.h"

static void test_exit_reason_names(void **state)
{
	assert_string_equal(vmx_exit_reason_name(VMX_EXIT_EXCEPTION_NMI), "exception or NMI");
	assert_string_equal(vmx_exit_reason_name(VMX_EXIT_NMI_WINDOW), "NMI window");
	assert_string_equal(vmx_exit_reason_name(VMX_EXIT_EPT_VIOLATION), "EPT violation");
	assert_string_equal(vmx_exit_reason_name(VMX_EXIT_XRSTORS), "XRSTORS");
	/* Only bits 15:0 are the basic reason: an entry failure still has a name. */
	assert_string_equal(
	    vmx_exit_reason_name(VMX_EXIT_REASON_ENTRY_FAILURE | VMX_EXIT_INVALID_GUEST_STATE),
	    "VM-entry failure: invalid guest state");
	/* Unused numbers and numbers past the table. */
	assert_string_equal(vmx_exit_reason_name(35), "unknown");
	assert_string_equal(vmx_exit_reason_name(38), "unknown");
	assert_string_equal(vmx_exit_reason_name(42), "unknown");
	assert_string_equal(vmx_exit_reason_name(VMX_EXIT_REASON_COUNT), "unknown");
	assert_string_equal(vmx_exit_reason_name(0xffff), "unknown");
}

static void test_every_used_reason_has_a_distinct_name(void **state)
{
	for (uint32_t a = 0; a < VMX_EXIT_REASON_COUNT; a++) {
		const char *na = vmx_exit_reason_name(a);
		if (a == 35 || a == 38 || a == 42)
			continue;
		assert_string_not_equal(na, "unknown");
		for (uint32_t b = a + 1; b < VMX_EXIT_REASON_COUNT; b++)
			if (b != 35 && b != 38 && b != 42)
				assert_string_not_equal(na, vmx_exit_reason_name(b));
	}
}

static void test_interruption_info_helpers(void **state)
{
	uint32_t nmi = INTR_INFO(X86_VEC_NMI, INTR_TYPE_NMI);
	uint32_t gp = INTR_INFO(X86_VEC_GP, INTR_TYPE_HW_EXCEPTION) | INTR_INFO_DELIVER_CODE;

	assert_int_equal(nmi, 0x80000202u); /* SDM Vol. 3C 25.8.3: valid, type 2, vector 2 */
	assert_int_equal(INTR_INFO_TYPE(gp), INTR_TYPE_HW_EXCEPTION);
	assert_int_equal(INTR_INFO_VECTOR(gp), 13);
	assert_true(gp & INTR_INFO_VALID);
	assert_int_equal(IOQUAL_PORT(0x03f80008u), 0x3f8);
	assert_int_equal(IOQUAL_SIZE(0x03f80008u), 1);
	assert_true(0x03f80008u & IOQUAL_IN);
	assert_int_equal(CRQUAL_CR(0x304), 4);
	assert_int_equal(CRQUAL_GPR(0x304), 3);
	assert_int_equal(CRQUAL_ACCESS(0x304), CRQUAL_ACCESS_MOV_TO);
}

static void test_encoding_decoders(void **state)
{
	assert_int_equal(VMCS_ENC_WIDTH(VMCS_GUEST_RIP.enc), VMCS_WIDTH_NAT);
	assert_int_equal(VMCS_ENC_TYPE(VMCS_GUEST_RIP.enc), VMCS_TYPE_GUEST_STATE);
	assert_int_equal(VMCS_ENC_WIDTH(VMCS_EPT_POINTER.enc), VMCS_WIDTH_64);
	assert_int_equal(VMCS_ENC_TYPE(VMCS_EXIT_REASON.enc), VMCS_TYPE_EXIT_INFO);
	assert_int_equal(VMCS_ENC_TYPE(VMCS_HOST_RIP.enc), VMCS_TYPE_HOST_STATE);
	assert_int_equal(VMCS_ENC_WIDTH(VMCS_VPID.enc), VMCS_WIDTH_16);
	assert_int_equal(VMCS_ENC_WIDTH(VMCS_PIN_BASED_CONTROLS.enc), VMCS_WIDTH_32);
}

/* Each typed accessor reaches the raw encoding of its constant. */
static void test_typed_accessors_reach_their_encodings(void **state)
{
	fake_hw_reset();
	uint32_t *vmxon = aligned_alloc(4096, 4096), *vmcs = aligned_alloc(4096, 4096);
	uint32_t rev = (uint32_t)(fake_msr_get(MSR_IA32_VMX_BASIC) & VMX_BASIC_REVISION_MASK);
	uint64_t pa = hw_ptr_phys(vmcs);

	vmxon[0] = vmcs[0] = rev;
	hw_write_cr4(hw_read_cr4() | CR4_VMXE);
	assert_int_equal(hw_vmxon(hw_ptr_phys(vmxon)), HW_VMX_OK);
	assert_int_equal(hw_vmptrld(pa), HW_VMX_OK);

	vmcs_write16(VMCS_GUEST_TR_SELECTOR, 0x28);
	vmcs_write32(VMCS_PRIMARY_PROC_CONTROLS, PROC_ACTIVATE_SECONDARY);
	vmcs_write64(VMCS_VMCS_LINK_POINTER, UINT64_MAX);
	vmcs_writenat(VMCS_HOST_RSP, 0xc0ffee);
	assert_int_equal(fake_vmcs_get(pa, 0x080E), 0x28);
	assert_int_equal(fake_vmcs_get(pa, 0x4002), PROC_ACTIVATE_SECONDARY);
	assert_int_equal(fake_vmcs_get(pa, 0x2800), UINT64_MAX);
	assert_int_equal(fake_vmcs_get(pa, 0x6C14), 0xc0ffee);
	assert_int_equal(vmcs_read16(VMCS_GUEST_TR_SELECTOR), 0x28);
	assert_int_equal(vmcs_read32(VMCS_PRIMARY_PROC_CONTROLS), PROC_ACTIVATE_SECONDARY);
	assert_int_equal(vmcs_read64(VMCS_VMCS_LINK_POINTER), UINT64_MAX);
	assert_int_equal(vmcs_readnat(VMCS_HOST_RSP), 0xc0ffee);
	assert_int_equal(fake_hw.vmwrites, 4);
	assert_int_equal(fake_hw.vmreads, 4);
	free(vmxon);
	free(vmcs);
}

/* What the failure handler saw; it jumps back to the test (it must not return). */
static struct {
	jmp_buf back;
	const char *insn;
	uint32_t encoding;
	uint64_t value;
	enum hw_vmx_result result;
	int calls;
} failed;

static void record_failure(const char *insn, uint32_t encoding, uint64_t value,
                           enum hw_vmx_result result)
{
	failed.insn = insn;
	failed.encoding = encoding;
	failed.value = value;
	failed.result = result;
	failed.calls++;
	longjmp(failed.back, 1);
}

/* A failed VMWRITE or VMREAD reaches the one handler, with what failed: no caller
 * of the typed accessors can carry on past it. */
static void test_failed_accessors_reach_the_handler(void **state)
{
	(void)state;
	fake_hw_reset();
	uint32_t *vmxon = aligned_alloc(4096, 4096), *vmcs = aligned_alloc(4096, 4096);
	uint32_t rev = (uint32_t)(fake_msr_get(MSR_IA32_VMX_BASIC) & VMX_BASIC_REVISION_MASK);
	volatile int reached = 0;

	memset(&failed, 0, sizeof(failed));
	hw_vmx_set_failure_handler(record_failure);
	vmxon[0] = vmcs[0] = rev;
	hw_write_cr4(hw_read_cr4() | CR4_VMXE);
	assert_int_equal(hw_vmxon(hw_ptr_phys(vmxon)), HW_VMX_OK);

	/* No current VMCS yet: VMfailInvalid. */
	if (setjmp(failed.back) == 0) {
		(void)vmcs_read32(VMCS_EXIT_REASON);
		reached = 1;
	}
	assert_int_equal(reached, 0);
	assert_int_equal(failed.calls, 1);
	assert_string_equal(failed.insn, "VMREAD");
	assert_int_equal(failed.encoding, VMCS_EXIT_REASON.enc);
	assert_int_equal(failed.result, HW_VMX_FAIL_INVALID);

	/* A VMWRITE the CPU refuses (scripted VMfailValid, error 7). */
	assert_int_equal(hw_vmptrld(hw_ptr_phys(vmcs)), HW_VMX_OK);
	fake_vmx_script_result(FAKE_OP_VMWRITE, HW_VMX_FAIL_VALID, 7);
	if (setjmp(failed.back) == 0) {
		vmcs_write32(VMCS_PIN_BASED_CONTROLS, 0x1234);
		reached = 1;
	}
	assert_int_equal(reached, 0);
	assert_int_equal(failed.calls, 2);
	assert_string_equal(failed.insn, "VMWRITE");
	assert_int_equal(failed.encoding, VMCS_PIN_BASED_CONTROLS.enc);
	assert_int_equal(failed.value, 0x1234);
	assert_int_equal(failed.result, HW_VMX_FAIL_VALID);
	assert_int_equal(hw_vmread(VMCS_VM_INSTRUCTION_ERROR.enc), 7);

	/* Successful accesses never call it. */
	fake_vmx_script_result(FAKE_OP_VMWRITE, HW_VMX_OK, 0);
	vmcs_write32(VMCS_PIN_BASED_CONTROLS, 0x16);
	assert_int_equal(vmcs_read32(VMCS_PIN_BASED_CONTROLS), 0x16);
	assert_int_equal(failed.calls, 2);
	hw_vmx_set_failure_handler(NULL);
	free(vmxon);
	free(vmcs);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_exit_reason_names),
	    cmocka_unit_test(test_every_used_reason_has_a_distinct_name),
	    cmocka_unit_test(test_interruption_info_helpers),
	    cmocka_unit_test(test_encoding_decoders),
	    cmocka_unit_test(test_typed_accessors_reach_their_encodings),
	    cmocka_unit_test(test_failed_accessors_reach_the_handler),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
