/*
 * Small exits: cache-control instructions, HLT, VMX instructions, GETSEC,
 * triple fault, the VMX-preemption timer (handed to the app).
 */
#include "hw/hw.h"
#include "libvmx/vmx_internal.h"
#include "rt/panic.h"
#include "rt/power.h"

/* Exit code of a run that ended because a guest CPU triple-faulted. */

void vmx_exit_invd(struct vcpu *v)
{
	/* INVD would drop the hypervisor's dirty lines too: write back instead. */
	hw_wbinvd();
	vcpu_skip_instruction(v);
}

void vmx_exit_wbinvd(struct vcpu *v)
{
	hw_wbinvd();
	vcpu_skip_instruction(v);
}

void vmx_exit_hlt(struct vcpu *v)
{
	/*
	 * Only reached if an app enables HLT exiting. Park the guest CPU in the
	 * HLT activity state: the CPU wakes it for the next interrupt or NMI
	 * exactly as bare metal would (SDM Vol. 3C 25.4.2, 27.7.2).
	 */
	vcpu_skip_instruction(v);
	vmcs_write32(VMCS_GUEST_ACTIVITY_STATE, VMX_ACTIVITY_HLT);
}

void vmx_exit_vmx_instruction(struct vcpu *v)
{
	/* The guest sees no VMX (CPUID.1:ECX.VMX = 0, CR4.VMXE = 0): #UD. */
	vmx_queue_exception(v, X86_VEC_UD, false, 0);
}

_Noreturn void vmx_guest_triple_fault(struct vcpu *v, const char *why)
{
	/* Bare metal would reset the machine; a hypervisor run ends with a report. */
	vmx_guest_stop_code(v, HV_POWER_TRIPLE_FAULT, "guest triple fault (%s)", why);
}

void vmx_exit_triple_fault(struct vcpu *v)
{
	vmx_guest_triple_fault(v, "triple-fault VM exit");
}

void vmx_exit_getsec(struct vcpu *v)
{
	/*
	 * GETSEC exits unconditionally once CR4.SMXE is set (SDM Vol. 3C 26.1.2,
	 * Vol. 2B GETSEC). The guest sees no SMX (CPUID.1:ECX.SMX = 0) and cannot
	 * set CR4.SMXE (exit_cr.c), so for it GETSEC is #UD, as it is on a CPU
	 * with CR4.SMXE clear.
	 */
	vmx_queue_exception(v, X86_VEC_UD, false, 0);
}

void vmx_exit_unsupported_instruction(struct vcpu *v)
{
	/*
	 * SEAMCALL and TDCALL exit in VMX non-root whatever the controls (Intel
	 * TDX CPU architectural extensions; KVM gives #UD the same way), and the
	 * immediate forms of RDMSR/WRMSR exit for an MSR the bitmap intercepts.
	 * The guest is shown neither TDX nor MSR-immediate (exit_cpuid.c): to
	 * it these are instructions its CPU does not have, #UD. (Issue 11.1's
	 * MSR handling may emulate the immediate forms instead.)
	 */
	vmx_queue_exception(v, X86_VEC_UD, false, 0);
}

void vmx_exit_preemption_timer(struct vcpu *v)
{
	/*
	 * The timer counts down only while the pin-based control is set (SDM Vol.
	 * 3C 25.5.1), and only an app sets it, so only the app knows what the
	 * expiry means. Nothing to skip: the exit happens between instructions.
	 */
	const struct hv_app *app = vmx_app();

	if (app && app->preemption_timer && app->preemption_timer(v))
		return;
	hv_panic("unexpected VM exit on CPU %u: reason %u (%s): %s", v->cpu,
	         (unsigned)VMX_EXIT_PREEMPTION_TIMER,
	         vmx_exit_reason_name(VMX_EXIT_PREEMPTION_TIMER),
	         app && app->preemption_timer ? "the app did not handle it"
	                                      : "the app has no preemption_timer hook");
}
