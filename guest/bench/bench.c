/*
 * The bench mode of the test guest: command-line switch, case table, and the
 * BENCH line format shared with tools/compare.py.
 */
#include "guest/bench/bench.h"

#include "guest/cases.h"
#include "guest/cmdline.h"
#include "guest/console.h"
#include "guest/cpu.h"

static uint64_t entry_tsc;
static bool requested;

void bench_mark_entry(void)
{
	entry_tsc = rdtsc();
}

void bench_parse_cmdline(uint32_t mbi_pa)
{
	requested = cmdline_has_word(mbi_pa, "bench");
}

bool bench_requested(void)
{
	return requested;
}

void bench_u64_dec(char *buf, uint64_t v)
{
	/* Powers of ten by subtraction: the guest links no libgcc for 64-bit division. */
	static const uint64_t pow10[] = {
	    10000000000000000000ull,
	    1000000000000000000ull,
	    100000000000000000ull,
	    10000000000000000ull,
	    1000000000000000ull,
	    100000000000000ull,
	    10000000000000ull,
	    1000000000000ull,
	    100000000000ull,
	    10000000000ull,
	    1000000000ull,
	    100000000ull,
	    10000000ull,
	    1000000ull,
	    100000ull,
	    10000ull,
	    1000ull,
	    100ull,
	    10ull,
	    1ull,
	};
	uint32_t n = 0;
	for (uint32_t i = 0; i < sizeof(pow10) / sizeof(pow10[0]); i++) {
		char digit = '0';
		while (v >= pow10[i]) {
			v -= pow10[i];
			digit++;
		}
		if (digit != '0' || n || i == sizeof(pow10) / sizeof(pow10[0]) - 1)
			buf[n++] = digit;
	}
	buf[n] = '\0';
}

void bench_sort_u32(uint32_t *a, uint32_t n)
{
	/* Insertion sort: the samples are few (15). */
	for (uint32_t i = 1; i < n; i++) {
		uint32_t x = a[i], j = i;
		for (; j > 0 && a[j - 1] > x; j--)
			a[j] = a[j - 1];
		a[j] = x;
	}
}

void bench_report(const char *name, uint64_t ticks)
{
	char dec[24];
	bench_u64_dec(dec, ticks);
	con_printf("BENCH: %s ticks=%s\n", name, dec);
}

enum case_result bench_entry(struct case_ctx *c)
{
	(void)c;
	/* Power-on (TSC reset) to guest_main: BIOS and GRUB, plus the hypervisor's start-up. */
	bench_report("guest_entry", entry_tsc);
	return CASE_PASS;
}

static enum case_result bench_smp(struct case_ctx *c)
{
	/* case_smp can run once: with `pal` the PAL cases run it after these (guest/case_pal.c). */
	if (pal_requested())
		return case_skip(c, "`pal` too: the PAL cases start the other CPUs");
	return case_smp(c);
}

const struct test_case bench_cases[] = {
    {"bench_entry", bench_entry},
    {"bench_cpu", bench_cpu},
    {"bench_mem", bench_mem},
    /* Before the other CPUs start: the LAPIC page is still write-protected. */
    {"bench_exits", bench_exits},
    /* After the workloads: the other CPUs up (running guest code), then NMIs and quiesce. */
    {"bench_smp", bench_smp},
    {"bench_nmi", bench_nmi},
    {"bench_ipi", bench_ipi},
    {"bench_hv", bench_hv},
};
const uint32_t bench_case_count = sizeof(bench_cases) / sizeof(bench_cases[0]);
