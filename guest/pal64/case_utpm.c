/*
 * pal_utpm: the micro-TPM from inside a PAL (pal_utpm in pal_code.c), one PAL
 * call per operation, results checked here: a fresh PAL's PCRs are zero and
 * an extend changes exactly the PCR it names; random bytes differ call to
 * call; seal then unseal gives the data back, and unseal fails once the sealed
 * PCR changed; a quote signature is 64 bytes; a buffer outside the PAL is
 * refused. First, every micro-TPM call from outside a PAL: TV_ERR_NOT_IN_PAL.
 */
#include <stddef.h>

#include "guest/pal64/cpu64.h"
#include "guest/pal64/pal_code.h"
#include "guest/pal64/stage.h"
#include "guest/pal64/tv64.h"

#define SEALED_SIZE (32 + 120 + 16) /* data + blob header + tag (apps/trustvisor/utpm/utpm.h) */
#define SIG_SIZE    64             /* ECDSA P-256 r || s */

struct op_result {
	uint64_t v[4]; /* 32 bytes */
	int64_t rax;   /* the micro-TPM call's result */
};

/* One utpm PAL call; false (detail set) if the call itself failed. */
static bool utpm_op(uint64_t op, uint64_t a1, const uint64_t data[4], struct op_result *res)
{
	uint64_t in[UTPM_IN_WORDS] = {op, a1, 0, 0, 0, 0}, out[UTPM_OUT_WORDS], ret = 0;
	for (uint32_t i = 0; data && i < 4; i++)
		in[2 + i] = data[i];
	for (uint32_t i = 0; i < UTPM_OUT_WORDS; i++)
		out[i] = 0xeeeeeeeeeeeeeeeeull;
	int64_t st = tv64_call(tv64_entry(PAL_UTPM), in, UTPM_IN_WORDS, out, UTPM_OUT_WORDS, &ret);
	if (st != TV_OK || ret != PAL_MAGIC) {
		stage_fail("utpm op %llu: PAL call %s, PAL returned %llx", (unsigned long long)op,
		           tv64_strerror(st), (unsigned long long)ret);
		return false;
	}
	for (uint32_t i = 0; i < 4; i++)
		res->v[i] = out[i];
	res->rax = (int64_t)out[4];
	return true;
}

static bool zero(const struct op_result *r)
{
	return (r->v[0] | r->v[1] | r->v[2] | r->v[3]) == 0;
}

static bool same(const struct op_result *a, const struct op_result *b)
{
	return a->v[0] == b->v[0] && a->v[1] == b->v[1] && a->v[2] == b->v[2] && a->v[3] == b->v[3];
}

static uint32_t outside_pal(void)
{
	static const uint32_t fns[] = {TV_HC_PCR_READ, TV_HC_EXTEND, TV_HC_SEAL,
	                               TV_HC_UNSEAL,   TV_HC_QUOTE,  TV_HC_GET_RANDOM};
	uint64_t buf[8] = {0};
	uint64_t p = (uint64_t)(uintptr_t)buf;
	for (uint32_t i = 0; i < sizeof(fns) / sizeof(fns[0]); i++) {
		int64_t r = tv64_hypercall(fns[i], p, 32, p, 32, 0);
		if (r != TV_ERR_NOT_IN_PAL)
			return stage_fail("micro-TPM call %x from outside a PAL: %s (%lld)", fns[i],
			                  tv64_strerror(r), (long long)r);
	}
	return PAL64_PASS;
}

#define OP(op, a1, data, res)                                                                      \
	do {                                                                                       \
		if (!utpm_op((op), (a1), (data), (res)))                                           \
			return PAL64_FAIL;                                                         \
	} while (0)
#define WANT(cond, ...)                                                                            \
	do {                                                                                       \
		if (!(cond))                                                                       \
			return stage_fail(__VA_ARGS__);                                            \
	} while (0)

static uint32_t in_pal(void)
{
	struct op_result p0, p1, p2, q1, r1, r2, s, u, sig;
	uint64_t t = cpu64_rdtsc();
	const uint64_t m[4] = {t, ~t, 0x6d656173ull, 1};            /* a measurement */
	const uint64_t secret[4] = {t * 3, t ^ 0x5eed, ~t * 7, 42}; /* data to seal */
	const uint64_t nonce[4] = {t + 1, t + 2, t + 3, t + 4};

	OP(UTPM_OP_PCR_READ, 0, NULL, &p0);
	WANT(p0.rax == TV_OK && zero(&p0), "PCR 0 of a new PAL: %s, zero=%d", tv64_strerror(p0.rax),
	     zero(&p0));
	OP(UTPM_OP_EXTEND, 0, m, &p1);
	WANT(p1.rax == TV_OK, "extend: %s", tv64_strerror(p1.rax));
	OP(UTPM_OP_PCR_READ, 0, NULL, &p1);
	OP(UTPM_OP_EXTEND, 0, m, &p2);
	OP(UTPM_OP_PCR_READ, 0, NULL, &p2);
	WANT(p1.rax == TV_OK && !zero(&p1) && !same(&p1, &p2) && !zero(&p2),
	     "PCR 0 after extends: not changed (zero=%d, same twice=%d)", zero(&p1),
	     same(&p1, &p2));
	OP(UTPM_OP_PCR_READ, 1, NULL, &q1);
	WANT(q1.rax == TV_OK && zero(&q1), "PCR 1 changed by extending PCR 0");

	OP(UTPM_OP_RANDOM, 0, NULL, &r1);
	OP(UTPM_OP_RANDOM, 0, NULL, &r2);
	WANT(r1.rax == TV_OK && r2.rax == TV_OK, "get random: %s", tv64_strerror(r1.rax));
	WANT(!zero(&r1) && !same(&r1, &r2), "get random: zero or the same bytes twice");

	OP(UTPM_OP_SEAL, 1 /* PCR 0 */, secret, &s);
	WANT(s.rax == SEALED_SIZE, "seal returned %lld, expected %u", (long long)s.rax,
	     SEALED_SIZE);
	OP(UTPM_OP_UNSEAL, 0, NULL, &u);
	WANT(u.rax == 32, "unseal returned %s (%lld)", tv64_strerror(u.rax), (long long)u.rax);
	WANT(u.v[0] == secret[0] && u.v[1] == secret[1] && u.v[2] == secret[2] &&
	         u.v[3] == secret[3],
	     "unseal gave other data than was sealed");
	OP(UTPM_OP_EXTEND, 0, m, &p2);
	OP(UTPM_OP_UNSEAL, 0, NULL, &u);
	WANT(u.rax == TV_ERR_TPM, "unseal after the sealed PCR changed: %s (%lld)",
	     tv64_strerror(u.rax), (long long)u.rax);

	OP(UTPM_OP_QUOTE, 1, nonce, &sig);
	WANT(sig.rax == SIG_SIZE, "quote returned %lld, expected %u", (long long)sig.rax, SIG_SIZE);
	WANT(!zero(&sig), "quote: signature starts with 32 zero bytes");

	/* A destination outside the PAL's sections (this stack): refused. */
	uint64_t mine[4] = {0};
	uint64_t in[UTPM_IN_WORDS] = {UTPM_OP_PCR_READ, 0, (uint64_t)(uintptr_t)mine, 0, 0, 0};
	uint64_t out[UTPM_OUT_WORDS] = {0}, ret = 0;
	int64_t st = tv64_call(tv64_entry(PAL_UTPM), in, UTPM_IN_WORDS, out, UTPM_OUT_WORDS, &ret);
	WANT(st == TV_OK && (int64_t)out[4] == TV_ERR_INVALID && !(mine[0] | mine[1]),
	     "PCR read into caller memory: call %s, micro-TPM %s", tv64_strerror(st),
	     tv64_strerror((int64_t)out[4]));
	stage_info("pal_utpm: PCR extend/read, random, seal/unseal (%u bytes), quote (%u bytes) "
	           "from inside the PAL",
	           SEALED_SIZE, SIG_SIZE);
	return PAL64_PASS;
}

uint32_t case64_pal_utpm(void)
{
	struct tv_pal_desc d;
	uint32_t r = outside_pal();
	if (r != PAL64_PASS)
		return r;
	tv64_desc(&d, PAL_UTPM);
	int64_t st = tv64_register(&d);
	if (st != TV_OK)
		return stage_fail("register: %s (%lld)", tv64_strerror(st), (long long)st);
	r = in_pal();
	st = tv64_unregister(tv64_entry(PAL_UTPM));
	if (r == PAL64_PASS && st != TV_OK)
		return stage_fail("unregister: %s", tv64_strerror(st));
	return r;
}
