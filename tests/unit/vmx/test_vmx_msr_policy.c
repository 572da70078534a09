/* libvmx's MSR policy (msr_policy.c): every MSR exits unless allow-listed, and
 * the dangerous ones, attacked through the exit handler: none reaches the
 * hardware, each gets what the policy promises (#GP, dropped, or a VMCS field). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "libvmx/msr_policy.h"
#include "libvmx/vmx.h"
#include "libvmx/vmx_internal.h"
#include "rt/layout.h"
#include "tests/unit/vmx/vmx_exit_util.h"

/* Does the guest's access to `msr` exit? (SDM Vol. 3C 25.6.9 layout) */
static bool exits(uint32_t msr, bool write)
{
	if (!vmx_msr_in_bitmap(msr))
		return true;
	const uint8_t *b = hw_phys_ptr(vmx_msr_bitmap_pa());
	uint32_t bit = (msr >= 0xc0000000u ? 8192u : 0) + (msr & 0x1fffu);
	return (b[(write ? 2048 : 0) + bit / 8] >> (bit % 8)) & 1;
}

static void wrmsr_exit(struct vcpu *v, uint32_t msr, uint64_t value)
{
	v->gpr[GPR_RCX] = msr;
	v->gpr[GPR_RAX] = (uint32_t)value;
	v->gpr[GPR_RDX] = value >> 32;
	instr_exit(v, VMX_EXIT_WRMSR, 0, 2);
}

static void rdmsr_exit(struct vcpu *v, uint32_t msr)
{
	v->gpr[GPR_RCX] = msr;
	v->gpr[GPR_RAX] = v->gpr[GPR_RDX] = 0xdead;
	instr_exit(v, VMX_EXIT_RDMSR, 0, 2);
}

/* The attack: a WRMSR that must exit and fault without touching the MSR. */
static void assert_write_refused(struct vcpu *v, uint32_t msr, uint64_t value)
{
	fake_msr_set(msr, 0x5a5a0000ull);
	assert_true(exits(msr, true));
	wrmsr_exit(v, msr, value);
	assert_gp0_injected();
	assert_int_equal(fake_msr_get(msr), 0x5a5a0000ull);
}

static struct vcpu *guest(void)
{
	struct vcpu *v = env_guest(1, NULL);
	env_protected_mode();
	return v;
}

static void test_table_is_sorted_in_bitmap_range_and_complete(void **state)
{
	(void)guest();
	for (size_t i = 0; i < vmx_msr_policy_count(); i++) {
		const struct msr_policy *p = vmx_msr_policy_entry(i);
		assert_true(p->first <= p->last);
		assert_true(vmx_msr_in_bitmap(p->first) && vmx_msr_in_bitmap(p->last));
		if (i > 0)
			assert_true(vmx_msr_policy_entry(i - 1)->last < p->first);
		if (p->read == MSR_EMULATE || p->write == MSR_EMULATE)
			assert_non_null(p->emulate);
		assert_non_null(p->name);
		/* The bitmap says exactly what the table says. */
		for (uint32_t m = p->first; m <= p->last; m++) {
			assert_int_equal(exits(m, false), p->read != MSR_PASS);
			assert_int_equal(exits(m, true), p->write != MSR_PASS);
		}
	}
	assert_null(vmx_msr_policy_entry(vmx_msr_policy_count()));
}

static void test_unlisted_msrs_exit_and_gp_without_touching_hardware(void **state)
{
	struct vcpu *v = guest();
	/* Model-specific, PMU counters, LBR, SMRR, uncore: none listed. */
	const uint32_t msrs[] = {0x0c1, 0x186,  0x1c9,  0x1f2,     0x1f3,
	                         0x680, 0x1234, 0x1fff, 0xc0001fff};
	for (size_t i = 0; i < sizeof(msrs) / sizeof(msrs[0]); i++) {
		assert_null(vmx_msr_policy_for(msrs[i]));
		assert_true(exits(msrs[i], false));
		rdmsr_exit(v, msrs[i]);
		assert_gp0_injected();
		assert_write_refused(v, msrs[i], 1);
	}
	assert_int_equal(fake_hw.unknown_msr_reads, 0);
}

static void test_hot_linux_msrs_pass_through(void **state)
{
	(void)guest();
	const uint32_t msrs[] = {
	    MSR_IA32_FS_BASE,         MSR_IA32_GS_BASE, MSR_IA32_KERNEL_GS_BASE,
	    MSR_IA32_TSC_AUX,         MSR_IA32_EFER,    MSR_IA32_LSTAR,
	    MSR_IA32_SYSENTER_EIP,    MSR_IA32_PAT,     MSR_IA32_SPEC_CTRL,
	    0x6e0 /* TSC_DEADLINE */, MSR_X2APIC_EOI,   MSR_X2APIC_REG(0x80)};
	for (size_t i = 0; i < sizeof(msrs) / sizeof(msrs[0]); i++) {
		assert_false(exits(msrs[i], false));
		assert_false(exits(msrs[i], true));
	}
	/* Passed through only because the VMCS switches them (vmx_caps.c). */
	uint32_t exit_ctl = (uint32_t)vmcs_get(VMCS_EXIT_CONTROLS.enc);
	uint32_t entry_ctl = (uint32_t)vmcs_get(VMCS_ENTRY_CONTROLS.enc);
	assert_true(exit_ctl & EXIT_SAVE_IA32_PAT && exit_ctl & EXIT_LOAD_IA32_PAT);
	assert_true(exit_ctl & EXIT_SAVE_IA32_EFER && exit_ctl & EXIT_LOAD_IA32_EFER);
	assert_true(exit_ctl & EXIT_SAVE_DEBUG_CONTROLS);
	assert_true(entry_ctl & ENTRY_LOAD_IA32_PAT && entry_ctl & ENTRY_LOAD_IA32_EFER &&
	            entry_ctl & ENTRY_LOAD_DEBUG_CONTROLS);
}

/* ---- IA32_APIC_BASE ---- */

static const uint64_t apic_on = APIC_DEFAULT_BASE | APIC_BASE_ENABLE | APIC_BASE_BSP;

static void test_apic_base_cannot_move_onto_hypervisor_or_ram(void **state)
{
	struct vcpu *v = guest();
	assert_int_equal(fake_msr_get(MSR_IA32_APIC_BASE), apic_on);
	assert_false(exits(MSR_IA32_APIC_BASE, false)); /* reads: the real value */
	assert_true(exits(MSR_IA32_APIC_BASE, true));

	const uint64_t targets[] = {HV_REGION_BASE, HV_REGION_BASE + HV_REGION_SIZE - HV_PAGE_SIZE,
	                            0x100000 /* guest RAM: a PAL page */, 0xfed00000 /* HPET */};
	for (size_t i = 0; i < sizeof(targets) / sizeof(targets[0]); i++) {
		wrmsr_exit(v, MSR_IA32_APIC_BASE, targets[i] | APIC_BASE_ENABLE | APIC_BASE_BSP);
		assert_gp0_injected();
		assert_int_equal(fake_msr_get(MSR_IA32_APIC_BASE), apic_on);
	}
	/* Reserved bits and the BSP flag: #GP too. */
	wrmsr_exit(v, MSR_IA32_APIC_BASE, apic_on | 1);
	assert_gp0_injected();
	wrmsr_exit(v, MSR_IA32_APIC_BASE, apic_on & ~APIC_BASE_BSP);
	assert_gp0_injected();
	assert_int_equal(fake_msr_get(MSR_IA32_APIC_BASE), apic_on);
}

static void test_apic_base_cannot_disable_the_apic(void **state)
{
	struct vcpu *v = guest();

	/* EN=0 would stop NMIs, and with them quiesce. */
	wrmsr_exit(v, MSR_IA32_APIC_BASE, apic_on & ~APIC_BASE_ENABLE);
	assert_gp0_injected();
	assert_true(fake_msr_get(MSR_IA32_APIC_BASE) & APIC_BASE_ENABLE);

	/* Nor from x2APIC mode (the only way back to xAPIC on hardware). */
	fake_msr_set(MSR_IA32_APIC_BASE, apic_on | APIC_BASE_X2APIC);
	wrmsr_exit(v, MSR_IA32_APIC_BASE, apic_on & ~(APIC_BASE_ENABLE | APIC_BASE_X2APIC));
	assert_gp0_injected();
	wrmsr_exit(v, MSR_IA32_APIC_BASE, apic_on); /* x2APIC -> xAPIC: invalid */
	assert_gp0_injected();
	assert_int_equal(fake_msr_get(MSR_IA32_APIC_BASE), apic_on | APIC_BASE_X2APIC);
}

static void test_apic_base_x2apic_switch_and_rewrite_work(void **state)
{
	struct vcpu *v = guest();

	rdmsr_exit(v, MSR_IA32_APIC_BASE); /* an exit would read the real value */
	assert_int_equal(v->gpr[GPR_RAX], (uint32_t)apic_on);
	assert_int_equal(rip(), 0x1002);

	wrmsr_exit(v, MSR_IA32_APIC_BASE, apic_on); /* unchanged: fine */
	assert_int_equal(rip(), 0x1002);
	wrmsr_exit(v, MSR_IA32_APIC_BASE, apic_on | APIC_BASE_X2APIC);
	assert_int_equal(rip(), 0x1002);
	assert_int_equal(fake_msr_get(MSR_IA32_APIC_BASE), apic_on | APIC_BASE_X2APIC);
}

static void test_apic_base_no_x2apic_without_cpuid(void **state)
{
	struct vcpu *v = guest();
	struct hw_cpuid_regs l1 = {0x00050654, 0x800, CPUID1_ECX_VMX | CPUID1_ECX_XSAVE, 0};
	fake_cpuid_set(1, 0, &l1);

	wrmsr_exit(v, MSR_IA32_APIC_BASE, apic_on | APIC_BASE_X2APIC);
	assert_gp0_injected();
	assert_int_equal(fake_msr_get(MSR_IA32_APIC_BASE), apic_on);
}

/* ---- tracing, counters, microcode, SMRR ---- */

static void test_pt_ds_pebs_perf_microcode_smrr_writes_refused(void **state)
{
	struct vcpu *v = guest();
	/* IA32_RTIT_* (PT), DS_AREA, PEBS_ENABLE, PERF_GLOBAL_CTRL, BIOS_UPDT_TRIG,
	 * SMRR_PHYSBASE/MASK, TSC and TSC_ADJUST. */
	uint32_t msrs[64];
	size_t n = 0;
	msrs[n++] = 0x560;
	msrs[n++] = 0x561;
	for (uint32_t m = 0x570; m <= 0x572; m++)
		msrs[n++] = m;
	for (uint32_t m = 0x580; m <= 0x58b; m++)
		msrs[n++] = m;
	msrs[n++] = 0x600;
	msrs[n++] = 0x3f1;
	msrs[n++] = MSR_IA32_PERF_GLOBAL_CTRL;
	msrs[n++] = 0x79;
	msrs[n++] = 0x1f2;
	msrs[n++] = 0x1f3;
	msrs[n++] = MSR_IA32_TSC;
	msrs[n++] = MSR_IA32_TSC_ADJUST;
	for (size_t i = 0; i < n; i++)
		assert_write_refused(v, msrs[i], HV_REGION_BASE | 1);
	/* PT and DS do not exist for the guest: reads #GP too. */
	rdmsr_exit(v, 0x570);
	assert_gp0_injected();
	rdmsr_exit(v, 0x600);
	assert_gp0_injected();
}

static void test_debugctl_lbr_bts_refused_btf_in_vmcs(void **state)
{
	struct vcpu *v = guest();
	fake_msr_set(MSR_IA32_DEBUGCTL, 0);
	vmcs_set(VMCS_GUEST_IA32_DEBUGCTL.enc, 0);
	assert_true(exits(MSR_IA32_DEBUGCTL, true));

	const uint64_t bad[] = {DEBUGCTL_LBR, DEBUGCTL_TR | DEBUGCTL_BTS,
	                        DEBUGCTL_BTF | (1ull << 15),
	                        DEBUGCTL_BUS_LOCK_DETECT /* not in this CPU's CPUID */};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		wrmsr_exit(v, MSR_IA32_DEBUGCTL, bad[i]);
		assert_gp0_injected();
		assert_int_equal(vmcs_get(VMCS_GUEST_IA32_DEBUGCTL.enc), 0);
	}
	wrmsr_exit(v, MSR_IA32_DEBUGCTL, DEBUGCTL_BTF);
	assert_int_equal(rip(), 0x1002);
	assert_int_equal(vmcs_get(VMCS_GUEST_IA32_DEBUGCTL.enc), DEBUGCTL_BTF);
	assert_int_equal(fake_msr_get(MSR_IA32_DEBUGCTL), 0); /* the host's stays */
	rdmsr_exit(v, MSR_IA32_DEBUGCTL);
	assert_int_equal(v->gpr[GPR_RAX], DEBUGCTL_BTF);

	struct hw_cpuid_regs l0 = {0xb, 0, 0, 0}, l7 = {0, 0, 1u << 24, 0};
	fake_cpuid_set(0, 0, &l0);
	fake_cpuid_set(7, 0, &l7);
	wrmsr_exit(v, MSR_IA32_DEBUGCTL, DEBUGCTL_BUS_LOCK_DETECT);
	assert_int_equal(vmcs_get(VMCS_GUEST_IA32_DEBUGCTL.enc), DEBUGCTL_BUS_LOCK_DETECT);
}

/* ---- MTRRs, MISC_ENABLE ---- */

static void mtrr_cpu(void)
{
	struct hw_cpuid_regs l1 = {0x00050654, 0x800, CPUID1_ECX_VMX | CPUID1_ECX_X2APIC,
	                           1u << 12 /* MTRR */};
	fake_cpuid_set(1, 0, &l1);
	fake_msr_set(MSR_IA32_MTRRCAP, (1u << 8) | 2); /* FIX, VCNT = 2 */
	fake_msr_set(MSR_IA32_MTRR_DEF_TYPE, (1u << 11) | 6);
	for (uint32_t m = 0x200; m < 0x204; m++)
		fake_msr_set(m, 0);
	fake_msr_set(0x250, 0x0606060606060606ull);
}

static void test_mtrr_writes_cannot_retype_hypervisor_memory(void **state)
{
	struct vcpu *v = guest();
	mtrr_cpu();
	assert_false(exits(0x200, false)); /* reads: the real MTRRs */

	/* Make the hypervisor region UC, then WC; disable MTRRs; fixed range UC. */
	const struct {
		uint32_t msr;
		uint64_t value;
	} w[] = {{0x200, HV_REGION_BASE | 0},
	         {0x201, (~(HV_REGION_SIZE - 1) & 0xffffff000ull) | 0x800},
	         {0x202, HV_REGION_BASE | 1},
	         {MSR_IA32_MTRR_DEF_TYPE, 0},
	         {0x250, 0}};
	for (size_t i = 0; i < sizeof(w) / sizeof(w[0]); i++) {
		uint64_t before = fake_msr_get(w[i].msr);
		assert_true(exits(w[i].msr, true));
		wrmsr_exit(v, w[i].msr, w[i].value);
		assert_int_equal(rip(), 0x1002);                  /* accepted ... */
		assert_int_equal(fake_msr_get(w[i].msr), before); /* ... and dropped */
	}
	/* Beyond VCNT, or fixed ranges without FIX: no such MTRR, #GP. */
	wrmsr_exit(v, 0x204, 0);
	assert_gp0_injected();
	fake_msr_set(MSR_IA32_MTRRCAP, 2);
	wrmsr_exit(v, 0x250, 0);
	assert_gp0_injected();
	assert_int_equal(fake_hw.unknown_msr_writes, 0);
}

static void test_misc_enable_writes_dropped(void **state)
{
	struct vcpu *v = guest();
	fake_msr_set(MSR_IA32_MISC_ENABLE, 1);
	/* XD disable would fault the hypervisor's NX mappings; CPUID limit. */
	wrmsr_exit(v, MSR_IA32_MISC_ENABLE, 1 | (1ull << 34) | (1ull << 22));
	assert_int_equal(rip(), 0x1002);
	assert_int_equal(fake_msr_get(MSR_IA32_MISC_ENABLE), 1);
}

static void test_srbds_mitigation_cannot_be_disabled(void **state)
{
	struct vcpu *v = guest();
	/* RNGDS_MITG_DIS: RDRAND results of the micro-TPM readable cross-core. */
	assert_write_refused(v, 0x123, MCU_OPT_CTRL_RNGDS_MITG_DIS);
	fake_msr_set(0x123, 0);
	wrmsr_exit(v, 0x123, 0); /* Linux's "mitigation on" write: fine */
	assert_int_equal(rip(), 0x1002);
	assert_int_equal(fake_msr_get(0x123), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_table_is_sorted_in_bitmap_range_and_complete),
	    cmocka_unit_test(test_unlisted_msrs_exit_and_gp_without_touching_hardware),
	    cmocka_unit_test(test_hot_linux_msrs_pass_through),
	    cmocka_unit_test(test_apic_base_cannot_move_onto_hypervisor_or_ram),
	    cmocka_unit_test(test_apic_base_cannot_disable_the_apic),
	    cmocka_unit_test(test_apic_base_x2apic_switch_and_rewrite_work),
	    cmocka_unit_test(test_apic_base_no_x2apic_without_cpuid),
	    cmocka_unit_test(test_pt_ds_pebs_perf_microcode_smrr_writes_refused),
	    cmocka_unit_test(test_debugctl_lbr_bts_refused_btf_in_vmcs),
	    cmocka_unit_test(test_mtrr_writes_cannot_retype_hypervisor_memory),
	    cmocka_unit_test(test_misc_enable_writes_dropped),
	    cmocka_unit_test(test_srbds_mitigation_cannot_be_disabled),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
