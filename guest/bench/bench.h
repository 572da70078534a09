/*
 * Benchmarks of the test guest for `./hv compare` (tools/compare.py). They run
 * instead of the test cases when the multiboot command line holds the word
 * `bench`; without it the guest behaves exactly as before.
 *
 * Each workload is timed with RDTSC and printed as one line
 *     BENCH: <name> ticks=<n>
 * (n in decimal), which compare.py turns into a table row. In Bochs the TSC
 * follows the instruction-based system tick, so the figures repeat run to run.
 */
#ifndef GUEST_BENCH_BENCH_H
#define GUEST_BENCH_BENCH_H

#include <stdbool.h>
#include <stdint.h>

#include "guest/runner.h"

/* First thing in guest_main: the TSC at kernel entry (power-on to here). */
void bench_mark_entry(void);
/* Reads the multiboot command line (flags bit 2) while the info is intact. */
void bench_parse_cmdline(uint32_t mbi_pa);
/* True when the command line asked for the benchmarks. */
bool bench_requested(void);

extern const struct test_case bench_cases[];
extern const uint32_t bench_case_count;

/* Prints "BENCH: <name> ticks=<ticks>" (64-bit decimal without 64-bit division). */
void bench_report(const char *name, uint64_t ticks);
/* Sorts n samples ascending (the median is a[n / 2]). */
void bench_sort_u32(uint32_t *a, uint32_t n);
/* Formats v in decimal into buf (at least 21 bytes). */
void bench_u64_dec(char *buf, uint64_t v);

/* The workloads (bench_cpu.c, bench_mem.c) and the NMI/quiesce figures (bench_nmi.c). */
enum case_result bench_entry(struct case_ctx *c);
enum case_result bench_cpu(struct case_ctx *c);
enum case_result bench_mem(struct case_ctx *c);
enum case_result bench_exits(struct case_ctx *c);
enum case_result bench_nmi(struct case_ctx *c);
enum case_result bench_ipi(struct case_ctx *c);
enum case_result bench_hv(struct case_ctx *c);

#endif
