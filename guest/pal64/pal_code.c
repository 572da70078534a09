/*
 * The PALs. The linker script (pal64.ld) puts this file's code, and any
 * constants, in the one code page TrustVisor maps for the PAL; it refuses a
 * .data or .bss here. So nothing in this file may call out of it (everything
 * it uses is always_inline), use a string literal or a jump table elsewhere:
 * a PAL sees only its own sections. Inputs and outputs are in the params
 * section, which is PAL memory too, so micro-TPM buffers point straight into it.
 */
#include "guest/pal64/pal_code.h"

#include "apps/trustvisor/tv_hypercall.h"
#include "guest/pal64/cpu64.h"

uint64_t pal_null(const uint64_t *in, uint64_t nin, uint64_t *out, uint64_t nout)
{
	(void)in;
	(void)nin;
	(void)out;
	(void)nout;
	return PAL_MAGIC;
}

uint64_t pal_adder(const uint64_t *in, uint64_t nin, uint64_t *out, uint64_t nout)
{
	if (nin < 3 || nout < ADDER_OUT_WORDS)
		return PAL_BAD_ARGS;
	if (in[2] == ADDER_FAULT && nin >= 4)
		return *(const volatile uint64_t *)(uintptr_t)in[3];
	if (in[2] == ADDER_LOOP)
		for (;;)
			cpu64_pause();
	out[0] = in[0] + in[1];
	out[1] = in[0] ^ in[1];
	return PAL_MAGIC;
}

static inline __attribute__((always_inline)) uint64_t
tpm(uint64_t fn, uint64_t a1, uint64_t a2, uint64_t a3, uint64_t a4, uint64_t a5, uint64_t *ticks)
{
	struct vmcall_regs r = {fn, a1, a2, a3, a4, a5};
	uint64_t t0 = cpu64_rdtsc();
	cpu64_vmcall(&r);
	*ticks = cpu64_rdtsc() - t0;
	return r.rax;
}

uint64_t pal_utpm(const uint64_t *in, uint64_t nin, uint64_t *out, uint64_t nout)
{
	struct pal_utpm_data *d = &pal_data_page.utpm;
	uint64_t op = in[0], rax = 0, ticks = 0;
	uint64_t in_buf = (uint64_t)(uintptr_t)&in[2], out_buf = (uint64_t)(uintptr_t)out;

	if (nin < UTPM_IN_WORDS || nout < UTPM_OUT_WORDS)
		return PAL_BAD_ARGS;
	if (op == UTPM_OP_PCR_READ) {
		rax = tpm(TV_HC_PCR_READ, in[1], in[2] ? in[2] : out_buf, 0, 0, 0, &ticks);
	} else if (op == UTPM_OP_EXTEND) {
		rax = tpm(TV_HC_EXTEND, in[1], in_buf, 0, 0, 0, &ticks);
	} else if (op == UTPM_OP_RANDOM) {
		rax = tpm(TV_HC_GET_RANDOM, out_buf, 32, 0, 0, 0, &ticks);
	} else if (op == UTPM_OP_SEAL) {
		rax = tpm(TV_HC_SEAL, in_buf, 32, (uint64_t)(uintptr_t)d->blob, sizeof(d->blob),
		          in[1], &ticks);
		d->blob_len = (int64_t)rax > 0 ? rax : 0;
	} else if (op == UTPM_OP_UNSEAL) {
		rax = tpm(TV_HC_UNSEAL, (uint64_t)(uintptr_t)d->blob, d->blob_len, out_buf, 32, 0,
		          &ticks);
	} else if (op == UTPM_OP_QUOTE) {
		rax = tpm(TV_HC_QUOTE, in_buf, 32, (uint64_t)(uintptr_t)d->sig, sizeof(d->sig),
		          in[1], &ticks);
		const volatile uint64_t *sig = (const volatile uint64_t *)d->sig;
		for (uint32_t i = 0; i < 4; i++)
			out[i] = sig[i];
	} else if (op == UTPM_OP_SECRET) {
		uint64_t x = PAL_SECRET_SEED;
		for (uint32_t i = 0; i < PAL_SECRET_WORDS; i++) {
			x = x * 6364136223846793005ull + 1442695040888963407ull;
			d->secret[i] = x;
		}
	}
	out[4] = rax;
	out[5] = ticks;
	return PAL_MAGIC;
}
