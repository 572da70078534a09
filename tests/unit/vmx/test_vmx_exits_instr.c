/* libvmx exit handlers, instructions the guest may not run as on bare metal:
 * VMCALL (to the app, else #UD), VMX instructions (#UD), INVD (WBINVD), MOV DR
 * (to the app, else executed against the guest's debug registers). */
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

static int hypercalls;
static bool app_hypercall(struct vcpu *v)
{
	hypercalls++;
	v->gpr[GPR_RAX] = 42;
	return v->gpr[GPR_RBX] == 1;
}

static void test_vmcall_to_app_or_ud(void **state)
{
	struct vcpu *v = env_guest(1, NULL);

	instr_exit(v, VMX_EXIT_VMCALL, 0, 3);
	assert_int_equal(injected(), INTR_INFO(X86_VEC_UD, INTR_TYPE_HW_EXCEPTION));
	assert_int_equal(rip(), 0x1000);

	static const struct hv_app app = {.name = "t", .hypercall = app_hypercall};
	vmx_set_app(&app);
	hypercalls = 0;
	v->gpr[GPR_RBX] = 1;
	instr_exit(v, VMX_EXIT_VMCALL, 0, 3);
	assert_int_equal(hypercalls, 1);
	assert_int_equal(v->gpr[GPR_RAX], 42);
	assert_int_equal(rip(), 0x1003);
	assert_int_equal(injected() & INTR_INFO_VALID, 0);

	v->gpr[GPR_RBX] = 2; /* the app declines: #UD */
	instr_exit(v, VMX_EXIT_VMCALL, 0, 3);
	assert_int_equal(injected(), INTR_INFO(X86_VEC_UD, INTR_TYPE_HW_EXCEPTION));
}

static void test_vmx_instructions_ud(void **state)
{
	struct vcpu *v = env_guest(1, NULL);

	vmcs_set(VMCS_GUEST_RFLAGS.enc, 0x2);
	instr_exit(v, VMX_EXIT_VMXON, 0, 4);
	assert_int_equal(injected(), INTR_INFO(X86_VEC_UD, INTR_TYPE_HW_EXCEPTION));
	/* #UD is a fault: the pushed EFLAGS has RF = 1 (SDM Vol. 3A 17.3.1.1). */
	assert_int_equal(vmcs_get(VMCS_GUEST_RFLAGS.enc), 0x2 | RFLAGS_RF);
	instr_exit(v, VMX_EXIT_INVEPT, 0, 5);
	assert_int_equal(injected(), INTR_INFO(X86_VEC_UD, INTR_TYPE_HW_EXCEPTION));
}

static void test_invd_writes_back(void **state)
{
	struct vcpu *v = env_guest(1, NULL);
	uint64_t before = fake_cpu(0)->wbinvds;

	instr_exit(v, VMX_EXIT_INVD, 0, 2);
	assert_int_equal(fake_cpu(0)->wbinvds, before + 1);
	assert_int_equal(rip(), 0x1002);
}

/* MOV DR qualification (SDM Vol. 3C 28.2.1 Table 28-4). */
#define MOVDR(dr, from, gpr) ((uint64_t)(dr) | ((from) ? 1u << 4 : 0) | (uint64_t)(gpr) << 8)

static bool app_mov_dr(struct vcpu *v)
{
	(void)v;
	hypercalls++;
	return true;
}

static void test_mov_dr_executed_or_to_app(void **state)
{
	struct vcpu *v = env_guest(1, NULL);
	struct fake_cpu *c = fake_cpu(0);

	/* 64-bit guest: MOV RAX, DR1; MOV DR7, RBX (DR7 lives in the VMCS). */
	env_protected_mode();
	fake_vmcs_cur_set(VMCS_GUEST_IA32_EFER.enc, EFER_LMA | EFER_LME);
	fake_vmcs_cur_set(VMCS_GUEST_CS_ACCESS_RIGHTS.enc, 0x209b);
	c->dr[1] = 0xffff800000001234ull;
	instr_exit(v, VMX_EXIT_MOV_DR, MOVDR(1, true, GPR_RAX), 3);
	assert_int_equal(v->gpr[GPR_RAX], 0xffff800000001234ull);
	assert_int_equal(rip(), 0x1003);
	v->gpr[GPR_RBX] = 0x401;
	instr_exit(v, VMX_EXIT_MOV_DR, MOVDR(7, false, GPR_RBX), 3);
	assert_int_equal(fake_vmcs_cur_get(VMCS_GUEST_DR7.enc), 0x401);
	/* MOV DR6, R9 with bits 63:32 set: #GP(0), DR6 unchanged. */
	v->gpr[GPR_R9] = 1ull << 32;
	instr_exit(v, VMX_EXIT_MOV_DR, MOVDR(6, false, GPR_R9), 3);
	assert_gp0_injected();
	assert_int_equal(c->dr[6], 0xffff0ff0u);

	/* Outside 64-bit mode: 32-bit operands; DR4 is DR6 (CR4.DE = 0). */
	fake_vmcs_cur_set(VMCS_GUEST_IA32_EFER.enc, 0);
	fake_vmcs_cur_set(VMCS_GUEST_CS_ACCESS_RIGHTS.enc, 0xc09b);
	v->gpr[GPR_RDX] = 0xabcd00000000ffffull;
	instr_exit(v, VMX_EXIT_MOV_DR, MOVDR(4, false, GPR_RDX), 3);
	assert_int_equal(c->dr[6], 0xffff);
	instr_exit(v, VMX_EXIT_MOV_DR, MOVDR(1, true, GPR_RSI), 3);
	assert_int_equal(v->gpr[GPR_RSI], 0x1234);

	/* An app that asks for the exit decides instead. */
	static const struct hv_app app = {.name = "t", .mov_dr = app_mov_dr};
	vmx_set_app(&app);
	hypercalls = 0;
	instr_exit(v, VMX_EXIT_MOV_DR, MOVDR(0, false, GPR_RDX), 3);
	assert_int_equal(hypercalls, 1);
	assert_int_equal(c->dr[0], 0);
	assert_int_equal(rip(), 0x1000);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_vmcall_to_app_or_ud),
	    cmocka_unit_test(test_vmx_instructions_ud),
	    cmocka_unit_test(test_invd_writes_back),
	    cmocka_unit_test(test_mov_dr_executed_or_to_app),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
