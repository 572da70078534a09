/*
 * The fuzzer's loop (fuzz64.h): PRNG, action table, failure lines, summary.
 *
 * Output: nothing per step unless it fails (`FUZZ: step=<n> action=<name>
 * <what it did>: <why>`) or the trace is on (`fuzz trace=K`: every step from
 * K, before it runs, so the step a hypervisor panic interrupts is the last one
 * printed); a progress line every FUZZ_PROGRESS steps (the step a panic came
 * at, to within that, without a trace); at the end `FUZZ: DONE steps=<n>
 * fails=<n>` and the actions' counts.
 */
#include <stdarg.h>

#include "guest/console.h"
#include "guest/pal64/cpu64.h"
#include "guest/pal64/fuzz64.h"
#include "guest/pal64/ring3.h"
#include "guest/pal64/stage.h"

#define FUZZ_PROGRESS 10000u

struct fuzz fz;

#define NEED_TV   1u
#define NEED_RACE 2u

struct action {
	const char *name;
	void (*run)(void);
	uint32_t weight;
	uint32_t needs; /* NEED_TV: TrustVisor (else the call is #UD: covered by
	                 * unknown_hc); NEED_RACE: the race is on (fuzz_race.c) */
};

static const struct action actions[] = {
    {"rdmsr", fuzz_act_rdmsr, 8, 0},
    {"wrmsr", fuzz_act_wrmsr, 8, 0},
    {"port_io", fuzz_act_port, 8, 0},
    {"port_string", fuzz_act_port_string, 2, 0},
    {"cr_write", fuzz_act_cr, 5, 0},
    {"dr_write", fuzz_act_dr, 3, 0},
    {"invlpg", fuzz_act_invlpg, 2, 0},
    {"cpuid", fuzz_act_cpuid, 2, 0},
    {"xsetbv", fuzz_act_xsetbv, 2, 0},
    {"vmx_insn", fuzz_act_vmx, 4, 0},
    {"getsec", fuzz_act_getsec, 1, 0},
    {"mem_read", fuzz_act_mem, 3, 0},
    {"lapic_write", fuzz_act_lapic, 5, 0},
    {"ipi", fuzz_act_ipi, 4, 0},
    {"tv_register", fuzz_act_tv_register, 8, 0},
    {"tv_unregister", fuzz_act_tv_unregister, 3, NEED_TV},
    {"tv_pal_call", fuzz_act_tv_call, 4, NEED_TV},
    {"tv_utpm", fuzz_act_tv_utpm, 4, 0},
    {"debug_hc", fuzz_act_debug_hc, 3, 0},
    {"unknown_hc", fuzz_act_unknown_hc, 3, 0},
    {"ring3", fuzz_act_ring3, 12, 0},
    {"race", fuzz_act_race, 10, NEED_TV | NEED_RACE},
};
#define NACTIONS (sizeof(actions) / sizeof(actions[0]))
_Static_assert(NACTIONS <= sizeof(fz.actions_run) / sizeof(fz.actions_run[0]), "counters");

/* splitmix64 (Steele, Lea, Flood 2014): full period, any seed is fine. */
uint64_t fuzz_rand(void)
{
	uint64_t z = (fz.rng += 0x9e3779b97f4a7c15ull);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

uint32_t fuzz_below(uint32_t n)
{
	return n ? (uint32_t)(((fuzz_rand() >> 32) * n) >> 32) : 0;
}

bool fuzz_chance(uint32_t one_in)
{
	return fuzz_below(one_in) == 0;
}

uint64_t fuzz_pick(const uint64_t *pool, uint32_t n)
{
	return pool[fuzz_below(n)];
}

uint64_t fuzz_value64(void)
{
	static const uint64_t edges[] = {0,
	                                 1,
	                                 ~0ull,
	                                 0x7fffffffffffffffull,
	                                 0x8000000000000000ull,
	                                 0xffffffffull,
	                                 0x100000000ull,
	                                 0x00007ffffffff000ull, /* TV_PAL_SENTINEL */
	                                 0x0000800000000000ull, /* first non-canonical */
	                                 0xffff800000000000ull,
	                                 0x0c000000ull, /* the hypervisor region */
	                                 0x0cfff000ull,
	                                 0xfee00000ull, /* LAPIC */
	                                 0x10000000ull, /* 256 MiB: above RAM in the tests */
	                                 0xfff,
	                                 0x1000};
	switch (fuzz_below(4)) {
	case 0:
		return fuzz_pick(edges, sizeof(edges) / sizeof(edges[0]));
	case 1:
		return 1ull << fuzz_below(64);
	case 2:
		return fuzz_rand() & 0xffffffffull;
	default:
		return fuzz_rand();
	}
}

void fuzz_note(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	str_vformat(fz.note, sizeof(fz.note), fmt, ap);
	va_end(ap);
	if (fz.trace_from && fz.step >= fz.trace_from) {
		con_printf("testguest: fuzz: step=%u action=%s ", fz.step, fz.action);
		con_printf("%s\n", fz.note);
	}
}

void fuzz_fail(const char *fmt, ...)
{
	char why[200];
	va_list ap;
	va_start(ap, fmt);
	str_vformat(why, sizeof(why), fmt, ap);
	va_end(ap);
	fz.fails++;
	/* In pieces: con_printf formats at most 255 characters at a time. */
	con_printf("FUZZ: step=%u action=%s ", fz.step, fz.action);
	con_printf("%s", fz.note);
	con_printf(": %s\n", why);
}

static bool drawable(const struct action *a)
{
	return (!(a->needs & NEED_TV) || fz.tv) && (!(a->needs & NEED_RACE) || fz.race);
}

static const struct action *draw(uint32_t total)
{
	uint32_t r = fuzz_below(total);
	for (uint32_t i = 0; i < NACTIONS; i++) {
		if (!drawable(&actions[i]))
			continue;
		if (r < actions[i].weight) {
			fz.actions_run[i]++;
			return &actions[i];
		}
		r -= actions[i].weight;
	}
	return &actions[0];
}

static void summary(uint64_t t0)
{
	/* In pieces: con_printf formats at most 255 characters at a time. */
	con_printf("testguest: fuzz: actions:");
	for (uint32_t i = 0; i < NACTIONS; i++)
		con_printf(" %s=%u", actions[i].name, fz.actions_run[i]);
	con_printf("\n");
	con_printf("testguest: fuzz: trustvisor: %u fuzz PALs registered, %u calls of them, %u "
	           "returned TV_OK\n",
	           fz.tv_registered, fz.tv_calls, fz.tv_calls_ok);
	con_printf(
	    "testguest: fuzz: ring 3: %u runs, %u faulted (as expected), %u PALs registered, "
	    "%u calls returned TV_OK\n",
	    fz.r3_steps, fz.r3_faults, fz.r3_registered, fz.r3_calls_ok);
	con_printf("testguest: fuzz: %u steps in %llu TSC ticks\n", fz.step,
	           (unsigned long long)(cpu64_rdtsc() - t0));
	con_printf("FUZZ: DONE steps=%u fails=%u\n", fz.step, fz.fails);
}

/* CPU 1's stream stops before this CPU leaves long mode (pal64_abi.h). */
static void stop_other_cpu(void)
{
	__atomic_store_n(&stage->fuzz_stop, 1, __ATOMIC_SEQ_CST);
	if (!(fz.flags & FUZZ_F_TWO_CPUS))
		return;
	uint64_t end = stage_deadline_us(60000000);
	while (!stage->fuzz_ap_done && !stage_passed(end))
		cpu64_pause();
	if (!stage->fuzz_ap_done)
		fuzz_fail("CPU 1's stream did not stop");
	stage_delay_us(10000); /* NMIs it sent last are taken here, in long mode */
}

/* The other CPU's APIC id, for IPIs and NMIs to it; ~0 while it must not get
 * any: none, or (race) it is not yet in the stage with the stage's IDT. */
static uint32_t other_cpu(void)
{
	if (!(fz.flags & FUZZ_F_TWO_CPUS) || (fz.race && !fuzz_race_other_ready()))
		return ~0u;
	return stage->fuzz_other_apic;
}

uint32_t case64_fuzz(void)
{
	uint32_t total = 0;

	fz.rng = stage->fuzz_seed;
	fz.flags = stage->fuzz_flags;
	fz.trace_from = stage->fuzz_trace_from;
	fz.other_apic = ~0u; /* set in the loop (other_cpu) */
	fz.self_apic = cpuid(1, 0).ebx >> 24;
	fz.action = "setup";
	fz.note[0] = '\0';
	fuzz_tv_setup();
	fuzz_map_above_4g();
	if (!(fz.flags & FUZZ_F_NO_RING3))
		fuzz_ring3_setup();
	fz.race = (fz.flags & FUZZ_F_RACE) && (fz.flags & FUZZ_F_TWO_CPUS);
	if (fz.race)
		fuzz_race_setup();
	if (!fuzz_check_setup()) {
		stop_other_cpu();
		ring3_teardown();
		return stage_fail("fuzz: setup failed (see the FUZZ line)");
	}
	fz.race = fz.race && fz.tv;
	for (uint32_t i = 0; i < NACTIONS; i++)
		if (drawable(&actions[i]))
			total += actions[i].weight;
	stage_info("fuzz: seed=%u count=%u hypervisor=%s trustvisor=%s canary=%s other_cpu=%s "
	           "ring3=%s race=%s known=%u",
	           stage->fuzz_seed, stage->fuzz_count, fz.hv ? "yes" : "no", fz.tv ? "yes" : "no",
	           fz.canary ? "yes" : "no", (fz.flags & FUZZ_F_TWO_CPUS) ? "yes" : "no",
	           fz.ring3 ? "yes" : "no", fz.race ? "yes" : "no",
	           (fz.flags >> FUZZ_F_KNOWN_SHIFT) & FUZZ_KNOWN_ALL);

	__atomic_store_n(&stage->fuzz_go, 1, __ATOMIC_SEQ_CST);
	uint64_t t0 = cpu64_rdtsc();
	for (fz.step = 1; fz.step <= stage->fuzz_count && fz.fails < FUZZ_MAX_FAILS; fz.step++) {
		fz.other_apic = other_cpu();
		const struct action *a = draw(total);
		fz.action = a->name;
		fz.note[0] = '\0';
		a->run();
		fz.action = "check";
		fuzz_check_step();
		stage->fuzz_steps = fz.step;
		if (fz.step % FUZZ_PROGRESS == 0)
			stage_info("fuzz: step %u", fz.step);
	}
	fz.step--;
	stop_other_cpu();
	fz.action = "final";
	fz.note[0] = '\0';
	fuzz_tv_cleanup();
	fuzz_race_final();
	fuzz_check_final();
	ring3_teardown();
	stage->fuzz_fails = fz.fails;
	summary(t0);
	if (fz.fails)
		return stage_fail("fuzz: %u failures (FUZZ lines above)", fz.fails);
	return PAL64_PASS;
}
