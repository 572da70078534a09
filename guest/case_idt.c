/*
 * idt_exceptions: #DE, #BP and #UD reach the guest's own IDT handlers with the
 * right vector and the EIP the architecture defines: faults push the address of
 * the faulting instruction, the INT3 trap the address after it (SDM Vol. 3A 6.5).
 * Faults push EFLAGS.RF = 1, traps RF = 0 (SDM Vol. 3B 18.3.1.1), also for the
 * faults a hypervisor raises itself: #GP for a CR4 write it refuses.
 */
#include "guest/cases.h"
#include "guest/cpu.h"

static enum case_result check(struct case_ctx *c, const char *name, uint32_t vec, uint32_t want,
                              uint32_t want_eip)
{
	if (vec != want)
		return case_fail(c, "%s: vector %u (%s), expected %u", name, vec,
		                 vec == TRAP_NONE ? "none" : "wrong", want);
	if (trap_probe.eip != want_eip)
		return case_fail(c, "%s: EIP %08x, expected %08x", name, trap_probe.eip, want_eip);
	bool fault = want != VEC_BP;
	if (!!(trap_probe.eflags & EFLAGS_RF) != fault)
		return case_fail(c, "%s: pushed EFLAGS %08x has RF=%u, expected %u (a %s)", name,
		                 trap_probe.eflags, !!(trap_probe.eflags & EFLAGS_RF), fault,
		                 fault ? "fault" : "trap");
	return CASE_PASS;
}

enum case_result case_idt_exceptions(struct case_ctx *c)
{
	uint32_t vec = probe_divide_by_zero();
	if (check(c, "#DE", vec, VEC_DE, trap_probe.fault_at) != CASE_PASS)
		return CASE_FAIL;
	vec = probe_int3();
	if (check(c, "#BP", vec, VEC_BP, trap_probe.resume_at) != CASE_PASS)
		return CASE_FAIL;
	vec = probe_ud2();
	if (check(c, "#UD", vec, VEC_UD, trap_probe.fault_at) != CASE_PASS)
		return CASE_FAIL;
	/* Every bit set: reserved bits and VMXE, refused by hardware or the hypervisor. */
	vec = probe_write_cr4(0xffffffffu);
	if (check(c, "#GP (mov to CR4)", vec, VEC_GP, trap_probe.fault_at) != CASE_PASS)
		return CASE_FAIL;
	return CASE_PASS;
}
