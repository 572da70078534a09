/*
 * Fixed memory layout of every hypervisor image (docs/design.md section 8).
 *
 * Included from C and from the assembly entry stubs, so constants carry no C
 * suffixes in assembly. rt/linker.ld repeats HV_REGION_BASE (linker scripts are
 * not preprocessed); rt/boot.c checks at run time that the two agree.
 */
#ifndef RT_LAYOUT_H
#define RT_LAYOUT_H

#ifdef __ASSEMBLER__
#define HV_UL(x) x
#else
#define HV_UL(x) x##ULL
#endif

/* Physical [base, base + size): the image, then the page allocator's memory. */
#define HV_REGION_BASE HV_UL(0x0C000000)
#define HV_REGION_SIZE HV_UL(0x01000000)

#define HV_MAX_CPUS 8
/* Per-CPU hypervisor stack (rt_cpu_stack_top()). */
#define HV_STACK_SIZE (16 * 1024)
/* Per-CPU interrupt-stack-table stacks for NMI, #DF and #MC (rt/cpu_tables.c). */
#define HV_IST_STACK_SIZE (8 * 1024)

#define HV_PAGE_SIZE 4096

#endif /* RT_LAYOUT_H */
