/*
 * Per-CPU descriptor tables: GDT, TSS (with interrupt-stack-table stacks) and
 * the shared IDT for exceptions 0-31.
 *
 * Selectors are the same on every CPU and equal the boot GDT's (rt/entry.S);
 * libvmx uses them, and the bases below, for the VMCS host-state area.
 */
#ifndef RT_CPU_TABLES_H
#define RT_CPU_TABLES_H

#include <stdint.h>

#define RT_SEL_CODE64 0x08
#define RT_SEL_DATA   0x10
#define RT_SEL_TSS    0x18

/* IST slots (1-based, as in the IDT gate's IST field, SDM Vol. 3A 6.14.5). */
#define RT_IST_NMI 1
#define RT_IST_DF  2
#define RT_IST_MC  3

/* Builds and loads this CPU's GDT and TSS (LGDT, LTR) and loads the IDT. */
void cpu_tables_init(uint32_t cpu_index);

/*
 * The NMI handler, called from the NMI stub on the IST1 stack with NMIs
 * blocked. It must only touch per-CPU atomics: it may interrupt any code,
 * including code holding any lock. NULL (the default) ignores NMIs.
 */
void rt_set_nmi_handler(void (*fn)(void));

/* Linear bases for the VMCS host-state area (SDM Vol. 3C 25.5). */
uint64_t cpu_tables_gdt_base(uint32_t cpu_index);
uint64_t cpu_tables_tss_base(uint32_t cpu_index);
uint64_t cpu_tables_idt_base(void);

#endif /* RT_CPU_TABLES_H */
