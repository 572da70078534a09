/*
 * pal_bench: the PAL and micro-TPM figures of `./hv compare`, one line each:
 *     BENCH: <name> ticks=<n> exits=<n> quiesce=<n> cpus=<n>
 * Each figure is the median of REPS repetitions. ticks: RDTSC around the
 * operation as its caller sees it; for utpm_* inside the PAL around its
 * VMCALL. exits / quiesce: this CPU's VM exits and the all-CPU quiesce rounds
 * during the operation (DEBUG_HC_COUNTERS before and after, minus the second
 * COUNTERS VMCALL itself); for utpm_*, which a PAL cannot measure (the debug
 * hypercall is not available inside a PAL), those of a PAL call doing the
 * operation minus those of the same PAL's call doing nothing. cpus: the MADT's.
 * Asserted: the null call takes at most 4 exits and no quiesce round (design
 * properties of TrustVisor, not timings), every operation succeeds.
 */
#include "guest/console.h"
#include <stddef.h>

#include "guest/pal64/cpu64.h"
#include "guest/pal64/pal_code.h"
#include "guest/pal64/stage.h"
#include "guest/pal64/tv64.h"

#define REPS            9u
#define NULL_CALL_EXITS 4u

struct series {
	uint64_t ticks[REPS];
	uint64_t exits[REPS], quiesce[REPS];
};

struct meter {
	struct hv_counters c;
	uint64_t t;
};

static void meter_start(struct meter *m)
{
	hv_counters(&m->c);
	m->t = cpu64_rdtsc();
}

static void meter_stop(const struct meter *m, struct series *s, uint32_t rep)
{
	uint64_t t = cpu64_rdtsc();
	struct hv_counters c;
	hv_counters(&c);
	s->ticks[rep] = t - m->t;
	s->exits[rep] = c.exits - m->c.exits - 1;
	s->quiesce[rep] = c.quiesce - m->c.quiesce;
}

static uint64_t median(const uint64_t *v)
{
	uint64_t a[REPS];
	for (uint32_t i = 0; i < REPS; i++) {
		uint32_t j = i;
		for (; j > 0 && a[j - 1] > v[i]; j--)
			a[j] = a[j - 1];
		a[j] = v[i];
	}
	return a[REPS / 2];
}

static void report(const char *name, uint64_t ticks, uint64_t exits, uint64_t quiesce)
{
	con_printf("BENCH: %s ticks=%llu exits=%llu quiesce=%llu cpus=%u\n", name,
	           (unsigned long long)ticks, (unsigned long long)exits,
	           (unsigned long long)quiesce, stage->ncpus);
}

static void report_series(const char *name, const struct series *s)
{
	report(name, median(s->ticks), median(s->exits), median(s->quiesce));
}

static uint32_t register_calls(void)
{
	struct series reg, unreg, call;
	struct tv_pal_desc d;
	struct meter m;
	uint64_t entry = tv64_entry(PAL_NULL), ret;

	tv64_desc(&d, PAL_NULL);
	for (uint32_t i = 0; i < REPS; i++) {
		meter_start(&m);
		int64_t st = tv64_register(&d);
		meter_stop(&m, &reg, i);
		if (st != TV_OK)
			return stage_fail("register %u: %s", i, tv64_strerror(st));
		meter_start(&m);
		st = tv64_unregister(entry);
		meter_stop(&m, &unreg, i);
		if (st != TV_OK)
			return stage_fail("unregister %u: %s", i, tv64_strerror(st));
	}
	int64_t st = tv64_register(&d);
	if (st != TV_OK)
		return stage_fail("register: %s", tv64_strerror(st));
	for (uint32_t i = 0; i < REPS && st == TV_OK; i++) {
		meter_start(&m);
		st = tv64_call(entry, NULL, 0, NULL, 0, &ret);
		meter_stop(&m, &call, i);
		if (st == TV_OK && ret != PAL_MAGIC)
			st = TV_ERR_INVALID;
	}
	int64_t ust = tv64_unregister(entry);
	if (st != TV_OK || ust != TV_OK)
		return stage_fail("null call: %s, unregister: %s", tv64_strerror(st),
		                  tv64_strerror(ust));
	report_series("pal_register", &reg);
	report_series("pal_null_call", &call);
	report_series("pal_unregister", &unreg);
	uint64_t exits = median(call.exits), q = median(call.quiesce);
	if (exits > NULL_CALL_EXITS || q != 0)
		return stage_fail(
		    "null PAL call: %llu VM exits and %llu quiesce rounds (want <= %u "
		    "and 0)",
		    (unsigned long long)exits, (unsigned long long)q, NULL_CALL_EXITS);
	return PAL64_PASS;
}

/*
 * Registration's worst case: TrustVisor measures every code page (SHA-256)
 * after the all-CPU round, so a PAL of TV_MAX_PAL_PAGES pages, 61 of them
 * code (the null PAL's page and pal_big_code), costs the most to register.
 */
static uint32_t register_big(void)
{
	struct series reg, unreg;
	struct tv_pal_desc d;
	struct meter m;
	uint64_t entry = tv64_entry(PAL_NULL);

	tv64_desc(&d, PAL_NULL);
	d.sec[d.nsections++] = (struct tv_section){(uint64_t)(uintptr_t)pal_big_code,
	                                           sizeof(pal_big_code), TV_SEC_CODE, 0};
	uint64_t pages = 0;
	for (uint32_t i = 0; i < d.nsections; i++)
		pages += d.sec[i].size / PAGE_SIZE;
	if (pages != TV_MAX_PAL_PAGES)
		return stage_fail("the big PAL has %llu pages, not %u", (unsigned long long)pages,
		                  TV_MAX_PAL_PAGES);
	for (uint32_t i = 0; i < REPS; i++) {
		meter_start(&m);
		int64_t st = tv64_register(&d);
		meter_stop(&m, &reg, i);
		if (st != TV_OK)
			return stage_fail("register 64 pages %u: %s", i, tv64_strerror(st));
		meter_start(&m);
		st = tv64_unregister(entry);
		meter_stop(&m, &unreg, i);
		if (st != TV_OK)
			return stage_fail("unregister 64 pages %u: %s", i, tv64_strerror(st));
	}
	report_series("pal_register_64p", &reg);
	report_series("pal_unregister_64p", &unreg);
	return PAL64_PASS;
}

/* REPS calls of the utpm PAL with `op`; false (detail set) if one failed. */
static bool utpm_series(uint64_t op, int64_t want, struct series *s, struct series *inner)
{
	uint64_t t = cpu64_rdtsc();
	for (uint32_t i = 0; i < REPS; i++) {
		/* Seal binds no PCR (selection 0): unseal must work after the extends. A
		 * quote covers PCR 0. A PCR read goes to the PAL's own buffer (in[2] = 0). */
		uint64_t in[UTPM_IN_WORDS] = {op, op == UTPM_OP_QUOTE, t, t + i, 3, 4};
		if (op == UTPM_OP_PCR_READ)
			in[2] = 0;
		uint64_t out[UTPM_OUT_WORDS] = {0}, ret = 0;
		struct meter m;
		meter_start(&m);
		int64_t st =
		    tv64_call(tv64_entry(PAL_UTPM), in, UTPM_IN_WORDS, out, UTPM_OUT_WORDS, &ret);
		meter_stop(&m, s, i);
		if (st != TV_OK || ret != PAL_MAGIC ||
		    (op != UTPM_OP_NONE && (int64_t)out[4] != want)) {
			stage_fail("utpm op %llu: call %s, micro-TPM returned %lld (want %lld)",
			           (unsigned long long)op, tv64_strerror(st), (long long)out[4],
			           (long long)want);
			return false;
		}
		inner->ticks[i] = out[5];
	}
	return true;
}

static uint32_t utpm_ops(void)
{
	static const struct {
		const char *name;
		uint64_t op;
		int64_t want;
	} ops[] = {
	    {"utpm_pcr_read", UTPM_OP_PCR_READ, TV_OK}, {"utpm_extend", UTPM_OP_EXTEND, TV_OK},
	    {"utpm_seal", UTPM_OP_SEAL, 32 + 120 + 16}, {"utpm_unseal", UTPM_OP_UNSEAL, 32},
	    {"utpm_quote", UTPM_OP_QUOTE, 64},          {"utpm_get_random", UTPM_OP_RANDOM, TV_OK},
	};
	struct series base, inner, s;
	uint32_t r = PAL64_PASS;

	if (!utpm_series(UTPM_OP_NONE, 0, &base, &inner))
		return PAL64_FAIL;
	uint64_t base_exits = median(base.exits), base_q = median(base.quiesce);
	for (uint32_t k = 0; k < sizeof(ops) / sizeof(ops[0]) && r == PAL64_PASS; k++) {
		if (!utpm_series(ops[k].op, ops[k].want, &s, &inner))
			return PAL64_FAIL;
		uint64_t e = median(s.exits), q = median(s.quiesce);
		report(ops[k].name, median(inner.ticks), e > base_exits ? e - base_exits : 0,
		       q > base_q ? q - base_q : 0);
	}
	stage_info("pal_bench: utpm_* exits/quiesce = PAL call with the operation minus the same "
	           "PAL's empty call (%llu exits, %llu quiesce)",
	           (unsigned long long)base_exits, (unsigned long long)base_q);
	return r;
}

uint32_t case64_pal_bench(void)
{
	struct hv_counters c;
	if (!hv_counters(&c))
		return stage_fail("DEBUG_HC_COUNTERS refused: no exit counts in this image");
	uint32_t r = register_calls();
	if (r == PAL64_PASS)
		r = register_big();
	if (r != PAL64_PASS)
		return r;
	struct tv_pal_desc d;
	tv64_desc(&d, PAL_UTPM);
	int64_t st = tv64_register(&d);
	if (st != TV_OK)
		return stage_fail("register the utpm PAL: %s", tv64_strerror(st));
	r = utpm_ops();
	st = tv64_unregister(tv64_entry(PAL_UTPM));
	if (r == PAL64_PASS && st != TV_OK)
		return stage_fail("unregister the utpm PAL: %s", tv64_strerror(st));
	return r;
}
