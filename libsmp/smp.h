/*
 * CPU discovery and AP bring-up.
 *
 * CPU index 0 is the boot CPU (BSP); indexes 1.. are the other enabled CPUs in
 * MADT order. Call smp_discover() once on the BSP, then smp_start_aps().
 */
#ifndef LIBSMP_SMP_H
#define LIBSMP_SMP_H

#include <stdint.h>

/*
 * Reads the ACPI MADT and finds the BSP in it by its local APIC ID. Prints
 * "hv: smp: <n> CPUs (apic ids: ...)". Returns the CPU count, or a negative
 * value after printing why the tables could not be used.
 */
int smp_discover(void);
/* CPUs found by smp_discover() (0 before it succeeded). */
uint32_t smp_cpu_count(void);
/* Local APIC ID of CPU `cpu_index` (index 0 = BSP); UINT32_MAX if out of range. */
uint32_t smp_apic_id(uint32_t cpu_index);

/*
 * Starts every AP, one at a time (INIT, 10 ms, SIPI, 200 us, SIPI; SDM Vol. 3A
 * 8.4.4.1), each on its own HV_STACK_SIZE stack. An AP calls
 * rt_ap_init(cpu_index, apic_id), reports that it is alive, then calls
 * ap_main(cpu_index), which must not return. Returns 0 when every AP came up
 * within a second, or -1 after printing which CPU did not.
 */
int smp_start_aps(void (*ap_main)(uint32_t cpu_index));

#endif /* LIBSMP_SMP_H */
