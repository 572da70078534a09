/* Ending a run (docs/design.md section 8, "Power-off codes"). */
#ifndef RT_POWER_H
#define RT_POWER_H

#include <stdint.h>

/* Bochs's shutdown port: writing the bytes "Shutdown" ends the simulation. */
#define POWER_BOCHS_PORT 0x8900
/* QEMU's isa-debug-exit (iobase=0xf4): QEMU exits with status (code << 1) | 1. */
#define POWER_QEMU_EXIT_PORT 0xf4

/*
 * Every code an image powers off with, in one table: written to port 0xf4
 * (QEMU's isa-debug-exit; Bochs logs the write) and printed. `./hv run` and
 * the boot tests read them; a guest's own port-0xf4 code is its business.
 */
enum hv_power_code {
	HV_POWER_OK = 0,            /* the guest powered off, or no guest disk */
	HV_POWER_NO_VMX = 2,        /* the machine cannot run the hypervisor (no VT-x) */
	HV_POWER_NO_GUEST = 3,      /* the guest disk has no boot signature */
	HV_POWER_GUEST_STOPPED = 4, /* the guest did what has no hardware answer (vmx_guest_stop) */
	HV_POWER_TRIPLE_FAULT = 5,  /* the guest triple-faulted */
	HV_POWER_NO_RESET = 6,      /* the guest's reset request was ignored by the hardware */
};

/*
 * Prints "hv: power off (code <code>)", then tells Bochs and QEMU to stop and
 * halts this CPU (on real hardware the machine just stays halted).
 */
_Noreturn void hv_power_off(uint8_t code);

#endif /* RT_POWER_H */
