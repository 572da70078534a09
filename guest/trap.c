#include "guest/trap.h"

#include <stddef.h>

#include "guest/cpu.h"
#include "guest/runner.h"
#include "guest/smp.h"

struct trap_probe_state trap_probe;

/* Stubs in entry.S: 256 of them, 16 bytes apart, starting at isr_stubs. */
extern const char isr_stubs[];
#define ISR_STUB_SIZE 16
#define GDT_CODE_SEL  0x08

struct __attribute__((packed)) idt_gate {
	uint16_t offset_lo;
	uint16_t selector;
	uint8_t zero;
	uint8_t type_attr; /* P=1, DPL=0, 32-bit interrupt gate (SDM Vol. 3A 6.11) */
	uint16_t offset_hi;
};

static struct idt_gate idt[256];
static struct descriptor_ptr idt_ptr;
static volatile irq_handler_t handlers[256];
static volatile uint32_t nmi_count[SMP_MAX_CPUS];
static volatile uint64_t nmi_tsc[SMP_MAX_CPUS]; /* TSC at the last NMI's handler entry */
static volatile uint32_t stray_count;

void trap_reset_gate(uint8_t v)
{
	uint32_t stub = (uint32_t)(uintptr_t)isr_stubs + v * ISR_STUB_SIZE;
	idt[v].offset_lo = (uint16_t)stub;
	idt[v].selector = GDT_CODE_SEL;
	idt[v].zero = 0;
	idt[v].type_attr = 0x8e;
	idt[v].offset_hi = (uint16_t)(stub >> 16);
}

void trap_set_task_gate(uint8_t v, uint16_t tss_sel)
{
	/* P = 1, DPL 0, type 5; the offset is unused. */
	idt[v] = (struct idt_gate){.selector = tss_sel, .type_attr = 0x85};
}

void trap_set_gate_absent(uint8_t v)
{
	idt[v].type_attr &= 0x7f;
}

void trap_init(void)
{
	for (uint32_t v = 0; v < 256; v++)
		trap_reset_gate((uint8_t)v);
	idt_ptr.limit = sizeof(idt) - 1;
	idt_ptr.base = (uint32_t)(uintptr_t)idt;
	trap_load();
}

void trap_load(void)
{
	cpu_lidt(&idt_ptr);
}

void trap_set_handler(uint8_t vector, irq_handler_t fn)
{
	handlers[vector] = fn;
}

uint32_t trap_nmi_count(uint32_t cpu_slot)
{
	return cpu_slot < SMP_MAX_CPUS ? nmi_count[cpu_slot] : 0;
}

uint64_t trap_nmi_tsc(uint32_t cpu_slot)
{
	return cpu_slot < SMP_MAX_CPUS ? nmi_tsc[cpu_slot] : 0;
}

uint32_t trap_stray_count(void)
{
	return stray_count;
}

void guest_interrupt(struct trap_frame *f)
{
	if (f->vector == VEC_NMI) {
		uint64_t tsc = rdtsc();
		uint32_t slot = smp_this_slot();
		if (slot < SMP_MAX_CPUS) {
			nmi_tsc[slot] = tsc; /* before the count moves: guest/bench reads both */
			__atomic_fetch_add(&nmi_count[slot], 1, __ATOMIC_SEQ_CST);
		}
		return;
	}
	if (f->vector < 32) {
		/* Only the boot CPU arms probes; an AP's exception is never expected. */
		if (trap_probe.armed && smp_this_slot() == 0) {
			trap_probe.vector = f->vector;
			trap_probe.error = f->error;
			trap_probe.eip = f->eip;
			trap_probe.eflags = f->eflags;
			trap_probe.armed = 0;
			f->eip = trap_probe.resume_at;
			return;
		}
		runner_unexpected_exception(f->vector, f->error, f->eip, smp_this_slot());
	}
	irq_handler_t fn = handlers[f->vector];
	if (fn)
		fn(f);
	else
		__atomic_fetch_add(&stray_count, 1, __ATOMIC_SEQ_CST);
}
