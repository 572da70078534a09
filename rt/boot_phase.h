/*
 * Time stamps of the hypervisor's start-up phases, for `./hv compare`'s
 * start-up rows (tools/compare.py).
 *
 * boot_phase() records the TSC (on Bochs: ticks since power-on) under a name;
 * boot_phase_print() prints them in order, one `hv: phase NAME tsc=N` line
 * each. They are printed late (with the exit counters at guest power-off,
 * libvmx) rather than as they happen: on Bochs the UART costs ~17,000 ticks a
 * byte (115200 baud), so printing during start-up would lengthen the very
 * phases it measures.
 */
#ifndef RT_BOOT_PHASE_H
#define RT_BOOT_PHASE_H

#include <stdint.h>

#define BOOT_PHASE_MAX 16

/* Records `name` (a string literal) at the current TSC; boot CPU only. */
void boot_phase(const char *name);
/* Prints the recorded phases, once; later calls print nothing. */
void boot_phase_print(void);

#endif /* RT_BOOT_PHASE_H */
