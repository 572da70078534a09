/*
 * The fuzzer's invariants (fuzz64.h), checked after steps:
 *  - every step: the hypervisor answers the debug COUNTERS hypercall (0 in
 *    EAX) and CR0 / CR4 are what the guest set (the actions restore them);
 *  - every 8th: a read at a random address of the hypervisor region faults
 *    (#GP) or reads 0 / all ones;
 *  - every 16th (TrustVisor): the canary PAL registered at the start adds two
 *    random numbers right;
 *  - every 1024th (TrustVisor): a victim PAL with a secret in its data page
 *    registers and answers; a guest read of that page must not see the secret
 *    (TrustVisor scrubs and unregisters a PAL whose pages the guest touches);
 *  - at the end: the same for the canary's params page, after its last call.
 */
#include "apps/trustvisor/tv_hypercall.h"
#include "guest/layout.h"
#include "guest/pal64/cpu64.h"
#include "guest/pal64/fuzz64.h"
#include "guest/pal64/pal_code.h"
#include "guest/pal64/probe64.h"
#include "guest/pal64/tv64.h"

#define VEC_GP        13
#define HV_READ_EVERY 8u
#define CANARY_EVERY  16u
#define VICTIM_EVERY  1024u
#define VICTIM_SECRET 0x5ec7e75ec7e75ec7ull
#define PAL_MAGIC_64  0x50414c21ull

static uint64_t cr0_start, cr4_start;

uint64_t fuzz_canary_entry(void)
{
	return tv64_entry(PAL_ADDER);
}

bool fuzz_check_setup(void)
{
	uint64_t r[6] = {FUZZ_HC_COUNTERS, 0, 0, 0, 0, 0};
	fz.hv = probe64_vmcall(r) == PROBE_NONE && (uint32_t)r[0] == 0;
	uint64_t t[6] = {TV_HC_UNREGISTER, 0, 0, 0, 0, 0};
	fz.tv = probe64_vmcall(t) == PROBE_NONE && (int64_t)t[0] == TV_ERR_NOT_REGISTERED;
	probe64_read_cr0(&cr0_start);
	probe64_read_cr4(&cr4_start);
	if (!fz.tv)
		return true;
	struct tv_pal_desc d;
	tv64_desc(&d, PAL_ADDER);
	int64_t st = tv64_register(&d);
	if (st != TV_OK) {
		fuzz_fail("canary PAL: register gave %lld", (long long)st);
		return false;
	}
	fz.canary = true;
	return true;
}

static void check_canary(void)
{
	uint64_t a = fuzz_value64(), b = fuzz_rand(), ret = 0;
	uint64_t in[ADDER_IN_WORDS] = {a, b, ADDER_NORMAL, 0}, out[ADDER_OUT_WORDS] = {7, 7};
	int64_t st = tv64_call(fuzz_canary_entry(), in, 3, out, ADDER_OUT_WORDS, &ret);
	if (st != TV_OK || ret != PAL_MAGIC_64 || out[0] != a + b || out[1] != (a ^ b))
		fuzz_fail("canary PAL: %llx + %llx: status %lld, returned %llx, sum %llx, xor %llx",
		          (unsigned long long)a, (unsigned long long)b, (long long)st,
		          (unsigned long long)ret, (unsigned long long)out[0],
		          (unsigned long long)out[1]);
}

static void check_hv_hidden(void)
{
	uint64_t addr = HV_REGION_BASE + (fuzz_below(HV_REGION_SIZE) & ~7u), v;
	uint32_t vec = probe64_read64(addr, &v);
	if (vec == PROBE_NONE ? (v != 0 && v != ~0ull) : vec != VEC_GP)
		fuzz_fail("hypervisor memory at %llx: vector %u, value %llx",
		          (unsigned long long)addr, vec, (unsigned long long)v);
}

static void victim_desc(struct tv_pal_desc *d)
{
	static const uint32_t kinds[FUZZ_VICTIM_PAGES] = {TV_SEC_CODE, TV_SEC_PARAMS, TV_SEC_STACK,
	                                                  TV_SEC_DATA};
	*d = (struct tv_pal_desc){0};
	d->version = TV_DESC_VERSION;
	d->nsections = FUZZ_VICTIM_PAGES;
	d->entry = FUZZ_PAGE(FUZZ_VICTIM_FIRST);
	for (uint32_t i = 0; i < FUZZ_VICTIM_PAGES; i++) {
		d->sec[i].gva = FUZZ_PAGE(FUZZ_VICTIM_FIRST + i);
		d->sec[i].size = 4096;
		d->sec[i].kind = kinds[i];
	}
}

static void check_victim(void)
{
	volatile uint64_t *data = (volatile uint64_t *)(uintptr_t)FUZZ_PAGE(FUZZ_VICTIM_FIRST + 3);
	volatile uint8_t *code = (volatile uint8_t *)(uintptr_t)FUZZ_PAGE(FUZZ_VICTIM_FIRST);
	static const uint8_t magic_ret[] = {0xb8, 0x21, 0x4c, 0x41, 0x50, 0xc3};
	struct tv_pal_desc d;

	for (uint32_t i = 0; i < sizeof(magic_ret); i++)
		code[i] = magic_ret[i];
	data[0] = VICTIM_SECRET;
	victim_desc(&d);
	int64_t st = tv64_register(&d);
	if (st == TV_ERR_NO_MEMORY || st == TV_ERR_OVERLAP || st == TV_ERR_QUOTA)
		return; /* the fuzz PALs hold every slot, a page or this process's
		         * quota (TV_MAX_PALS_PER_OWNER): no check this time */
	if (st != TV_OK) {
		fuzz_fail("victim PAL: register gave %lld", (long long)st);
		return;
	}
	uint64_t in[1] = {0}, out[1] = {0}, ret = 0;
	st = tv64_call(d.entry, in, 0, out, 0, &ret);
	if (st != TV_OK || ret != PAL_MAGIC_64)
		fuzz_fail("victim PAL: call gave %lld, returned %llx", (long long)st,
		          (unsigned long long)ret);
	uint64_t v;
	uint32_t vec = probe64_read64((uint64_t)(uintptr_t)data, &v);
	if (vec == PROBE_NONE && v == VICTIM_SECRET)
		fuzz_fail("victim PAL: the guest read its data page's secret");
	st = tv64_unregister(d.entry);
	if (st != TV_ERR_NOT_REGISTERED)
		fuzz_fail("victim PAL: still registered after the guest touched it (%lld)",
		          (long long)st);
}

void fuzz_check_step(void)
{
	if (fz.hv) {
		uint64_t r[6] = {FUZZ_HC_COUNTERS, 0, 0, 0, 0, 0};
		uint32_t vec = probe64_vmcall(r);
		if (vec != PROBE_NONE || (uint32_t)r[0] != 0)
			fuzz_fail("status hypercall: vector %u, eax %x", vec, (uint32_t)r[0]);
	}
	uint64_t cr0, cr4;
	probe64_read_cr0(&cr0);
	probe64_read_cr4(&cr4);
	if (cr0 != cr0_start || cr4 != cr4_start)
		fuzz_fail("CR0 %llx / CR4 %llx, the guest set %llx / %llx", (unsigned long long)cr0,
		          (unsigned long long)cr4, (unsigned long long)cr0_start,
		          (unsigned long long)cr4_start);
	if (fz.hv && fz.step % HV_READ_EVERY == 0)
		check_hv_hidden();
	if (fz.canary && fz.step % CANARY_EVERY == 0)
		check_canary();
	if (fz.tv && fz.step % VICTIM_EVERY == 0)
		check_victim();
}

void fuzz_check_final(void)
{
	if (fz.hv)
		check_hv_hidden();
	if (!fz.canary)
		return;
	check_canary();
	check_victim();
	/* The canary's params page holds its last inputs and outputs: the guest must not. */
	uint64_t v;
	uint32_t vec = probe64_read64((uint64_t)(uintptr_t)pal_params_page, &v);
	if (vec == PROBE_NONE && v != 0)
		fuzz_fail("canary PAL: the guest read %llx from its params page",
		          (unsigned long long)v);
	int64_t st = tv64_unregister(fuzz_canary_entry());
	if (st != TV_ERR_NOT_REGISTERED)
		fuzz_fail("canary PAL: still registered after the guest touched it (%lld)",
		          (long long)st);
}
