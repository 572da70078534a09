/*
 * RDMSR/WRMSR exits. Only MSRs set in the bitmap exit (plus the ones outside
 * the bitmap's ranges, which always do, SDM 25.6.9): everything else runs
 * natively, so an MSR the CPU lacks faults in the guest exactly as on
 * hardware. Of the exiting ones: an app handler if registered, else VMX is
 * hidden (IA32_FEATURE_CONTROL reads as locked with VMX off, IA32_VMX_* #GP),
 * else pass through. Outside the bitmap's ranges there is nothing to pass
 * through safely (an unknown RDMSR in root mode would #GP the hypervisor), so
 * those #GP as they do on hardware without such an MSR.
 */
#include "hw/hw.h"
#include "libvmx/vmx_internal.h"

static bool is_vmx_msr(uint32_t msr)
{
	return msr >= MSR_IA32_VMX_BASIC && msr <= MSR_IA32_VMX_PROCBASED_CTLS3;
}

/* Returns false to inject #GP(0). */
static bool msr_access(struct vcpu *v, uint32_t msr, bool write, uint64_t *value)
{
	vmx_msr_handler h = vmx_msr_handler_for(msr);
	if (h)
		return h(v, msr, write, value);
	if (msr == MSR_IA32_FEATURE_CONTROL) {
		/* Locked, VMX disabled both inside and outside SMX; writes to a
		 * locked register #GP (SDM Vol. 4, IA32_FEATURE_CONTROL). */
		if (write)
			return false;
		*value = (hw_rdmsr(msr) | FEATURE_CONTROL_LOCKED) &
		         ~(FEATURE_CONTROL_VMX_IN_SMX | FEATURE_CONTROL_VMX_OUTSIDE_SMX);
		return true;
	}
	/* With CPUID.1:ECX.VMX = 0 these MSRs do not exist. */
	if (is_vmx_msr(msr))
		return false;
	if (!vmx_msr_in_bitmap(msr))
		return false;
	if (write)
		hw_wrmsr(msr, *value);
	else
		*value = hw_rdmsr(msr);
	return true;
}

void vmx_exit_rdmsr(struct vcpu *v)
{
	uint64_t value = 0;

	if (!msr_access(v, (uint32_t)v->gpr[GPR_RCX], false, &value)) {
		vmx_queue_exception(v, X86_VEC_GP, true, 0);
		return;
	}
	v->gpr[GPR_RAX] = (uint32_t)value;
	v->gpr[GPR_RDX] = value >> 32;
	vcpu_skip_instruction(v);
}

void vmx_exit_wrmsr(struct vcpu *v)
{
	uint64_t value = (v->gpr[GPR_RDX] << 32) | (uint32_t)v->gpr[GPR_RAX];

	if (!msr_access(v, (uint32_t)v->gpr[GPR_RCX], true, &value)) {
		vmx_queue_exception(v, X86_VEC_GP, true, 0);
		return;
	}
	vcpu_skip_instruction(v);
}
