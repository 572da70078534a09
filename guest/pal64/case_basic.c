/*
 * pal_add: an adder PAL registered, called 100 times with varied inputs (sums
 * and XORs checked, carries and wrap-around included), unregistered.
 * pal_errors: error paths through the real hypercalls and calls.
 */
#include "guest/pal64/cpu64.h"
#include "guest/pal64/pal_code.h"
#include "guest/pal64/stage.h"
#include "guest/pal64/tv64.h"

#define ADD_CALLS 100u

/* Inputs: a 64-bit LCG (Knuth's MMIX constants), with edge values mixed in. */
static uint64_t next_input(uint64_t *state, uint32_t i)
{
	static const uint64_t edges[] = {0, 1, ~0ull, 0x8000000000000000ull, 0xffffffffull};
	*state = *state * 6364136223846793005ull + 1442695040888963407ull;
	return i % 10 < 5 ? edges[i % 10] ^ (i % 20 < 10 ? 0 : *state) : *state;
}

/* One adder call; 0 if the status, PAL return value and both outputs are right. */
static uint32_t check_add(uint64_t entry, uint64_t a, uint64_t b, uint32_t i)
{
	uint64_t in[ADDER_IN_WORDS] = {a, b, ADDER_NORMAL, 0};
	uint64_t out[ADDER_OUT_WORDS] = {0x5a5a5a5a5a5a5a5aull, 0x5a5a5a5a5a5a5a5aull};
	uint64_t ret = 0;
	int64_t st = tv64_call(entry, in, 3, out, ADDER_OUT_WORDS, &ret);
	if (st != TV_OK || ret != PAL_MAGIC)
		return stage_fail("call %u (%llx + %llx): %s, PAL returned %llx", i,
		                  (unsigned long long)a, (unsigned long long)b, tv64_strerror(st),
		                  (unsigned long long)ret);
	if (out[0] != a + b || out[1] != (a ^ b))
		return stage_fail("call %u: %llx + %llx gave %llx, xor %llx", i,
		                  (unsigned long long)a, (unsigned long long)b,
		                  (unsigned long long)out[0], (unsigned long long)out[1]);
	return PAL64_PASS;
}

uint32_t case64_pal_add(void)
{
	struct tv_pal_desc d;
	uint64_t entry = tv64_entry(PAL_ADDER), state = cpu64_rdtsc();
	uint32_t r = PAL64_PASS;

	tv64_desc(&d, PAL_ADDER);
	int64_t st = tv64_register(&d);
	if (st != TV_OK)
		return stage_fail("register: %s (%lld)", tv64_strerror(st), (long long)st);
	for (uint32_t i = 0; i < ADD_CALLS && r == PAL64_PASS; i++) {
		uint64_t a = next_input(&state, i), b = next_input(&state, i + 7);
		r = check_add(entry, a, b, i);
	}
	st = tv64_unregister(entry);
	if (r != PAL64_PASS)
		return r;
	if (st != TV_OK)
		return stage_fail("unregister: %s", tv64_strerror(st));
	stage_info("pal_add: %u PAL calls, every sum right", ADD_CALLS);
	return PAL64_PASS;
}

static uint32_t expect(const char *what, int64_t got, int64_t want)
{
	if (got == want)
		return PAL64_PASS;
	return stage_fail("%s: got %s (%lld), expected %s", what, tv64_strerror(got),
	                  (long long)got, tv64_strerror(want));
}

/* The adder misbehaving: in[2] = mode, in[3] = an address for ADDER_FAULT. */
static int64_t bad_call(uint64_t entry, uint64_t mode, uint64_t addr)
{
	uint64_t in[ADDER_IN_WORDS] = {1, 2, mode, addr}, out[ADDER_OUT_WORDS] = {0, 0}, ret;
	return tv64_call(entry, in, 4, out, ADDER_OUT_WORDS, &ret);
}

static uint32_t errors_registered(uint64_t entry)
{
	struct tv_pal_desc d;
	uint64_t caller_secret = 0x1234;
	uint32_t r;

	tv64_desc(&d, PAL_ADDER);
	if ((r = expect("register twice", tv64_register(&d), TV_ERR_EXISTS)))
		return r;
	tv64_desc(&d, PAL_NULL);
	d.sec[1].gva += 8; /* params not page aligned */
	if ((r = expect("unaligned params section", tv64_register(&d), TV_ERR_ALIGN)))
		return r;
	tv64_desc(&d, PAL_NULL);
	d.entry = (uint64_t)(uintptr_t)pal_params_page; /* not in a code section */
	if ((r = expect("entry outside the code", tv64_register(&d), TV_ERR_INVALID)))
		return r;
	uint64_t addr = (uint64_t)(uintptr_t)&caller_secret;
	if ((r = expect("PAL reading caller memory", bad_call(entry, ADDER_FAULT, addr),
	                TV_ERR_PAL_FAULT)))
		return r;
	stage_info("pal_errors: fault ok; a PAL that loops runs until its time budget ends");
	if ((r = expect("PAL that loops", bad_call(entry, ADDER_LOOP, 0), TV_ERR_PAL_TIMEOUT)))
		return r;
	/* Still registered and callable after both. */
	return check_add(entry, 40, 2, 0);
}

uint32_t case64_pal_errors(void)
{
	struct tv_pal_desc d;
	uint64_t entry = tv64_entry(PAL_ADDER);
	uint32_t r;

	tv64_desc(&d, PAL_ADDER);
	int64_t st = tv64_register(&d);
	if (st != TV_OK)
		return stage_fail("register: %s (%lld)", tv64_strerror(st), (long long)st);
	r = errors_registered(entry);
	st = tv64_unregister(entry);
	if (r != PAL64_PASS)
		return r;
	if ((r = expect("unregister", st, TV_OK)))
		return r;
	if ((r = expect("unregister again", tv64_unregister(entry), TV_ERR_NOT_REGISTERED)))
		return r;
	if ((r = expect("unregister a never registered entry",
	                tv64_unregister(tv64_entry(PAL_NULL)), TV_ERR_NOT_REGISTERED)))
		return r;

	/*
	 * A call after unregistration is no PAL call: the code page is back in the
	 * guest view, so the function runs as plain guest code, without a single VM
	 * exit, and RAX is its own return value instead of a TrustVisor status.
	 */
	struct hv_counters c0, c1;
	uint64_t in[ADDER_IN_WORDS] = {40, 2, ADDER_NORMAL, 0}, out[ADDER_OUT_WORDS] = {0, 0}, rdx;
	bool have = hv_counters(&c0);
	volatile uint64_t ret_rip;
	uint64_t rax = cpu64_pal_call(entry, in, 3, out, ADDER_OUT_WORDS, &rdx, &ret_rip);
	if (have && hv_counters(&c1) && c1.exits - c0.exits != 1)
		return stage_fail("call after unregister took %u VM exits (expected none)",
		                  c1.exits - c0.exits - 1);
	if (rax != PAL_MAGIC || out[0] != 42)
		return stage_fail(
		    "call after unregister: RAX %llx, sum %llu (expected a plain call)",
		    (unsigned long long)rax, (unsigned long long)out[0]);
	return PAL64_PASS;
}
