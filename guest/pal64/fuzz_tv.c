/*
 * Fuzz actions through VMCALL (fuzz64.h): TrustVisor's functions with random
 * and boundary arguments and descriptors, calls of the PALs that registered,
 * the debug hypercalls, unknown function numbers.
 *
 * Random descriptors draw their sections from the fuzz arena (pages nothing
 * else uses), the canary PAL's pages (must be refused: OVERLAP) and boundary
 * addresses (must be refused); never from pages the stage runs on, so a PAL
 * that registers cannot take the fuzzer's own code or stack away. A code
 * section on an arena pattern page holds one of the small PAL bodies below;
 * none loops or halts (a PAL that does runs out its whole time budget, 2^31
 * TSC ticks: far too slow in Bochs), so TV_ERR_PAL_TIMEOUT is not fuzzed.
 *
 * Without TrustVisor every TrustVisor function must be #UD.
 */
#include "apps/trustvisor/tv_hypercall.h"
#include "guest/layout.h"
#include "guest/pal64/cpu64.h"
#include "guest/pal64/fuzz64.h"
#include "guest/pal64/pal_code.h"
#include "guest/pal64/probe64.h"

#include <stddef.h>

void *memset(void *dst, int c, size_t n); /* guest/string.c */
void *memcpy(void *dst, const void *src, size_t n);

#define VEC_UD       6
#define PAL_MAGIC_32 0x50414c21u

/* The PAL bodies on the pattern pages (x86-64 machine code). */
static const uint8_t pat_magic[] = {0xb8, 0x21, 0x4c, 0x41, 0x50, 0xc3}; /* mov eax, MAGIC; ret */
static const uint8_t pat_int3[] = {0xcc};
static const uint8_t pat_ud2[] = {0x0f, 0x0b};
static const uint8_t pat_read_out[] = {0x48, 0x8b, 0x04, 0x25, 0x00, 0x10, 0x00, 0x00, 0xc3};
/* mov eax, TV_HC_GET_RANDOM; mov rbx, rdx; mov ecx, 32; vmcall; ret */
static const uint8_t pat_random[] = {0xb8, 0x15, 0x00, 0x56, 0x54, 0x48, 0x89, 0xd3, 0xb9,
                                     0x20, 0x00, 0x00, 0x00, 0x0f, 0x01, 0xc1, 0xc3};
/* rax, rbx, rcx, rdx, rsi, rdi = in[0..5]; vmcall; ret: any hypercall from inside a PAL */
static const uint8_t pat_any_hc[] = {0x48, 0x8b, 0x07, 0x48, 0x8b, 0x5f, 0x08, 0x48, 0x8b,
                                     0x4f, 0x10, 0x48, 0x8b, 0x57, 0x18, 0x48, 0x8b, 0x77,
                                     0x20, 0x48, 0x8b, 0x7f, 0x28, 0x0f, 0x01, 0xc1, 0xc3};
/* mov [rip - 7], al: a write to its own (read + execute) code page; ret */
static const uint8_t pat_write_code[] = {0x88, 0x05, 0xf9, 0xff, 0xff, 0xff, 0xc3};
/* sti; nop; nop; cli; mov eax, MAGIC; ret: interrupts on inside a PAL */
static const uint8_t pat_sti[] = {0xfb, 0x90, 0x90, 0xfa, 0xb8, 0x21, 0x4c, 0x41, 0x50, 0xc3};

static const struct {
	const uint8_t *code;
	uint32_t len;
} patterns[FUZZ_PATTERN_PAGES] = {
    {pat_magic, sizeof(pat_magic)},
    {pat_int3, sizeof(pat_int3)},
    {pat_ud2, sizeof(pat_ud2)},
    {pat_read_out, sizeof(pat_read_out)},
    {pat_random, sizeof(pat_random)},
    {pat_any_hc, sizeof(pat_any_hc)},
    {pat_write_code, sizeof(pat_write_code)},
    {pat_sti, sizeof(pat_sti)},
};

static struct tv_pal_desc desc;
/* Two pages: a descriptor or key buffer may straddle the boundary between them. */
static uint8_t spill[2 * 4096] __attribute__((aligned(4096)));

void fuzz_tv_setup(void)
{
	for (uint32_t p = 0; p < FUZZ_PATTERN_PAGES; p++) {
		uint8_t *page = (uint8_t *)(uintptr_t)FUZZ_PAGE(p);
		memset(page, 0xcc, 4096);
		memcpy(page, patterns[p].code, patterns[p].len);
	}
}

bool fuzz_status_ok(int64_t st)
{
	return st >= TV_ERR_LOWEST && st <= TV_OK;
}

/* A VMCALL; false (after a failure line) if it raised anything but the expected #UD. */
static bool hypercall(uint64_t r[6], bool want_ud)
{
	uint32_t vec = probe64_vmcall(r);
	if (want_ud) {
		if (vec != VEC_UD)
			fuzz_fail("expected #UD, got vector %u (rax %llx)", vec,
			          (unsigned long long)r[0]);
		return false;
	}
	if (vec != PROBE_NONE) {
		fuzz_fail("hypercall raised vector %u", vec);
		return false;
	}
	return true;
}

static uint64_t canary_page(void)
{
	static const uint64_t pages[] = {0, 1, 2};
	switch (fuzz_pick(pages, 3)) {
	case 0:
		return (uint64_t)(uintptr_t)__pal_code_start;
	case 1:
		return (uint64_t)(uintptr_t)pal_params_page;
	default:
		return (uint64_t)(uintptr_t)pal_stack_pages;
	}
}

/*
 * True if a section that TrustVisor could accept (at most TV_MAX_PAL_PAGES)
 * would cover the guest's own kernel or stage: a boundary value such as 1 << 20
 * or 1 << 24 lands there. TrustVisor rightly takes such pages and scrubs them
 * when the guest runs on: the guest would only shoot itself.
 */
static bool guest_own(uint64_t gva, uint64_t size)
{
	/* ... nor the race's pages and the ring-3 stubs' (never drawn at random). */
	static const uint64_t own[3][2] = {
	    {0x100000, 0x200000},
	    {PAL64_BASE, PAL64_BASE + PAL64_SIZE},
	    {FUZZ_PAGE(FUZZ_RACE_FIRST), FUZZ_PAGE(FUZZ_VICTIM_FIRST)}};
	if (size > (uint64_t)TV_MAX_PAL_PAGES * 4096u || gva + size < gva)
		return false;
	for (uint32_t i = 0; i < 3; i++)
		if (gva < own[i][1] && own[i][0] < gva + size)
			return true;
	return false;
}

static uint64_t section_gva(uint32_t kind, uint64_t *size)
{
	uint32_t r = fuzz_below(16);
	uint32_t pages = 1 + (fuzz_chance(4) ? fuzz_below(4) : 0);
	*size = (uint64_t)pages * 4096u;
	if (r < 11) {
		if (kind == TV_SEC_CODE && r < 8) {
			*size = 4096;
			return FUZZ_PAGE(fuzz_below(FUZZ_PATTERN_PAGES));
		}
		return FUZZ_PAGE(FUZZ_POOL_FIRST + fuzz_below(FUZZ_POOL_PAGES - 4));
	}
	if (r < 13)
		return canary_page();
	/* Boundaries: odd sizes and addresses the hypervisor must refuse. */
	if (fuzz_chance(2))
		*size = fuzz_chance(2) ? fuzz_value64() : (uint64_t)(TV_MAX_PAL_PAGES + 1) * 4096u;
	uint64_t gva = fuzz_value64() & (fuzz_chance(2) ? ~0xfffull : ~0ull);
	if (guest_own(gva, *size))
		return FUZZ_PAGE(FUZZ_POOL_FIRST + fuzz_below(FUZZ_POOL_PAGES - 4));
	return gva;
}

void fuzz_random_desc(struct tv_pal_desc *d, bool *patterned)
{
	static const uint32_t kinds[] = {TV_SEC_CODE, TV_SEC_PARAMS, TV_SEC_STACK, TV_SEC_DATA};
	memset(d, 0, sizeof(*d));
	d->version = fuzz_chance(16) ? (uint32_t)fuzz_value64() : TV_DESC_VERSION;
	d->nsections = fuzz_chance(8) ? fuzz_below(TV_MAX_SECTIONS + 3) : 3 + fuzz_below(2);
	d->in_words = fuzz_chance(8) ? (uint32_t)fuzz_value64() : 6 + fuzz_below(3);
	d->out_words = fuzz_chance(8) ? (uint32_t)fuzz_value64() : fuzz_below(5);
	for (uint32_t i = 0; i < TV_MAX_SECTIONS; i++) {
		uint32_t kind = i < 4 ? kinds[i] : kinds[fuzz_below(4)];
		if (fuzz_chance(16))
			kind = (uint32_t)fuzz_below(7);
		d->sec[i].kind = kind;
		d->sec[i].gva = section_gva(kind, &d->sec[i].size);
		d->sec[i].reserved = fuzz_chance(32) ? 1 : 0;
	}
	d->entry = d->sec[0].gva + (fuzz_chance(8) ? fuzz_below(4096) : 0);
	if (fuzz_chance(16))
		d->entry = fuzz_value64();
	*patterned = d->entry >= FUZZ_ARENA && d->entry < FUZZ_PAGE(FUZZ_PATTERN_PAGES) &&
	             !(d->entry & 0xfff);
}

bool fuzz_overlaps_canary(const struct tv_pal_desc *d)
{
	const uint64_t canary[3][2] = {
	    {(uint64_t)(uintptr_t)__pal_code_start, 4096},
	    {(uint64_t)(uintptr_t)pal_params_page, sizeof(pal_params_page)},
	    {(uint64_t)(uintptr_t)pal_stack_pages, sizeof(pal_stack_pages)}};
	for (uint32_t i = 0; i < d->nsections && i < TV_MAX_SECTIONS; i++)
		for (uint32_t k = 0; k < 3; k++)
			if (d->sec[i].gva < canary[k][0] + canary[k][1] &&
			    canary[k][0] < d->sec[i].gva + d->sec[i].size)
				return true;
	return false;
}

void fuzz_track(const struct tv_pal_desc *d, bool patterned, uint32_t owner)
{
	for (uint32_t i = 0; i < FUZZ_MAX_TRACKED; i++) {
		if (!fz.tracked[i]) {
			fz.tracked[i] = d->entry;
			fz.patterned[i] = patterned ? d->entry : 0;
			fz.owner[i] = owner;
			fz.words[i][0] = d->in_words;
			fz.words[i][1] = d->out_words;
			return;
		}
	}
}

void fuzz_untrack(uint64_t entry)
{
	for (uint32_t i = 0; i < FUZZ_MAX_TRACKED; i++)
		if (fz.tracked[i] == entry)
			fz.tracked[i] = fz.patterned[i] = 0;
}

void fuzz_act_tv_register(void)
{
	bool patterned;
	uint64_t where = (uint64_t)(uintptr_t)&desc;
	fuzz_random_desc(&desc, &patterned);
	uint32_t how = fuzz_below(16);
	if (how == 0) {
		where = (uint64_t)(uintptr_t)spill + 4096 - 8 * (1 + fuzz_below(8)); /* straddles */
		memcpy((void *)(uintptr_t)where, &desc, sizeof(desc));
	} else if (how == 1) {
		where = fuzz_value64();
	} else if (how == 2) {
		where = canary_page();
	} else if (how == 3) {
		where = FUZZ_PAGE(FUZZ_POOL_FIRST + fuzz_below(FUZZ_POOL_PAGES));
	}
	fuzz_note("desc@%llx v=%u n=%u entry=%llx words=%u/%u s0=%llx+%llx/%u s1=%llx+%llx/%u "
	          "s2=%llx+%llx/%u s3=%llx+%llx/%u",
	          (unsigned long long)where, desc.version, desc.nsections,
	          (unsigned long long)desc.entry, desc.in_words, desc.out_words,
	          (unsigned long long)desc.sec[0].gva, (unsigned long long)desc.sec[0].size,
	          desc.sec[0].kind, (unsigned long long)desc.sec[1].gva,
	          (unsigned long long)desc.sec[1].size, desc.sec[1].kind,
	          (unsigned long long)desc.sec[2].gva, (unsigned long long)desc.sec[2].size,
	          desc.sec[2].kind, (unsigned long long)desc.sec[3].gva,
	          (unsigned long long)desc.sec[3].size, desc.sec[3].kind);
	uint64_t r[6] = {TV_HC_REGISTER, where, fuzz_value64(), 0, 0, 0};
	if (!hypercall(r, !fz.tv))
		return;
	int64_t st = (int64_t)r[0];
	if (!fuzz_status_ok(st)) {
		fuzz_fail("status %lld out of range", (long long)st);
		return;
	}
	if (st != TV_OK)
		return;
	if (how >= 1 && how <= 3)
		fuzz_fail("registered from a descriptor the guest could not give (at %llx)",
		          (unsigned long long)where);
	else if (fuzz_overlaps_canary(&desc))
		fuzz_fail("registered a PAL over the canary PAL's pages");
	fz.tv_registered++;
	fuzz_track(&desc, patterned, FUZZ_OWNER_K0);
}

/* Ring 0 of the kernel's CR3 may unregister only its own PALs (not ring 3's). */
void fuzz_act_tv_unregister(void)
{
	uint32_t i = fuzz_below(FUZZ_MAX_TRACKED), owner = FUZZ_OWNER_K0;
	uint64_t entry = fz.tracked[i];
	if (!entry || fuzz_chance(4))
		entry = fuzz_chance(2) ? fuzz_value64() : FUZZ_PAGE(fuzz_below(FUZZ_ARENA_PAGES));
	else
		owner = fz.owner[i];
	if (entry == fuzz_canary_entry())
		entry ^= 0x8000000000000000ull;
	fuzz_note("entry=%llx owner=%u", (unsigned long long)entry, owner);
	uint64_t r[6] = {TV_HC_UNREGISTER, entry, 0, 0, 0, 0};
	if (!hypercall(r, false))
		return;
	int64_t st = (int64_t)r[0];
	if (!fuzz_status_ok(st))
		fuzz_fail("status %lld out of range", (long long)st);
	else if (owner != FUZZ_OWNER_K0 && st == TV_OK)
		fuzz_fail("ring 0 unregistered a PAL ring 3 registered (owner %u)", owner);
	if (owner == FUZZ_OWNER_K0 || st == TV_ERR_NOT_REGISTERED)
		fuzz_untrack(entry);
}

/*
 * A call of a registered fuzz PAL whose code is a pattern page (never a PAL at
 * an arbitrary page: its bytes are the OS's). The call is a probe: an
 * exception inside, which TrustVisor must have turned into TV_ERR_PAL_FAULT,
 * would reach the guest. The magic pattern must answer TV_OK with its value,
 * the faulting ones anything but TV_OK (the call's arguments are checked
 * before the PAL runs: TOO_LARGE, RANGE... come first).
 */
void fuzz_act_tv_call(void)
{
	uint32_t i = fuzz_below(FUZZ_MAX_TRACKED);
	uint64_t entry = fz.patterned[i];
	uint32_t owner = fz.owner[i];
	if (!entry)
		return;
	uint64_t in[TV_MAX_WORDS + 2], out[TV_MAX_WORDS + 2];
	for (uint32_t k = 0; k < TV_MAX_WORDS + 2; k++)
		in[k] = out[k] = fuzz_value64();
	/* in[0..5] = the hypercall of pat_any_hc: mostly the micro-TPM's functions */
	/* in[0..5] = the hypercall pat_any_hc makes from inside the PAL */
	uint32_t hc = fuzz_below(8);
	if (hc < 4) {
		in[0] = 0x54560010u + fuzz_below(7); /* micro-TPM, quote key */
	} else if (hc == 4) {
		in[0] = fuzz_chance(2) ? TV_HC_UNREGISTER : TV_HC_REGISTER;
		static const uint64_t targets[] = {0, 1, 2};
		uint64_t t = fuzz_pick(targets, 3);
		in[1] = t == 0 ? entry : t == 1 ? fuzz_canary_entry() : (uint64_t)(uintptr_t)&desc;
	} else if (hc == 5) {
		in[0] = FUZZ_HC_DEBUG_BASE + fuzz_below(5); /* quiesce storm etc. from a PAL */
		in[1] = fuzz_below(3);
	} else {
		in[0] = fuzz_value64();
	}
	/* Mostly what the descriptor allows, sometimes more or anything. */
	uint64_t nin = fuzz_chance(8)   ? fuzz_value64()
	               : fuzz_chance(4) ? fuzz_below(TV_MAX_WORDS + 2)
	                                : fuzz_below(fz.words[i][0] + 1);
	uint64_t nout = fuzz_chance(8)   ? fuzz_value64()
	                : fuzz_chance(4) ? fuzz_below(TV_MAX_WORDS + 2)
	                                 : fuzz_below(fz.words[i][1] + 1);
	uint64_t inp = fuzz_chance(16) ? fuzz_value64() : (uint64_t)(uintptr_t)in;
	uint64_t outp = fuzz_chance(16) ? fuzz_value64() : (uint64_t)(uintptr_t)out;
	uint32_t pattern = (uint32_t)((entry - FUZZ_ARENA) >> 12);

	/* The caller's stack: normal, misaligned, or the return address across two pages. */
	static uint8_t altstack[2 * 4096] __attribute__((aligned(4096)));
	uint32_t sk = fuzz_below(4);
	uint64_t sp =
	    sk == 0 ? 0 : (uint64_t)(uintptr_t)altstack + 4096 - (sk == 1 ? 4 : fuzz_below(8));
	fuzz_note("owner=%u entry=%llx pattern=%u rsp=%llx in=%llx nin=%llu out=%llx nout=%llu "
	          "hc=%llx,%llx,%llx",
	          owner, (unsigned long long)entry, (uint32_t)((entry - FUZZ_ARENA) >> 12),
	          (unsigned long long)sp, (unsigned long long)inp, (unsigned long long)nin,
	          (unsigned long long)outp, (unsigned long long)nout, (unsigned long long)in[0],
	          (unsigned long long)in[1], (unsigned long long)in[2]);
	register uint64_t e __asm__("r14") = entry;
	register uint64_t altsp __asm__("r15") = sp;
	register uint64_t rdi __asm__("rdi") = inp;
	register uint64_t rsi __asm__("rsi") = nin;
	register uint64_t rdx __asm__("rdx") = outp;
	register uint64_t rcx __asm__("rcx") = nout;
	register uint64_t r8 __asm__("r8");
	register uint64_t r9 __asm__("r9");
	register uint64_t r10 __asm__("r10");
	register uint64_t r11 __asm__("r11");
	uint64_t rax = 0, rbx = 0;
	probe64_arm();
	/* r12 keeps RSP across the call on the other stack (the probe restores it too). */
	__asm__ __volatile__(PROBE64_ASM("movq %%rsp, %%r12\n\t"
	                                 "testq %%r15, %%r15\n\t"
	                                 "cmovnzq %%r15, %%rsp\n\t"
	                                 "call *%%r14\n\t"
	                                 "movq %%r12, %%rsp")
	                     : "+a"(rax), "+b"(rbx), "+r"(rdi), "+r"(rsi), "+r"(rdx), "+r"(rcx),
	                       "=r"(r8), "=r"(r9), "=r"(r10), "=r"(r11), "+r"(e), "+r"(altsp),
	                       PROBE64_OUT
	                     :
	                     : "memory", "cc", "r12", "r13");
	uint32_t vec = probe64_disarm();
	fz.tv_calls++;
	fz.tv_calls_ok += (int64_t)rax == TV_OK;
	if (vec != PROBE_NONE) {
		fuzz_fail("PAL call raised vector %u in the guest (rip %llx)", vec,
		          (unsigned long long)probe64.rip);
		return;
	}
	if (!fuzz_status_ok((int64_t)rax))
		fuzz_fail("PAL call status %lld out of range", (long long)rax);
	else if (owner != FUZZ_OWNER_K0 && (int64_t)rax != TV_ERR_WRONG_PROCESS)
		fuzz_fail("ring 0 called a PAL of ring 3 (owner %u): %lld", owner, (long long)rax);
	else if (pattern == 0 && (int64_t)rax == TV_OK && rdx != PAL_MAGIC_32)
		fuzz_fail("magic PAL returned %llx", (unsigned long long)rdx);
	else if ((pattern == 1 || pattern == 2 || pattern == 3 || pattern == 6) &&
	         (int64_t)rax == TV_OK)
		fuzz_fail("faulting PAL (pattern %u) returned TV_OK (RDX %llx)", pattern,
		          (unsigned long long)rdx);
}

/*
 * Micro-TPM functions and the quote key from outside a PAL: NOT_IN_PAL for
 * the former whatever the arguments; the key only into memory the guest may
 * write (never a PAL's page, the hypervisor, MMIO).
 */
void fuzz_act_tv_utpm(void)
{
	uint64_t r[6];
	uint32_t fn = 0x54560010u + fuzz_below(7);
	for (uint32_t i = 1; i < 6; i++)
		r[i] = fuzz_value64();
	bool key_ok_buf = false;
	uint32_t how = fuzz_below(4);
	if (fn == TV_HC_QUOTE_KEY) {
		if (how == 0) {
			r[1] = (uint64_t)(uintptr_t)spill + 4096 - fuzz_below(80);
			r[2] = fuzz_chance(4) ? 64 : 65 + fuzz_below(100);
			key_ok_buf = r[2] >= TV_QUOTE_KEY_SIZE;
		} else if (how == 1) {
			r[1] = canary_page() + fuzz_below(4000);
		} else if (how == 2) {
			static const uint64_t bad[] = {0,
			                               0x0c000000,
			                               0x0c800040,
			                               0xfee00000,
			                               0x10000000,
			                               0x0000800000000000ull,
			                               0xffffffffffffffc0ull};
			r[1] = fuzz_pick(bad, 7);
		} else {
			/* a pool page, maybe a fuzz PAL's: no expectation (not tracked per page) */
			r[1] = FUZZ_PAGE(FUZZ_POOL_FIRST + fuzz_below(FUZZ_POOL_PAGES));
		}
		if (how)
			r[2] = 65 + fuzz_below(4);
	}
	r[0] = fuzz_chance(16) ? (fuzz_rand() << 32) | fn : fn;
	fuzz_note("fn=%llx args=%llx,%llx,%llx,%llx,%llx", (unsigned long long)r[0],
	          (unsigned long long)r[1], (unsigned long long)r[2], (unsigned long long)r[3],
	          (unsigned long long)r[4], (unsigned long long)r[5]);
	uint64_t buf = r[1], cap = r[2];
	if (!hypercall(r, !fz.tv))
		return;
	int64_t st = (int64_t)r[0];
	if (fn != TV_HC_QUOTE_KEY) {
		if (st != TV_ERR_NOT_IN_PAL)
			fuzz_fail("micro-TPM call outside a PAL gave %lld", (long long)st);
		return;
	}
	if (st != TV_QUOTE_KEY_SIZE && !fuzz_status_ok(st))
		fuzz_fail("quote key: status %lld out of range", (long long)st);
	else if (key_ok_buf && cap >= TV_QUOTE_KEY_SIZE && st != TV_QUOTE_KEY_SIZE)
		fuzz_fail("quote key into the guest's own buffer failed: %lld", (long long)st);
	else if (key_ok_buf && st == TV_QUOTE_KEY_SIZE && *(uint8_t *)(uintptr_t)buf != 0x04)
		fuzz_fail("quote key does not start with 04");
	else if ((how == 1 || how == 2) && st == TV_QUOTE_KEY_SIZE)
		fuzz_fail("quote key written at %llx", (unsigned long long)buf);
}

/* Debug hypercalls (core/debug_hypercall.h) with random arguments; unknown ones answer ~0. */
void fuzz_act_debug_hc(void)
{
	uint64_t r[6];
	uint32_t fn = fuzz_chance(8) ? (uint32_t)fuzz_rand() & 0xffffu : fuzz_below(6);
	for (uint32_t i = 1; i < 6; i++)
		r[i] = fuzz_value64();
	if (fn == 1) /* QUIESCE_STORM: a few rounds, or one over the limit */
		r[1] = fuzz_chance(4) ? 10001 : fuzz_below(3);
	if (fn == 3 && !fuzz_chance(16))
		fn = 4; /* BENCH: 64 quiesce rounds and two lines of output; rarely */
	r[0] = FUZZ_HC_DEBUG_BASE | fn;
	fuzz_note("fn=%llx args=%llx,%llx", (unsigned long long)r[0], (unsigned long long)r[1],
	          (unsigned long long)r[2]);
	if (!hypercall(r, !fz.hv))
		return;
	uint32_t eax = (uint32_t)r[0];
	if ((fn == 0 || fn > 4) && eax != 0xffffffffu)
		fuzz_fail("unknown debug function answered %x", eax);
	if (fn == 1 && r[1] == 10001 && eax != 0xffffffffu)
		fuzz_fail("a storm over the limit answered %x", eax);
}

/* Function numbers nobody defines: #UD as on bare metal. */
void fuzz_act_unknown_hc(void)
{
	uint64_t r[6];
	uint32_t eax;
	do {
		eax = fuzz_chance(4) ? 0x54560000u + fuzz_below(0x40) : (uint32_t)fuzz_rand();
	} while ((eax >= 0x54560001u && eax <= 0x54560002u) ||
	         (eax >= TV_HC_PCR_READ && eax <= TV_HC_PAL_IDENTITY) || (eax >> 16) == 0x4856u ||
	         eax == 0xe820u);
	for (uint32_t i = 1; i < 6; i++)
		r[i] = fuzz_value64();
	r[0] = eax;
	fuzz_note("rax=%x args=%llx,%llx", eax, (unsigned long long)r[1], (unsigned long long)r[2]);
	hypercall(r, true);
}

void fuzz_tv_cleanup(void)
{
	for (uint32_t i = 0; i < FUZZ_MAX_TRACKED; i++) {
		if (!fz.tracked[i])
			continue;
		uint64_t r[6] = {TV_HC_UNREGISTER, fz.tracked[i], 0, 0, 0, 0};
		fuzz_note("unregister %llx owner %u", (unsigned long long)fz.tracked[i],
		          fz.owner[i]);
		if (fz.owner[i] == FUZZ_OWNER_K0)
			hypercall(r, false);
		else
			fuzz_ring3_hypercall(r, fz.owner[i]);
		fz.tracked[i] = fz.patterned[i] = 0;
	}
}
