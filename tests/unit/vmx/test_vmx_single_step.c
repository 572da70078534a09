/*
 * libvmx's EPT view switch, monitor-trap-flag step and completed store
 * (vmx_view.h) over the fake hardware: the step arms the control, its MTF
 * exit disarms it and reaches the app once; maskable interrupts are held for
 * the stepped instruction only where VM entry allows; INIT ends a step; no
 * MTF on the CPU, no step; a store libvmx completes lands in guest RAM and
 * moves RIP, and anything else changes nothing.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "hw/hw.h"
#include "libvmx/ept.h"
#include "libvmx/guest_memory.h"
#include "libvmx/vmx.h"
#include "libvmx/vmx_internal.h"
#include "tests/unit/vmx/test_vmx_env.h"

static unsigned traps;
static enum hv_ept_action ept_answer = HV_EPT_RETRY;

static void on_trap(struct vcpu *v)
{
	(void)v;
	traps++;
}

static enum hv_ept_action on_ept(struct vcpu *v, uint64_t gpa, uint64_t q)
{
	(void)v, (void)gpa, (void)q;
	return ept_answer;
}

static const struct hv_app app = {
    .name = "step-test", .monitor_trap = on_trap, .ept_violation = on_ept};

static uint32_t proc(void)
{
	return (uint32_t)vmcs_get(VMCS_PRIMARY_PROC_CONTROLS.enc);
}

static uint32_t intr(void)
{
	return (uint32_t)vmcs_get(VMCS_GUEST_INTERRUPTIBILITY.enc);
}

static struct vcpu *guest(void)
{
	traps = 0;
	ept_answer = HV_EPT_RETRY;
	struct vcpu *v = env_guest(1, &app);
	env_protected_mode();
	vmcs_set(VMCS_GUEST_RIP.enc, 0x1000);
	vmcs_set(VMCS_GUEST_RFLAGS.enc, RFLAGS_FIXED1 | RFLAGS_IF);
	vmcs_set(VMCS_GUEST_INTERRUPTIBILITY.enc, 0);
	return v;
}

/* An EPT violation the app retries (the guest re-runs its instruction). */
static void retried_write(struct vcpu *v, uint32_t idt_info)
{
	struct exit_fields f = {.reason = VMX_EXIT_EPT_VIOLATION,
	                        .qualification = EPTQUAL_WRITE,
	                        .gpa = 0x5000,
	                        .idt_info = idt_info};
	env_exit(v, &f);
}

static void mtf_exit(struct vcpu *v)
{
	struct exit_fields f = {.reason = VMX_EXIT_MONITOR_TRAP_FLAG};
	env_exit(v, &f);
}

static void test_step_arms_flag_and_its_exit_reaches_the_app_once(void **state)
{
	(void)state;
	struct vcpu *v = guest();

	assert_true(vmx_single_step_supported());
	assert_false(proc() & PROC_MONITOR_TRAP_FLAG);
	assert_true(vmx_single_step(v));
	assert_true(vmx_single_step_armed(v));
	assert_true(proc() & PROC_MONITOR_TRAP_FLAG);
	/* Another exit first: the step stays armed. */
	retried_write(v, 0);
	assert_true(proc() & PROC_MONITOR_TRAP_FLAG);
	assert_int_equal(traps, 0);
	mtf_exit(v);
	assert_int_equal(traps, 1);
	assert_false(vmx_single_step_armed(v));
	assert_false(proc() & PROC_MONITOR_TRAP_FLAG);
	/* An MTF exit with no step armed is libvmx's broken invariant. */
	expect_assert_failure(mtf_exit(v));
	assert_int_equal(traps, 1);
}

static void test_interrupts_held_for_the_stepped_instruction(void **state)
{
	(void)state;
	struct vcpu *v = guest();

	/* No step: an entry never touches blocking. */
	retried_write(v, 0);
	assert_int_equal(intr(), 0);
	/* A step with IF = 1 and no blocking: blocking by STI for one instruction. */
	assert_true(vmx_single_step(v));
	retried_write(v, 0);
	assert_int_equal(intr(), INTERRUPTIBILITY_STI);
	mtf_exit(v);

	/* IF = 0: STI blocking would fail VM entry (SDM Vol. 3C 27.3.1.5). */
	vmcs_set(VMCS_GUEST_INTERRUPTIBILITY.enc, 0);
	vmcs_set(VMCS_GUEST_RFLAGS.enc, RFLAGS_FIXED1);
	assert_true(vmx_single_step(v));
	retried_write(v, 0);
	assert_int_equal(intr(), 0);
	mtf_exit(v);

	/* TF = 1 (the guest single-steps itself): STI blocking would need a
	 * pending single-step #DB for VM entry to accept it. */
	vmcs_set(VMCS_GUEST_RFLAGS.enc, RFLAGS_FIXED1 | RFLAGS_IF | RFLAGS_TF);
	assert_true(vmx_single_step(v));
	retried_write(v, 0);
	assert_int_equal(intr(), 0);
	mtf_exit(v);

	/* A pending single-step trap (BS) with TF = 0: STI blocking would fail
	 * the same check. */
	vmcs_set(VMCS_GUEST_RFLAGS.enc, RFLAGS_FIXED1 | RFLAGS_IF);
	vmcs_set(VMCS_GUEST_PENDING_DBG_EXCEPTIONS.enc, 1u << 14);
	assert_true(vmx_single_step(v));
	retried_write(v, 0);
	assert_int_equal(intr(), 0);
	mtf_exit(v);
	vmcs_set(VMCS_GUEST_PENDING_DBG_EXCEPTIONS.enc, 0);

	/* MOV-SS blocking already holds interrupts; both bits may not be set. */
	vmcs_set(VMCS_GUEST_RFLAGS.enc, RFLAGS_FIXED1 | RFLAGS_IF);
	vmcs_set(VMCS_GUEST_INTERRUPTIBILITY.enc, INTERRUPTIBILITY_MOV_SS);
	assert_true(vmx_single_step(v));
	retried_write(v, 0);
	assert_int_equal(intr(), INTERRUPTIBILITY_MOV_SS);
	mtf_exit(v);

	/* An external interrupt re-injected (its delivery was the write): no STI
	 * blocking with it, and it is what the step delivers. */
	vmcs_set(VMCS_GUEST_INTERRUPTIBILITY.enc, 0);
	assert_true(vmx_single_step(v));
	retried_write(v, INTR_INFO(0x30, INTR_TYPE_EXTERNAL));
	assert_true(vmcs_get(VMCS_VM_ENTRY_INTR_INFO.enc) & INTR_INFO_VALID);
	assert_int_equal(intr(), 0);
	mtf_exit(v);
}

static void test_init_ends_the_step(void **state)
{
	(void)state;
	struct vcpu *v = guest();

	assert_true(vmx_single_step(v));
	struct exit_fields f = {.reason = VMX_EXIT_INIT};
	env_exit(v, &f);
	assert_false(vmx_single_step_armed(v));
	assert_false(proc() & PROC_MONITOR_TRAP_FLAG);
	vmx_single_step_cancel(v); /* nothing armed: nothing to do */
	assert_false(proc() & PROC_MONITOR_TRAP_FLAG);
}

/* IA32_VMX_[TRUE_]PROCBASED_CTLS without bit 27 allowed (Bochs 2.7's models). */
static void no_mtf(void)
{
	fake_msr_set(MSR_IA32_VMX_PROCBASED_CTLS, 0xf7f9fffe0401e172ull);
	fake_msr_set(MSR_IA32_VMX_TRUE_PROCBASED_CTLS, 0xf7f9fffe04006172ull);
}

static void test_no_flag_no_step(void **state)
{
	(void)state;
	fixture_setup(1, no_mtf);
	struct vcpu *v = fixture_guest(1, &app, fixture_build_ept(), NULL);

	assert_false(vmx_single_step_supported());
	assert_false(vmx_single_step(v));
	assert_false(vmx_single_step_armed(v));
	assert_false(proc() & PROC_MONITOR_TRAP_FLAG);
}

static void test_ept_view_switch(void **state)
{
	(void)state;
	struct vcpu *v = guest();
	uint64_t other = ept_clone(env_eptp());

	assert_int_equal(vmx_ept_view_current(v), env_eptp());
	assert_int_equal(vmx_ept_view_current(v), vmx_vcpu_guest_eptp(v));
	vmx_ept_view_set(v, other);
	assert_int_equal(vmcs_get(VMCS_EPT_POINTER.enc), other);
	assert_int_equal(vmx_ept_view_current(v), other);
	assert_int_equal(vmx_guest_rip(v), 0x1000); /* nothing else changed */
	expect_assert_failure(vmx_ept_view_set(v, 0));
	vmx_ept_view_set(v, env_eptp());
	/* Under an isolated view the switch would be lost at leave: refused. */
	struct vmx_view w = {.eptp = other, .cr3 = 0, .rip = 0x2000, .rsp = 0x3000};
	vmx_view_enter(v, &w);
	expect_assert_failure(vmx_ept_view_set(v, env_eptp()));
	vmx_view_leave(v);
	assert_int_equal(vmx_ept_view_current(v), env_eptp());
	ept_free(other);
}

/* ---- vmx_guest_complete_store ---- */

static uint8_t ram[64 * 1024] __attribute__((aligned(4096)));

/* `insn` at guest 0x1000; an EPT violation on a write at `gpa` (GLA = GPA:
 * paging off). */
static enum vmx_store_result store_at(struct vcpu *v, const uint8_t *insn, size_t n, uint64_t gpa,
                                      uint64_t eptp)
{
	memcpy(&ram[0x1000], insn, n);
	vmcs_set(VMCS_GUEST_RIP.enc, 0x1000);
	vmcs_set(VMCS_GUEST_LINEAR_ADDRESS.enc, gpa);
	vmcs_set(VMCS_EXIT_REASON.enc, VMX_EXIT_EPT_VIOLATION);
	vmcs_set(VMCS_EXIT_QUALIFICATION.enc,
	         EPTQUAL_WRITE | EPTQUAL_GLA_VALID | EPTQUAL_GLA_TRANSLATION);
	vmcs_set(VMCS_GUEST_PHYSICAL_ADDRESS.enc, gpa);
	vmx_read_exit_info(v);
	return vmx_guest_complete_store(v, gpa, eptp);
}

static struct vcpu *store_guest(void)
{
	struct vcpu *v = guest();
	guest_memory_test_window(ram, sizeof(ram));
	memset(ram, 0, sizeof(ram));
	vmcs_set(VMCS_GUEST_CS_ACCESS_RIGHTS.enc, 0xc09b); /* 32-bit code */
	return v;
}

static void test_complete_store_moves(void **state)
{
	(void)state;
	struct vcpu *v = store_guest();
	uint32_t x;

	const uint8_t mov_imm[] = {0xc7, 0x03, 0x78, 0x56, 0x34, 0x12}; /* mov dword [ebx], imm */
	assert_int_equal(store_at(v, mov_imm, sizeof(mov_imm), 0x8000, env_eptp()), VMX_STORE_DONE);
	memcpy(&x, &ram[0x8000], 4);
	assert_int_equal(x, 0x12345678);
	assert_int_equal(vmx_guest_rip(v), 0x1006);

	const uint8_t mov_ah[] = {0x88, 0x23}; /* mov [ebx], ah */
	vcpu_gpr_write(v, GPR_RAX, 0xab00);
	assert_int_equal(store_at(v, mov_ah, sizeof(mov_ah), 0x8011, env_eptp()), VMX_STORE_DONE);
	assert_int_equal(ram[0x8011], 0xab);
	assert_int_equal(vmx_guest_rip(v), 0x1002);

	const uint8_t xchg[] = {0x87, 0x0b}; /* xchg [ebx], ecx */
	vcpu_gpr_write(v, GPR_RCX, 0xffffffff00000001ull);
	assert_int_equal(store_at(v, xchg, sizeof(xchg), 0x8000, env_eptp()), VMX_STORE_DONE);
	memcpy(&x, &ram[0x8000], 4);
	assert_int_equal(x, 1);
	assert_int_equal(vcpu_gpr_read(v, GPR_RCX), 0x12345678); /* zero-extended */

	/* An instruction that ends where a page the view hides begins: its 15
	 * bytes cannot be read at once, its 2 can (guest_mmio.c fetches byte
	 * by byte then). */
	assert_int_equal(ept_set_page_access(env_eptp(), 0x2000, 4096, 0), 0);
	const uint8_t mov_reg[] = {0x89, 0x03}; /* mov [ebx], eax */
	memcpy(&ram[0x1ffe], mov_reg, sizeof(mov_reg));
	vcpu_gpr_write(v, GPR_RAX, 0xfeedf00d);
	vmcs_set(VMCS_GUEST_RIP.enc, 0x1ffe);
	assert_int_equal(vmx_guest_complete_store(v, 0x8000, env_eptp()), VMX_STORE_DONE);
	memcpy(&x, &ram[0x8000], 4);
	assert_int_equal(x, 0xfeedf00d);
	assert_int_equal(vmx_guest_rip(v), 0x2000);
	assert_int_equal(ept_set_page_access(env_eptp(), 0x2000, 4096, EPT_RWX), 0);
	guest_memory_test_window(NULL, 0);
}

static void test_complete_store_changes_nothing_otherwise(void **state)
{
	(void)state;
	struct vcpu *v = store_guest();
	uint64_t view = ept_clone(env_eptp());
	assert_int_equal(ept_set_page_access(view, 0x8000, 4096, EPT_READ | EPT_EXECUTE), 0);

	const uint8_t add[] = {0x01, 0x03};      /* add [ebx], eax */
	const uint8_t mov[] = {0x89, 0x03};      /* mov [ebx], eax */
	const uint8_t rep_stos[] = {0xf3, 0xab}; /* rep stosd */
	vcpu_gpr_write(v, GPR_RAX, 0x11111111);
	assert_int_equal(store_at(v, add, sizeof(add), 0x8000, env_eptp()), VMX_STORE_UNDECODABLE);
	assert_int_equal(store_at(v, rep_stos, sizeof(rep_stos), 0x8000, env_eptp()),
	                 VMX_STORE_UNDECODABLE);
	/* Misaligned: maybe the second half of a store that began a page before. */
	assert_int_equal(store_at(v, mov, sizeof(mov), 0x8ffe, env_eptp()), VMX_STORE_UNDECODABLE);
	/* The CPU setting an accessed/dirty flag in a page-table entry at gpa
	 * while translating the store's address (qualification bit 8 clear). */
	memcpy(&ram[0x1000], mov, sizeof(mov));
	vmcs_set(VMCS_GUEST_RIP.enc, 0x1000);
	vmcs_set(VMCS_GUEST_LINEAR_ADDRESS.enc, 0x8000);
	vmcs_set(VMCS_GUEST_PHYSICAL_ADDRESS.enc, 0x8000);
	vmcs_set(VMCS_EXIT_QUALIFICATION.enc, EPTQUAL_WRITE | EPTQUAL_GLA_VALID);
	vmx_read_exit_info(v);
	assert_int_equal(vmx_guest_complete_store(v, 0x8000, env_eptp()), VMX_STORE_UNDECODABLE);
	/* The view given forbids the write; the hypervisor region; above 4 GiB. */
	assert_int_equal(store_at(v, mov, sizeof(mov), 0x8000, view), VMX_STORE_NOT_ALLOWED);
	assert_int_equal(store_at(v, mov, sizeof(mov), 0x0c000000, env_eptp()),
	                 VMX_STORE_NOT_ALLOWED);
	assert_int_equal(store_at(v, mov, sizeof(mov), 0x100000000ull, env_eptp()),
	                 VMX_STORE_NOT_ALLOWED);
	for (unsigned i = 0; i < sizeof(ram); i++)
		if (i < 0x1000 || i >= 0x1010)
			assert_int_equal(ram[i], 0);
	assert_int_equal(vmx_guest_rip(v), 0x1000);
	ept_free(view);
	guest_memory_test_window(NULL, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_step_arms_flag_and_its_exit_reaches_the_app_once),
	    cmocka_unit_test(test_interrupts_held_for_the_stepped_instruction),
	    cmocka_unit_test(test_init_ends_the_step),
	    cmocka_unit_test(test_no_flag_no_step),
	    cmocka_unit_test(test_ept_view_switch),
	    cmocka_unit_test(test_complete_store_moves),
	    cmocka_unit_test(test_complete_store_changes_nothing_otherwise),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
