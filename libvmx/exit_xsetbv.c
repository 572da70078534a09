/*
 * XSETBV exits (unconditional, SDM 26.1.2). The guest's XCR0 is the CPU's
 * XCR0 (the hypervisor uses no extended state of its own), so a valid value
 * is simply executed; an invalid one would #GP the hypervisor, so it is
 * checked first with the rules of SDM Vol. 1 13.3 / Vol. 2 XSETBV, and the
 * guest gets the #GP(0) instead.
 */
#include "hw/hw.h"
#include "libvmx/vmx_internal.h"

#define XCR0_BNDREGS  (1ull << 3)
#define XCR0_BNDCSR   (1ull << 4)
#define XCR0_AVX512   (7ull << 5) /* opmask, ZMM_Hi256, Hi16_ZMM */
#define XCR0_TILECFG  (1ull << 17)
#define XCR0_TILEDATA (1ull << 18)

/* True if `xcr0` is a value XSETBV accepts on this CPU. */
bool vmx_xcr0_valid(uint64_t xcr0)
{
	struct hw_cpuid_regs r;

	hw_cpuid(0xd, 0, &r);
	uint64_t supported = ((uint64_t)r.edx << 32) | r.eax;
	if (xcr0 & ~supported)
		return false;
	if (!(xcr0 & XCR0_X87))
		return false;
	if ((xcr0 & XCR0_AVX) && !(xcr0 & XCR0_SSE))
		return false;
	if (!!(xcr0 & XCR0_BNDREGS) != !!(xcr0 & XCR0_BNDCSR))
		return false;
	if (xcr0 & XCR0_AVX512) {
		if ((xcr0 & XCR0_AVX512) != XCR0_AVX512 || !(xcr0 & XCR0_AVX))
			return false;
	}
	if (!!(xcr0 & XCR0_TILECFG) != !!(xcr0 & XCR0_TILEDATA))
		return false;
	return true;
}

void vmx_exit_xsetbv(struct vcpu *v)
{
	uint32_t index = (uint32_t)v->gpr[GPR_RCX];
	uint64_t value = (v->gpr[GPR_RDX] << 32) | (uint32_t)v->gpr[GPR_RAX];

	/* Only XCR0 is writable, and only at CPL 0. */
	if (index != 0 || vcpu_cpl() != 0 || !vmx_xcr0_valid(value)) {
		vmx_queue_exception(v, X86_VEC_GP, true, 0);
		return;
	}
	hw_xsetbv(0, value);
	vcpu_skip_instruction(v);
}
