/*
 * Per-CPU data, reached through IA32_GS_BASE.
 *
 * The hypervisor never runs user code, so GS base always points at the running
 * CPU's struct percpu (libvmx puts the same value in the VMCS host GS base).
 * Libraries keep their own per-CPU state in arrays indexed by this_cpu_index().
 */
#ifndef RT_PERCPU_H
#define RT_PERCPU_H

#include <stdint.h>

struct percpu {
	struct percpu *self;
	uint32_t cpu_index;
	uint32_t apic_id;
	uint64_t stack_top;
};

/* Fills percpu_of(cpu_index) and points IA32_GS_BASE at it. */
void percpu_init(uint32_t cpu_index, uint32_t apic_id);
/* The running CPU's index (one GS-relative load). Valid after percpu_init. */
uint32_t this_cpu_index(void);
/* NULL if i >= HV_MAX_CPUS. */
struct percpu *percpu_of(uint32_t i);

/*
 * Top of CPU i's hypervisor stack (HV_STACK_SIZE bytes, 16-byte aligned). The
 * boot CPU runs on stack 0 from rt/entry.S on; libsmp starts AP i on stack i.
 * 0 if i >= HV_MAX_CPUS.
 */
uint64_t rt_cpu_stack_top(uint32_t i);

/*
 * this_cpu_index(), or 0 before any CPU ran percpu_init (early boot, host tests
 * that never set GS): for the console and panic paths, which may run that early.
 */
uint32_t rt_cpu_index(void);

#endif /* RT_PERCPU_H */
