/* Fixed addresses and sizes of the test guest (shared by C and entry.S). */
#ifndef GUEST_LAYOUT_H
#define GUEST_LAYOUT_H

#define GDT_CODE   0x08
#define GDT_DATA   0x10
#define GDT_CODE64 0x18 /* 64-bit code (L=1), for the PAL stage (pal64/) */
/* TSS descriptors of the task_switch case (case_task_switch.c fills them). */
#define GDT_TSS_MAIN  0x20 /* the boot CPU's own task (LTR) */
#define GDT_TSS_CALL  0x28 /* a task entered by far CALL, left by IRET */
#define GDT_TSS_DF    0x30 /* the #DF handler task (IDT task gate) */
#define GDT_TSS_SHORT 0x38 /* limit 0x40 < 0x67: switching to it is #TS */
#define GDT_TSS_NPDS  0x40 /* a task whose DS is not present: #NP in the new task */
#define GDT_TSS_NP    0x48 /* the #NP handler task (IDT task gate) */
#define GDT_DATA_NP   0x50 /* a data segment marked not present */

#define BSP_STACK_SIZE 16384
#define AP_STACK_SHIFT 12 /* 4 KiB per AP */
#define AP_STACK_SIZE  (1 << AP_STACK_SHIFT)
#define SMP_MAX_CPUS   8

/* AP trampoline in conventional memory; SIPI vector = TRAMP_BASE >> 12. */
#define TRAMP_BASE 0x8000

/* The hypervisor's region (rt/layout.h of the hypervisor): hidden from guests. */
#define HV_REGION_BASE 0x0c000000u
#define HV_REGION_SIZE 0x01000000u

/*
 * The 64-bit PAL stage (guest/pal64/, `pal` on the command line): copied here
 * from the 32-bit image and run in long mode. Free in the guest's layout: the
 * 32-bit kernel ends below 2 MiB and the bench workload uses 32 MiB and up.
 * 2 MiB aligned, mapped with 4 KiB pages (TrustVisor walks them per page).
 */
#define PAL64_BASE 0x01000000u
#define PAL64_SIZE 0x00200000u

/* Local APIC (xAPIC MMIO) base after reset; SDM Vol. 3A 11.4.1. */
#define LAPIC_BASE 0xfee00000u

#endif
