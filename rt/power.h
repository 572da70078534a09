/* Ending a run (COMMON.md "Power off"). */
#ifndef RT_POWER_H
#define RT_POWER_H

#include <stdint.h>

/* Bochs's shutdown port: writing the bytes "Shutdown" ends the simulation. */
#define POWER_BOCHS_PORT 0x8900
/* QEMU's isa-debug-exit (iobase=0xf4): QEMU exits with status (code << 1) | 1. */
#define POWER_QEMU_EXIT_PORT 0xf4

/*
 * Prints "hv: power off (code <code>)", then tells Bochs and QEMU to stop and
 * halts this CPU (on real hardware the machine just stays halted).
 */
_Noreturn void hv_power_off(uint8_t code);

#endif /* RT_POWER_H */
