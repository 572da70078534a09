/*
 * CPUID exits (unconditional in VMX non-root, SDM 26.1.2): execute CPUID and
 * give the guest what bare metal would, minus VMX.
 */
#include "hw/hw.h"
#include "libvmx/vmx_internal.h"

static bool show_hypervisor;

void vmx_cpuid_show_hypervisor(bool show)
{
	show_hypervisor = show;
}

#define CPUID7_ECX_OSPKE    (1u << 4)
#define CPUID7_1_ECX_MSRIMM (1u << 5) /* RDMSR/WRMSR with an immediate MSR index */

void vmx_exit_cpuid(struct vcpu *v)
{
	uint32_t leaf = (uint32_t)v->gpr[GPR_RAX], subleaf = (uint32_t)v->gpr[GPR_RCX];
	struct hw_cpuid_regs r;

	hw_cpuid(leaf, subleaf, &r);
	uint64_t cr4 = vmcs_readnat(VMCS_GUEST_CR4);
	if (leaf == 1) {
		/* The guest has no VMX: VMXON and friends #UD (exit_misc.c). No
		 * SMX either: CR4.SMXE is refused and GETSEC is #UD (exit_cr.c). */
		r.ecx &= ~(CPUID1_ECX_VMX | CPUID1_ECX_SMX);
		r.ecx = show_hypervisor ? (r.ecx | CPUID1_ECX_HYPERVISOR)
		                        : (r.ecx & ~CPUID1_ECX_HYPERVISOR);
		/* OSXSAVE mirrors CR4.OSXSAVE - the guest's, not the host's. */
		r.ecx = (cr4 & CR4_OSXSAVE) ? (r.ecx | CPUID1_ECX_OSXSAVE)
		                            : (r.ecx & ~CPUID1_ECX_OSXSAVE);
	} else if (leaf == 7 && subleaf == 0) {
		/* OSPKE mirrors CR4.PKE likewise. */
		r.ecx = (cr4 & CR4_PKE) ? (r.ecx | CPUID7_ECX_OSPKE) : (r.ecx & ~CPUID7_ECX_OSPKE);
	} else if (leaf == 7 && subleaf == 1) {
		/* Not offered: an intercepted MSR's immediate form gets #UD (exit_misc.c). */
		r.ecx &= ~CPUID7_1_ECX_MSRIMM;
	}
	/* CPUID writes the low 32 bits and clears the high halves. */
	v->gpr[GPR_RAX] = r.eax;
	v->gpr[GPR_RBX] = r.ebx;
	v->gpr[GPR_RCX] = r.ecx;
	v->gpr[GPR_RDX] = r.edx;
	vcpu_skip_instruction(v);
}
