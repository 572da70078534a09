/* The exit helpers of vmx_exit_util.h. */
#include "tests/unit/vmx/vmx_exit_util.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "libvmx/vmx.h"

uint64_t rip(void)
{
	return vmcs_get(VMCS_GUEST_RIP.enc);
}

uint32_t injected(void)
{
	return (uint32_t)vmcs_get(VMCS_VM_ENTRY_INTR_INFO.enc);
}

/* An instruction exit of `len` bytes at guest RIP 0x1000. */
void instr_exit(struct vcpu *v, uint32_t reason, uint64_t qual, uint32_t len)
{
	struct exit_fields f = {.reason = reason, .qualification = qual, .instruction_len = len};
	vmcs_set(VMCS_GUEST_RIP.enc, 0x1000);
	env_exit(v, &f);
}

void assert_gp0_injected(void)
{
	assert_int_equal(injected(),
	                 INTR_INFO(X86_VEC_GP, INTR_TYPE_HW_EXCEPTION) | INTR_INFO_DELIVER_CODE);
	assert_int_equal(vmcs_get(VMCS_VM_ENTRY_EXCEPTION_ERROR_CODE.enc), 0);
	assert_int_equal(rip(), 0x1000); /* a fault: the instruction did not complete */
	/* ... and the guest's handler sees RF = 1 in the pushed EFLAGS, as from hardware. */
	assert_true(vmcs_get(VMCS_GUEST_RFLAGS.enc) & RFLAGS_RF);
}
