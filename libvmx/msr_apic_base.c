/*
 * Guest writes to IA32_APIC_BASE (SDM Vol. 3A 11.4.4, 11.12.5). Reads pass
 * through (msr_policy.c).
 *
 * The hypervisor shares the local APIC with the guest: libquiesce stops CPUs
 * with NMI IPIs, libsmp sends them, and the xAPIC page is where EPT maps (and
 * guest_apic.c traps) the window. So the guest may not
 *  - clear EN (a hardware-disabled APIC takes no NMI: quiesce would stall;
 *    software disable through the SVR still takes NMIs, SDM 11.4.7.2),
 *  - move the window (onto the hypervisor's or a PAL's memory the CPU would
 *    send the hypervisor's or the PAL's own accesses to the APIC; anywhere
 *    else EPT does not map it as the APIC),
 *  - change BSP or reserved bits.
 * It may switch xAPIC to x2APIC: libsmp reads the mode at every IPI. Leaving
 * x2APIC needs EN=0 first (SDM Table 11-5), so it is refused with the rest.
 * All refusals are #GP(0), which hardware gives for invalid transitions and
 * reserved bits: an OS sees an APIC it cannot disable or move.
 */
#include "hw/hw.h"
#include "libvmx/msr_policy.h"
#include "libvmx/vmx_internal.h"

static bool cpu_has_x2apic(void)
{
	struct hw_cpuid_regs r;

	hw_cpuid(1, 0, &r);
	return (r.ecx & CPUID1_ECX_X2APIC) != 0;
}

bool vmx_msr_apic_base(struct vcpu *v, uint32_t msr, bool write, uint64_t *value)
{
	(void)v;
	uint64_t cur = hw_rdmsr(msr);

	if (!write) {
		*value = cur;
		return true;
	}
	uint64_t changed = *value ^ cur;
	if (changed == 0)
		return true; /* rewriting the value read: nothing to do */
	/* Anything but EXTD: the base, EN, BSP or reserved bits. */
	if (changed & ~APIC_BASE_X2APIC)
		return false;
	/* x2APIC -> xAPIC directly is invalid on hardware too (SDM 11.12.5). */
	if (!(*value & APIC_BASE_X2APIC) || !(cur & APIC_BASE_ENABLE) || !cpu_has_x2apic())
		return false;
	hw_wrmsr(msr, *value);
	return true;
}
