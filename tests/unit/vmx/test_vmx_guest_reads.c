/*
 * libvmx reads guest memory for the guest only through the EPT view the CPU
 * runs it in (guest_ept_check.c): the PAE PDPTEs a CR write loads, the
 * instruction bytes and page tables behind a trapped LAPIC store. A page the
 * view hides (as TrustVisor hides a PAL's pages from the OS) is never read: the
 * app is shown the EPT violation the CPU's own access would have caused, or the
 * guest gets #GP(0). Each attack below succeeded before the check existed.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "libvmx/ept.h"
#include "libvmx/guest_memory.h"
#include "libvmx/vmx.h"
#include "libvmx/vmx_internal.h"
#include "tests/unit/vmx/vmx_exit_util.h"

static uint8_t guest_ram[64 * 1024] __attribute__((aligned(4096)));

#define HIDDEN_PAGE 0x5000ull /* a "PAL page": absent from the guest's view */
#define SECRET      0x5ec2e7u

/* The app's EPT-violation callback: what it was shown. */
static unsigned violations;
static uint64_t violation_gpa, violation_q;

static enum hv_ept_action record_violation(struct vcpu *v, uint64_t gpa, uint64_t q)
{
	(void)v;
	violations++;
	violation_gpa = gpa;
	violation_q = q;
	return HV_EPT_RETRY;
}

static const struct hv_app watching_app = {.name = "watching", .ept_violation = record_violation};

static struct vcpu *guest(const struct hv_app *app)
{
	struct vcpu *v = env_guest(3, app);
	guest_memory_test_window(guest_ram, sizeof(guest_ram));
	memset(guest_ram, 0, sizeof(guest_ram));
	env_protected_mode();
	vmcs_set(VMCS_GUEST_CS_ACCESS_RIGHTS.enc, 0xc09b); /* 32-bit code */
	violations = 0;
	violation_gpa = violation_q = 0;
	return v;
}

static void hide(uint64_t page)
{
	assert_int_equal(ept_set_page_access(env_eptp(), page, 0x1000, 0), 0);
}

static int restore(void **state)
{
	(void)state;
	assert_int_equal(ept_set_page_access(env_eptp(), HIDDEN_PAGE, 0x1000,
	                                     EPT_READ | EPT_WRITE | EPT_EXECUTE),
	                 0);
	guest_memory_test_window(NULL, 0);
	return 0;
}

static void put64(uint64_t gpa, uint64_t val)
{
	memcpy(&guest_ram[gpa], &val, sizeof(val));
}

/* PAE paging on (32-bit, no long mode), CR3 = 0x2000 with PDPTE0 = 0x3001. */
static void pae_paging(void)
{
	put64(0x2000, 0x3001);
	vmcs_set(VMCS_GUEST_CR0.enc, vmcs_get(VMCS_GUEST_CR0.enc) | CR0_PG);
	vmcs_set(VMCS_CR0_READ_SHADOW.enc, vmcs_get(VMCS_CR0_READ_SHADOW.enc) | CR0_PG);
	vmcs_set(VMCS_GUEST_CR4.enc, vmcs_get(VMCS_GUEST_CR4.enc) | CR4_PAE);
	vmcs_set(VMCS_CR4_READ_SHADOW.enc, vmcs_get(VMCS_CR4_READ_SHADOW.enc) | CR4_PAE);
	vmcs_set(VMCS_GUEST_CR3.enc, 0x2000);
	vmcs_set(VMCS_GUEST_PDPTE0.enc, 0x3001);
}

static uint64_t mov_to_cr(unsigned cr, unsigned gpr)
{
	return cr | (CRQUAL_ACCESS_MOV_TO << 4) | (gpr << 8);
}

/* Control: a PDPT the guest may read is loaded, as the CPU would. */
static void test_cr3_load_reads_visible_pdpt(void **state)
{
	(void)state;
	struct vcpu *v = guest(&watching_app);
	pae_paging();
	put64(0x4000, 0x7001);
	v->gpr[GPR_RBX] = 0x4000;
	instr_exit(v, VMX_EXIT_CR_ACCESS, mov_to_cr(3, GPR_RBX), 3);
	assert_int_equal(vmcs_get(VMCS_GUEST_CR3.enc), 0x4000);
	assert_int_equal(vmcs_get(VMCS_GUEST_PDPTE0.enc), 0x7001);
	assert_int_equal(rip(), 0x1003);
	assert_int_equal(violations, 0);
}

/* The attack: point CR3 at a hidden page; the hypervisor must not load its
 * contents into the PDPTEs (the guest could read them back through its own
 * translations). The app sees the read the CPU would have made; nothing
 * changes and the instruction is retried. */
static void test_cr3_load_from_hidden_pdpt_is_an_ept_violation(void **state)
{
	(void)state;
	struct vcpu *v = guest(&watching_app);
	pae_paging();
	put64(HIDDEN_PAGE, SECRET | 1);
	hide(HIDDEN_PAGE);
	v->gpr[GPR_RBX] = HIDDEN_PAGE;
	instr_exit(v, VMX_EXIT_CR_ACCESS, mov_to_cr(3, GPR_RBX), 3);
	assert_int_not_equal(vmcs_get(VMCS_GUEST_PDPTE0.enc), SECRET | 1);
	assert_int_equal(vmcs_get(VMCS_GUEST_PDPTE0.enc), 0x3001);
	assert_int_equal(vmcs_get(VMCS_GUEST_CR3.enc), 0x2000);
	assert_int_equal(rip(), 0x1000);
	assert_int_equal(violations, 1);
	assert_int_equal(violation_gpa, HIDDEN_PAGE);
	assert_int_equal(violation_q, EPTQUAL_READ);
}

/* No app callback: the guest gets #GP(0) and no PDPTE changes. */
static void test_cr3_load_from_hidden_pdpt_without_app_is_gp(void **state)
{
	(void)state;
	struct vcpu *v = guest(NULL);
	pae_paging();
	put64(HIDDEN_PAGE, SECRET | 1);
	hide(HIDDEN_PAGE);
	v->gpr[GPR_RBX] = HIDDEN_PAGE;
	instr_exit(v, VMX_EXIT_CR_ACCESS, mov_to_cr(3, GPR_RBX), 3);
	assert_gp0_injected();
	assert_int_equal(vmcs_get(VMCS_GUEST_PDPTE0.enc), 0x3001);
	assert_int_equal(vmcs_get(VMCS_GUEST_CR3.enc), 0x2000);
	assert_non_null(strstr(env_console(), "refused in emulation"));
}

/* Turning PAE on with CR3 already at a hidden page: same refusal, and CR4
 * keeps its old value. */
static void test_cr4_pae_on_with_hidden_pdpt_is_refused(void **state)
{
	(void)state;
	struct vcpu *v = guest(&watching_app);
	vmcs_set(VMCS_GUEST_CR0.enc, vmcs_get(VMCS_GUEST_CR0.enc) | CR0_PG);
	vmcs_set(VMCS_CR0_READ_SHADOW.enc, vmcs_get(VMCS_CR0_READ_SHADOW.enc) | CR0_PG);
	vmcs_set(VMCS_GUEST_CR3.enc, HIDDEN_PAGE);
	put64(HIDDEN_PAGE, SECRET | 1);
	hide(HIDDEN_PAGE);
	uint64_t cr4 = vmcs_get(VMCS_CR4_READ_SHADOW.enc);
	v->gpr[GPR_RBX] = cr4 | CR4_PAE;
	instr_exit(v, VMX_EXIT_CR_ACCESS, mov_to_cr(4, GPR_RBX), 3);
	assert_int_equal(vmcs_get(VMCS_CR4_READ_SHADOW.enc), cr4);
	assert_int_not_equal(vmcs_get(VMCS_GUEST_PDPTE0.enc), SECRET | 1);
	assert_int_equal(rip(), 0x1000);
	assert_int_equal(violations, 1);
	assert_int_equal(violation_gpa, HIDDEN_PAGE);
}

/* A trapped LAPIC store whose instruction bytes the guest may not read: with
 * a stale TLB entry the guest "executes" `mov dword [0xfee00080], SECRET` from
 * a hidden page. Decoding it would copy 4 bytes of that page into the TPR,
 * which the guest reads back. They must never be decoded. */
static void test_lapic_store_from_hidden_code_is_not_decoded(void **state)
{
	(void)state;
	struct vcpu *v = guest(&watching_app);
	const uint8_t insn[] = {0xc7,
	                        0x05,
	                        0x80,
	                        0x00,
	                        0xe0,
	                        0xfe,
	                        (uint8_t)SECRET,
	                        (uint8_t)(SECRET >> 8),
	                        (uint8_t)(SECRET >> 16),
	                        0};
	memcpy(&guest_ram[HIDDEN_PAGE], insn, sizeof(insn));
	hide(HIDDEN_PAGE);
	fake_cpu(0)->apic_regs[APIC_REG_TPR / 16] = 0;
	vmcs_set(VMCS_GUEST_RIP.enc, HIDDEN_PAGE);
	struct exit_fields f = {.reason = VMX_EXIT_EPT_VIOLATION,
	                        .qualification = EPTQUAL_WRITE | EPTQUAL_GLA_VALID,
	                        .gpa = 0xfee00080};
	env_exit(v, &f);
	assert_int_not_equal(fake_cpu(0)->apic_regs[APIC_REG_TPR / 16], SECRET);
	assert_int_equal(vmcs_get(VMCS_GUEST_RIP.enc), HIDDEN_PAGE);
	assert_int_equal(violations, 1);
	assert_int_equal(violation_gpa, HIDDEN_PAGE);
	assert_int_equal(violation_q, EPTQUAL_READ);
}

/* The same store from a visible page, but through a page table on a hidden
 * page: the walk's own reads are checked too. */
static void test_lapic_store_through_hidden_page_table_is_refused(void **state)
{
	(void)state;
	struct vcpu *v = guest(&watching_app);
	/* 32-bit paging: linear 0x400000 -> PDE 1 at 0x2004 -> PT at the hidden
	 * page -> 0x1000, where the instruction is. */
	put64(0x2004, HIDDEN_PAGE | 1);
	put64(HIDDEN_PAGE, 0x1000 | 1);
	const uint8_t insn[] = {0xc7, 0x05, 0x80, 0x00, 0xe0, 0xfe, 0x40, 0, 0, 0};
	memcpy(&guest_ram[0x1000], insn, sizeof(insn));
	hide(HIDDEN_PAGE);
	vmcs_set(VMCS_GUEST_CR0.enc, vmcs_get(VMCS_GUEST_CR0.enc) | CR0_PG);
	vmcs_set(VMCS_GUEST_CR3.enc, 0x2000);
	fake_cpu(0)->apic_regs[APIC_REG_TPR / 16] = 0;
	vmcs_set(VMCS_GUEST_RIP.enc, 0x400000);
	struct exit_fields f = {.reason = VMX_EXIT_EPT_VIOLATION,
	                        .qualification = EPTQUAL_WRITE | EPTQUAL_GLA_VALID,
	                        .gpa = 0xfee00080};
	env_exit(v, &f);
	assert_int_equal(fake_cpu(0)->apic_regs[APIC_REG_TPR / 16], 0);
	assert_int_equal(vmcs_get(VMCS_GUEST_RIP.enc), 0x400000);
	assert_int_equal(violations, 1);
	assert_int_equal(violation_gpa, HIDDEN_PAGE);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_teardown(test_cr3_load_reads_visible_pdpt, restore),
	    cmocka_unit_test_teardown(test_cr3_load_from_hidden_pdpt_is_an_ept_violation, restore),
	    cmocka_unit_test_teardown(test_cr3_load_from_hidden_pdpt_without_app_is_gp, restore),
	    cmocka_unit_test_teardown(test_cr4_pae_on_with_hidden_pdpt_is_refused, restore),
	    cmocka_unit_test_teardown(test_lapic_store_from_hidden_code_is_not_decoded, restore),
	    cmocka_unit_test_teardown(test_lapic_store_through_hidden_page_table_is_refused,
	                              restore),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
