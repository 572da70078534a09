/*
 * Memory-bound workload: a pointer chase through 64 MiB (16384 pages of 4 KiB)
 * in one random cyclic order, with guest paging on. Each step is a dependent
 * load from another page: beyond every cache and TLB on current CPUs, so each
 * step pays a TLB miss (a 2-D walk under EPT) and a cache miss. The node in
 * each page sits at a page-dependent cache line so lines do not all share a set.
 *
 * Bochs counts instructions, not memory latency: there this workload only shows
 * what the hypervisor adds in instructions (exits); on hardware it shows the
 * EPT walk cost.
 */
#include "guest/bench/bench.h"
#include "guest/bench/bench_paging.h"
#include "guest/cpu.h"
#include "guest/memmap.h"
#include "guest/runner.h"

#define REGION_BASE 0x02000000u /* 32 MiB: above the guest image, below the HV region */
#define REGION_MB   64u
#define PAGES       (REGION_MB * 256u)
#define STEPS       (64u * PAGES) /* 1 M dependent loads */

static uint32_t order[PAGES];

static uint32_t node_addr(uint32_t page)
{
	return REGION_BASE + (page << 12) + ((page * 37u) & 63u) * 64u;
}

static uint32_t chase(uint32_t start, uint32_t steps)
{
	const volatile uint32_t *p = (const volatile uint32_t *)(uintptr_t)start;
	for (uint32_t i = 0; i < steps; i++)
		p = (const volatile uint32_t *)(uintptr_t)*p;
	return (uint32_t)(uintptr_t)p;
}

enum case_result bench_mem(struct case_ctx *c)
{
	enum mem_kind k = memmap_classify(REGION_BASE, REGION_MB << 20);
	if (k != MEM_RAM)
		return case_skip(c, "%x-%x is %s, not RAM", REGION_BASE,
		                 REGION_BASE + (REGION_MB << 20), mem_kind_name(k));

	/* Fisher-Yates shuffle with a fixed LCG: the same order in every run. */
	uint32_t x = 2463534242u;
	for (uint32_t i = 0; i < PAGES; i++)
		order[i] = i;
	for (uint32_t i = PAGES - 1; i > 0; i--) {
		x = x * 1664525u + 1013904223u;
		uint32_t j = (uint32_t)(((uint64_t)(x >> 8) * (i + 1)) >> 24);
		uint32_t t = order[i];
		order[i] = order[j];
		order[j] = t;
	}
	for (uint32_t i = 0; i < PAGES; i++)
		*(volatile uint32_t *)(uintptr_t)node_addr(order[i]) =
		    node_addr(order[(i + 1) % PAGES]);

	uint32_t start = node_addr(order[0]);
	if (!bench_paging_on((REGION_BASE >> 20) + REGION_MB))
		return case_fail(c, "cannot map %u MiB", (REGION_BASE >> 20) + REGION_MB);
	/* Warm-up lap, which also proves the order is one cycle through every page. */
	uint32_t lap = chase(start, PAGES);
	uint64_t t0 = rdtsc();
	uint32_t end = chase(start, STEPS);
	uint64_t t1 = rdtsc();
	bench_paging_off();

	if (lap != start || end != start)
		return case_fail(c, "chase did not return to its start (lap %x, end %x, start %x)",
		                 lap, end, start);
	runner_info("bench mem_chase: %u loads over %u pages of 4 KiB (%u MiB), guest paging on",
	            STEPS, PAGES, REGION_MB);
	bench_report("mem_chase", t1 - t0);
	return CASE_PASS;
}
