/*
 * VMCALL exits: the INT 15h memory-map stub's calls (bios_hook.h), then the
 * toolkit's own (vmx_set_toolkit_hypercall), then the app's hypercalls; anything else gets #UD, as
 * on bare metal with no VMM.
 */
#include "hw/hw.h"
#include "libvmx/bios_hook.h"
#include "libvmx/vmx_internal.h"
#include "rt/panic.h"

/* The protocol of bios_hook.h: registers in, answer out, CF in RFLAGS. */
static void bios_e820_call(struct vcpu *v)
{
	const struct e820_map *map = bios_hook_guest_map();
	if (!map)
		hv_panic("INT 15h hook VMCALL on CPU %u with no guest map installed", v->cpu);
	struct bios_e820_regs r = {
	    .rax = v->gpr[GPR_RAX],
	    .rbx = v->gpr[GPR_RBX],
	    .rcx = v->gpr[GPR_RCX],
	    .rdx = v->gpr[GPR_RDX],
	    .rdi = v->gpr[GPR_RDI],
	    .es_base = vmcs_readnat(VMCS_GUEST_ES_BASE),
	    .rflags = vmcs_readnat(VMCS_GUEST_RFLAGS),
	    .eptp = v->eptp,
	};
	bios_hook_handle_e820(&r, map);
	v->gpr[GPR_RAX] = r.rax;
	v->gpr[GPR_RBX] = r.rbx;
	v->gpr[GPR_RCX] = r.rcx;
	v->gpr[GPR_RDX] = r.rdx;
	vmcs_writenat(VMCS_GUEST_RFLAGS, r.rflags);
}

/* The toolkit's own hypercalls (vmx.h), asked before the app. */
static bool (*toolkit_hypercall)(struct vcpu *v);

void vmx_set_toolkit_hypercall(bool (*handler)(struct vcpu *v))
{
	toolkit_hypercall = handler;
}

void vmx_exit_vmcall(struct vcpu *v)
{
	const struct hv_app *app = vmx_app();
	uint64_t linear = vmcs_readnat(VMCS_GUEST_CS_BASE) + vmcs_readnat(VMCS_GUEST_RIP);

	if (bios_hook_is_e820_call(linear)) {
		bios_e820_call(v);
		vcpu_skip_instruction(v);
		return;
	}
	if (toolkit_hypercall && toolkit_hypercall(v)) {
		vcpu_skip_instruction(v);
		return;
	}
	if (app && app->hypercall && app->hypercall(v)) {
		vcpu_skip_instruction(v);
		return;
	}
	vmx_queue_exception(v, X86_VEC_UD, false, 0);
}
