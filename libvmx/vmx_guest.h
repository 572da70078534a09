/*
 * Guest state an app reads or sets, named for what it means (guest_state.c),
 * and the host state an app may have to refresh. Apps never read or write
 * the VMCS themselves: every call here is for the calling CPU's vcpu (`v`
 * must be the vcpu of the CPU that runs the code, whose VMCS is current),
 * as in an exit handler or a hook.
 *
 * SDM citations follow the 2023 and later editions (Vol. 3C chapter 25 VMCS,
 * 27 VM entries, 28 VM exits), docs/design.md section 7.
 */
#ifndef LIBVMX_VMX_GUEST_H
#define LIBVMX_VMX_GUEST_H

#include <stdbool.h>
#include <stdint.h>

#include "libvmx/vcpu_public.h"

/* ---- the vcpu itself ---- */

/* The CPU index of v (0 .. HV_MAX_CPUS-1): per-CPU tables of an app. */
uint32_t vmx_vcpu_index(const struct vcpu *v);
/* v is the boot CPU's (the one that entered the guest at 0000:7C00). */
bool vmx_vcpu_is_boot(const struct vcpu *v);
/* The EPT pointer v's guest was launched with: the OS's view (an app's own
 * views are made from it, libvmx/ept.h). */
uint64_t vmx_vcpu_guest_eptp(const struct vcpu *v);

/* ---- guest registers (VMCS guest-state area, SDM Vol. 3C 25.4.1) ---- */

uint64_t vmx_guest_rip(struct vcpu *v);
uint64_t vmx_guest_rsp(struct vcpu *v);
/* Where the guest resumes at the next VM entry, and its stack pointer. */
void vmx_guest_set_rip(struct vcpu *v, uint64_t rip);
void vmx_guest_set_rsp(struct vcpu *v, uint64_t rsp);
/* The control registers as the CPU uses them (the VMCS guest fields, not the
 * read shadows), and IA32_EFER. */
uint64_t vmx_guest_cr0(struct vcpu *v);
uint64_t vmx_guest_cr3(struct vcpu *v);
uint64_t vmx_guest_cr4(struct vcpu *v);
uint64_t vmx_guest_efer(struct vcpu *v);
/* The guest runs 64-bit code: IA-32e mode active (EFER.LMA) and CS.L set
 * (SDM Vol. 3A 5.2.1: compatibility mode has CS.L = 0). */
bool vmx_guest_in_64bit_mode(struct vcpu *v);

/* ---- the exit being handled (read once per exit) ---- */

/* Its exit qualification (SDM Vol. 3C 28.2.1): for an exception exit of #PF,
 * the faulting linear address. */
uint64_t vmx_exit_qualification(const struct vcpu *v);
/* An EPT violation's guest linear address: true and *gla if the exit
 * qualification says it is valid (bit 7, SDM Vol. 3C 28.2.1 Table 28-7),
 * false otherwise (an access with no linear address, e.g. a paging-structure
 * access the CPU made without one). */
bool vmx_ept_violation_linear(struct vcpu *v, uint64_t *gla);

/* ---- host state ---- */

/*
 * The host-state fields libvmx took from the registers when it set up v's
 * VMCS (CR0, CR4, FS base: SDM Vol. 3C 25.5, loaded on every VM exit, 28.5.1)
 * read again from the registers: an app that changed CR0 or CR4 (e.g. to use
 * SSE in root) or IA32_FS_BASE on this CPU calls it once, or the next VM exit
 * would put the old values back.
 */
void vmx_host_state_refresh(struct vcpu *v);

#endif /* LIBVMX_VMX_GUEST_H */
