/* libvmx exit handlers, instructions the guest may not run as on bare metal:
 * VMCALL (to the app, else #UD), VMX instructions (#UD), INVD (WBINVD). */
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

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_vmcall_to_app_or_ud),
	    cmocka_unit_test(test_vmx_instructions_ud),
	    cmocka_unit_test(test_invd_writes_back),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
