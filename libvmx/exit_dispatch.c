/*
 * VM-exit dispatch: one table from basic exit reason to handler, per-CPU exit
 * counters, and the end of every exit: the single injection point.
 */
#include "hw/hw.h"
#include "libvmx/vmx_internal.h"
#include "rt/boot_phase.h"
#include "rt/console.h"
#include "rt/layout.h"
#include "rt/panic.h"

static const vmx_exit_handler handlers[VMX_EXIT_REASON_COUNT] = {
    [VMX_EXIT_EXCEPTION_NMI] = vmx_exit_exception_nmi,
    [VMX_EXIT_TRIPLE_FAULT] = vmx_exit_triple_fault,
    [VMX_EXIT_INIT] = vmx_exit_init,
    [VMX_EXIT_SIPI] = vmx_exit_sipi,
    [VMX_EXIT_NMI_WINDOW] = vmx_exit_nmi_window,
    [VMX_EXIT_TASK_SWITCH] = vmx_exit_task_switch,
    [VMX_EXIT_CPUID] = vmx_exit_cpuid,
    [VMX_EXIT_GETSEC] = vmx_exit_getsec,
    [VMX_EXIT_HLT] = vmx_exit_hlt,
    [VMX_EXIT_INVD] = vmx_exit_invd,
    [VMX_EXIT_VMCALL] = vmx_exit_vmcall,
    /* VMX instructions always exit; the guest sees no VMX (CPUID, CR4). */
    [VMX_EXIT_VMCLEAR] = vmx_exit_vmx_instruction,
    [VMX_EXIT_VMLAUNCH] = vmx_exit_vmx_instruction,
    [VMX_EXIT_VMPTRLD] = vmx_exit_vmx_instruction,
    [VMX_EXIT_VMPTRST] = vmx_exit_vmx_instruction,
    [VMX_EXIT_VMREAD] = vmx_exit_vmx_instruction,
    [VMX_EXIT_VMRESUME] = vmx_exit_vmx_instruction,
    [VMX_EXIT_VMWRITE] = vmx_exit_vmx_instruction,
    [VMX_EXIT_VMXOFF] = vmx_exit_vmx_instruction,
    [VMX_EXIT_VMXON] = vmx_exit_vmx_instruction,
    [VMX_EXIT_INVEPT] = vmx_exit_vmx_instruction,
    [VMX_EXIT_INVVPID] = vmx_exit_vmx_instruction,
    [VMX_EXIT_CR_ACCESS] = vmx_exit_cr_access,
    [VMX_EXIT_MOV_DR] = vmx_exit_mov_dr,
    [VMX_EXIT_IO_INSTRUCTION] = vmx_exit_io,
    [VMX_EXIT_RDMSR] = vmx_exit_rdmsr,
    [VMX_EXIT_WRMSR] = vmx_exit_wrmsr,
    [VMX_EXIT_EPT_VIOLATION] = vmx_exit_ept_violation,
    [VMX_EXIT_EPT_MISCONFIG] = vmx_exit_ept_misconfig,
    [VMX_EXIT_WBINVD] = vmx_exit_wbinvd,
    [VMX_EXIT_XSETBV] = vmx_exit_xsetbv,
    [VMX_EXIT_MONITOR_TRAP_FLAG] = vmx_exit_monitor_trap,
    [VMX_EXIT_PREEMPTION_TIMER] = vmx_exit_preemption_timer,
};

vmx_exit_handler vmx_exit_handler_for(uint32_t basic_reason)
{
	if (basic_reason < VMX_EXIT_REASON_COUNT)
		return handlers[basic_reason];
	switch (basic_reason) {
	case VMX_EXIT_SEAMCALL:
	case VMX_EXIT_TDCALL:
	case VMX_EXIT_RDMSR_IMM:
	case VMX_EXIT_WRMSR_IMM:
		return vmx_exit_unsupported_instruction;
	default:
		return NULL;
	}
}

void vmx_read_exit_info(struct vcpu *v)
{
	struct vcpu_exit_info *e = &v->exit;

	e->reason = vmcs_read32(VMCS_EXIT_REASON);
	e->qualification = vmcs_readnat(VMCS_EXIT_QUALIFICATION);
	e->instruction_len = vmcs_read32(VMCS_VM_EXIT_INSTRUCTION_LEN);
	e->intr_info = vmcs_read32(VMCS_VM_EXIT_INTR_INFO);
	e->intr_error = vmcs_read32(VMCS_VM_EXIT_INTR_ERROR_CODE);
	e->idt_vectoring_info = vmcs_read32(VMCS_IDT_VECTORING_INFO);
	e->idt_vectoring_error = vmcs_read32(VMCS_IDT_VECTORING_ERROR_CODE);
	e->gpa = vmcs_read64(VMCS_GUEST_PHYSICAL_ADDRESS);
}

/*
 * VM entry into an IA-32e mode guest requires TR to be a busy 64-bit TSS,
 * type 11 (SDM Vol. 3C 27.3.1.2), but a CPU entering long mode checks no TSS
 * type (SDM Vol. 3A 10.8.5): a guest that ran
 * LTR with a 16-bit TSS (busy: type 3) and then set CR0.PG with EFER.LME
 * (which does not exit under unrestricted guest) would fail the next VM
 * entry. The type only matters to a task switch, which long mode does not
 * have, so make it 11, as KVM does ("tss fixup for long mode"), rather than
 * let the guest reach the entry-failure panic.
 */
static void long_mode_tr_fixup(void)
{
	if (!(vmcs_read32(VMCS_ENTRY_CONTROLS) & ENTRY_IA32E_MODE_GUEST))
		return;
	uint32_t ar = vmcs_read32(VMCS_GUEST_TR_ACCESS_RIGHTS);
	if ((ar & 0xf) == 3)
		vmcs_write32(VMCS_GUEST_TR_ACCESS_RIGHTS, (ar & ~0xfu) | 11);
}

void vmx_handle_exit(struct vcpu *v)
{
	/* Reaching here means the VMLAUNCH succeeded: the next entry resumes. */
	v->launched = 1;
	vmx_read_exit_info(v);
	vmx_run_after_exit_hook(v);

	uint32_t basic = VMX_EXIT_REASON_BASIC(v->exit.reason);
	v->exit_count[basic < VMX_EXIT_REASON_COUNT ? basic : VMX_EXIT_REASON_COUNT]++;

	/* SDM Vol. 3C 27.8: a VM-entry failure during or after loading guest state is
	 * reported as a VM exit with bit 31 set; the guest never ran. */
	if (v->exit.reason & VMX_EXIT_REASON_ENTRY_FAILURE)
		hv_panic("VM-entry failure on CPU %u: exit reason %u (%s), qualification 0x%llx",
		         v->cpu, basic, vmx_exit_reason_name(basic),
		         (unsigned long long)v->exit.qualification);

	/*
	 * "Blocking by SMI" must be 0 outside SMM (SDM Vol. 3C 27.3.1.5) and this
	 * hypervisor never runs the guest in SMM. Quirk smi_blocking (Bochs 2.7
	 * saves it set on exits of a CPU started with INIT-SIPI-SIPI, which would
	 * fail the next VM entry; libvmx/quirks.c): clear it.
	 */
	if (vmx_quirk(VMX_QUIRK_SMI_BLOCKING_SAVED)) {
		uint32_t intr = vmcs_read32(VMCS_GUEST_INTERRUPTIBILITY);
		if (intr & INTERRUPTIBILITY_SMI)
			vmcs_write32(VMCS_GUEST_INTERRUPTIBILITY, intr & ~INTERRUPTIBILITY_SMI);
	}

	/* Any exit but INIT ends the "just started by SIPI" window (exit_init_sipi.c). */
	if (basic != VMX_EXIT_INIT)
		v->sipi_fresh = false;
	vmx_event_on_exit(v);
	vmx_exit_handler h = vmx_exit_handler_for(basic);
	if (!h)
		hv_panic("unhandled VM exit on CPU %u: reason %u (%s)", v->cpu, basic,
		         vmx_exit_reason_name(basic));
	h(v);
	long_mode_tr_fixup();
	vmx_before_entry(v);
}

_Noreturn void vmx_entry_failed(struct vcpu *v, uint32_t result)
{
	if (result == HW_VMX_FAIL_VALID) {
		uint32_t err = vmcs_read32(VMCS_VM_INSTRUCTION_ERROR);
		hv_panic("%s failed on CPU %u: VM-instruction error %u (%s)",
		         v->launched ? "VMRESUME" : "VMLAUNCH", v->cpu, err,
		         vmx_instruction_error_name(err));
	}
	hv_panic("%s failed on CPU %u: VMfailInvalid (no current VMCS)",
	         v->launched ? "VMRESUME" : "VMLAUNCH", v->cpu);
}

void vmx_print_exit_counters(void)
{
	char line[1024];

	/* The start-up notes and time stamps go out here: printing is free by now. */
	console_notes_flush();
	boot_phase_print();

	for (uint32_t cpu = 0; cpu < HV_MAX_CPUS; cpu++) {
		const struct vcpu *v = vmx_vcpu(cpu);
		size_t len = 0;
		int w = hv_snprintf(line, sizeof(line), "hv: cpu %u exits:", cpu);
		bool any = false;

		len = w > 0 ? (size_t)w : 0;
		for (uint32_t r = 0; r <= VMX_EXIT_REASON_COUNT && len + 64 < sizeof(line); r++) {
			if (!v->exit_count[r])
				continue;
			any = true;
			/* One token per reason: "I/O instruction" prints as I/O-instruction. */
			const char *name =
			    r < VMX_EXIT_REASON_COUNT ? vmx_exit_reason_name(r) : "unknown";
			line[len++] = ' ';
			for (; *name && len < sizeof(line) - 1; name++)
				line[len++] = *name == ' ' ? '-' : *name;
			w = hv_snprintf(line + len, sizeof(line) - len, "=%llu",
			                (unsigned long long)v->exit_count[r]);
			if (w > 0)
				len += (size_t)w;
		}
		if (any)
			hv_printf("%s\n", line);
	}
}
