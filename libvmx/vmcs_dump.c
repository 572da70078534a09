/*
 * Reporting: the VMCS fields that explain a guest's state when something goes
 * wrong (installed as the rt panic hook), and VMX instruction failures.
 */
#include "hw/hw.h"
#include "libvmx/vmx_internal.h"
#include "rt/console.h"
#include "rt/layout.h"
#include "rt/panic.h"
#include "rt/percpu.h"

static bool vmcs_current[HV_MAX_CPUS];

void vmx_set_vmcs_current(uint32_t cpu, bool current)
{
	if (cpu < HV_MAX_CPUS)
		vmcs_current[cpu] = current;
}

const char *vmx_instruction_error_name(uint32_t err)
{
	/* SDM Vol. 3C 31.4, Table 31-1. */
	switch (err) {
	case 1:
		return "VMCALL executed in VMX root operation";
	case 2:
		return "VMCLEAR with invalid physical address";
	case 3:
		return "VMCLEAR with VMXON pointer";
	case 4:
		return "VMLAUNCH with non-clear VMCS";
	case 5:
		return "VMRESUME with non-launched VMCS";
	case 6:
		return "VMRESUME after VMXOFF";
	case 7:
		return "VM entry with invalid control field(s)";
	case 8:
		return "VM entry with invalid host-state field(s)";
	case 9:
		return "VMPTRLD with invalid physical address";
	case 10:
		return "VMPTRLD with VMXON pointer";
	case 11:
		return "VMPTRLD with incorrect VMCS revision identifier";
	case 12:
		return "VMREAD/VMWRITE from/to unsupported VMCS component";
	case 13:
		return "VMWRITE to read-only VMCS component";
	case 15:
		return "VMXON executed in VMX root operation";
	case 16:
		return "VM entry with invalid executive-VMCS pointer";
	case 17:
		return "VM entry with non-launched executive VMCS";
	case 18:
		return "VM entry with executive-VMCS pointer not VMXON pointer";
	case 19:
		return "VMCALL with non-clear VMCS";
	case 20:
		return "VMCALL with invalid VM-exit control fields";
	case 22:
		return "VMCALL with incorrect MSEG revision identifier";
	case 23:
		return "VMXOFF under dual-monitor treatment of SMIs and SMM";
	case 24:
		return "VMCALL with invalid SMM-monitor features";
	case 25:
		return "VM entry with invalid VM-execution control fields in executive VMCS";
	case 26:
		return "VM entry with events blocked by MOV SS";
	case 28:
		return "invalid operand to INVEPT/INVVPID";
	default:
		return "unknown VM-instruction error";
	}
}

int vmx_report_failure(const char *what, enum hw_vmx_result r)
{
	if (r == HW_VMX_FAIL_VALID) {
		uint32_t err = vmcs_read32(VMCS_VM_INSTRUCTION_ERROR);
		hv_printf("hv: %s failed: VM-instruction error %u (%s)\n", what, err,
		          vmx_instruction_error_name(err));
	} else {
		hv_printf("hv: %s failed: VMfailInvalid\n", what);
	}
	return -1;
}

void vmx_dump_vmcs(void)
{
	uint32_t reason = vmcs_read32(VMCS_EXIT_REASON);
	uint32_t basic = VMX_EXIT_REASON_BASIC(reason);

	hv_printf("hv: vmcs: exit reason 0x%x (%s) qualification 0x%llx\n", reason,
	          vmx_exit_reason_name(basic),
	          (unsigned long long)vmcs_readnat(VMCS_EXIT_QUALIFICATION));
	hv_printf("hv: vmcs: exit interruption info 0x%x error 0x%x, IDT-vectoring info 0x%x "
	          "error 0x%x, instruction length %u, VM-instruction error %u\n",
	          vmcs_read32(VMCS_VM_EXIT_INTR_INFO), vmcs_read32(VMCS_VM_EXIT_INTR_ERROR_CODE),
	          vmcs_read32(VMCS_IDT_VECTORING_INFO), vmcs_read32(VMCS_IDT_VECTORING_ERROR_CODE),
	          vmcs_read32(VMCS_VM_EXIT_INSTRUCTION_LEN),
	          vmcs_read32(VMCS_VM_INSTRUCTION_ERROR));
	hv_printf("hv: vmcs: guest RIP 0x%llx RSP 0x%llx RFLAGS 0x%llx CS 0x%x base 0x%llx\n",
	          (unsigned long long)vmcs_readnat(VMCS_GUEST_RIP),
	          (unsigned long long)vmcs_readnat(VMCS_GUEST_RSP),
	          (unsigned long long)vmcs_readnat(VMCS_GUEST_RFLAGS),
	          vmcs_read16(VMCS_GUEST_CS_SELECTOR),
	          (unsigned long long)vmcs_readnat(VMCS_GUEST_CS_BASE));
	hv_printf("hv: vmcs: guest CR0 0x%llx (shadow 0x%llx) CR3 0x%llx CR4 0x%llx (shadow "
	          "0x%llx) EFER 0x%llx\n",
	          (unsigned long long)vmcs_readnat(VMCS_GUEST_CR0),
	          (unsigned long long)vmcs_readnat(VMCS_CR0_READ_SHADOW),
	          (unsigned long long)vmcs_readnat(VMCS_GUEST_CR3),
	          (unsigned long long)vmcs_readnat(VMCS_GUEST_CR4),
	          (unsigned long long)vmcs_readnat(VMCS_CR4_READ_SHADOW),
	          (unsigned long long)vmcs_read64(VMCS_GUEST_IA32_EFER));
	hv_printf("hv: vmcs: activity state %u interruptibility 0x%x entry interruption info 0x%x "
	          "guest-physical 0x%llx\n",
	          vmcs_read32(VMCS_GUEST_ACTIVITY_STATE), vmcs_read32(VMCS_GUEST_INTERRUPTIBILITY),
	          vmcs_read32(VMCS_VM_ENTRY_INTR_INFO),
	          (unsigned long long)vmcs_read64(VMCS_GUEST_PHYSICAL_ADDRESS));
	hv_printf("hv: vmcs: controls pin 0x%x proc 0x%x proc2 0x%x exit 0x%x entry 0x%x\n",
	          vmcs_read32(VMCS_PIN_BASED_CONTROLS), vmcs_read32(VMCS_PRIMARY_PROC_CONTROLS),
	          vmcs_read32(VMCS_SECONDARY_PROC_CONTROLS), vmcs_read32(VMCS_EXIT_CONTROLS),
	          vmcs_read32(VMCS_ENTRY_CONTROLS));
}

void vmx_panic_hook(void)
{
	uint32_t cpu = rt_cpu_index();

	/* Only a CPU with a current VMCS has fields to show. */
	if (cpu < HV_MAX_CPUS && vmcs_current[cpu])
		vmx_dump_vmcs();
}
