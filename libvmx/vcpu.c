/* The vcpus (one per CPU index) and register helpers used by the handlers. */
#include "libvmx/vcpu.h"

#include "hw/hw.h"
#include "libvmx/vmx_caps.h"
#include "libvmx/vmx_internal.h"
#include "rt/layout.h"
#include "rt/panic.h"

static struct vcpu vcpus[HV_MAX_CPUS];
static const struct hv_app *app;

struct vcpu *vmx_vcpu(uint32_t cpu)
{
	if (cpu >= HV_MAX_CPUS)
		hv_panic("vmx_vcpu: CPU index %u out of range", cpu);
	return &vcpus[cpu];
}

void vmx_set_app(const struct hv_app *a)
{
	app = a;
}

const struct hv_app *vmx_app(void)
{
	return app;
}

uint64_t vcpu_gpr_read(struct vcpu *v, unsigned n)
{
	return n == GPR_RSP ? vmcs_readnat(VMCS_GUEST_RSP) : v->gpr[n & 15];
}

void vcpu_gpr_write(struct vcpu *v, unsigned n, uint64_t value)
{
	if (n == GPR_RSP)
		vmcs_writenat(VMCS_GUEST_RSP, value);
	else
		v->gpr[n & 15] = value;
}

void vcpu_skip_instruction(struct vcpu *v)
{
	vmcs_writenat(VMCS_GUEST_RIP, vmcs_readnat(VMCS_GUEST_RIP) + v->exit.instruction_len);
	/* The instruction completed: blocking by STI / MOV SS ends (SDM 25.4.2). */
	uint32_t intr = vmcs_read32(VMCS_GUEST_INTERRUPTIBILITY);
	if (intr & (INTERRUPTIBILITY_STI | INTERRUPTIBILITY_MOV_SS))
		vmcs_write32(VMCS_GUEST_INTERRUPTIBILITY,
		             intr & ~(INTERRUPTIBILITY_STI | INTERRUPTIBILITY_MOV_SS));
}

unsigned vcpu_cpl(void)
{
	/* SS.DPL is the CPL (SDM 25.4.1); real mode runs at CPL 0. */
	return (vmcs_read32(VMCS_GUEST_SS_ACCESS_RIGHTS) >> 5) & 3u;
}

void vmx_flush_guest_tlb(struct vcpu *v)
{
	uint64_t cap = vmx_config()->ept_vpid;

	enum hw_vmx_result r = HW_VMX_OK;
	uint64_t type = 0;

	if (cap & VMX_VPID_CAP_INVVPID_SINGLE)
		r = hw_invvpid(type = INVVPID_SINGLE_CONTEXT, v->vpid, 0);
	else if (cap & VMX_VPID_CAP_INVVPID_ALL)
		r = hw_invvpid(type = INVVPID_ALL_CONTEXT, 0, 0);
	if (r != HW_VMX_OK)
		hw_vmx_failed("INVVPID type", (uint32_t)type, v->vpid, r);
}
