/*
 * INIT and SIPI exits: how the guest's own INIT-SIPI-SIPI starts its APs.
 *
 * In VMX non-root operation INIT always causes a VM exit, and SIPI causes one
 * when the guest CPU is in the wait-for-SIPI activity state (SDM Vol. 3C 26.2).
 * Delivery of INIT/SIPI does not depend on the guest's APIC mode (xAPIC or
 * x2APIC), so these two handlers are the whole of it.
 */
#include "hw/hw.h"
#include "libvmx/vmx_internal.h"

void vmx_exit_init(struct vcpu *v)
{
	/*
	 * INIT is blocked (held pending) in the wait-for-SIPI activity state, so
	 * the guest's INIT that preceded its SIPI arrives as an INIT exit right
	 * after the SIPI started the CPU, before it ran a single instruction
	 * (seen on Bochs 2.7; KVM documents the same rule for nested VMX). On
	 * bare metal that INIT was consumed before the SIPI: drop it.
	 */
	if (v->sipi_fresh && vmcs_readnat(VMCS_GUEST_RIP) == 0 &&
	    vmcs_readnat(VMCS_GUEST_CS_BASE) == v->sipi_cs_base) {
		v->sipi_fresh = false;
		return;
	}
	/*
	 * The app first (hv_app.before_init): whatever it runs on this CPU in a
	 * view of its own (VMCS controls INIT does not reset) must end before the
	 * guest state is reset under it.
	 */
	const struct hv_app *app = vmx_app();
	if (app && app->before_init)
		app->before_init(v);
	/* A view the app left on (vmx_view.h): the guest's EPTP, CR3, controls
	 * and debug state back, since INIT resets none of the controls. */
	if (vmx_view_active(v))
		vmx_view_leave(v);
	/* A step the app left armed (vmx_view.h) ends with the instruction
	 * stream it was stepping. */
	vmx_single_step_cancel(v);
	/*
	 * INIT reset (SDM Vol. 3A 10.1.1, Table 10-1): pending events are discarded (a
	 * latched NMI stays latched, as the hardware keeps it), the CPU is put in
	 * real mode at the reset state; an AP then waits for SIPI (SDM Vol. 3A 9.4.4),
	 * the BSP runs the reset vector (its firmware restarts the machine).
	 */
	vmx_event_init_reset(v);
	vmcs_guest_init_state(v, !v->boot_cpu);
	__atomic_store_n(&v->waiting_for_sipi, !v->boot_cpu, __ATOMIC_RELEASE);
	/* Back in wait-for-SIPI: INITs to this AP are trapped again (guest_apic.c). */
	if (!v->boot_cpu)
		vmx_guest_apic_ap_stopped(v);
	vmx_flush_guest_tlb(v);
}

void vmx_exit_sipi(struct vcpu *v)
{
	/* Exit qualification bits 7:0: the SIPI vector (SDM 28.2.1). */
	uint8_t vector = (uint8_t)(v->exit.qualification & 0xff);
	vmcs_guest_sipi_state(v, vector);
	v->sipi_fresh = true;
	__atomic_store_n(&v->waiting_for_sipi, false, __ATOMIC_RELEASE);
	vmx_guest_apic_ap_started(v);
	v->sipi_cs_base = (uint64_t)vector << 12;
	/*
	 * Wait-for-SIPI blocks NMIs (SDM Vol. 3C 27.7.1). Quirk nmi_blocked
	 * (libvmx/quirks.c): Bochs 2.7 keeps them blocked after the SIPI exit
	 * and through every later VM entry, so this CPU would never again take
	 * an NMI (quiesce rounds, guest NMI IPIs) until an IRET in root: do that
	 * IRET now (nmi_unblock.S).
	 */
	if (vmx_quirk(VMX_QUIRK_NMI_BLOCKED_IN_ROOT))
		vmx_unblock_nmis();
}
