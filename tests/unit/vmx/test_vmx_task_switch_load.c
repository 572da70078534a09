/*
 * Hardware task switches emulated by libvmx, after the commit point: the new
 * task's segments (faults taken in the new task, SDM Vol. 3A 8.3 table
 * "Exception Conditions Checked During a Task Switch"), CR3 with paging, the
 * EPT view, and the clean stops for what is not emulated.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "libvmx/ept.h"
#include "libvmx/vmx.h"
#include "libvmx/vmx_internal.h"
#include "tests/unit/vmx/task_switch_env.h"

/* ---- the new task's segments: faults in the new task ---- */

static void test_absent_data_segment_is_np_in_new_task(void **state)
{
	struct vcpu *v = guest();

	put32(TSS_TASK + T_DS, SEL_DATA_NP);
	ts_exit(v, SRC_CALL, SEL_TASK, 7, 0, 0);
	assert_fault(X86_VEC_NP, SEL_DATA_NP);
	/* Committed: the fault is the new task's. */
	assert_int_equal(rip(), TASK_EIP);
	assert_int_equal(vmcs_get(VMCS_GUEST_TR_SELECTOR.enc), SEL_TASK);
	assert_int_equal(get32(TSS_MAIN + T_EIP), 0x1007);
	assert_true(vmcs_get(VMCS_GUEST_DS_ACCESS_RIGHTS.enc) & 0x10000);
	assert_int_equal(vmcs_get(VMCS_GUEST_DS_SELECTOR.enc), SEL_DATA_NP);
}

static void test_absent_stack_segment_is_ss(void **state)
{
	struct vcpu *v = guest();

	put32(TSS_TASK + T_SS, SEL_DATA_NP);
	ts_exit(v, SRC_JMP, SEL_TASK, 7, 0, 0);
	assert_fault(X86_VEC_SS, SEL_DATA_NP);
	assert_int_equal(rip(), TASK_EIP);
	/* SS unusable at DPL = CPL 0: a state VM entry accepts. */
	assert_int_equal(vmcs_get(VMCS_GUEST_SS_ACCESS_RIGHTS.enc) & 0x10060, 0x10000);
}

static void test_bad_code_segment_is_ts(void **state)
{
	struct vcpu *v = guest();

	put32(TSS_TASK + T_CS, 0);
	ts_exit(v, SRC_JMP, SEL_TASK, 7, 0, 0);
	assert_fault(X86_VEC_TS, 0);
	v = guest();
	put32(TSS_TASK + T_CS, SEL_CODE_RO);
	ts_exit(v, SRC_JMP, SEL_TASK, 7, 0, 0);
	assert_fault(X86_VEC_TS, SEL_CODE_RO);
	v = guest();
	/* CS with RPL 3: the new CPL is 3, and the ring-0 stack does not fit
	 * it (SS is checked before CS, as Bochs does): #TS(SS). CS and SS are
	 * left at DPL 3 both, a state VM entry accepts. */
	put32(TSS_TASK + T_CS, SEL_CODE | 3);
	ts_exit(v, SRC_JMP, SEL_TASK, 7, 0, 0);
	assert_fault(X86_VEC_TS, SEL_DATA);
	assert_int_equal(vmcs_get(VMCS_GUEST_CS_SELECTOR.enc), SEL_CODE | 3);
	assert_int_equal((vmcs_get(VMCS_GUEST_CS_ACCESS_RIGHTS.enc) >> 5) & 3, 3);
	assert_int_equal((vmcs_get(VMCS_GUEST_SS_ACCESS_RIGHTS.enc) >> 5) & 3, 3);
}

static void test_ldt_loaded_and_bad_ldt_is_ts(void **state)
{
	struct vcpu *v = guest();

	put32(TSS_TASK + T_LDT, SEL_LDT);
	ts_exit(v, SRC_JMP, SEL_TASK, 7, 0, 0);
	assert_int_equal(injected() & INTR_INFO_VALID, 0);
	assert_int_equal(vmcs_get(VMCS_GUEST_LDTR_SELECTOR.enc), SEL_LDT);
	assert_int_equal(vmcs_get(VMCS_GUEST_LDTR_BASE.enc), 0x4000);
	assert_int_equal(vmcs_get(VMCS_GUEST_LDTR_ACCESS_RIGHTS.enc), 0x82);

	v = guest();
	put32(TSS_TASK + T_LDT, SEL_DATA); /* not an LDT */
	ts_exit(v, SRC_JMP, SEL_TASK, 7, 0, 0);
	assert_fault(X86_VEC_TS, SEL_DATA);
}

static void test_accessed_bit_set_on_load(void **state)
{
	struct vcpu *v = guest();

	put64(GDT + SEL_DATA, get64(GDT + SEL_DATA) & ~(1ull << 40));
	ts_exit(v, SRC_JMP, SEL_TASK, 7, 0, 0);
	assert_int_equal(injected() & INTR_INFO_VALID, 0);
	assert_true(get64(GDT + SEL_DATA) & (1ull << 40));
	assert_int_equal(vmcs_get(VMCS_GUEST_DS_ACCESS_RIGHTS.enc), 0xc093);
}

/* ---- paging and the EPT view ---- */

static void test_cr3_switched_with_paging(void **state)
{
	struct vcpu *v = guest();

	/* 32-bit paging, one 4 MiB identity page in each of two directories. */
	put32(0x5000, 0x83);
	put32(0x6000, 0x83);
	vmcs_set(VMCS_GUEST_CR4.enc, vmcs_get(VMCS_GUEST_CR4.enc) | CR4_PSE);
	vmcs_set(VMCS_GUEST_CR0.enc, vmcs_get(VMCS_GUEST_CR0.enc) | CR0_PG);
	vmcs_set(VMCS_GUEST_CR3.enc, 0x5000);
	put32(TSS_TASK + T_CR3, 0x6000);
	ts_exit(v, SRC_CALL, SEL_TASK, 7, 0, 0);
	assert_int_equal(injected() & INTR_INFO_VALID, 0);
	assert_int_equal(vmcs_get(VMCS_GUEST_CR3.enc), 0x6000);
	assert_int_equal(rip(), TASK_EIP);
	/* The old TSS's CR3 field is not written by a switch. */
	assert_int_equal(get32(TSS_MAIN + T_CR3), 0);
}

/* PAE paging: the new task's CR3 loads its four PDPTEs, as MOV CR3 would. */
static void pae_guest(void)
{
	/* Two PDPTs (current, new), each one PD with a 2 MiB identity page. */
	put64(0x7000, 0x5000 | 1);
	put64(0x7040, 0x6000 | 1);
	put64(0x5000, 0x83);
	put64(0x6000, 0x83);
	vmcs_set(VMCS_GUEST_CR4.enc, vmcs_get(VMCS_GUEST_CR4.enc) | CR4_PAE);
	vmcs_set(VMCS_CR4_READ_SHADOW.enc, vmcs_get(VMCS_CR4_READ_SHADOW.enc) | CR4_PAE);
	vmcs_set(VMCS_GUEST_CR0.enc, vmcs_get(VMCS_GUEST_CR0.enc) | CR0_PG);
	vmcs_set(VMCS_GUEST_CR3.enc, 0x7000);
	vmcs_set(VMCS_GUEST_PDPTE0.enc, 0x5000 | 1);
	put32(TSS_TASK + T_CR3, 0x7040);
}

static void test_pae_pdptes_loaded_from_new_cr3(void **state)
{
	struct vcpu *v = guest();

	pae_guest();
	ts_exit(v, SRC_JMP, SEL_TASK, 7, 0, 0);
	assert_int_equal(injected() & INTR_INFO_VALID, 0);
	assert_int_equal(vmcs_get(VMCS_GUEST_CR3.enc), 0x7040);
	assert_int_equal(vmcs_get(VMCS_GUEST_PDPTE0.enc), 0x6000 | 1);
	assert_int_equal(vmcs_get(VMCS_GUEST_PDPTE1.enc), 0);
	assert_int_equal(rip(), TASK_EIP);

	/* A PDPTE with a reserved bit (R/W, bit 1): #GP(0) in the new task,
	 * and never in the VMCS (VM entry would refuse it). */
	v = guest();
	pae_guest();
	put64(0x7040, 0x6000 | 3);
	ts_exit(v, SRC_JMP, SEL_TASK, 7, 0, 0);
	assert_fault(X86_VEC_GP, 0);
	assert_int_equal(rip(), TASK_EIP);
	assert_int_equal(vmcs_get(VMCS_GUEST_PDPTE0.enc), 0x5000 | 1);
}

static void test_unmapped_tss_stops_cleanly(void **state)
{
	struct vcpu *v = guest();

	memset(&ts_ram[0x5000], 0, 0x1000); /* nothing mapped */
	vmcs_set(VMCS_GUEST_CR0.enc, vmcs_get(VMCS_GUEST_CR0.enc) | CR0_PG);
	vmcs_set(VMCS_GUEST_CR3.enc, 0x5000);
	expect_assert_failure(ts_exit(v, SRC_CALL, SEL_TASK, 7, 0, 0));
	const char *out = env_console();
	assert_non_null(strstr(out, "task switch (CALL to TSS selector 0x20): a #PF at linear"));
	assert_non_null(strstr(out, "hv: power off (code 4)"));
	assert_null(strstr(out, "PANIC"));
}

static void test_tss_hidden_by_ept_is_not_read(void **state)
{
	struct vcpu *v = guest();

	/* The new TSS on a page the CPU's view hides: never read for the guest,
	 * #GP(0) as for any refused access, nothing switched. */
	assert_int_equal(ept_set_page_access(env_eptp(), TSS_TASK & ~0xfffu, 0x1000, 0), 0);
	uint32_t secret = get32(TSS_TASK + T_EIP);
	ts_exit(v, SRC_CALL, SEL_TASK, 7, 0, 0);
	assert_fault(X86_VEC_GP, 0);
	assert_int_equal(rip(), 0x1000);
	assert_int_equal(vmcs_get(VMCS_GUEST_TR_SELECTOR.enc), SEL_MAIN);
	assert_int_not_equal(rip(), secret);
}

/* ---- not emulated: clean stops ---- */

static void test_16bit_tss_and_v86_stop_cleanly(void **state)
{
	struct vcpu *v = guest();

	expect_assert_failure(ts_exit(v, SRC_JMP, SEL_TSS16, 5, 0, 0));
	const char *out = env_console();
	assert_non_null(
	    strstr(out, "task switch (JMP to TSS selector 0x48): a 16-bit TSS is not emulated"));
	assert_null(strstr(out, "PANIC"));

	v = guest();
	put32(TSS_TASK + T_EFLAGS, 0x20002); /* VM */
	expect_assert_failure(ts_exit(v, SRC_CALL, SEL_TASK, 7, 0, 0));
	out = env_console();
	assert_non_null(strstr(out, "a switch to a virtual-8086 task is not emulated"));
	assert_null(strstr(out, "PANIC"));
}

int main(void)
{
#define T(f) cmocka_unit_test_teardown(f, done)
	const struct CMUnitTest tests[] = {
	    T(test_absent_data_segment_is_np_in_new_task),
	    T(test_absent_stack_segment_is_ss),
	    T(test_bad_code_segment_is_ts),
	    T(test_ldt_loaded_and_bad_ldt_is_ts),
	    T(test_accessed_bit_set_on_load),
	    T(test_cr3_switched_with_paging),
	    T(test_pae_pdptes_loaded_from_new_cr3),
	    T(test_unmapped_tss_stops_cleanly),
	    T(test_tss_hidden_by_ept_is_not_read),
	    T(test_16bit_tss_and_v86_stop_cleanly),
	};
#undef T
	return cmocka_run_group_tests(tests, NULL, NULL);
}
