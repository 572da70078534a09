/*
 * Debug, trace and OS-owned register state isolated for a view (vmx_view.h,
 * view->clean_debug). The OS may leave hardware breakpoints, LBR/BTS or
 * performance counters armed, and odd segment bases, before the switch:
 * inside the view they would stop it at an OS-chosen instruction, record its
 * branches, or redirect its FS/GS-relative accesses. So entering saves them
 * and writes clean values, and leaving puts the OS's back.
 *
 * Where each piece lives while the hypervisor runs:
 * - DR7 and IA32_DEBUGCTL: the guest's are in the VMCS guest-state area (SDM
 *   Vol. 3C 25.4.1), saved on exit ("save debug controls", 28.3.1) and loaded
 *   on entry ("load debug controls", 27.3.2.1). Without that entry control the
 *   CPU keeps what the VM exit left, DR7 = 400H and DEBUGCTL = 0 (28.5.1):
 *   clean as well.
 * - Pending debug exceptions: a VMCS guest field (25.4.2), cleared for the
 *   view (its RFLAGS.TF = 0, no STI/MOV-SS blocking: consistent, 27.3.1.5).
 * - DR0-DR3 and DR6: not in the VMCS and not switched by VM exits or entries
 *   (28.3.1): in root they still hold the guest's values.
 * - FS and GS bases: VMCS guest fields (25.4.1); IA32_KERNEL_GS_BASE (what
 *   SWAPGS brings in) is not in the VMCS and keeps the guest's value in root.
 * - IA32_PERF_GLOBAL_CTRL (architectural performance monitoring version >= 2,
 *   SDM Vol. 3B 21.2.2): 0 stops every counter, so no PMI and no PEBS record
 *   (which holds the general registers) in the view.
 *
 * MOV-DR exiting (primary processor-based control bit 23, SDM Vol. 3C
 * 25.6.2) is on in the view: a ring-0 MOV to/from a DR exits (hv_app.mov_dr);
 * at ring 3 it is #GP before any exit (26.1.1), which the view intercepts.
 */
#include "hw/hw.h"
#include "libvmx/vmx_caps.h"
#include "libvmx/vmx_internal.h"
#include "rt/layout.h"

#define DR6_INIT          0xffff0ff0ull /* no status bits (SDM Vol. 3A 9.1.1 Table 9-1) */
#define DR7_INIT          0x400ull
#define CPUID_PERFMON     0xau
#define PERFMON_VERSION_2 2u

/* One CPU's saved OS state, valid while its view is active. */
struct debug_cpu {
	uint64_t dr[4], dr6, dr7, debugctl, pending_dbg;
	uint64_t fs_base, gs_base, kernel_gs_base;
	uint64_t perf_global_ctrl;
	bool perfmon;    /* IA32_PERF_GLOBAL_CTRL exists and was saved */
	bool mov_dr_set; /* MOV-DR exiting was turned on here */
};
static struct debug_cpu dbg[HV_MAX_CPUS];

static bool has_perf_global_ctrl(void)
{
	struct hw_cpuid_regs r;
	hw_cpuid(0, 0, &r);
	if (r.eax < CPUID_PERFMON)
		return false;
	hw_cpuid(CPUID_PERFMON, 0, &r);
	return (r.eax & 0xffu) >= PERFMON_VERSION_2;
}

/* Can this CPU set MOV-DR exiting (allowed-1 half, SDM Vol. 3D A.3.2)? */
static bool mov_dr_exiting_allowed(void)
{
	return (vmx_bsp_cap_msrs()->proc >> 32) & PROC_MOV_DR_EXITING;
}

void vmx_view_debug_clean(struct vcpu *v)
{
	struct debug_cpu *d = &dbg[v->cpu];

	for (unsigned i = 0; i < 4; i++) {
		d->dr[i] = hw_read_dr(i);
		hw_write_dr(i, 0);
	}
	d->dr6 = hw_read_dr(6);
	hw_write_dr(6, DR6_INIT);
	d->dr7 = vmcs_readnat(VMCS_GUEST_DR7);
	vmcs_writenat(VMCS_GUEST_DR7, DR7_INIT);
	d->debugctl = vmcs_read64(VMCS_GUEST_IA32_DEBUGCTL);
	vmcs_write64(VMCS_GUEST_IA32_DEBUGCTL, 0); /* LBR, BTF, TR, BTS off */
	d->pending_dbg = vmcs_readnat(VMCS_GUEST_PENDING_DBG_EXCEPTIONS);
	vmcs_writenat(VMCS_GUEST_PENDING_DBG_EXCEPTIONS, 0);

	d->fs_base = vmcs_readnat(VMCS_GUEST_FS_BASE);
	d->gs_base = vmcs_readnat(VMCS_GUEST_GS_BASE);
	d->kernel_gs_base = hw_rdmsr(MSR_IA32_KERNEL_GS_BASE);
	vmcs_writenat(VMCS_GUEST_FS_BASE, 0);
	vmcs_writenat(VMCS_GUEST_GS_BASE, 0);
	hw_wrmsr(MSR_IA32_KERNEL_GS_BASE, 0);

	d->perfmon = has_perf_global_ctrl();
	if (d->perfmon) {
		d->perf_global_ctrl = hw_rdmsr(MSR_IA32_PERF_GLOBAL_CTRL);
		hw_wrmsr(MSR_IA32_PERF_GLOBAL_CTRL, 0);
	}

	uint32_t proc = vmcs_read32(VMCS_PRIMARY_PROC_CONTROLS);
	d->mov_dr_set = !(proc & PROC_MOV_DR_EXITING) && mov_dr_exiting_allowed();
	if (d->mov_dr_set)
		vmcs_write32(VMCS_PRIMARY_PROC_CONTROLS, proc | PROC_MOV_DR_EXITING);
}

void vmx_view_debug_restore(struct vcpu *v)
{
	struct debug_cpu *d = &dbg[v->cpu];

	for (unsigned i = 0; i < 4; i++)
		hw_write_dr(i, d->dr[i]);
	hw_write_dr(6, d->dr6);
	vmcs_writenat(VMCS_GUEST_DR7, d->dr7);
	vmcs_write64(VMCS_GUEST_IA32_DEBUGCTL, d->debugctl);
	vmcs_writenat(VMCS_GUEST_PENDING_DBG_EXCEPTIONS, d->pending_dbg);
	vmcs_writenat(VMCS_GUEST_FS_BASE, d->fs_base);
	vmcs_writenat(VMCS_GUEST_GS_BASE, d->gs_base);
	hw_wrmsr(MSR_IA32_KERNEL_GS_BASE, d->kernel_gs_base);
	if (d->perfmon)
		hw_wrmsr(MSR_IA32_PERF_GLOBAL_CTRL, d->perf_global_ctrl);
	/* Only our bit: libvmx may have changed others (NMI-window exiting). */
	if (d->mov_dr_set)
		vmcs_write32(VMCS_PRIMARY_PROC_CONTROLS,
		             vmcs_read32(VMCS_PRIMARY_PROC_CONTROLS) & ~PROC_MOV_DR_EXITING);
	d->mov_dr_set = false;
}
