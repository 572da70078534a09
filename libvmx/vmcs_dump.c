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

/*
 * hw_vmx_failed's handler (hw/hw.h), registered before the first VMX
 * instruction: a VMREAD, VMWRITE, INVEPT or INVVPID that failed means the
 * hypervisor asked for something its own invariants rule out (a field this
 * CPU lacks, a bad value, no current VMCS), so panic with what failed. The
 * VM-instruction error is read raw: a second failure must not recurse.
 */
_Noreturn void vmx_instruction_failed(const char *insn, uint32_t encoding, uint64_t value,
                                      enum hw_vmx_result r)
{
	if (r == HW_VMX_FAIL_VALID) {
		uint32_t err = (uint32_t)hw_vmread(VMCS_VM_INSTRUCTION_ERROR.enc);
		hv_panic("libvmx: %s 0x%x (value 0x%llx) failed: VM-instruction error %u (%s)",
		         insn, encoding, (unsigned long long)value, err,
		         vmx_instruction_error_name(err));
	}
	hv_panic("libvmx: %s 0x%x (value 0x%llx) failed: VMfailInvalid (no current VMCS)", insn,
	         encoding, (unsigned long long)value);
}

/*
 * The dump runs inside a panic: a field this CPU cannot read shows as 0
 * instead of failing into hw_vmx_failed (a panic inside the panic).
 */
static uint64_t dump_read(uint32_t encoding)
{
	uint64_t v = 0;
	if (hw_vmread_result(encoding, &v) != HW_VMX_OK)
		return 0;
	return v;
}

static uint32_t dump_read32(uint32_t encoding)
{
	return (uint32_t)dump_read(encoding);
}

void vmx_dump_vmcs(void)
{
	uint32_t reason = dump_read32(VMCS_EXIT_REASON.enc);
	uint32_t basic = VMX_EXIT_REASON_BASIC(reason);

	hv_printf("hv: vmcs: exit reason 0x%x (%s) qualification 0x%llx\n", reason,
	          vmx_exit_reason_name(basic),
	          (unsigned long long)dump_read(VMCS_EXIT_QUALIFICATION.enc));
	hv_printf("hv: vmcs: exit interruption info 0x%x error 0x%x, IDT-vectoring info 0x%x "
	          "error 0x%x, instruction length %u, VM-instruction error %u\n",
	          dump_read32(VMCS_VM_EXIT_INTR_INFO.enc),
	          dump_read32(VMCS_VM_EXIT_INTR_ERROR_CODE.enc),
	          dump_read32(VMCS_IDT_VECTORING_INFO.enc),
	          dump_read32(VMCS_IDT_VECTORING_ERROR_CODE.enc),
	          dump_read32(VMCS_VM_EXIT_INSTRUCTION_LEN.enc),
	          dump_read32(VMCS_VM_INSTRUCTION_ERROR.enc));
	hv_printf("hv: vmcs: guest RIP 0x%llx RSP 0x%llx RFLAGS 0x%llx CS 0x%x base 0x%llx\n",
	          (unsigned long long)dump_read(VMCS_GUEST_RIP.enc),
	          (unsigned long long)dump_read(VMCS_GUEST_RSP.enc),
	          (unsigned long long)dump_read(VMCS_GUEST_RFLAGS.enc),
	          dump_read32(VMCS_GUEST_CS_SELECTOR.enc),
	          (unsigned long long)dump_read(VMCS_GUEST_CS_BASE.enc));
	hv_printf("hv: vmcs: guest CR0 0x%llx (shadow 0x%llx) CR3 0x%llx CR4 0x%llx (shadow "
	          "0x%llx) EFER 0x%llx\n",
	          (unsigned long long)dump_read(VMCS_GUEST_CR0.enc),
	          (unsigned long long)dump_read(VMCS_CR0_READ_SHADOW.enc),
	          (unsigned long long)dump_read(VMCS_GUEST_CR3.enc),
	          (unsigned long long)dump_read(VMCS_GUEST_CR4.enc),
	          (unsigned long long)dump_read(VMCS_CR4_READ_SHADOW.enc),
	          (unsigned long long)dump_read(VMCS_GUEST_IA32_EFER.enc));
	hv_printf("hv: vmcs: activity state %u interruptibility 0x%x entry interruption info 0x%x "
	          "guest-physical 0x%llx\n",
	          dump_read32(VMCS_GUEST_ACTIVITY_STATE.enc),
	          dump_read32(VMCS_GUEST_INTERRUPTIBILITY.enc),
	          dump_read32(VMCS_VM_ENTRY_INTR_INFO.enc),
	          (unsigned long long)dump_read(VMCS_GUEST_PHYSICAL_ADDRESS.enc));
	hv_printf("hv: vmcs: controls pin 0x%x proc 0x%x proc2 0x%x exit 0x%x entry 0x%x\n",
	          dump_read32(VMCS_PIN_BASED_CONTROLS.enc),
	          dump_read32(VMCS_PRIMARY_PROC_CONTROLS.enc),
	          dump_read32(VMCS_SECONDARY_PROC_CONTROLS.enc),
	          dump_read32(VMCS_EXIT_CONTROLS.enc), dump_read32(VMCS_ENTRY_CONTROLS.enc));
}

void vmx_panic_hook(void)
{
	uint32_t cpu = rt_cpu_index();

	/* Only a CPU with a current VMCS has fields to show. */
	if (cpu < HV_MAX_CPUS && vmcs_current[cpu])
		vmx_dump_vmcs();
}
