/*
 * The fake machine every libvmx-level host test runs on (libvmx tests and
 * TrustVisor tests): fake hardware with physical memory for the page
 * allocator, per-CPU data, GDT/TSS, VMX on, guests prepared by libvmx, and
 * simulated VM exits through libvmx's real dispatch and injection point.
 * Each suite wraps it in its own env_guest() (test_vmx_env.h, tv_env.h).
 */
#ifndef TESTS_UNIT_VMX_VMX_FIXTURE_H
#define TESTS_UNIT_VMX_VMX_FIXTURE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "libvmx/vmx_app.h"
#include "hw/fake/fake_hw.h"
#include "libvmx/vcpu.h"

/*
 * Resets the fake machine, runs `machine` (extra CPUID leaves, MSRs, RNG
 * values; NULL = none), sets up CPUs 0 .. ncpus-1 (per-CPU data, GDT with a
 * TSS) with no app, NMI filter or transition hooks, VMX on (vmx_supported on
 * CPU 0, vmx_cpu_init on each), and leaves CPU 0 current.
 */
void fixture_setup(uint32_t ncpus, void (*machine)(void));
/*
 * After fixture_setup(): sets `app`, runs `boot` (where core/boot.c registers
 * libvmx hooks; NULL = none), prepares the guest on each CPU (CPU 0 the boot
 * CPU) with `eptp` -- its first VM entry -- and returns CPU 0's vcpu, current.
 */
struct vcpu *fixture_guest(uint32_t ncpus, const struct hv_app *app, uint64_t eptp,
                           void (*boot)(void));
/* A new EPT identity-mapping RAM 0 .. 256 MiB (ept_build). */
uint64_t fixture_build_ept(void);

/* Simulates a VM exit on the current CPU: writes the exit fields into its VMCS
 * (others 0), clears the entry interruption info as a VM entry would, and runs
 * vmx_handle_exit(). */
struct exit_fields {
	uint32_t reason;
	uint64_t qualification;
	uint32_t instruction_len;
	uint32_t intr_info, intr_error;
	uint32_t idt_info, idt_error;
	uint64_t gpa;
};
void env_exit(struct vcpu *v, const struct exit_fields *f);

/* VMCS field of the current CPU's current VMCS. */
uint64_t vmcs_get(uint32_t encoding);
void vmcs_set(uint32_t encoding, uint64_t value);

/* What the code under test printed on COM1 since the last call (NUL-terminated). */
const char *env_console(void);

/* Puts the current guest in 32-bit protected mode (CR0.PE=1), where exceptions
 * carry error codes. */
void env_protected_mode(void);

#endif
