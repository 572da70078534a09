/*
 * VMX capabilities: the capability MSRs, and the control words computed from
 * them (SDM Vol. 3D Appendix A). The computation is a pure function of the MSR
 * values so it is unit-tested on the host with any CPU's numbers.
 */
#ifndef LIBVMX_VMX_CAPS_H
#define LIBVMX_VMX_CAPS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Raw values of every MSR the computation reads. */
struct vmx_cap_msrs {
	uint64_t basic;
	uint64_t pin;   /* IA32_VMX_[TRUE_]PINBASED_CTLS, whichever applies */
	uint64_t proc;  /* IA32_VMX_[TRUE_]PROCBASED_CTLS */
	uint64_t proc2; /* IA32_VMX_PROCBASED_CTLS2 (0 if no secondary controls) */
	uint64_t exit;  /* IA32_VMX_[TRUE_]EXIT_CTLS */
	uint64_t entry; /* IA32_VMX_[TRUE_]ENTRY_CTLS */
	uint64_t misc;
	uint64_t ept_vpid; /* IA32_VMX_EPT_VPID_CAP (0 if neither EPT nor VPID) */
	uint64_t cr0_fixed0, cr0_fixed1;
	uint64_t cr4_fixed0, cr4_fixed1;
};

/* What the library runs with: one per machine (every CPU must agree). */
struct vmx_config {
	uint32_t revision_id;
	uint32_t pin, proc, proc2, exit, entry; /* (wanted | allowed0) & allowed1 */
	bool preemption_timer;                  /* pin control may be set by apps */
	bool monitor_trap_flag;                 /* proc control bit 27 may be set (single_step.c) */
	uint64_t misc, ept_vpid;
	uint64_t cr0_fixed0, cr0_fixed1, cr4_fixed0, cr4_fixed1;
};

/* Reads the MSRs on the calling CPU (TRUE_* controls when BASIC bit 55 is set). */
void vmx_caps_read(struct vmx_cap_msrs *out);

/*
 * Computes the control words. Returns false, with `why` naming every missing
 * must-have feature, if the CPU cannot run the library.
 */
bool vmx_caps_compute(const struct vmx_cap_msrs *m, struct vmx_config *out, char *why, size_t n);

/* Names the first MSR that differs between two CPUs into `buf`; false if equal. */
bool vmx_caps_diff(const struct vmx_cap_msrs *a, const struct vmx_cap_msrs *b, char *buf, size_t n);

/* The capability summary printed by vmx_print_caps() (yes/no per feature). */
void vmx_caps_format(const struct vmx_cap_msrs *m, char *buf, size_t n);

/* The machine's configuration, valid after vmx_supported() returned true. */
const struct vmx_config *vmx_config(void);
/* The BSP's MSR values, for the per-AP comparison. */
const struct vmx_cap_msrs *vmx_bsp_cap_msrs(void);

/* One allowed-settings MSR applied to a wanted word (SDM A.3). */
static inline uint32_t vmx_ctl_adjust(uint64_t cap_msr, uint32_t wanted)
{
	uint32_t allowed0 = (uint32_t)cap_msr, allowed1 = (uint32_t)(cap_msr >> 32);
	return (wanted | allowed0) & allowed1;
}

#endif /* LIBVMX_VMX_CAPS_H */
