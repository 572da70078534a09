/* Guest paging (32-bit, 4 KiB pages, identity) around the memory workload. */
#ifndef GUEST_BENCH_PAGING_H
#define GUEST_BENCH_PAGING_H

#include <stdbool.h>
#include <stdint.h>

/* The most the static page tables can map (96 KiB of tables). */
#define BENCH_PAGING_MAX_MB 96u

/* Identity-maps [0, limit_mb MiB) with 4 KiB pages and sets CR0.PG. limit_mb: multiple of 4. */
bool bench_paging_on(uint32_t limit_mb);
/* Clears CR0.PG (back to the guest's flat, unpaged mode). */
void bench_paging_off(void);

#endif
