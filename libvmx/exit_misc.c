/*
 * Small exits: cache-control instructions, HLT, VMX instructions, triple fault,
 * the VMX-preemption timer (handed to the app).
 */
#include "hw/hw.h"
#include "libvmx/vmx_internal.h"
#include "rt/console.h"
#include "rt/panic.h"
#include "rt/power.h"

/* Exit code of a run that ended because a guest CPU triple-faulted. */
#define POWER_OFF_TRIPLE_FAULT 3

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
	 * exactly as bare metal would (SDM 25.4.2, 26.6.2).
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
	hv_printf("hv: cpu %u: guest triple fault (%s): stopping\n", v->cpu, why);
	vmx_dump_vmcs();
	vmx_print_exit_counters();
	const struct hv_app *app = vmx_app();
	if (app && app->shutdown)
		app->shutdown(v);
	hv_power_off(POWER_OFF_TRIPLE_FAULT);
}

void vmx_exit_triple_fault(struct vcpu *v)
{
	vmx_guest_triple_fault(v, "triple-fault VM exit");
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
