/*
 * TrustVisor: runs PALs (small pieces of an application) isolated from the
 * OS and from every other CPU, with a micro-TPM (README.md).
 *
 * The app table: hypercalls (tv_hypercall.h), EPT violations (PAL entry, and
 * guest accesses to PAL pages), exceptions (only seen while a PAL runs, when
 * the exception bitmap is all ones), the event question (no NMI while a PAL
 * runs on this CPU), INIT (ends the PAL call first), before entry (INVEPT
 * after a sync round; a CPU leaves a PAL being torn down) and shutdown (every
 * PAL scrubbed once no CPU runs it, then the micro-TPM keys): tv_lifecycle.c.
 */
#include "apps/trustvisor/tv_internal.h"
#include "apps/trustvisor/tv_platform.h"
#include "libvmx/vmx.h"
#include "libvmx/vmx_app.h"

static bool tv_hypercall(struct vcpu *v)
{
	uint32_t fn = (uint32_t)vcpu_gpr_read(v, GPR_RAX);
	bool in_pal = tv_call_of(vmx_vcpu_index(v))->pal != NULL;
	int64_t r;

	switch (fn) {
	case TV_HC_REGISTER:
		r = in_pal ? TV_ERR_INVALID : tv_register(v, vcpu_gpr_read(v, GPR_RBX));
		break;
	case TV_HC_UNREGISTER:
		r = in_pal ? TV_ERR_INVALID : tv_unregister(v, vcpu_gpr_read(v, GPR_RBX));
		break;
	case TV_HC_PCR_READ:
	case TV_HC_EXTEND:
	case TV_HC_SEAL:
	case TV_HC_UNSEAL:
	case TV_HC_QUOTE:
	case TV_HC_GET_RANDOM:
		r = in_pal ? tv_utpm_call(v, fn) : TV_ERR_NOT_IN_PAL;
		break;
	case TV_HC_QUOTE_KEY:    /* public: from anywhere */
	case TV_HC_PAL_IDENTITY: /* the PAL itself, or its owner */
		r = tv_utpm_call(v, fn);
		break;
	default:
		return false; /* #UD, as with no hypervisor */
	}
	vcpu_gpr_write(v, GPR_RAX, (uint64_t)r);
	return true;
}

static void tv_boot(struct vcpu *v)
{
	tv_platform_boot(v);
	tv_utpm_boot(v);
}

/* Power-off, triple fault or a reset request (libvmx/guest_reset.c): nothing
 * secret may stay in DRAM for whatever boots next. */
static void tv_shutdown(struct vcpu *v)
{
	tv_unregister_all(v);
	tv_utpm_scrub();
}

const struct hv_app hv_app = {
    .name = "trustvisor",
    .exception_bitmap = 0,
    .boot = tv_boot,
    .hypercall = tv_hypercall,
    .ept_violation = tv_ept_violation,
    .exception = tv_exception,
    .mov_dr = tv_mov_dr,
    .guest_may_take_nmi = tv_may_take_nmi,
    .preemption_timer = tv_timer_expired,
    .before_init = tv_before_init,
    .before_entry = tv_before_entry,
    .shutdown = tv_shutdown,
};
