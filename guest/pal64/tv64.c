/* TrustVisor from the PAL stage (tv64.h). */
#include "guest/pal64/tv64.h"

#include "apps/trustvisor/tv_errors.h"
#include "guest/pal64/cpu64.h"
#include "guest/pal64/pal_code.h"

#define DEBUG_HC_COUNTERS 0x48560004u /* core/debug_hypercall.h */

volatile uint64_t tv64_return_rip;

int64_t tv64_hypercall(uint32_t fn, uint64_t a1, uint64_t a2, uint64_t a3, uint64_t a4, uint64_t a5)
{
	struct vmcall_regs r = {fn, a1, a2, a3, a4, a5};
	cpu64_vmcall(&r);
	return (int64_t)r.rax;
}

uint64_t tv64_entry(enum pal_kind kind)
{
	if (kind == PAL_ADDER)
		return (uint64_t)(uintptr_t)pal_adder;
	if (kind == PAL_NULL)
		return (uint64_t)(uintptr_t)pal_null;
	return (uint64_t)(uintptr_t)pal_utpm;
}

static struct tv_section section(const void *p, uint64_t size, uint32_t kind)
{
	struct tv_section s = {(uint64_t)(uintptr_t)p, size, kind, 0};
	return s;
}

void tv64_desc(struct tv_pal_desc *d, enum pal_kind kind)
{
	*d = (struct tv_pal_desc){0};
	d->version = TV_DESC_VERSION;
	d->entry = tv64_entry(kind);
	d->sec[0] =
	    section(__pal_code_start, (uint64_t)(__pal_code_end - __pal_code_start), TV_SEC_CODE);
	d->sec[1] = section(pal_params_page, sizeof(pal_params_page), TV_SEC_PARAMS);
	d->sec[2] = section(pal_stack_pages, sizeof(pal_stack_pages), TV_SEC_STACK);
	d->nsections = 3;
	if (kind == PAL_ADDER) {
		d->in_words = ADDER_IN_WORDS;
		d->out_words = ADDER_OUT_WORDS;
	} else if (kind == PAL_UTPM) {
		d->in_words = UTPM_IN_WORDS;
		d->out_words = UTPM_OUT_WORDS;
		d->sec[3] = section(&pal_data_page, sizeof(pal_data_page), TV_SEC_DATA);
		d->nsections = 4;
	}
}

int64_t tv64_register(const struct tv_pal_desc *d)
{
	return tv64_hypercall(TV_HC_REGISTER, (uint64_t)(uintptr_t)d, 0, 0, 0, 0);
}

int64_t tv64_unregister(uint64_t entry)
{
	return tv64_hypercall(TV_HC_UNREGISTER, entry, 0, 0, 0, 0);
}

int64_t tv64_call(uint64_t entry, const uint64_t *in, uint32_t nin, uint64_t *out, uint32_t nout,
                  uint64_t *pal_ret)
{
	uint64_t rdx = 0;
	int64_t status = (int64_t)cpu64_pal_call(entry, in, nin, out, nout, &rdx, &tv64_return_rip);
	*pal_ret = rdx;
	return status;
}

bool hv_counters(struct hv_counters *c)
{
	struct vmcall_regs r = {DEBUG_HC_COUNTERS, 0, 0, 0, 0, 0};
	cpu64_vmcall(&r);
	c->exits = (uint32_t)r.rbx;
	c->quiesce = (uint32_t)r.rcx;
	return r.rax == 0;
}

const char *tv64_strerror(int64_t s)
{
	return s > 0 ? "positive" : tv_err_name(s);
}
