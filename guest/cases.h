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

#endif
