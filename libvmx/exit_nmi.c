/*
 * NMI-window exits (SDM 26.7.6): the guest just became able to take an NMI.
 * Nothing is decided here: the injection point that runs before the next
 * entry asks the app again and injects or leaves the NMI pending.
 * (NMI exits themselves arrive as exception-or-NMI exits: exit_exception.c.)
 */
#include "hw/hw.h"
#include "libvmx/vmx_internal.h"

void vmx_exit_nmi_window(struct vcpu *v)
{
	vmx_set_nmi_window(v, false);
}
