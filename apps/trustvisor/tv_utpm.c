/*
 * Micro-TPM hypercalls from inside a PAL. Not wired yet: apps/trustvisor/utpm
 * needs its SSE runtime (guest extended state saved around BearSSL) set up in
 * the hypervisor first; until then every call answers TV_ERR_TPM.
 */
#include "apps/trustvisor/tv_internal.h"

int64_t tv_utpm_call(struct vcpu *v, uint32_t fn)
{
	(void)v;
	(void)fn;
	return TV_ERR_TPM;
}
