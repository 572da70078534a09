/*
 * VMCS execution, exit and entry controls, and the CR0/CR4 guest-host masks
 * (SDM 25.6-25.8), from the configuration computed by vmx_caps.c.
 */
#include "hw/hw.h"
#include "libvmx/vmx_caps.h"
#include "libvmx/vmx_internal.h"

/*
 * Bits the guest may not own: those the CPU fixes in VMX operation (SDM A.7,
 * A.8) and the guest did not set itself. With unrestricted guest, CR0.PE and
 * CR0.PG are free (SDM Vol. 3C 27.3.1.1). CR4.VMXE is fixed to 1, so it is hidden.
 * CR4.SMXE is the host's too: the guest is shown no SMX, and setting SMXE
 * without it is #GP (SDM Vol. 3A 2.5), which exit_cr.c gives.
 */
uint64_t vmx_cr0_host_owned(void)
{
	const struct vmx_config *c = vmx_config();
	return (c->cr0_fixed0 | ~c->cr0_fixed1) & ~(CR0_PE | CR0_PG) & 0xffffffffull;
}

uint64_t vmx_cr4_host_owned(void)
{
	const struct vmx_config *c = vmx_config();
	return (c->cr4_fixed0 | ~c->cr4_fixed1 | CR4_VMXE | CR4_SMXE) & 0xffffffffull;
}

uint64_t vmx_cr0_actual(uint64_t view)
{
	const struct vmx_config *c = vmx_config();
	return (view | (c->cr0_fixed0 & ~(CR0_PE | CR0_PG))) & c->cr0_fixed1;
}

uint64_t vmx_cr4_actual(uint64_t view)
{
	const struct vmx_config *c = vmx_config();
	return (view | c->cr4_fixed0) & c->cr4_fixed1;
}

void vmcs_setup_controls(struct vcpu *v)
{
	const struct vmx_config *c = vmx_config();

	vmcs_write32(VMCS_PIN_BASED_CONTROLS, c->pin);
	vmcs_write32(VMCS_PRIMARY_PROC_CONTROLS, c->proc);
	vmcs_write32(VMCS_SECONDARY_PROC_CONTROLS, c->proc2);
	vmcs_write32(VMCS_EXIT_CONTROLS, c->exit);
	vmcs_write32(VMCS_ENTRY_CONTROLS, c->entry); /* IA-32e mode guest = 0 */
	vmcs_write32(VMCS_PAGE_FAULT_ERROR_CODE_MASK, 0);
	vmcs_write32(VMCS_PAGE_FAULT_ERROR_CODE_MATCH, 0);
	vmcs_write32(VMCS_CR3_TARGET_COUNT, 0);
	vmcs_write32(VMCS_VM_EXIT_MSR_STORE_COUNT, 0);
	vmcs_write32(VMCS_VM_EXIT_MSR_LOAD_COUNT, 0);
	vmcs_write32(VMCS_VM_ENTRY_MSR_LOAD_COUNT, 0);
	vmcs_write32(VMCS_VM_ENTRY_INTR_INFO, 0);

	vmcs_write64(VMCS_IO_BITMAP_A, vmx_io_bitmap_pa(0));
	vmcs_write64(VMCS_IO_BITMAP_B, vmx_io_bitmap_pa(1));
	vmcs_write64(VMCS_MSR_BITMAP, vmx_msr_bitmap_pa());
	vmcs_write64(VMCS_EPT_POINTER, v->eptp);
	/* VPID 0 is the host's (SDM Vol. 3C 27.2.1.1): guest CPU i uses i + 1. */
	vmcs_write16(VMCS_VPID, v->vpid);
	vmcs_write64(VMCS_VMCS_LINK_POINTER, ~0ull);
	vmcs_write64(VMCS_TSC_OFFSET, 0);

	vmcs_writenat(VMCS_CR0_GUEST_HOST_MASK, vmx_cr0_host_owned());
	vmcs_writenat(VMCS_CR4_GUEST_HOST_MASK, vmx_cr4_host_owned());
	vmx_view_reset(v);
	vmx_single_step_reset(v);
	vmx_exceptions_reset(v); /* the exception bitmap: exception_mask.c */
	vmx_event_window_written_off(v);
}
