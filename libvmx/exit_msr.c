/*
 * RDMSR/WRMSR exits. Every MSR exits unless msr_policy.c passes that access
 * through (its bitmap bit is clear; MSRs outside the bitmap's ranges always
 * exit, SDM Vol. 3C 25.6.9). An exit goes to the app's handler if one is
 * registered (vmx_intercept_msr), else to msr_policy.c's rule: emulate, or
 * #GP(0) as on a CPU without the MSR. The hardware MSR is never touched for
 * an MSR the policy does not name: an absent MSR would #GP the hypervisor.
 */
#include "hw/hw.h"
#include "libvmx/msr_policy.h"
#include "libvmx/vmx_internal.h"
#include "rt/console.h"

/* Refused accesses reported on the console (first ones only: a guest can
 * make millions). */
#define MAX_REPORTED 32
static unsigned reported;

static void report_refused(struct vcpu *v, uint32_t msr, bool write, uint64_t value)
{
	if (__atomic_fetch_add(&reported, 1, __ATOMIC_RELAXED) >= MAX_REPORTED)
		return;
	if (write)
		hv_printf("hv: cpu %u: guest WRMSR 0x%x value 0x%llx: #GP (MSR policy)\n", v->cpu,
		          msr, (unsigned long long)value);
	else
		hv_printf("hv: cpu %u: guest RDMSR 0x%x: #GP (MSR policy)\n", v->cpu, msr);
}

/* Returns false to inject #GP(0). */
static bool msr_access(struct vcpu *v, uint32_t msr, bool write, uint64_t *value)
{
	vmx_msr_handler h = vmx_msr_handler_for(msr);
	if (h)
		return h(v, msr, write, value);

	const struct msr_policy *p = vmx_msr_policy_for(msr);
	uint8_t rule = p ? (write ? p->write : p->read) : MSR_GP;
	/* MSR_PASS exits only if a bitmap bit was set without a handler: an
	 * emulation answers if the MSR has one; otherwise the hypervisor cannot
	 * tell whether the MSR exists, so it refuses. */
	if (rule != MSR_GP && p->emulate)
		return p->emulate(v, msr, write, value);
	report_refused(v, msr, write, *value);
	return false;
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
