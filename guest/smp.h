/*
 * Application processors of the test guest: started with INIT-SIPI-SIPI into the
 * trampoline (entry.S), each then waits in ap_main for work from the boot CPU.
 * A CPU's "slot" is 0 for the boot CPU and 1.. for APs in the order they came up.
 */
#ifndef GUEST_SMP_H
#define GUEST_SMP_H

#include <stdbool.h>
#include <stdint.h>

#include "guest/layout.h"

struct ap_info {
	volatile uint32_t online;
	volatile uint32_t lapic_id;      /* LAPIC ID register at check-in */
	volatile uint32_t cpuid_apic_id; /* CPUID.1:EBX[31:24] at check-in */
};

/* Copies the trampoline to TRAMP_BASE. */
void smp_install_trampoline(void);
/*
 * INIT-SIPI-SIPI to one APIC id (SDM Vol. 3A 9.4.4.1) and waits up to timeout_ms
 * for a new AP to check in. Returns its slot, or 0 if none came.
 */
uint32_t smp_start_ap(uint32_t apic_id, uint32_t timeout_ms);
/* APs that checked in so far. */
/* INIT, then one SIPI, to every other CPU at once by shorthand; waits until `count` APs
 * checked in or the timeout passed; returns how many checked in. */
uint32_t smp_start_all_aps(uint32_t count, uint32_t timeout_ms);
uint32_t smp_ap_count(void);
const struct ap_info *smp_ap(uint32_t slot);
/* Hands fn(arg) to the AP in slot without waiting; returns a ticket for smp_wait (0: no AP). */
uint32_t smp_post(uint32_t slot, void (*fn)(void *), void *arg);
/* Waits up to timeout_us for the posted call to return; false on timeout or a 0 ticket. */
bool smp_wait(uint32_t slot, uint32_t ticket, uint32_t timeout_us);
/* Runs fn(arg) on the AP in slot and waits up to timeout_us; false on timeout. */
bool smp_call(uint32_t slot, void (*fn)(void *), void *arg, uint32_t timeout_us);
/* The slot of the calling CPU (from its stack pointer: works in any handler). */
uint32_t smp_this_slot(void);

/*
 * The trampoline's slot counter: a CPU it starts takes slot 1 + ap_started, then
 * increments it. Set it to slot - 1 before a SIPI restarts the AP of `slot` after
 * an INIT: it takes the same slot, stack and mailbox, and ap_main runs again the
 * posted call the INIT cut short (the NMI sweep's INIT variant, case_sweep.c).
 */
extern volatile uint32_t ap_started;

/* Entry of an AP from the trampoline. */
_Noreturn void ap_main(uint32_t slot);

#endif
