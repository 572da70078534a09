/*
 * The hostile-guest fuzzer, boot CPU side (issue 11 point 5; README.md "Fuzz
 * mode"): `fuzz seed=N count=M` on the command line runs it in the 64-bit
 * stage, at CPL 0 and (fuzz_ring3.c) CPL 3. Each step draws an action
 * from a PRNG seeded by N (so a run replays step for step: Bochs repeats runs
 * tick for tick), does it, and checks the invariants (fuzz_check.c).
 *
 * fuzz_main.c   the loop, the PRNG, the action table, failure lines
 * fuzz_cpu.c    MSRs, CR/DR, INVLPG/INVPCID, CPUID, XSETBV, VMX, GETSEC, reads
 * fuzz_port.c   port I/O and string I/O
 * fuzz_apic.c   LAPIC register writes, IPIs and NMIs to self and the other CPU
 * fuzz_tv.c     hypercalls: TrustVisor (random and boundary descriptors), the
 *               debug hypercalls, unknown functions; PALs in the fuzz arena
 * fuzz_check.c  the invariants: a status hypercall, hidden hypervisor pages, the
 *               canary PAL, a victim PAL's secret
 */
#ifndef GUEST_PAL64_FUZZ64_H
#define GUEST_PAL64_FUZZ64_H

#include <stdbool.h>
#include <stdint.h>

#include "guest/pal64/pal64_abi.h"

/*
 * Memory only the fuzzer's PALs use (identity mapped, one 2-MiB page, user
 * accessible for the ring-3 steps; the bench workload's area, unused in fuzz
 * mode): code pattern pages first, then pages random descriptors draw from,
 * then the race's pages (fuzz_race.c: code pages, then a pool both CPUs
 * draw overlapping sections from), the ring-3 stubs' code, data and stack
 * pages (fuzz_ring3.c), the victim PAL's pages (none of these drawn at random).
 */
#define FUZZ_ARENA           0x02000000ull
#define FUZZ_ARENA_PAGES     512u
#define FUZZ_PATTERN_PAGES   8u
#define FUZZ_VICTIM_PAGES    4u
#define FUZZ_USER_PAGES      4u /* code, data, stack (2) */
#define FUZZ_RACE_CODE_PAGES 4u
#define FUZZ_RACE_POOL_PAGES 12u
#define FUZZ_RACE_PAGES      (FUZZ_RACE_CODE_PAGES + FUZZ_RACE_POOL_PAGES)
#define FUZZ_VICTIM_FIRST    (FUZZ_ARENA_PAGES - FUZZ_VICTIM_PAGES)
#define FUZZ_USER_FIRST      (FUZZ_VICTIM_FIRST - FUZZ_USER_PAGES)
#define FUZZ_RACE_FIRST      (FUZZ_USER_FIRST - FUZZ_RACE_PAGES)
#define FUZZ_POOL_FIRST      FUZZ_PATTERN_PAGES
#define FUZZ_POOL_PAGES      (FUZZ_RACE_FIRST - FUZZ_POOL_FIRST)
#define FUZZ_PAGE(i)         (FUZZ_ARENA + (uint64_t)(i)*4096u)
#define FUZZ_MAX_FAILS       20u /* stop the run after this many failure lines */
#define FUZZ_MAX_TRACKED     8u  /* fuzz PALs registered at once (TV_MAX_PALS) */

struct fuzz {
	uint64_t rng;
	uint32_t step;
	uint32_t fails;
	uint32_t flags;                     /* FUZZ_F_* */
	bool hv;                            /* the debug hypercall answers: a hypervisor is there */
	bool tv;                            /* TrustVisor answers its hypercalls */
	bool canary;                        /* the canary PAL is registered */
	bool above_4g;                      /* [4 GiB, 5 GiB) mapped (fuzz_map_above_4g) */
	uint32_t trace_from;                /* 0: no trace */
	uint32_t other_apic;                /* the other CPU's APIC id, or ~0 */
	uint32_t self_apic;                 /* this CPU's APIC id */
	const char *action;                 /* the running action's name */
	char note[400];                     /* what the action is doing (printed with a failure) */
	bool ring3;                         /* ring-3 steps on (ring3_setup worked) */
	bool race;                          /* race steps on: TrustVisor, CPU 1 in the race */
	uint64_t tracked[FUZZ_MAX_TRACKED]; /* entries of fuzz PALs registered, 0 = free */
	uint64_t patterned[FUZZ_MAX_TRACKED]; /* the entry if its code is a pattern page */
	uint32_t owner[FUZZ_MAX_TRACKED];     /* FUZZ_OWNER_*: who registered it */
	uint32_t words[FUZZ_MAX_TRACKED][2];  /* its in_words, out_words */
	uint32_t actions_run[32];
	uint32_t tv_registered, tv_calls, tv_calls_ok;            /* for the summary */
	uint32_t r3_steps, r3_registered, r3_calls_ok, r3_faults; /* ring 3, for the summary */
	uint32_t race_registered, race_refused, race_calls_ok;    /* boot CPU's race steps */
};

/* Who registered a tracked PAL: TrustVisor's owner is the CR3 and the ring. */
enum fuzz_owner {
	FUZZ_OWNER_K0, /* the kernel's CR3, ring 0 */
	FUZZ_OWNER_K3, /* the kernel's CR3, ring 3 (a user program in the same address space) */
	FUZZ_OWNER_U3, /* the other address space (ring3_other_cr3), ring 3 */
};

extern struct fuzz fz;

/* The run (PAL64_CASE_FUZZ). */
uint32_t case64_fuzz(void);

/* Is this known-panic variant (FUZZ_KNOWN_*) on in this run? */
static inline bool fuzz_known(uint32_t variant)
{
	return (fz.flags >> FUZZ_F_KNOWN_SHIFT) & variant;
}

/* PRNG (splitmix64) and draws. */
uint64_t fuzz_rand(void);
uint32_t fuzz_below(uint32_t n);   /* uniform in [0, n) */
bool fuzz_chance(uint32_t one_in); /* true with probability 1/one_in */
uint64_t fuzz_pick(const uint64_t *pool, uint32_t n);
uint64_t fuzz_value64(void); /* random or boundary (0, ~0, powers of two, ...) */

/* What the step does, before it does it (printed at once from trace_from on). */
void fuzz_note(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* A failure of this step: prints `FUZZ: step=<n> action=<name> <note>: <why>`. */
void fuzz_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Actions (one step each). */
void fuzz_act_rdmsr(void);
void fuzz_act_wrmsr(void);
void fuzz_act_port(void);
uint16_t fuzz_draw_port(void); /* a port whose I/O ends nothing (fuzz_port.c) */
void fuzz_act_port_string(void);
void fuzz_act_cr(void);
void fuzz_act_dr(void);
void fuzz_act_invlpg(void);
void fuzz_act_cpuid(void);
void fuzz_act_xsetbv(void);
void fuzz_act_vmx(void);
void fuzz_act_getsec(void);
void fuzz_act_mem(void);
void fuzz_act_lapic(void);
void fuzz_act_ipi(void);
void fuzz_act_tv_register(void);
void fuzz_act_tv_unregister(void);
void fuzz_act_tv_call(void);
void fuzz_act_tv_utpm(void);
void fuzz_act_debug_hc(void);
void fuzz_act_unknown_hc(void);
void fuzz_act_ring3(void); /* fuzz_ring3.c */
void fuzz_act_race(void);  /* fuzz_race.c */

/* fuzz_tv.c: a random descriptor (sections in the pool, the canary's pages,
 * boundaries); track / untrack a fuzz PAL that registered. */
struct tv_pal_desc;
void fuzz_random_desc(struct tv_pal_desc *d, bool *patterned);
void fuzz_track(const struct tv_pal_desc *d, bool patterned, uint32_t owner);
void fuzz_untrack(uint64_t entry);
bool fuzz_status_ok(int64_t st);
bool fuzz_overlaps_canary(const struct tv_pal_desc *d);
/* Which pattern (fuzz_tv.c's bodies) an entry on a pattern page runs. */
#define FUZZ_PATTERN_OF(entry) ((uint32_t)(((entry)-FUZZ_ARENA) >> 12))
#define FUZZ_PAT_MAGIC         0u
/* Patterns that fault inside the PAL: their calls never return TV_OK. */
#define FUZZ_PAT_FAULTS(p) ((p) == 1 || (p) == 2 || (p) == 3 || (p) == 6)

/* fuzz_ring3.c: stub page set-up; a hypercall from ring 3 as `owner` (r[0..5] in
 * and out; the vector, PROBE_NONE if none); the race's second CPU (fuzz_race.c). */
void fuzz_ring3_setup(void);
uint32_t fuzz_ring3_hypercall(uint64_t r[6], uint32_t owner);
void fuzz_race_setup(void);
void fuzz_race_final(void);
uint32_t fuzz_race_other_cpu(void); /* CPU 1's loop (stage_ap_main) */
bool fuzz_race_other_ready(void);   /* CPU 1 is in the stage with its IDT loaded */

/* Maps [4 GiB, 5 GiB) with a 1-GiB page in the stage's tables, if the CPU has them. */
void fuzz_map_above_4g(void);
#define FUZZ_ABOVE_4G 0x100000000ull

/* fuzz_tv.c: set up the arena's code patterns; unregister every fuzz PAL (end of run). */
void fuzz_tv_setup(void);
void fuzz_tv_cleanup(void);

/* fuzz_check.c */
bool fuzz_check_setup(void); /* the canary PAL (TrustVisor only) */
void fuzz_check_step(void);  /* after every step */
void fuzz_check_final(void);
uint64_t fuzz_canary_entry(void);

/* Hypercall numbers of the debug hypercalls (core/debug_hypercall.h). */
#define FUZZ_HC_DEBUG_BASE 0x48560000u
#define FUZZ_HC_COUNTERS   0x48560004u

#endif /* GUEST_PAL64_FUZZ64_H */
