/* The test cases, one file each (case_*.c), run in the order of main.c's table. */
#ifndef GUEST_CASES_H
#define GUEST_CASES_H

#include "guest/runner.h"

enum case_result case_smp(struct case_ctx *c);
enum case_result case_hv_memory_hidden(struct case_ctx *c);
enum case_result case_cpuid(struct case_ctx *c);
enum case_result case_msr(struct case_ctx *c);
enum case_result case_idt_exceptions(struct case_ctx *c);
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

#endif
