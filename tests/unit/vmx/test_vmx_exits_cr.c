/* libvmx exit handlers, control registers and XCR0: MOV to/from CRn (fixed
 * bits, read shadows, long-mode switches) and XSETBV checked as hardware does. */
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

/* MOV CRn, reg: qualification (SDM 28.2.1 Table 28-3). */
static uint64_t mov_to_cr(unsigned cr, unsigned gpr)
{
	return cr | (CRQUAL_ACCESS_MOV_TO << 4) | (gpr << 8);
}

static void test_cr0_write_keeps_fixed_bits_and_updates_shadow(void **state)
{
	struct vcpu *v = env_guest(1, NULL);

	/* Real mode -> protected mode with NE: the shadow takes the value as written. */
	v->gpr[GPR_RBX] = CR0_PE | CR0_NE | CR0_ET;
	instr_exit(v, VMX_EXIT_CR_ACCESS, mov_to_cr(0, GPR_RBX), 3);
	assert_int_equal(vmcs_get(VMCS_CR0_READ_SHADOW.enc), CR0_PE | CR0_NE | CR0_ET);
	assert_int_equal(vmcs_get(VMCS_GUEST_CR0.enc) & (CR0_PE | CR0_NE), CR0_PE | CR0_NE);
	assert_int_equal(rip(), 0x1003);

	/* Clearing NE: the guest sees it clear, the CPU keeps it (fixed to 1). */
	v->gpr[GPR_RBX] = CR0_PE | CR0_ET;
	instr_exit(v, VMX_EXIT_CR_ACCESS, mov_to_cr(0, GPR_RBX), 3);
	assert_int_equal(vmcs_get(VMCS_CR0_READ_SHADOW.enc), CR0_PE | CR0_ET);
	assert_true(vmcs_get(VMCS_GUEST_CR0.enc) & CR0_NE);

	/* PG without PE: #GP, nothing changes. */
	v->gpr[GPR_RBX] = CR0_PG | CR0_NE;
	instr_exit(v, VMX_EXIT_CR_ACCESS, mov_to_cr(0, GPR_RBX), 3);
	assert_gp0_injected();
	assert_int_equal(vmcs_get(VMCS_CR0_READ_SHADOW.enc), CR0_PE | CR0_ET);
}

static void test_cr0_paging_with_lme_enters_long_mode(void **state)
{
	struct vcpu *v = env_guest(1, NULL);

	vmcs_set(VMCS_GUEST_IA32_EFER.enc, EFER_LME);
	vmcs_set(VMCS_GUEST_CR4.enc, vmcs_get(VMCS_GUEST_CR4.enc) | CR4_PAE);
	vmcs_set(VMCS_CR4_READ_SHADOW.enc, CR4_PAE);
	uint64_t flushes = fake_hw.invvpid_count;
	v->gpr[GPR_RAX] = CR0_PG | CR0_PE | CR0_NE | CR0_ET;
	instr_exit(v, VMX_EXIT_CR_ACCESS, mov_to_cr(0, GPR_RAX), 3);
	assert_true(vmcs_get(VMCS_GUEST_IA32_EFER.enc) & EFER_LMA);
	assert_true(vmcs_get(VMCS_ENTRY_CONTROLS.enc) & ENTRY_IA32E_MODE_GUEST);
	assert_true(vmcs_get(VMCS_GUEST_CR0.enc) & CR0_PG);
	assert_int_equal(fake_hw.invvpid_count, flushes + 1);
	assert_int_equal(fake_hw.last_invvpid_vpid, v->vpid);

	/* And out again when paging goes off. */
	v->gpr[GPR_RAX] = CR0_PE | CR0_NE | CR0_ET;
	instr_exit(v, VMX_EXIT_CR_ACCESS, mov_to_cr(0, GPR_RAX), 3);
	assert_false(vmcs_get(VMCS_GUEST_IA32_EFER.enc) & EFER_LMA);
	assert_false(vmcs_get(VMCS_ENTRY_CONTROLS.enc) & ENTRY_IA32E_MODE_GUEST);
}

static void test_cr4_write_keeps_vmxe_hidden(void **state)
{
	struct vcpu *v = env_guest(1, NULL);

	v->gpr[GPR_R9] = CR4_PAE | CR4_PGE;
	instr_exit(v, VMX_EXIT_CR_ACCESS, mov_to_cr(4, GPR_R9), 3);
	assert_int_equal(vmcs_get(VMCS_CR4_READ_SHADOW.enc), CR4_PAE | CR4_PGE);
	assert_int_equal(vmcs_get(VMCS_GUEST_CR4.enc), CR4_PAE | CR4_PGE | CR4_VMXE);
	assert_int_equal(rip(), 0x1003);

	/* The guest may not set VMXE (it has no VMX). */
	env_protected_mode();
	v->gpr[GPR_R9] = CR4_PAE | CR4_VMXE;
	instr_exit(v, VMX_EXIT_CR_ACCESS, mov_to_cr(4, GPR_R9), 3);
	assert_gp0_injected();
	assert_int_equal(vmcs_get(VMCS_CR4_READ_SHADOW.enc), CR4_PAE | CR4_PGE);
}

static void test_mov_from_cr3_via_rsp(void **state)
{
	struct vcpu *v = env_guest(1, NULL);

	/* Register 4 is RSP, which lives in the VMCS. */
	vmcs_set(VMCS_GUEST_CR3.enc, 0x9000);
	instr_exit(v, VMX_EXIT_CR_ACCESS, 3 | (CRQUAL_ACCESS_MOV_FROM << 4) | (GPR_RSP << 8), 3);
	assert_int_equal(vmcs_get(VMCS_GUEST_RSP.enc), 0x9000);
}

static void test_xsetbv_validates_like_hardware(void **state)
{
	struct vcpu *v = env_guest(1, NULL);
	struct hw_cpuid_regs d = {XCR0_X87 | XCR0_SSE | XCR0_AVX, 0, 0, 0};
	fake_cpuid_set(0xd, 0, &d);
	env_protected_mode();

	const uint64_t bad[] = {0, XCR0_SSE, XCR0_X87 | XCR0_AVX, XCR0_X87 | (1ull << 9)};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		v->gpr[GPR_RCX] = 0;
		v->gpr[GPR_RAX] = (uint32_t)bad[i];
		v->gpr[GPR_RDX] = bad[i] >> 32;
		instr_exit(v, VMX_EXIT_XSETBV, 0, 3);
		assert_gp0_injected();
		assert_int_equal(fake_cpu(0)->xcr0, XCR0_X87);
	}
	/* XCR1+ are not writable. */
	v->gpr[GPR_RCX] = 1;
	v->gpr[GPR_RAX] = XCR0_X87;
	instr_exit(v, VMX_EXIT_XSETBV, 0, 3);
	assert_gp0_injected();

	v->gpr[GPR_RCX] = 0;
	v->gpr[GPR_RAX] = XCR0_X87 | XCR0_SSE | XCR0_AVX;
	v->gpr[GPR_RDX] = 0;
	instr_exit(v, VMX_EXIT_XSETBV, 0, 3);
	assert_int_equal(fake_cpu(0)->xcr0, XCR0_X87 | XCR0_SSE | XCR0_AVX);
	assert_int_equal(rip(), 0x1003);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_cr0_write_keeps_fixed_bits_and_updates_shadow),
	    cmocka_unit_test(test_cr0_paging_with_lme_enters_long_mode),
	    cmocka_unit_test(test_cr4_write_keeps_vmxe_hidden),
	    cmocka_unit_test(test_mov_from_cr3_via_rsp),
	    cmocka_unit_test(test_xsetbv_validates_like_hardware),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
