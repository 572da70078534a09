/*
 * TrustVisor: runs PALs (small pieces of an application) isolated from the
 * OS, with a micro-TPM. It is the app whose answer to the event question
 * (hv_app.guest_may_take_nmi) will keep NMIs out of a running PAL
 * (DESIGN.md section 3).
 *
 * Status: PAL registration, isolation and the micro-TPM are issue 5 and are
 * not built yet; until then this image boots guests exactly like passthrough.
 */
#include "core/hv_app.h"

const struct hv_app hv_app = {
	.name = "trustvisor",
};
