/*
 * apic_base_locked: under the hypervisor, IA32_APIC_BASE writes that would move
 * the xAPIC window (onto the hypervisor's memory, or onto RAM where a PAL could
 * live) or hardware-disable the APIC (EN=0: no more NMIs, so no quiesce) raise
 * #GP(0) and change nothing (libvmx/msr_apic_base.c); rewriting the value read
 * is fine and the APIC still answers. Bare, those writes are legal: SKIP.
 */
#include "guest/cases.h"
#include "guest/cpu.h"
#include "guest/lapic.h"

#define BASE_MASK 0xfffff000u

static enum case_result refused(struct case_ctx *c, uint64_t base, uint64_t value, const char *what)
{
	uint32_t vec = probe_wrmsr(MSR_APIC_BASE, value);
	if (vec == TRAP_NONE) {
		/* Put the APIC back before reporting (EN=0 -> xAPIC is legal). */
		(void)probe_wrmsr(MSR_APIC_BASE, base);
		return case_fail(c, "wrmsr IA32_APIC_BASE = %llx (%s) did not fault", value, what);
	}
	if (vec != VEC_GP || trap_probe.error != 0)
		return case_fail(c, "wrmsr IA32_APIC_BASE (%s) raised vector %u error %x", what,
		                 vec, trap_probe.error);
	uint64_t now;
	if (probe_rdmsr(MSR_APIC_BASE, &now) != TRAP_NONE || now != base)
		return case_fail(c, "IA32_APIC_BASE is %llx after the refused %s, was %llx", now,
		                 what, base);
	return CASE_PASS;
}

enum case_result case_apic_base_locked(struct case_ctx *c)
{
	if (!guest_under_hv())
		return case_skip(c, "no hypervisor: moving or disabling the APIC is legal");
	uint64_t base;
	if (probe_rdmsr(MSR_APIC_BASE, &base) != TRAP_NONE || !(base & APIC_BASE_ENABLE))
		return case_fail(c, "cannot read IA32_APIC_BASE or the APIC is off");
	uint32_t id = lapic_id();
	uint64_t low = base & ~(uint64_t)BASE_MASK; /* EN, EXTD, BSP */

	if (refused(c, base, HV_REGION_BASE | low, "window onto the hypervisor") != CASE_PASS ||
	    refused(c, base, 0x00100000u | low, "window onto RAM") != CASE_PASS ||
	    refused(c, base, base & ~(uint64_t)APIC_BASE_ENABLE, "APIC disabled") != CASE_PASS)
		return CASE_FAIL;
	if (probe_wrmsr(MSR_APIC_BASE, base) != TRAP_NONE)
		return case_fail(c, "rewriting IA32_APIC_BASE's own value faulted");
	if (lapic_id() != id)
		return case_fail(c, "LAPIC id %u after the refused writes, was %u", lapic_id(), id);
	return CASE_PASS;
}
