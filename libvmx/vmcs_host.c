/*
 * VMCS host-state area (SDM 25.5): what the CPU loads on every VM exit. Taken
 * from the calling CPU's own registers and tables, so it must run on the CPU
 * that will use this VMCS.
 */
#include "hw/hw.h"
#include "libvmx/vmx_internal.h"

/* Base of the TSS descriptor `sel` in a 64-bit GDT (16-byte system descriptor). */
static uint64_t tss_base(const struct hw_desc_ptr *gdt, uint16_t sel)
{
	const uint8_t *d = hw_phys_ptr(gdt->base + (sel & ~7u));
	uint64_t base =
	    (uint64_t)d[2] | (uint64_t)d[3] << 8 | (uint64_t)d[4] << 16 | (uint64_t)d[7] << 24;
	base |= (uint64_t)(d[8] | d[9] << 8 | d[10] << 16 | (uint32_t)d[11] << 24) << 32;
	return base;
}

void vmcs_setup_host(struct vcpu *v)
{
	struct hw_desc_ptr gdt, idt;

	hw_sgdt(&gdt);
	hw_sidt(&idt);

	vmcs_writenat(VMCS_HOST_CR0, hw_read_cr0());
	vmcs_writenat(VMCS_HOST_CR3, hw_read_cr3());
	vmcs_writenat(VMCS_HOST_CR4, hw_read_cr4());

	/* Selectors must have RPL = TI = 0 (SDM Vol. 3C 27.2.3). */
	uint16_t tr = hw_str();
	vmcs_write16(VMCS_HOST_CS_SELECTOR, hw_read_cs() & 0xf8);
	vmcs_write16(VMCS_HOST_SS_SELECTOR, hw_read_ss() & 0xf8);
	vmcs_write16(VMCS_HOST_DS_SELECTOR, hw_read_ds() & 0xf8);
	vmcs_write16(VMCS_HOST_ES_SELECTOR, hw_read_es() & 0xf8);
	vmcs_write16(VMCS_HOST_FS_SELECTOR, hw_read_fs() & 0xf8);
	vmcs_write16(VMCS_HOST_GS_SELECTOR, hw_read_gs() & 0xf8);
	vmcs_write16(VMCS_HOST_TR_SELECTOR, tr & 0xf8);

	/* GS base is the per-CPU pointer (rt/percpu.h): this_cpu_index() needs it. */
	vmcs_writenat(VMCS_HOST_FS_BASE, hw_rdmsr(MSR_IA32_FS_BASE));
	vmcs_writenat(VMCS_HOST_GS_BASE, hw_rdmsr(MSR_IA32_GS_BASE));
	vmcs_writenat(VMCS_HOST_TR_BASE, tss_base(&gdt, tr));
	vmcs_writenat(VMCS_HOST_GDTR_BASE, gdt.base);
	vmcs_writenat(VMCS_HOST_IDTR_BASE, idt.base);

	vmcs_write32(VMCS_HOST_IA32_SYSENTER_CS, 0);
	vmcs_writenat(VMCS_HOST_IA32_SYSENTER_ESP, 0);
	vmcs_writenat(VMCS_HOST_IA32_SYSENTER_EIP, 0);
	vmcs_write64(VMCS_HOST_IA32_PAT, hw_rdmsr(MSR_IA32_PAT));
	vmcs_write64(VMCS_HOST_IA32_EFER, hw_rdmsr(MSR_IA32_EFER));

	/*
	 * The exit stub finds its vcpu at the top of this CPU's exit stack; the
	 * host RSP below it stays 16-byte aligned, as the SysV ABI wants at the
	 * stub's call of vmx_handle_exit().
	 */
	uint64_t *top = hw_phys_ptr(v->exit_stack_top - 16);
	top[0] = hw_ptr_phys(v);
	top[1] = 0;
	vmcs_writenat(VMCS_HOST_RSP, v->exit_stack_top - 16);
	vmcs_writenat(VMCS_HOST_RIP, (uint64_t)(uintptr_t)vmx_exit_stub);
}

/* vmx_guest.h: what an app may have changed since vmcs_setup_host, taken
 * again from the registers (host-state area, SDM Vol. 3C 25.5; loaded at
 * every VM exit, 28.5.1). */
void vmx_host_state_refresh(struct vcpu *v)
{
	(void)v;
	vmcs_writenat(VMCS_HOST_CR0, hw_read_cr0());
	vmcs_writenat(VMCS_HOST_CR4, hw_read_cr4());
	vmcs_writenat(VMCS_HOST_FS_BASE, hw_rdmsr(MSR_IA32_FS_BASE));
}
