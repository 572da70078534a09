/*
 * Exception-or-NMI exits (basic reason 0, SDM 28.2.2). NMIs go to the event
 * module; exceptions exit only if the app put them in its exception bitmap,
 * and go to the app; one it does not handle is given back to the guest.
 */
#include "hw/hw.h"
#include "libvmx/vmx_internal.h"
#include "rt/panic.h"

void vmx_exit_exception_nmi(struct vcpu *v)
{
	uint32_t info = v->exit.intr_info;

	if (!(info & INTR_INFO_VALID))
		hv_panic("exception exit on CPU %u without valid interruption info", v->cpu);
	if (INTR_INFO_TYPE(info) == INTR_TYPE_NMI) {
		/* A physical NMI while the guest ran (NMI exiting): one more
		 * pending guest NMI, decided at the injection point. Quirk
		 * nmi_blocked (libvmx/quirks.c): end the NMI blocking the exit
		 * left (nmi_unblock.S), so later NMIs reach the host handler
		 * during this exit and are collected at the injection point. On
		 * hardware the next VM entry ends it, and an NMI that came
		 * meanwhile exits right after that entry. */
		vmx_nmi_exit_arrived(v);
		if (vmx_quirk(VMX_QUIRK_NMI_BLOCKED_IN_ROOT))
			vmx_unblock_nmis();
		return;
	}

	uint8_t vector = (uint8_t)INTR_INFO_VECTOR(info);
	bool has_error = (info & INTR_INFO_DELIVER_CODE) != 0;
	uint32_t error = has_error ? v->exit.intr_error : 0;
	const struct hv_app *app = vmx_app();
	if (app && app->exception && app->exception(v, vector, error))
		return;

	/*
	 * Give it back. For INT3/INTO/INT1 the saved RIP is the instruction's
	 * own: inject them as software exceptions with the instruction length,
	 * so the guest's handler gets the return address past them (SDM Vol. 3C 27.6.1.1).
	 */
	uint32_t type = INTR_INFO_TYPE(info);
	if (type == INTR_TYPE_SW_EXCEPTION || type == INTR_TYPE_PRIV_SW_EXCEPTION) {
		vmx_event_redeliver(v, info, error, v->exit.instruction_len);
		return;
	}
	/* A #PF exit does not write CR2; the guest's handler reads it (SDM 28.1). */
	if (vector == X86_VEC_PF)
		hw_write_cr2(v->exit.qualification);
	vmx_queue_exception(v, vector, has_error, error);
}
