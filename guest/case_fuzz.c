/*
 * Fuzz mode (issue 11 point 5; README.md "Fuzz mode"): `fuzz seed=N count=M`
 * on the command line runs the cases `smp` and `fuzz` instead of the others.
 * `fuzz` runs the hostile-guest fuzzer in the 64-bit stage on the boot CPU
 * (guest/pal64/fuzz*.c: TrustVisor takes 64-bit callers only) and, when CPU 1
 * is up, a second stream of its own on CPU 1 in 32-bit mode (below).
 *
 * Options (words on the command line): seed=N (default 1), count=M steps
 * (default 1000), trace=K (print every boot-CPU step from K on, before it
 * runs), avoid-known (skip the variants that hit the panics issue 11 point 4
 * lists, to get past them in long runs), known=N (only the known-panic
 * variants whose FUZZ_KNOWN_* bits are in N, pal64/pal64_abi.h), no-ring3 (no
 * steps from ring 3, pal64/fuzz_ring3.c), no-race (CPU 1 runs the 32-bit
 * stream below even under TrustVisor).
 *
 * Under TrustVisor with CPU 1 up, CPU 1 enters the 64-bit stage itself
 * (pal_stage_enter_other_cpu, PAL64_CASE_FUZZ_AP) and races the boot CPU's
 * registrations over the same pages (pal64/fuzz_race.c) instead.
 *
 * CPU 1's stream cannot take exceptions (only the boot CPU has probes, and the
 * 64-bit stage must not share its stack), so it does what never faults on a
 * correct machine, seeded from N as well: NMIs to the boot CPU while it fuzzes,
 * NMIs and fixed IPIs to itself, quiesce storms and the other debug
 * hypercalls, TrustVisor calls from 32-bit mode (TV_ERR_UNSUPPORTED, the only
 * answer it checks), CPUID, LAPIC reads and TPR writes, reads of harmless
 * ports. It does not print (the stage has its own console lock). Its step
 * count and the first wrong answer are reported after the boot CPU's run;
 * Bochs interleaves the CPUs the same way on every run, so it replays too.
 */
#include "apps/trustvisor/tv_hypercall.h"
#include "guest/cases.h"
#include "guest/cmdline.h"
#include "guest/console.h"
#include "guest/cpu.h"
#include "guest/lapic.h"
#include "guest/pal_stage.h"
#include "guest/smp.h"
#include "guest/time.h"

#define DEFAULT_COUNT 1000u
#define AP_WAIT_US    60000000u
#define HC_QUIESCE    0x48560001u
#define HC_NMI_STATS  0x48560002u
#define HC_COUNTERS   0x48560004u
#define LAPIC_TPR     0x080u
#define LAPIC_VERSION 0x030u

static bool requested, race = true;
static struct pal64_shared shared, ap_shared;
static volatile uint32_t ap_race_result;
static uint32_t seed = 1, count = DEFAULT_COUNT, trace_from, flags;

/* CPU 1's stream: results read by the boot CPU after it stopped. */
static volatile uint32_t ap_steps, ap_bad;
static volatile uint32_t ap_bad_step, ap_bad_what, ap_bad_value;
static bool ap_tv; /* TrustVisor answers (its 32-bit answer is checked) */

void fuzz_parse_cmdline(uint32_t mbi_pa)
{
	requested = cmdline_has_word(mbi_pa, "fuzz");
	seed = cmdline_uint(mbi_pa, "seed", seed);
	count = cmdline_uint(mbi_pa, "count", count);
	trace_from = cmdline_uint(mbi_pa, "trace", trace_from);
	uint32_t known = FUZZ_KNOWN_ALL;
	if (cmdline_has_word(mbi_pa, "avoid-known"))
		known = 0;
	known = cmdline_uint(mbi_pa, "known", known);
	if (cmdline_has_word(mbi_pa, "no-race"))
		race = false;
	if (cmdline_has_word(mbi_pa, "no-ring3"))
		flags |= FUZZ_F_NO_RING3;
	flags |= (known & FUZZ_KNOWN_ALL) << FUZZ_F_KNOWN_SHIFT;
}

bool fuzz_requested(void)
{
	return requested;
}

struct hc {
	uint32_t eax, ebx, ecx, edx, esi, edi;
};

static inline void ap_vmcall(struct hc *r)
{
	__asm__ __volatile__("vmcall"
	                     : "+a"(r->eax), "+b"(r->ebx), "+c"(r->ecx), "+d"(r->edx), "+S"(r->esi),
	                       "+D"(r->edi)
	                     :
	                     : "memory");
}

/* xorshift32: CPU 1's own PRNG (32-bit code: no 64-bit multiply wanted). */
static uint32_t ap_rand(uint32_t *s)
{
	uint32_t x = *s;
	x ^= x << 13;
	x ^= x >> 17;
	x ^= x << 5;
	return *s = x;
}

static void ap_wrong(uint32_t step, uint32_t what, uint32_t value)
{
	if (!ap_bad) {
		ap_bad_step = step;
		ap_bad_what = what;
		ap_bad_value = value;
	}
	ap_bad++;
}

static void ap_step(uint32_t step, uint32_t *rng, uint32_t bsp_apic)
{
	uint32_t r = ap_rand(rng);
	struct hc h = {0, ap_rand(rng), ap_rand(rng), ap_rand(rng), ap_rand(rng), ap_rand(rng)};

	switch (r % 10) {
	case 0:
		lapic_send_ipi(bsp_apic, ICR_NMI | ICR_ASSERT);
		break;
	case 1:
		lapic_send_ipi(lapic_id(), (r & 1) ? ICR_NMI | ICR_ASSERT : 0x50 + (r >> 8) % 0xa0);
		break;
	case 2:
		h.eax = HC_QUIESCE;
		h.ebx = (r >> 8) % 3;
		ap_vmcall(&h);
		if (h.eax != 0)
			ap_wrong(step, 1, h.eax);
		break;
	case 3:
		h.eax = (r & 1) ? HC_COUNTERS : HC_NMI_STATS;
		ap_vmcall(&h);
		break;
	case 4:
		if (!ap_tv)
			break;
		/* TrustVisor takes registrations from 64-bit callers only. */
		h.eax = TV_HC_REGISTER;
		ap_vmcall(&h);
		if ((int32_t)h.eax != TV_ERR_UNSUPPORTED)
			ap_wrong(step, 2, h.eax);
		break;
	case 5:
		cpuid(r >> 8 & 1 ? 0x80000000u + (r >> 16) % 9 : (r >> 16) % 0x20, r >> 24);
		break;
	case 6: {
		uint32_t tpr = lapic_read(LAPIC_TPR);
		lapic_write(LAPIC_TPR, (r >> 8) & 0xff);
		lapic_write(LAPIC_TPR, tpr);
		break;
	}
	case 7:
		lapic_read(LAPIC_VERSION + 0x10 * ((r >> 8) % 0x30));
		break;
	case 8:
		(void)rdmsr(r & 0x100 ? MSR_APIC_BASE : 0x10);
		break;
	default:
		(void)inb(r & 0x100 ? 0x80 : 0x3da);
		break;
	}
}

static void ap_stream(void *arg)
{
	struct pal64_shared *s = arg;
	uint32_t rng = seed ^ 0x9e3779b9u, bsp = guest_env.bsp_apic_id;
	if (!rng)
		rng = 1;
	while (!s->fuzz_go && !s->fuzz_stop)
		cpu_pause();
	if (s->fuzz_flags & FUZZ_F_RACE) {
		/* The race runs in the stage (pal64/fuzz_race.c); the boot CPU sends this
		 * CPU nothing until the stage has loaded its IDT here. */
		if (!s->fuzz_stop)
			ap_race_result = pal_stage_enter_other_cpu(&ap_shared, PAL64_CASE_FUZZ_AP);
		__atomic_store_n(&s->fuzz_ap_done, 1, __ATOMIC_SEQ_CST);
		return;
	}
	for (uint32_t step = 1; !s->fuzz_stop; step++) {
		ap_step(step, &rng, bsp);
		ap_steps = step;
	}
	__atomic_store_n(&s->fuzz_ap_done, 1, __ATOMIC_SEQ_CST);
}

static const char *why_cannot(void)
{
	const char *why = pal_stage_unsupported();
	if (why)
		return why;
	if (!guest_under_hv())
		return 0; /* bare: the fuzzer runs and expects #UD from every hypercall */
	uint32_t eax = TV_HC_UNREGISTER;
	ap_tv = probe_vmcall_eax(&eax, 0) == TRAP_NONE &&
	        ((int32_t)eax == TV_ERR_NOT_REGISTERED || (int32_t)eax == TV_ERR_UNSUPPORTED);
	return 0;
}

enum case_result case_fuzz(struct case_ctx *c)
{
	const char *why = why_cannot();
	if (why)
		return case_skip(c, "%s", why);
	shared.tsc_per_ms = time_tsc_per_ms();
	shared.ncpus = guest_env.ncpus;
	shared.fuzz_seed = seed;
	shared.fuzz_count = count;
	shared.fuzz_trace_from = trace_from;
	shared.fuzz_flags = flags;
	shared.fuzz_go = shared.fuzz_stop = shared.fuzz_ap_done = 0;
	uint32_t ticket = 0;
	bool two = smp_ap_count() > 0 && smp_ap(1)->online && guest_under_hv();
	if (two) {
		shared.fuzz_flags |= FUZZ_F_TWO_CPUS;
		if (race && ap_tv)
			shared.fuzz_flags |= FUZZ_F_RACE;
		ap_race_result = PAL64_PASS;
		shared.fuzz_other_apic = smp_ap(1)->lapic_id;
		ticket = smp_post(1, ap_stream, &shared);
	}
	enum case_result r = pal_stage_run(c, &shared, PAL64_CASE_FUZZ);
	shared.fuzz_stop = 1;
	if (two) {
		if (!smp_wait(1, ticket, AP_WAIT_US))
			return case_fail(c, "fuzz: CPU 1's stream did not stop");
		if (shared.fuzz_flags & FUZZ_F_RACE) {
			/* Its steps and failures are the stage's to print (fuzz_race_final). */
			if (ap_race_result != PAL64_PASS && r == CASE_PASS)
				return case_fail(c, "fuzz: CPU 1's race side failed in the stage");
			return r;
		}
		runner_info("fuzz: cpu 1 ran %u steps, %u wrong answers", ap_steps, ap_bad);
		if (ap_bad) {
			con_printf("FUZZ: cpu=1 step=%u action=%s: answered %x (first of %u)\n",
			           ap_bad_step,
			           ap_bad_what == 1 ? "quiesce_storm" : "tv_register_32bit",
			           ap_bad_value, ap_bad);
			if (r == CASE_PASS)
				return case_fail(c, "fuzz: CPU 1's stream got %u wrong answers",
				                 ap_bad);
		}
	}
	return r;
}

static const struct test_case fuzz_case_table[] = {
    {"smp", case_smp},
    {"fuzz", case_fuzz},
};
const struct test_case *const fuzz_cases = fuzz_case_table;
const uint32_t fuzz_case_count = sizeof(fuzz_case_table) / sizeof(fuzz_case_table[0]);
