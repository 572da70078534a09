/* Per-CPU set-up for BearSSL code: stack-protector canary block and SSE (utpm_runtime.h). */
#include "apps/trustvisor/utpm/utpm_runtime.h"

#include "hw/hw.h"
#include "rt/layout.h"

static struct utpm_cpu_block cpu_blocks[HV_MAX_CPUS];

enum utpm_status utpm_runtime_init_cpu(uint32_t cpu_index, uint64_t canary)
{
	if (cpu_index >= HV_MAX_CPUS)
		return UTPM_ERR_SIZE;
	cpu_blocks[cpu_index].stack_canary = canary & ~0xffull;
	/* FS base through the MSR: a segment load could only give a 32-bit base
	 * (SDM Vol. 3A 3.4.4 "Segment Loading Instructions in IA-32e Mode"). */
	hw_wrmsr(MSR_IA32_FS_BASE, hw_ptr_phys(&cpu_blocks[cpu_index]));
	hw_write_cr0((hw_read_cr0() | CR0_MP) & ~(CR0_EM | CR0_TS));
	hw_write_cr4(hw_read_cr4() | CR4_OSFXSR | CR4_OSXMMEXCPT);
	return UTPM_OK;
}

const struct utpm_cpu_block *utpm_runtime_cpu_block(uint32_t cpu_index)
{
	return cpu_index < HV_MAX_CPUS ? &cpu_blocks[cpu_index] : NULL;
}
