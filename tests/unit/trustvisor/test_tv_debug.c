/*
 * The PAL runs with clean debug and trace state (its view's clean_debug,
 * libvmx/view_debug.c), attacked as a
 * malicious OS would: a hardware breakpoint on the PAL's entry (DR0 + DR7.L0),
 * LBR and branch single-step on (IA32_DEBUGCTL), a pending single-step trap,
 * DR6 status bits, performance counters on (IA32_PERF_GLOBAL_CTRL: PEBS
 * records hold the general registers) and FS/GS bases of its choosing. Inside
 * the PAL every one of them is clean; after every way out (return, fault,
 * timeout) the OS's values are back. A ring-0 PAL's MOV DR exits and ends the
 * call as a fault, and outside PALs libvmx executes it as the CPU would.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "apps/trustvisor/tv_internal.h"
#include "hw/hw.h"
#include "libvmx/vmx.h"
#include "tests/unit/trustvisor/fake_platform.h"
#include "tests/unit/trustvisor/tv_env.h"
#include "tests/unit/trustvisor/tv_proc.h"

#define OS_DR7      0x00000000000f0403ull /* L0/G0, DR0 execute breakpoint, 4 bytes */
#define OS_DEBUGCTL 0x3ull                /* LBR | BTF */
#define OS_PENDING  0x4000ull             /* BS: a single-step trap pending */
#define OS_DR6      0xffff4ff1ull         /* BS and B0 set */
#define OS_FS_BASE  (PARAMS_GVA + 0x100)  /* %fs:x lands in the PAL's params */
#define OS_GS_BASE  (DATA_GVA + 0x80)
#define OS_KGS_BASE 0xffff888000001000ull
#define OS_PERF     0x70000000full /* fixed counters 0-2, PMC 0-3 */
#define PERFMON_V4  4u

/* The OS arms everything it can before calling the PAL. */
static int setup_armed(void **state)
{
	setup(state);
	assert_int_equal(register_desc(&good_desc), TV_OK);
	struct fake_cpu *c = fake_cpu(0);
	c->dr[0] = ENTRY;
	c->dr[1] = STACK_GVA;
	c->dr[2] = DATA_GVA;
	c->dr[3] = PARAMS_GVA;
	c->dr[6] = OS_DR6;
	vmcs_set(VMCS_GUEST_DR7.enc, OS_DR7);
	vmcs_set(VMCS_GUEST_IA32_DEBUGCTL.enc, OS_DEBUGCTL);
	vmcs_set(VMCS_GUEST_PENDING_DBG_EXCEPTIONS.enc, OS_PENDING);
	vmcs_set(VMCS_GUEST_FS_BASE.enc, OS_FS_BASE);
	vmcs_set(VMCS_GUEST_GS_BASE.enc, OS_GS_BASE);
	fake_msr_set(MSR_IA32_KERNEL_GS_BASE, OS_KGS_BASE);
	/* Architectural performance monitoring version 4 (CPUID leaf 0AH). */
	struct hw_cpuid_regs l0, la = {PERFMON_V4 | (4u << 8), 0, 0, 3};
	hw_cpuid(0, 0, &l0);
	l0.eax = 0xd;
	fake_cpuid_set(0, 0, &l0);
	fake_cpuid_set(0xa, 0, &la);
	fake_msr_set(MSR_IA32_PERF_GLOBAL_CTRL, OS_PERF);
	return 0;
}

static void assert_clean_in_pal(void)
{
	struct fake_cpu *c = fake_cpu(0);
	assert_non_null(tv_call_of(0)->pal);
	for (unsigned i = 0; i < 4; i++)
		assert_int_equal(c->dr[i], 0);
	assert_int_equal(c->dr[6], 0xffff0ff0u);
	assert_int_equal(vmcs_get(VMCS_GUEST_DR7.enc), 0x400);
	assert_int_equal(vmcs_get(VMCS_GUEST_IA32_DEBUGCTL.enc), 0);
	assert_int_equal(vmcs_get(VMCS_GUEST_PENDING_DBG_EXCEPTIONS.enc), 0);
	assert_int_equal(vmcs_get(VMCS_GUEST_FS_BASE.enc), 0);
	assert_int_equal(vmcs_get(VMCS_GUEST_GS_BASE.enc), 0);
	assert_int_equal(fake_msr_get(MSR_IA32_KERNEL_GS_BASE), 0);
	assert_int_equal(fake_msr_get(MSR_IA32_PERF_GLOBAL_CTRL), 0);
	assert_true(vmcs_get(VMCS_PRIMARY_PROC_CONTROLS.enc) & PROC_MOV_DR_EXITING);
}

/* The PAL sets breakpoints, LBR, bases of its own: none may reach the OS. */
static void pal_dirties(void)
{
	struct fake_cpu *c = fake_cpu(0);
	for (unsigned i = 0; i < 4; i++)
		c->dr[i] = 0x5ec2e7 + i;
	c->dr[6] = 0xffff0ff2u;
	vmcs_set(VMCS_GUEST_DR7.enc, 0x402);
	vmcs_set(VMCS_GUEST_IA32_DEBUGCTL.enc, 1);
	vmcs_set(VMCS_GUEST_FS_BASE.enc, 0x5ec2e7000);
	vmcs_set(VMCS_GUEST_GS_BASE.enc, 0x5ec2e8000);
	fake_msr_set(MSR_IA32_KERNEL_GS_BASE, 0x5ec2e9000);
	fake_msr_set(MSR_IA32_PERF_GLOBAL_CTRL, 1);
}

static void assert_os_state_back(int64_t status)
{
	struct fake_cpu *c = fake_cpu(0);
	assert_caller_restored(status);
	assert_int_equal(c->dr[0], ENTRY);
	assert_int_equal(c->dr[1], STACK_GVA);
	assert_int_equal(c->dr[2], DATA_GVA);
	assert_int_equal(c->dr[3], PARAMS_GVA);
	assert_int_equal(c->dr[6], OS_DR6);
	assert_int_equal(vmcs_get(VMCS_GUEST_DR7.enc), OS_DR7);
	assert_int_equal(vmcs_get(VMCS_GUEST_IA32_DEBUGCTL.enc), OS_DEBUGCTL);
	assert_int_equal(vmcs_get(VMCS_GUEST_PENDING_DBG_EXCEPTIONS.enc), OS_PENDING);
	assert_int_equal(vmcs_get(VMCS_GUEST_FS_BASE.enc), OS_FS_BASE);
	assert_int_equal(vmcs_get(VMCS_GUEST_GS_BASE.enc), OS_GS_BASE);
	assert_int_equal(fake_msr_get(MSR_IA32_KERNEL_GS_BASE), OS_KGS_BASE);
	assert_int_equal(fake_msr_get(MSR_IA32_PERF_GLOBAL_CTRL), OS_PERF);
	assert_int_equal(vmcs_get(VMCS_PRIMARY_PROC_CONTROLS.enc) & PROC_MOV_DR_EXITING, 0);
	assert_int_equal(c->gp_faults + c->ud_faults, 0);
}

static void round_trip(void (*end)(void), int64_t status)
{
	call_entry();
	assert_clean_in_pal();
	pal_dirties();
	end();
	assert_os_state_back(status);
}

static void test_clean_then_restored_on_return(void **state)
{
	(void)state;
	round_trip(pal_returns_0, TV_OK);
	/* A second call starts clean again: nothing of the first PAL run stuck. */
	round_trip(pal_returns_0, TV_OK);
}

static void test_clean_then_restored_on_fault(void **state)
{
	(void)state;
	round_trip(pal_gp_faults, TV_ERR_PAL_FAULT);
}

static void test_clean_then_restored_on_timeout(void **state)
{
	(void)state;
	round_trip(pal_timer_exit, TV_ERR_PAL_TIMEOUT);
}

/* MOV DR qualification (SDM Vol. 3C 28.2.1 Table 28-4): DR number, direction
 * (1 = from DR), general register. */
static void mov_dr_exit(unsigned dr, bool from_dr, unsigned gpr)
{
	env_exit(v, &(struct exit_fields){.reason = VMX_EXIT_MOV_DR,
	                                  .qualification = dr | (from_dr ? 1u << 4 : 0) | gpr << 8,
	                                  .instruction_len = 3});
}

/* A ring-0 PAL reading DR0 (to learn the OS's breakpoint) or writing DR7:
 * the exit ends its call, the OS's registers untouched. */
static void test_mov_dr_in_pal_ends_call(void **state)
{
	(void)state;
	/* Registered from ring 3 (setup); the caller's ring is checked at the call
	 * and at unregister, so unregister from ring 3, register and call from ring 0. */
	assert_int_equal(hypercall(TV_HC_UNREGISTER, ENTRY), TV_OK);
	cpl_mode(cr3_a, 0);
	assert_int_equal(register_desc(&good_desc), TV_OK);

	call_entry();
	assert_clean_in_pal();
	mov_dr_exit(0, true, GPR_RBX);
	assert_os_state_back(TV_ERR_PAL_FAULT);
	assert_int_equal(v->gpr[GPR_RBX], 0xb0b); /* the caller's, not DR0 */

	call_entry();
	v->gpr[GPR_RAX] = 0x401; /* L0 on the OS's DR0 address? */
	mov_dr_exit(7, false, GPR_RAX);
	assert_os_state_back(TV_ERR_PAL_FAULT);
}

/* Outside a PAL, MOV-DR exiting is off; should the exit come anyway, libvmx
 * runs the instruction against the guest's registers. */
static void test_mov_dr_outside_pal_executed(void **state)
{
	(void)state;
	cpl_mode(cr3_a, 0);
	vmcs_set(VMCS_GUEST_RIP.enc, 0x410000);
	mov_dr_exit(0, true, GPR_RCX);
	assert_int_equal(v->gpr[GPR_RCX], ENTRY);
	assert_int_equal(vmcs_get(VMCS_GUEST_RIP.enc), 0x410003);
	assert_int_equal(tv_pals[0].state, TV_PAL_READY);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup(test_clean_then_restored_on_return, setup_armed),
	    cmocka_unit_test_setup(test_clean_then_restored_on_fault, setup_armed),
	    cmocka_unit_test_setup(test_clean_then_restored_on_timeout, setup_armed),
	    cmocka_unit_test_setup(test_mov_dr_in_pal_ends_call, setup_armed),
	    cmocka_unit_test_setup(test_mov_dr_outside_pal_executed, setup_armed),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
