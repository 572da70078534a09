/*
 * Guest memory that libvmx reads or writes on the guest's behalf (instruction
 * bytes for MMIO emulation, the guest's page tables, the PAE PDPTEs a CR write
 * loads) is checked against the EPT view this CPU runs the guest in, as the
 * CPU itself would check the access (SDM Vol. 3C 29.3.3 "EPT-induced VM
 * exits"). An app can give a CPU another view (TrustVisor hides a PAL's pages
 * from the OS view), so the view is the VMCS's EPT pointer, read each time.
 * Without this, the hypervisor would read for the guest what the guest itself
 * may not read (docs/design.md section 6.1).
 */
#include "hw/hw.h"
#include "libvmx/ept.h"
#include "libvmx/vmx_internal.h"
#include "rt/console.h"

bool vmx_guest_gpa_allowed(uint64_t gpa, unsigned rwx)
{
	return !vmx_gpa_in_hv_region(gpa) &&
	       ept_maps_identity(vmcs_read64(VMCS_EPT_POINTER), gpa, rwx);
}

void vmx_guest_access_denied(struct vcpu *v, uint64_t gpa, uint64_t qualification)
{
	/* What the CPU would have done: an EPT violation, which the app sees
	 * first (TrustVisor: a guest touched a PAL page). */
	if (vmx_ept_violation_to_app(v, gpa, qualification))
		return;
	hv_printf("hv: guest access to GPA 0x%llx refused in emulation (cpu %u, rip 0x%llx)\n",
	          (unsigned long long)gpa, v->cpu,
	          (unsigned long long)vmcs_readnat(VMCS_GUEST_RIP));
	vmx_queue_exception(v, X86_VEC_GP, true, 0);
}
