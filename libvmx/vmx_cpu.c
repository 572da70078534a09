/*
 * Per-CPU VMX bring-up (VMXON, SDM 24.7-24.8), the per-CPU VMCS, and the
 * launch of the guest on this CPU.
 */
#include "hw/hw.h"
#include "libvmx/vmx_caps.h"
#include "libvmx/vmx_internal.h"
#include "rt/console.h"
#include "rt/cpu_tables.h"
#include "rt/layout.h"
#include "rt/palloc.h"
#include "rt/panic.h"
#include "rt/trap.h"

/* An AP must offer exactly what the BSP offers: one configuration serves all. */
static void check_same_caps(uint32_t cpu)
{
	struct vmx_cap_msrs mine;
	char diff[160];

	vmx_caps_read(&mine);
	if (vmx_caps_diff(&mine, vmx_bsp_cap_msrs(), diff, sizeof(diff)))
		hv_panic("CPU %u has different VMX capabilities from the boot CPU: %s", cpu, diff);
}

/* IA32_FEATURE_CONTROL is per CPU: each must allow VMXON (SDM 24.7). */
static int enable_feature_control(uint32_t cpu)
{
	uint64_t fc = hw_rdmsr(MSR_IA32_FEATURE_CONTROL);

	if (!(fc & FEATURE_CONTROL_LOCKED)) {
		hw_wrmsr(MSR_IA32_FEATURE_CONTROL,
		         fc | FEATURE_CONTROL_LOCKED | FEATURE_CONTROL_VMX_OUTSIDE_SMX);
		return 0;
	}
	if (fc & FEATURE_CONTROL_VMX_OUTSIDE_SMX)
		return 0;
	hv_printf("hv: cpu %u: IA32_FEATURE_CONTROL locked with VMX disabled (0x%llx)\n", cpu,
	          (unsigned long long)fc);
	return -1;
}

static uint64_t alloc_region(uint32_t revision)
{
	uint64_t pa = palloc_page();
	if (!pa)
		hv_panic("libvmx: out of memory for a VMX region");
	/* Bits 30:0 of the first word: the VMCS revision identifier (SDM 25.2). */
	*(uint32_t *)hw_phys_ptr(pa) = revision;
	return pa;
}

int vmx_cpu_init(uint32_t cpu)
{
	const struct vmx_config *c = vmx_config();
	struct vcpu *v = vmx_vcpu(cpu);
	char what[48];

	if (cpu != 0) {
		check_same_caps(cpu);
	} else {
		hw_vmx_set_failure_handler(vmx_instruction_failed);
		vmx_bitmaps_init();
	}
	if (enable_feature_control(cpu))
		return -1;

	/*
	 * CR0/CR4 must respect the fixed bits in VMX operation (SDM A.7, A.8).
	 * CR4.OSXSAVE: the guest's XSETBV exits and is executed here, which #UDs
	 * in root mode unless the host has OSXSAVE on (SDM Vol. 2 XSETBV).
	 */
	struct hw_cpuid_regs id;
	hw_cpuid(1, 0, &id);
	uint64_t cr4 = hw_read_cr4() | c->cr4_fixed0 | CR4_VMXE;
	if (id.ecx & CPUID1_ECX_XSAVE)
		cr4 |= CR4_OSXSAVE;
	hw_write_cr0((hw_read_cr0() | c->cr0_fixed0) & c->cr0_fixed1);
	hw_write_cr4(cr4 & c->cr4_fixed1);

	uint64_t vmxon = alloc_region(c->revision_id);
	enum hw_vmx_result r = hw_vmxon(vmxon);
	if (r != HW_VMX_OK) {
		hv_snprintf(what, sizeof(what), "VMXON on CPU %u", cpu);
		return vmx_report_failure(what, r);
	}

	v->cpu = cpu;
	v->vpid = (uint16_t)(cpu + 1);
	v->vmcs_pa = alloc_region(c->revision_id);
	uint64_t stack = palloc_pages(HV_STACK_SIZE / HV_PAGE_SIZE);
	if (!stack)
		hv_panic("libvmx: out of memory for CPU %u's exit stack", cpu);
	v->exit_stack_top = stack + HV_STACK_SIZE;

	r = hw_vmclear(v->vmcs_pa);
	if (r != HW_VMX_OK) {
		hv_snprintf(what, sizeof(what), "VMCLEAR on CPU %u", cpu);
		return vmx_report_failure(what, r);
	}
	r = hw_vmptrld(v->vmcs_pa);
	if (r != HW_VMX_OK) {
		hv_snprintf(what, sizeof(what), "VMPTRLD on CPU %u", cpu);
		return vmx_report_failure(what, r);
	}
	vmx_set_vmcs_current(cpu, true);
	vmx_event_reset(v);

	if (cpu == 0) {
		rt_set_nmi_handler(vmx_host_nmi_handler);
		rt_set_nmi_restart((uintptr_t)vmx_entry_restart, (uintptr_t)vmx_entry_restart_end,
		                   (uintptr_t)vmx_entry_restart);
		rt_set_panic_hook(vmx_panic_hook);
	}
	return 0;
}

/* Everything vmx_launch_guest() does before the entry itself (host-testable). */
void vmx_prepare_guest(uint32_t cpu, bool boot_cpu, uint64_t eptp)
{
	struct vcpu *v = vmx_vcpu(cpu);
	const struct hv_app *app = vmx_app();

	v->boot_cpu = boot_cpu;
	v->eptp = eptp;
	v->launched = 0;
	vmcs_setup_controls(v);
	vmcs_setup_host(v);
	if (boot_cpu)
		vmcs_guest_boot_state(v);
	else
		vmcs_guest_init_state(v, true);
	__atomic_store_n(&v->waiting_for_sipi, !boot_cpu, __ATOMIC_RELEASE);
	if (boot_cpu) {
		vmx_guest_apic_protect(v);
		vmx_guest_reset_watch();
	}
	/* Power-on PAT (SDM Vol. 3A 12.12.4); INIT leaves PAT alone afterwards. */
	vmcs_write64(VMCS_GUEST_IA32_PAT, 0x0007040600070406ull);
	if (app && app->boot)
		app->boot(v);
	vmx_before_entry(v);
}

_Noreturn void vmx_launch_guest(uint32_t cpu, bool boot_cpu, uint64_t eptp)
{
	vmx_prepare_guest(cpu, boot_cpu, eptp);
	vmx_enter_guest(vmx_vcpu(cpu));
}
