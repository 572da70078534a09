/*
 * EPT views without a world switch, and one-instruction steps with the
 * monitor trap flag (vmx_view.h): what an app needs to let one guest
 * instruction through a view where it may do more (a write to a page the
 * guest's view keeps read-only) and to take the CPU back right after it.
 *
 * The monitor trap flag is bit 27 of the primary processor-based controls
 * (SDM Vol. 3C 25.6.2, Table 25-6); an MTF VM exit (basic reason 37, SDM
 * Vol. 3C Appendix C) comes on the instruction boundary after one
 * instruction, or after the delivery of an event (an injected one, a fault of
 * the instruction, or an interrupt taken before it), SDM Vol. 3C 26.5.2.
 */
#include "hw/hw.h"
#include "libvmx/vmx_caps.h"
#include "libvmx/vmx_internal.h"
#include "rt/layout.h"
#include "rt/panic.h"

/* One CPU's step: armed from vmx_single_step() to its MTF exit. */
static bool armed[HV_MAX_CPUS];

void vmx_single_step_reset(struct vcpu *v)
{
	armed[v->cpu] = false;
}

uint64_t vmx_ept_view_current(struct vcpu *v)
{
	(void)v;
	return vmcs_read64(VMCS_EPT_POINTER);
}

void vmx_ept_view_set(struct vcpu *v, uint64_t eptp)
{
	/* An isolated view saved the EPTP it replaced and puts it back at leave:
	 * a switch under it would be lost; eptp 0 is no view. App invariants. */
	if (vmx_view_active(v))
		hv_panic("vmx_ept_view_set: CPU %u is in an isolated view", v->cpu);
	if (!eptp)
		hv_panic("vmx_ept_view_set: EPTP 0 on CPU %u", v->cpu);
	/* Guest-physical and combined mappings are tagged with the EPTP's
	 * EP4TA (SDM Vol. 3C 29.4.1): switching needs no INVEPT of its own. */
	vmcs_write64(VMCS_EPT_POINTER, eptp);
}

bool vmx_single_step_supported(void)
{
	return vmx_config()->monitor_trap_flag;
}

bool vmx_single_step(struct vcpu *v)
{
	if (!vmx_single_step_supported())
		return false;
	armed[v->cpu] = true;
	vmcs_write32(VMCS_PRIMARY_PROC_CONTROLS,
	             vmcs_read32(VMCS_PRIMARY_PROC_CONTROLS) | PROC_MONITOR_TRAP_FLAG);
	return true;
}

bool vmx_single_step_armed(const struct vcpu *v)
{
	return armed[v->cpu];
}

void vmx_single_step_cancel(struct vcpu *v)
{
	if (!armed[v->cpu])
		return;
	armed[v->cpu] = false;
	vmcs_write32(VMCS_PRIMARY_PROC_CONTROLS,
	             vmcs_read32(VMCS_PRIMARY_PROC_CONTROLS) & ~PROC_MONITOR_TRAP_FLAG);
}

/*
 * After the injection point, before the entry that runs the step: if it
 * injects nothing, the guest's maskable interrupts wait for the end of the
 * stepped instruction, as after STI (blocking by STI, SDM Vol. 3C 25.4.2
 * Table 25-3): an interrupt taken before the instruction would be what the
 * MTF exit follows, and the instruction would run later, outside the step.
 * Only where VM entry allows it (SDM Vol. 3C 27.3.1.5): IF = 1, TF = 0, no
 * MOV-SS blocking (which already holds interrupts), the CPU active, no event
 * injected (an injected external interrupt requires no STI blocking; any
 * injected event is what the step delivers).
 */
void vmx_single_step_before_entry(struct vcpu *v)
{
	if (!armed[v->cpu])
		return;
	if (vmcs_read32(VMCS_VM_ENTRY_INTR_INFO) & INTR_INFO_VALID)
		return;
	/* IF = 0: nothing to hold. TF = 1: STI blocking would need a pending
	 * single-step #DB (BS) for VM entry to accept it (SDM Vol. 3C
	 * 27.3.1.5); the guest single-steps itself, interrupts stay its own. */
	uint64_t rflags = vmcs_readnat(VMCS_GUEST_RFLAGS);
	if (!(rflags & RFLAGS_IF) || (rflags & RFLAGS_TF))
		return;
	if (vmcs_read32(VMCS_GUEST_ACTIVITY_STATE) != VMX_ACTIVITY_ACTIVE)
		return;
	uint32_t intr = vmcs_read32(VMCS_GUEST_INTERRUPTIBILITY);
	if (intr & (INTERRUPTIBILITY_STI | INTERRUPTIBILITY_MOV_SS))
		return;
	/* With STI blocking, a pending single-step trap (BS, bit 14) requires
	 * TF = 1 (same checks): leave such a state alone. */
	if (vmcs_readnat(VMCS_GUEST_PENDING_DBG_EXCEPTIONS) & (1ull << 14))
		return;
	vmcs_write32(VMCS_GUEST_INTERRUPTIBILITY, intr | INTERRUPTIBILITY_STI);
}

void vmx_exit_monitor_trap(struct vcpu *v)
{
	/* Only vmx_single_step() sets the control: an MTF exit without a step
	 * is libvmx's own broken invariant, not guest input. */
	if (!armed[v->cpu])
		hv_panic("MTF VM exit on CPU %u with no step armed", v->cpu);
	vmx_single_step_cancel(v);
	const struct hv_app *app = vmx_app();
	if (app && app->monitor_trap)
		app->monitor_trap(v);
}
