/*
 * Guest state for apps, named for what it means (vmx_guest.h): the VMCS
 * fields behind each name are libvmx's business (SDM Vol. 3C 25.4.1).
 */
#include "hw/hw.h"
#include "libvmx/vcpu.h"
#include "libvmx/vmx_guest.h"

/* CS access rights bit 13, L: 64-bit code segment (SDM Vol. 3C 25.4.1). */
#define CS_AR_L (1u << 13)

uint32_t vmx_vcpu_index(const struct vcpu *v)
{
	return v->cpu;
}

bool vmx_vcpu_is_boot(const struct vcpu *v)
{
	return v->boot_cpu;
}

uint64_t vmx_vcpu_guest_eptp(const struct vcpu *v)
{
	return v->eptp;
}

uint64_t vmx_guest_rip(struct vcpu *v)
{
	(void)v;
	return vmcs_readnat(VMCS_GUEST_RIP);
}

uint64_t vmx_guest_rsp(struct vcpu *v)
{
	(void)v;
	return vmcs_readnat(VMCS_GUEST_RSP);
}

void vmx_guest_set_rip(struct vcpu *v, uint64_t rip)
{
	(void)v;
	vmcs_writenat(VMCS_GUEST_RIP, rip);
}

void vmx_guest_set_rsp(struct vcpu *v, uint64_t rsp)
{
	(void)v;
	vmcs_writenat(VMCS_GUEST_RSP, rsp);
}

uint64_t vmx_guest_cr0(struct vcpu *v)
{
	(void)v;
	return vmcs_readnat(VMCS_GUEST_CR0);
}

uint64_t vmx_guest_cr3(struct vcpu *v)
{
	(void)v;
	return vmcs_readnat(VMCS_GUEST_CR3);
}

uint64_t vmx_guest_cr4(struct vcpu *v)
{
	(void)v;
	return vmcs_readnat(VMCS_GUEST_CR4);
}

uint64_t vmx_guest_efer(struct vcpu *v)
{
	(void)v;
	return vmcs_read64(VMCS_GUEST_IA32_EFER);
}

bool vmx_guest_in_64bit_mode(struct vcpu *v)
{
	return (vmx_guest_efer(v) & EFER_LMA) &&
	       (vmcs_read32(VMCS_GUEST_CS_ACCESS_RIGHTS) & CS_AR_L);
}

uint64_t vmx_exit_qualification(const struct vcpu *v)
{
	return v->exit.qualification;
}

bool vmx_ept_violation_linear(struct vcpu *v, uint64_t *gla)
{
	if (VMX_EXIT_REASON_BASIC(v->exit.reason) != VMX_EXIT_EPT_VIOLATION ||
	    !(v->exit.qualification & EPTQUAL_GLA_VALID))
		return false;
	*gla = vmcs_readnat(VMCS_GUEST_LINEAR_ADDRESS);
	return true;
}
