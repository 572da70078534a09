/*
 * MOV DR exits (basic reason 29). libvmx never sets "MOV-DR exiting"; an app
 * may (TrustVisor does while a PAL runs), and sees the exit first through
 * hv_app.mov_dr. Otherwise the instruction is executed here as the CPU would:
 * DR0-DR3 and DR6 are still the guest's in VMX root (VM exits do not switch
 * them, SDM Vol. 3C 28.3.1), DR7 is the guest's in the VMCS ("save debug
 * controls", 28.3.1; loaded at entry, 27.3.2.1).
 *
 * What the CPU checks before the exit (SDM Vol. 3C 26.1.1, 26.1.3): #UD for
 * DR4/DR5 with CR4.DE = 1, #GP for CPL > 0, #DB for DR7.GD. Left here: the
 * DR4/DR5 aliases of DR6/DR7 (CR4.DE = 0) and #GP(0) for a 64-bit write of
 * DR6/DR7 with bits 63:32 set (SDM Vol. 2B "MOV - Move to/from Debug
 * Registers").
 */
#include "hw/hw.h"
#include "libvmx/vmx_internal.h"

/* Exit qualification for MOV DR (SDM Vol. 3C 28.2.1 Table 28-4). */
#define MOVDR_REG(q)     ((unsigned)(q)&7u)
#define MOVDR_FROM_DR(q) (((q) >> 4) & 1u)
#define MOVDR_GPR(q)     ((unsigned)((q) >> 8) & 15u)
#define CS_AR_L          (1u << 13)

void vmx_exit_mov_dr(struct vcpu *v)
{
	const struct hv_app *app = vmx_app();
	uint64_t q = v->exit.qualification;
	unsigned dr = MOVDR_REG(q);
	bool wide = (vmcs_read64(VMCS_GUEST_IA32_EFER) & EFER_LMA) &&
	            (vmcs_read32(VMCS_GUEST_CS_ACCESS_RIGHTS) & CS_AR_L);

	if (app && app->mov_dr && app->mov_dr(v))
		return;
	if (dr == 4 || dr == 5)
		dr += 2; /* CR4.DE = 0: aliases of DR6 and DR7 */
	if (MOVDR_FROM_DR(q)) {
		uint64_t val = dr == 7 ? vmcs_readnat(VMCS_GUEST_DR7) : hw_read_dr(dr);
		vcpu_gpr_write(v, MOVDR_GPR(q), wide ? val : (uint32_t)val);
	} else {
		uint64_t val = vcpu_gpr_read(v, MOVDR_GPR(q));
		if (!wide)
			val = (uint32_t)val;
		if (dr >= 6 && (val >> 32)) {
			vmx_queue_exception(v, X86_VEC_GP, true, 0);
			return;
		}
		if (dr == 7)
			vmcs_writenat(VMCS_GUEST_DR7, val);
		else
			hw_write_dr(dr, val);
	}
	vcpu_skip_instruction(v);
}
