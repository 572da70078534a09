/*
 * The 32-bit guest's side of the 64-bit PAL stage (guest/pal64/): loading it,
 * its page tables, and running one of its cases in long mode.
 */
#ifndef GUEST_PAL_STAGE_H
#define GUEST_PAL_STAGE_H

#include <stdbool.h>
#include <stdint.h>

#include "guest/pal64/pal64_abi.h"
#include "guest/runner.h"

/* Why the stage cannot run on this CPU (no long mode), or NULL. */
const char *pal_stage_unsupported(void);
/* Runs case `id` of the stage in 64-bit mode; its detail goes to c. */
enum case_result pal_stage_run(struct case_ctx *c, struct pal64_shared *sh, uint32_t id);

/* pal_switch.S: long mode with CR3 = pml4 and EFER |= efer_set, entry(arg), back (cpu.h). */
/*
 * Another CPU enters the stage the boot CPU has loaded and runs in (the fuzzer's
 * race, PAL64_CASE_FUZZ_AP): its own shared block and stack (entry64.S), the
 * same tables. Returns enum pal64_result. The caller keeps NMIs away until the
 * stage has loaded its IDT on this CPU (pal64_switch's rule).
 */
uint32_t pal_stage_enter_other_cpu(struct pal64_shared *sh, uint32_t id);

uint32_t pal64_switch(uint32_t pml4, uint32_t efer_set, uint32_t entry, uint32_t arg);

#endif /* GUEST_PAL_STAGE_H */
