/*
 * From rt/entry.S to the hypervisor's own code.
 *
 * The boot CPU: rt/entry.S -> rt_bsp_main() -> hv_main(). An AP started by
 * libsmp: its trampoline (CR3 = hv_pml4, stack rt_cpu_stack_top(i)) calls
 * rt_ap_init(i, apic_id) and then hv_ap_main(i).
 */
#ifndef RT_BOOT_H
#define RT_BOOT_H

#include <stdint.h>

#include "rt/multiboot.h"

/* Linker-script symbols (rt/linker.ld): use their addresses only. */
extern char hv_image_start[], hv_image_end[], bss_start[], bss_end[];
/* The identity-mapped page-table root built by rt/entry.S (value for CR3). */
extern char hv_pml4[];

/*
 * Per CPU 0, with console, tables, per-CPU data; checks the multiboot magic,
 * parses the boot information, gives the page allocator the free part of the
 * hypervisor region, prints "hv: memory: N KiB free for the hypervisor", then
 * calls hv_main(). Never returns (hv_main returning is a panic).
 */
_Noreturn void rt_bsp_main(uint32_t magic, uint32_t mbi_pa);

/* An AP's per-CPU data and descriptor tables. */
void rt_ap_init(uint32_t cpu_index, uint32_t apic_id);

/* The boot information rt_bsp_main parsed (also hv_main's argument). */
const struct mb_info *rt_boot_info(void);

/* Defined by core/ (core/boot.h declares the same). */
void hv_main(const struct mb_info *mbi);
void hv_ap_main(uint32_t cpu);

#endif /* RT_BOOT_H */
