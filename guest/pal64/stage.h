/*
 * The 64-bit PAL stage of the test guest (README.md "PAL stage"): one entry
 * per case from the 32-bit guest (guest/pal_stage.c), in long mode with the
 * guest's identity page tables, its own IDT and stack.
 */
#ifndef GUEST_PAL64_STAGE_H
#define GUEST_PAL64_STAGE_H

#include <stdbool.h>
#include <stdint.h>

#include "guest/pal64/pal64_abi.h"

/* This entry's shared block (valid during a case). */
extern struct pal64_shared *stage;

/* Entry from pal64_start (entry64.S); returns enum pal64_result. */
uint32_t stage_main(struct pal64_shared *sh);
/* The other CPU's entry (PAL64_CASE_FUZZ_AP), from entry64.S. */
uint32_t stage_ap_main(struct pal64_shared *sh);
/* Leaves the stage at once with `result` (entry64.S). */
_Noreturn void stage_abort(uint32_t result);

/* Sets stage->detail and returns PAL64_FAIL / PAL64_SKIP. */
uint32_t stage_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
uint32_t stage_skip(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* A "testguest: ..." information line. */
void stage_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* TSC deadlines from the 32-bit guest's calibration. */
uint64_t stage_deadline_us(uint64_t us);
bool stage_passed(uint64_t deadline);
void stage_delay_us(uint64_t us);

/* The cases (one file each). */
uint32_t case64_pal_add(void);
uint32_t case64_pal_errors(void);
uint32_t case64_pal_utpm(void);
uint32_t case64_pal_bench(void);
uint32_t case64_pal_nmi(void);
uint32_t case64_pal_reset(void);
uint32_t case64_sweep(void);
/* The sweep's nmi-window path: an NMI IPI from this CPU to itself. */
void sweep_self_nmi(void);
/* The sweep's INIT variant (case_sweep_init.c): the boot CPU's rounds, CPU 1's side. */
uint32_t case64_sweep_init(void);
uint32_t sweep_init_other_cpu(void);
/* One line to port 0xE9 (the sweep's per-round lines, case_sweep64.c). */
void sweep_e9_printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif /* GUEST_PAL64_STAGE_H */
