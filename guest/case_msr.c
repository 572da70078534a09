/*
 * msr: real MSRs read as on hardware (IA32_APIC_BASE, IA32_TIME_STAMP_COUNTER);
 * RDMSR and WRMSR of an MSR that does not exist raise #GP(0) in the guest, which
 * its own IDT handles (SDM Vol. 2B RDMSR/WRMSR: reserved or unimplemented MSR).
 */
#include "guest/cases.h"
#include "guest/cpu.h"
#include "guest/lapic.h"

#define MSR_TSC   0x10
#define MSR_BOGUS 0x12345678u

static enum case_result expect_gp(struct case_ctx *c, const char *insn, uint32_t vec)
{
	if (vec == TRAP_NONE)
		return case_fail(c, "%s of MSR %x did not fault", insn, MSR_BOGUS);
	if (vec != VEC_GP || trap_probe.error != 0)
		return case_fail(c, "%s of MSR %x raised vector %u error %x, expected #GP(0)", insn,
		                 MSR_BOGUS, vec, trap_probe.error);
	return CASE_PASS;
}

enum case_result case_msr(struct case_ctx *c)
{
	uint64_t base;
	uint32_t vec = probe_rdmsr(MSR_APIC_BASE, &base);
	if (vec != TRAP_NONE)
		return case_fail(c, "rdmsr IA32_APIC_BASE raised vector %u", vec);
	if ((base & 0xfffff000u) != LAPIC_BASE || !(base & APIC_BASE_ENABLE) ||
	    !(base & APIC_BASE_BSP))
		return case_fail(c, "IA32_APIC_BASE = %llx: expected base %x, enabled, BSP", base,
		                 LAPIC_BASE);

	uint64_t before = rdtsc(), tsc, after;
	vec = probe_rdmsr(MSR_TSC, &tsc);
	after = rdtsc();
	if (vec != TRAP_NONE)
		return case_fail(c, "rdmsr IA32_TIME_STAMP_COUNTER raised vector %u", vec);
	if (tsc < before || tsc > after)
		return case_fail(c, "TSC MSR %llx not between RDTSC %llx and %llx", tsc, before,
		                 after);

	uint64_t junk;
	if (expect_gp(c, "rdmsr", probe_rdmsr(MSR_BOGUS, &junk)) != CASE_PASS)
		return CASE_FAIL;
	if (expect_gp(c, "wrmsr", probe_wrmsr(MSR_BOGUS, 0x1234)) != CASE_PASS)
		return CASE_FAIL;
	return CASE_PASS;
}
