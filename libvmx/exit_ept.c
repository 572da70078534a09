/*
 * EPT violations and misconfigurations (SDM 29.3.3). The app sees violations
 * first. By default, an access to the hypervisor's region (absent from EPT,
 * reserved in the guest's E820) is reported and gets #GP(0), so a stray guest
 * cannot touch the hypervisor and the run goes on; an access where the EPT
 * maps nothing at all (above RAM and 4 GiB) is one to a bus with no device
 * (guest_mmio.c). Any other violation is at a mapped page whose rights someone
 * took away without handling the exit: the EPT is wrong, a hypervisor bug:
 * panic.
 */
#include "hw/hw.h"
#include "libvmx/vmx_internal.h"
#include "rt/console.h"
#include "rt/layout.h"
#include "rt/panic.h"

bool vmx_gpa_in_hv_region(uint64_t gpa)
{
	return gpa >= HV_REGION_BASE && gpa < HV_REGION_BASE + HV_REGION_SIZE;
}

void vmx_exit_ept_violation(struct vcpu *v)
{
	const struct hv_app *app = vmx_app();
	uint64_t gpa = v->exit.gpa, q = v->exit.qualification;

	/* A store to the write-protected LAPIC page (guest_apic.c). */
	if (vmx_guest_apic_write(v))
		return;

	if (app && app->ept_violation) {
		switch (app->ept_violation(v, gpa, q)) {
		case HV_EPT_RETRY:
		case HV_EPT_HANDLED:
			return;
		case HV_EPT_UNHANDLED:
			break;
		}
	}
	if (vmx_gpa_in_hv_region(gpa)) {
		hv_printf(
		    "hv: guest access to hypervisor memory at GPA 0x%llx (cpu %u, rip 0x%llx, "
		    "qualification 0x%llx)\n",
		    (unsigned long long)gpa, v->cpu,
		    (unsigned long long)vmcs_readnat(VMCS_GUEST_RIP), (unsigned long long)q);
		vmx_queue_exception(v, X86_VEC_GP, true, 0);
		return;
	}
	if (vmx_mmio_no_device(v))
		return;
	hv_panic("EPT violation on CPU %u at GPA 0x%llx, qualification 0x%llx, guest RIP 0x%llx",
	         v->cpu, (unsigned long long)gpa, (unsigned long long)q,
	         (unsigned long long)vmcs_readnat(VMCS_GUEST_RIP));
}

void vmx_exit_ept_misconfig(struct vcpu *v)
{
	hv_panic("EPT misconfiguration on CPU %u at GPA 0x%llx (guest RIP 0x%llx)", v->cpu,
	         (unsigned long long)v->exit.gpa, (unsigned long long)vmcs_readnat(VMCS_GUEST_RIP));
}
