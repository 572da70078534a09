/* The test cases, one file each (case_*.c), run in the order of main.c's table. */
#ifndef GUEST_CASES_H
#define GUEST_CASES_H

#include "guest/runner.h"

enum case_result case_smp(struct case_ctx *c);
enum case_result case_hv_memory_hidden(struct case_ctx *c);
enum case_result case_cpuid(struct case_ctx *c);
enum case_result case_msr(struct case_ctx *c);
enum case_result case_apic_base_locked(struct case_ctx *c);
enum case_result case_idt_exceptions(struct case_ctx *c);
enum case_result case_task_switch(struct case_ctx *c);
enum case_result case_timer(struct case_ctx *c);
enum case_result case_nmi_self(struct case_ctx *c);
enum case_result case_x2apic_ipi(struct case_ctx *c);

/* NMI storms (case_nmi_storm.c): run instead of the above with `nmi-storm` on the
 * command line. */
void nmi_storm_parse_cmdline(uint32_t mbi_pa);
bool nmi_storm_requested(void);
enum case_result case_nmi_storm(struct case_ctx *c);
enum case_result case_nmi_burst(struct case_ctx *c);
enum case_result case_nmi_quiesce_storm(struct case_ctx *c);
extern const struct test_case nmi_storm_cases[];
extern const uint32_t nmi_storm_case_count;

/* TrustVisor PAL cases (case_pal.c, 64-bit stage in pal64/): with `pal` on the
 * command line, after the bench workloads if `bench` is there too. */
void pal_parse_cmdline(uint32_t mbi_pa);
void smp_parse_cmdline(uint32_t mbi_pa); /* `smp_shorthand` */
bool pal_requested(void);
/* `pal_reset` on the command line: pal_reset_cases only, which end in a reset. */
bool pal_reset_requested(void);
enum case_result case_pal_add(struct case_ctx *c);
enum case_result case_pal_errors(struct case_ctx *c);
enum case_result case_pal_utpm(struct case_ctx *c);
enum case_result case_pal_bench(struct case_ctx *c);
enum case_result case_pal_nmi(struct case_ctx *c);
extern const struct test_case pal_cases[];
extern const uint32_t pal_case_count;
extern const struct test_case pal_reset_cases[];
extern const uint32_t pal_reset_case_count;
/* NULL if TrustVisor answers and the PAL stage can run here, else why not. */
const char *pal_why_unavailable(void);

/* The NMI sweep (case_sweep.c, pal64/case_sweep64.c): with `sweep=PATH` on the
 * command line, smp and nmi_sweep instead of every other case. */
void sweep_parse_cmdline(uint32_t mbi_pa);
bool sweep_requested(void);
extern const struct test_case sweep_cases[];
extern const uint32_t sweep_case_count;

/* Fuzz mode (case_fuzz.c, 64-bit side in pal64/fuzz*.c): with `fuzz` on the
 * command line, the cases `smp` and `fuzz` instead of the others. */
void fuzz_parse_cmdline(uint32_t mbi_pa);
bool fuzz_requested(void);
enum case_result case_fuzz(struct case_ctx *c);
extern const struct test_case *const fuzz_cases;
extern const uint32_t fuzz_case_count;

/* wpmon (case_wpmon.c): with `wpmon` on the command line, smp and its cases
 * instead of the others (apps/wpmon). */
void wpmon_parse_cmdline(uint32_t mbi_pa);
bool wpmon_requested(void);
enum case_result case_wpmon_protect(struct case_ctx *c);
enum case_result case_wpmon_errors(struct case_ctx *c);
enum case_result case_wpmon_other_cpu(struct case_ctx *c);
enum case_result case_wpmon_bench(struct case_ctx *c);
extern const struct test_case wpmon_cases[];
extern const uint32_t wpmon_case_count;

#endif
