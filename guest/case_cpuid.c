/*
 * cpuid: the vendor string is sane; under the hypervisor VMX is not offered
 * (CPUID.1:ECX[5] = 0, no nested VMX); on every CPU, CPUID.1:EBX[31:24] equals
 * the LAPIC ID register.
 */
#include <stdbool.h>

#include "guest/cases.h"
#include "guest/cpu.h"
#include "guest/lapic.h"
#include "guest/smp.h"

#define CPUID1_ECX_VMX (1u << 5)

struct apic_ids {
	uint32_t cpuid_id, lapic_id;
};

static void read_apic_ids(void *arg)
{
	struct apic_ids *ids = arg;
	ids->cpuid_id = cpuid(1, 0).ebx >> 24;
	ids->lapic_id = lapic_id();
}

static bool vendor_sane(struct cpuid_regs r0, char *vendor)
{
	const uint32_t words[3] = {r0.ebx, r0.edx, r0.ecx};
	for (int i = 0; i < 12; i++) {
		vendor[i] = (char)(words[i / 4] >> (8 * (i % 4)));
		if (vendor[i] < 0x20 || vendor[i] > 0x7e)
			return false;
	}
	vendor[12] = '\0';
	return true;
}

enum case_result case_cpuid(struct case_ctx *c)
{
	char vendor[13] = {0};
	struct cpuid_regs r0 = cpuid(0, 0);
	if (!vendor_sane(r0, vendor))
		return case_fail(c, "vendor bytes not printable: %08x %08x %08x", r0.ebx, r0.edx,
		                 r0.ecx);
	if (r0.eax < 1)
		return case_fail(c, "max basic leaf %u", r0.eax);

	struct cpuid_regs r1 = cpuid(1, 0);
	bool vmx = (r1.ecx & CPUID1_ECX_VMX) != 0;
	runner_info("CPUID vendor \"%s\", max leaf %u, VMX %u%s", vendor, r0.eax, vmx,
	            guest_under_hv() ? "" : " (not checked without hypervisor)");
	if (vmx && guest_under_hv())
		return case_fail(c,
		                 "CPUID.1:ECX.VMX = 1 under the hypervisor (nested VMX offered)");

	struct apic_ids ids;
	read_apic_ids(&ids);
	if (ids.cpuid_id != ids.lapic_id)
		return case_fail(c, "boot CPU: CPUID APIC id %u, LAPIC id %u", ids.cpuid_id,
		                 ids.lapic_id);
	for (uint32_t slot = 1; slot <= smp_ap_count(); slot++) {
		ids.cpuid_id = ids.lapic_id = 0xffffffffu;
		if (!smp_call(slot, read_apic_ids, &ids, 100000))
			return case_fail(c, "cpu slot %u did not answer", slot);
		if (ids.cpuid_id != ids.lapic_id)
			return case_fail(c, "cpu slot %u: CPUID APIC id %u, LAPIC id %u", slot,
			                 ids.cpuid_id, ids.lapic_id);
	}
	return CASE_PASS;
}
