/*
 * Interrupts and exceptions of the test guest: one IDT shared by all CPUs,
 * stubs in entry.S, dispatch in trap.c.
 *
 * Exceptions (vectors 0-31 except NMI) are expected only inside a probe (cpu.h):
 * the armed probe records what happened and resumes after the instruction. Any
 * other exception is a test failure: it is reported and the run ends.
 */
#ifndef GUEST_TRAP_H
#define GUEST_TRAP_H

#include <stdint.h>

#define TRAP_NONE 0xffffffffu

#define VEC_DE  0
#define VEC_NMI 2
#define VEC_BP  3
#define VEC_UD  6
#define VEC_DF  8
#define VEC_TS  10
#define VEC_NP  11
#define VEC_GP  13

/* EFLAGS.RF, pushed set by faults (SDM Vol. 3B 18.3.1.1). */
#define EFLAGS_RF (1u << 16)

/* Interrupt vectors the guest uses (the 8259 is remapped to 0x20-0x2f). */
#define VEC_PIC_BASE    0x20
#define VEC_LAPIC_TIMER 0x30
#define VEC_X2APIC_SELF 0x41
#define VEC_X2APIC_PING 0x42
#define VEC_X2APIC_PONG 0x43
#define VEC_SPURIOUS    0xff

/* Registers as pushed by isr_common (PUSHAL) and the CPU. Same privilege level: no SS:ESP. */
struct trap_frame {
	uint32_t edi, esi, ebp, esp_unused, ebx, edx, ecx, eax;
	uint32_t vector, error;
	uint32_t eip, cs, eflags;
};

/* One probe at a time, on the boot CPU (the test runner). */
struct trap_probe_state {
	volatile uint32_t armed;
	volatile uint32_t fault_at;  /* address of the probed instruction */
	volatile uint32_t resume_at; /* address after it */
	volatile uint32_t vector;    /* TRAP_NONE if nothing was raised */
	volatile uint32_t error;
	volatile uint32_t eip;    /* EIP pushed by the CPU */
	volatile uint32_t eflags; /* EFLAGS pushed by the CPU */
};

extern struct trap_probe_state trap_probe;

static inline void trap_arm(void)
{
	trap_probe.vector = TRAP_NONE;
	trap_probe.error = 0;
	trap_probe.eip = 0;
	trap_probe.eflags = 0;
	trap_probe.armed = 1;
}

static inline uint32_t trap_disarm(void)
{
	trap_probe.armed = 0;
	return trap_probe.vector;
}

typedef void (*irq_handler_t)(struct trap_frame *f);

/* Builds the IDT (interrupt gates for all 256 vectors) and loads it on this CPU. */
void trap_init(void);
/* Loads the already built IDT (application processors). */
void trap_load(void);
/* The gate of `vector` becomes a task gate to the TSS `tss_sel` (SDM Vol. 3A 6.11). */
void trap_set_task_gate(uint8_t vector, uint16_t tss_sel);
/* The gate of `vector` marked not present: delivering it raises #NP. */
void trap_set_gate_absent(uint8_t vector);
/* The interrupt gate trap_init() installed for `vector`, back. */
void trap_reset_gate(uint8_t vector);
/* Installs the handler of an interrupt vector (>= 32); NULL removes it. */
void trap_set_handler(uint8_t vector, irq_handler_t fn);

/* NMIs taken, per CPU slot (0 = boot CPU, 1.. = APs in start order). */
uint32_t trap_nmi_count(uint32_t cpu_slot);
/* TSC when the slot's last NMI entered the handler (set before its count moves). */
uint64_t trap_nmi_tsc(uint32_t cpu_slot);
/* Interrupts on vectors without a handler (counted, not fatal). */
uint32_t trap_stray_count(void);

/* Called from isr_common in entry.S. */
void guest_interrupt(struct trap_frame *f);

#endif
