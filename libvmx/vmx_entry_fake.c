/*
 * Host builds: there is no VM entry. Tests drive vmx_handle_exit() and the
 * setup functions directly; reaching an entry is a test error.
 */
#include "libvmx/vmx_internal.h"
#include "rt/panic.h"

void vmx_exit_stub(void)
{
}

_Noreturn void vmx_enter_guest(struct vcpu *v)
{
	hv_panic("host build: no VM entry (CPU %u)", v->cpu);
}

/* vmx_entry.S's restart range: labels only, never entered on the host. */
const char vmx_entry_restart[1], vmx_entry_restart_end[1];

/* nmi_unblock.S: there is no NMI blocking to end on the host; counted for tests. */
uint64_t vmx_fake_nmi_unblocks;

void vmx_unblock_nmis(void)
{
	vmx_fake_nmi_unblocks++;
}
