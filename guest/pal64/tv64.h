/* TrustVisor hypercalls from the PAL stage, the PAL descriptors, and the toolkit counters. */
#ifndef GUEST_PAL64_TV64_H
#define GUEST_PAL64_TV64_H

#include <stdbool.h>
#include <stdint.h>

#include "apps/trustvisor/tv_hypercall.h"

/* Raw TrustVisor hypercall: returns RAX as a signed status. */
int64_t tv64_hypercall(uint32_t fn, uint64_t a1, uint64_t a2, uint64_t a3, uint64_t a4,
                       uint64_t a5);

enum pal_kind { PAL_ADDER, PAL_NULL, PAL_UTPM };

/* The stage's descriptor of a PAL (code page, params page, stack pages, data page for utpm). */
void tv64_desc(struct tv_pal_desc *d, enum pal_kind kind);
uint64_t tv64_entry(enum pal_kind kind);
int64_t tv64_register(const struct tv_pal_desc *d);
int64_t tv64_unregister(uint64_t entry);

/* The return address of the latest tv64_call (NMIs held during a PAL land there). */
extern volatile uint64_t tv64_return_rip;

/* A PAL call: the status (TV_OK or TV_ERR_*), *pal_ret = the PAL's RAX. */
int64_t tv64_call(uint64_t entry, const uint64_t *in, uint32_t nin, uint64_t *out, uint32_t nout,
                  uint64_t *pal_ret);

/* DEBUG_HC_COUNTERS (core/debug_hypercall.h): this CPU's VM exits so far (this
 * VMCALL included) and quiesce rounds completed. False if the image lacks it. */
struct hv_counters {
	uint32_t exits, quiesce;
};
bool hv_counters(struct hv_counters *c);

/* "TV_ERR_ALIGN", ... */
const char *tv64_strerror(int64_t status);

#endif /* GUEST_PAL64_TV64_H */
