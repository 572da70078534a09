/*
 * 32-bit paging with 4 KiB pages for the memory workload (SDM Vol. 3A 4.3): an
 * identity map of [0, limit). With paging on, every TLB miss walks the guest's
 * two-level table; under EPT each of those guest-physical accesses, and the
 * final one, is itself translated through the EPT (SDM 29.3.2), which is the
 * cost the memory workload is meant to show.
 *
 * Only the workload runs with paging on; nothing in it touches the LAPIC or other
 * MMIO above limit, and interrupts are off (the guest runs with IF=0).
 */
#include "guest/bench/bench_paging.h"

#include "guest/cpu.h"

#define PTE_P      0x001u
#define PTE_RW     0x002u
#define CR0_PG     0x80000000u
#define PT_ENTRIES 1024u

static uint32_t page_dir[PT_ENTRIES] __attribute__((aligned(4096)));
static uint32_t page_tables[BENCH_PAGING_MAX_MB / 4][PT_ENTRIES] __attribute__((aligned(4096)));

bool bench_paging_on(uint32_t limit_mb)
{
	if (limit_mb == 0 || limit_mb > BENCH_PAGING_MAX_MB || limit_mb % 4)
		return false;
	for (uint32_t i = 0; i < PT_ENTRIES; i++)
		page_dir[i] = 0;
	for (uint32_t t = 0; t < limit_mb / 4; t++) {
		for (uint32_t i = 0; i < PT_ENTRIES; i++)
			page_tables[t][i] = ((t * PT_ENTRIES + i) << 12) | PTE_P | PTE_RW;
		page_dir[t] = (uint32_t)(uintptr_t)page_tables[t] | PTE_P | PTE_RW;
	}
	cpu_write_cr3((uint32_t)(uintptr_t)page_dir);
	cpu_write_cr0(cpu_read_cr0() | CR0_PG);
	return true;
}

void bench_paging_off(void)
{
	/* Legal in protected mode because this code is identity mapped (SDM Vol. 3A 10.9.2). */
	cpu_write_cr0(cpu_read_cr0() & ~CR0_PG);
	cpu_write_cr3(0);
}
