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

	assert_int_equal(vmcs_write16(VMCS_GUEST_TR_SELECTOR, 0x28), HW_VMX_OK);
	assert_int_equal(vmcs_write32(VMCS_PRIMARY_PROC_CONTROLS, PROC_ACTIVATE_SECONDARY),
	                 HW_VMX_OK);
	assert_int_equal(vmcs_write64(VMCS_VMCS_LINK_POINTER, UINT64_MAX), HW_VMX_OK);
	assert_int_equal(vmcs_writenat(VMCS_HOST_RSP, 0xc0ffee), HW_VMX_OK);
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

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_exit_reason_names),
	    cmocka_unit_test(test_every_used_reason_has_a_distinct_name),
	    cmocka_unit_test(test_interruption_info_helpers),
	    cmocka_unit_test(test_encoding_decoders),
	    cmocka_unit_test(test_typed_accessors_reach_their_encodings),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
