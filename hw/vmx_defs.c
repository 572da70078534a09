/* Names of the basic VM-exit reasons (SDM Vol. 3D Appendix C), for logs and panics. */
#include "hw/vmx_defs.h"

static const char *const exit_reason_names[VMX_EXIT_REASON_COUNT] = {
    [VMX_EXIT_EXCEPTION_NMI] = "exception or NMI",
    [VMX_EXIT_EXTERNAL_INTERRUPT] = "external interrupt",
    [VMX_EXIT_TRIPLE_FAULT] = "triple fault",
    [VMX_EXIT_INIT] = "INIT signal",
    [VMX_EXIT_SIPI] = "SIPI",
    [VMX_EXIT_IO_SMI] = "I/O SMI",
    [VMX_EXIT_OTHER_SMI] = "other SMI",
    [VMX_EXIT_INTERRUPT_WINDOW] = "interrupt window",
    [VMX_EXIT_NMI_WINDOW] = "NMI window",
    [VMX_EXIT_TASK_SWITCH] = "task switch",
    [VMX_EXIT_CPUID] = "CPUID",
    [VMX_EXIT_GETSEC] = "GETSEC",
    [VMX_EXIT_HLT] = "HLT",
    [VMX_EXIT_INVD] = "INVD",
    [VMX_EXIT_INVLPG] = "INVLPG",
    [VMX_EXIT_RDPMC] = "RDPMC",
    [VMX_EXIT_RDTSC] = "RDTSC",
    [VMX_EXIT_RSM] = "RSM",
    [VMX_EXIT_VMCALL] = "VMCALL",
    [VMX_EXIT_VMCLEAR] = "VMCLEAR",
    [VMX_EXIT_VMLAUNCH] = "VMLAUNCH",
    [VMX_EXIT_VMPTRLD] = "VMPTRLD",
    [VMX_EXIT_VMPTRST] = "VMPTRST",
    [VMX_EXIT_VMREAD] = "VMREAD",
    [VMX_EXIT_VMRESUME] = "VMRESUME",
    [VMX_EXIT_VMWRITE] = "VMWRITE",
    [VMX_EXIT_VMXOFF] = "VMXOFF",
    [VMX_EXIT_VMXON] = "VMXON",
    [VMX_EXIT_CR_ACCESS] = "control-register access",
    [VMX_EXIT_MOV_DR] = "MOV DR",
    [VMX_EXIT_IO_INSTRUCTION] = "I/O instruction",
    [VMX_EXIT_RDMSR] = "RDMSR",
    [VMX_EXIT_WRMSR] = "WRMSR",
    [VMX_EXIT_INVALID_GUEST_STATE] = "VM-entry failure: invalid guest state",
    [VMX_EXIT_MSR_LOADING] = "VM-entry failure: MSR loading",
    [VMX_EXIT_MWAIT] = "MWAIT",
    [VMX_EXIT_MONITOR_TRAP_FLAG] = "monitor trap flag",
    [VMX_EXIT_MONITOR] = "MONITOR",
    [VMX_EXIT_PAUSE] = "PAUSE",
    [VMX_EXIT_MACHINE_CHECK] = "VM-entry failure: machine-check event",
    [VMX_EXIT_TPR_BELOW_THRESHOLD] = "TPR below threshold",
    [VMX_EXIT_APIC_ACCESS] = "APIC access",
    [VMX_EXIT_VIRTUALIZED_EOI] = "virtualized EOI",
    [VMX_EXIT_GDTR_IDTR] = "access to GDTR or IDTR",
    [VMX_EXIT_LDTR_TR] = "access to LDTR or TR",
    [VMX_EXIT_EPT_VIOLATION] = "EPT violation",
    [VMX_EXIT_EPT_MISCONFIG] = "EPT misconfiguration",
    [VMX_EXIT_INVEPT] = "INVEPT",
    [VMX_EXIT_RDTSCP] = "RDTSCP",
    [VMX_EXIT_PREEMPTION_TIMER] = "VMX-preemption timer expired",
    [VMX_EXIT_INVVPID] = "INVVPID",
    [VMX_EXIT_WBINVD] = "WBINVD",
    [VMX_EXIT_XSETBV] = "XSETBV",
    [VMX_EXIT_APIC_WRITE] = "APIC write",
    [VMX_EXIT_RDRAND] = "RDRAND",
    [VMX_EXIT_INVPCID] = "INVPCID",
    [VMX_EXIT_VMFUNC] = "VMFUNC",
    [VMX_EXIT_ENCLS] = "ENCLS",
    [VMX_EXIT_RDSEED] = "RDSEED",
    [VMX_EXIT_PML_FULL] = "page-modification log full",
    [VMX_EXIT_XSAVES] = "XSAVES",
    [VMX_EXIT_XRSTORS] = "XRSTORS",
};

const char *vmx_exit_reason_name(uint32_t reason)
{
	uint32_t basic = VMX_EXIT_REASON_BASIC(reason);

	/* 35, 38 and 42 are not used by the architecture: their slots stay NULL. */
	if (basic >= VMX_EXIT_REASON_COUNT || !exit_reason_names[basic])
		return "unknown";
	return exit_reason_names[basic];
}
