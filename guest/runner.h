/*
 * Test runner: the table of cases (main.c), their result lines on COM1, and the
 * environment the cases share (what the boot found out about the machine).
 */
#ifndef GUEST_RUNNER_H
#define GUEST_RUNNER_H

#include <stdbool.h>
#include <stdint.h>

#include "guest/layout.h"
#include "guest/memmap.h"

enum case_result { CASE_PASS, CASE_FAIL, CASE_SKIP };

struct case_ctx {
	char detail[160];
};

struct test_case {
	const char *name;
	enum case_result (*run)(struct case_ctx *c);
};

/* Sets the detail text and returns CASE_FAIL / CASE_SKIP, for `return case_fail(c, ...)`. */
enum case_result case_fail(struct case_ctx *c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
enum case_result case_skip(struct case_ctx *c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

struct guest_env {
	enum mem_kind hv_region;         /* what the boot memory map says about the HV region */
	uint32_t bsp_apic_id;            /* LAPIC ID of the boot CPU */
	uint32_t ncpus;                  /* enabled CPUs in the ACPI MADT (0: no MADT) */
	uint32_t apic_ids[SMP_MAX_CPUS]; /* their APIC ids, MADT order */
};

extern struct guest_env guest_env;

/*
 * "Under the hypervisor" means: the memory map hides the hypervisor region. The
 * guest decides this from the E820 map alone (not CPUID), as any OS would see it.
 */
static inline bool guest_under_hv(void)
{
	return guest_env.hv_region == MEM_NOT_RAM;
}

/* An informational line ("testguest: ..."), not a result. */
void runner_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Reports an exception nobody expected as a failure of the running case, then ends the run. */
_Noreturn void runner_unexpected_exception(uint32_t vector, uint32_t error, uint32_t eip,
                                           uint32_t cpu_slot);

/* Runs the cases in order, prints their lines and DONE, then powers off. */
_Noreturn void runner_run(const struct test_case *cases, uint32_t n);
/* The same without DONE: more cases follow in this run (`bench pal`). */
void runner_run_some(const struct test_case *cases, uint32_t n);

/* Writes the exit code to QEMU's isa-debug-exit (0xf4), then "Shutdown" to Bochs (0x8900):
 * byte by byte with OUT, or with one REP OUTSB if `outs_poweroff` was on the command line
 * (string I/O to a port the hypervisor watches: issue 11.4). */
_Noreturn void guest_power_off(uint8_t code);
extern bool guest_power_off_with_outs;

#endif
