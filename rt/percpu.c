/* Per-CPU data and stacks (rt/percpu.h). */
#include "rt/percpu.h"

#include <stdbool.h>
#include <stddef.h>

#include "hw/hw.h"
#include "rt/layout.h"

/* The stacks: rt/entry.S starts the boot CPU on rt_cpu_stacks[0]. */
uint8_t rt_cpu_stacks[HV_MAX_CPUS][HV_STACK_SIZE] __attribute__((aligned(16)));

static struct percpu percpus[HV_MAX_CPUS];
static bool any_percpu_ready;

void percpu_init(uint32_t cpu_index, uint32_t apic_id)
{
	if (cpu_index >= HV_MAX_CPUS)
		return;
	struct percpu *p = &percpus[cpu_index];
	p->self = p;
	p->cpu_index = cpu_index;
	p->apic_id = apic_id;
	p->stack_top = rt_cpu_stack_top(cpu_index);
	hw_wrmsr(MSR_IA32_GS_BASE, hw_ptr_phys(p));
	__atomic_store_n(&any_percpu_ready, true, __ATOMIC_RELEASE);
}

uint32_t this_cpu_index(void)
{
	return (uint32_t)hw_read_gs_qword(offsetof(struct percpu, cpu_index));
}

struct percpu *percpu_of(uint32_t i)
{
	return i < HV_MAX_CPUS ? &percpus[i] : NULL;
}

uint64_t rt_cpu_stack_top(uint32_t i)
{
	return i < HV_MAX_CPUS ? hw_ptr_phys(&rt_cpu_stacks[i][HV_STACK_SIZE]) : 0;
}

uint32_t rt_cpu_index(void)
{
	if (!__atomic_load_n(&any_percpu_ready, __ATOMIC_ACQUIRE))
		return 0;
	return this_cpu_index();
}
