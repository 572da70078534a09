/*
 * The MSRs msr_policy.c has the hypervisor emulate, IA32_APIC_BASE aside
 * (msr_apic_base.c). Each handler returns false for #GP(0) and never touches
 * a hardware MSR the CPU might lack.
 */
#include "hw/hw.h"
#include "libvmx/msr_policy.h"
#include "libvmx/vmx_internal.h"

/* CPUID.1:EDX.MTRR (SDM Vol. 3A 12.11.1); CPUID.(7,0):ECX.BUS_LOCK_DETECT. */
#define CPUID1_EDX_MTRR         (1u << 12)
#define CPUID7_ECX_BUS_LOCK_DET (1u << 24)
/* IA32_MTRRCAP: VCNT in bits 7:0, FIX in bit 8 (SDM Vol. 3A 12.11.2.1). */
#define MTRRCAP_VCNT_MASK  0xffu
#define MTRRCAP_FIX        (1u << 8)
#define MSR_MTRR_PHYSBASE0 0x200u

bool vmx_msr_feature_control(struct vcpu *v, uint32_t msr, bool write, uint64_t *value)
{
	(void)v;
	/* Locked, VMX disabled both inside and outside SMX; writes to a locked
	 * register #GP (SDM Vol. 4, IA32_FEATURE_CONTROL). The MSR exists on
	 * every CPU libvmx runs on (vmx_supported reads it). */
	if (write)
		return false;
	*value = (hw_rdmsr(msr) | FEATURE_CONTROL_LOCKED) &
	         ~(FEATURE_CONTROL_VMX_IN_SMX | FEATURE_CONTROL_VMX_OUTSIDE_SMX);
	return true;
}

/* DEBUGCTL bits the guest may set on this CPU: BTF (single-step on branches,
 * every CPU since the P6), bus-lock detection where CPUID enumerates it. Not
 * LBR, TR/BTS/BTINT (branch records: of the PALs, which run with the OS's
 * guest DEBUGCTL) nor the freeze bits (the PMU is not the guest's). A bit the
 * CPU lacks would fail the VM entry (SDM Vol. 3C 27.3.1.1), so none may get
 * into the VMCS. */
static uint64_t debugctl_allowed(void)
{
	struct hw_cpuid_regs r, l0;

	hw_cpuid(0, 0, &l0);
	uint64_t ok = DEBUGCTL_BTF;
	if (l0.eax >= 7) {
		hw_cpuid(7, 0, &r);
		if (r.ecx & CPUID7_ECX_BUS_LOCK_DET)
			ok |= DEBUGCTL_BUS_LOCK_DETECT;
	}
	return ok;
}

bool vmx_msr_debugctl(struct vcpu *v, uint32_t msr, bool write, uint64_t *value)
{
	(void)v;
	(void)msr;
	/* A VMCS guest field: "load debug controls" on entry, "save debug
	 * controls" on exit (vmx_caps.c); the live MSR is the host's here. */
	if (!write) {
		*value = vmcs_read64(VMCS_GUEST_IA32_DEBUGCTL);
		return true;
	}
	if (*value & ~debugctl_allowed())
		return false;
	vmcs_write64(VMCS_GUEST_IA32_DEBUGCTL, *value);
	return true;
}

bool vmx_msr_write_ignored(struct vcpu *v, uint32_t msr, bool write, uint64_t *value)
{
	(void)v;
	(void)msr;
	(void)value;
	/* Reads of these MSRs pass through and never exit; if one did, the
	 * hypervisor could not know the MSR exists (an absent one would #GP it). */
	return write;
}

bool vmx_msr_mcu_opt_ctrl(struct vcpu *v, uint32_t msr, bool write, uint64_t *value)
{
	/* Dropped rather than written: the mitigation stays as the firmware
	 * left it (on), whatever else the guest asks. */
	return write && !(*value & MCU_OPT_CTRL_RNGDS_MITG_DIS);
}

/* Does this MTRR exist on the CPU (SDM Vol. 3A 12.11.1, 12.11.2.1)? */
static bool mtrr_exists(uint32_t msr)
{
	struct hw_cpuid_regs r;

	hw_cpuid(1, 0, &r);
	if (!(r.edx & CPUID1_EDX_MTRR))
		return false;
	uint64_t cap = hw_rdmsr(MSR_IA32_MTRRCAP);
	if (msr == MSR_IA32_MTRR_DEF_TYPE)
		return true;
	if (msr >= MSR_MTRR_PHYSBASE0 && msr < MSR_MTRR_PHYSBASE0 + 0x20u)
		return (msr - MSR_MTRR_PHYSBASE0) / 2 < (cap & MTRRCAP_VCNT_MASK);
	return (cap & MTRRCAP_FIX) != 0;
}

bool vmx_msr_mtrr(struct vcpu *v, uint32_t msr, bool write, uint64_t *value)
{
	(void)v;
	(void)value;
	/* Writes are dropped: the MTRRs give the hypervisor's memory its type
	 * too, and under EPT the guest's own accesses take their type from EPT
	 * and the guest's PAT, not the MTRRs (SDM Vol. 3C 29.3.7.2), so the
	 * guest loses nothing but a read-back of what it wrote. An MTRR the CPU
	 * lacks #GPs as on hardware. */
	return write && mtrr_exists(msr);
}
