/*
 * Shared set-up for the libvmx core tests: a fake machine with physical memory
 * for the page allocator, per-CPU data, GDT/TSS, VMX on and a current VMCS.
 */
#ifndef TESTS_UNIT_VMX_TEST_VMX_ENV_H
#define TESTS_UNIT_VMX_TEST_VMX_ENV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/hv_app.h"
#include "hw/fake/fake_hw.h"
#include "libvmx/vcpu.h"

/* Resets the fake machine, sets up CPUs 0 .. ncpus-1 with VMX on (vmx_supported on
 * CPU 0, vmx_cpu_init on each) and leaves CPU 0 current. */
void env_setup(uint32_t ncpus);
/* env_setup(n), then the guest prepared on each CPU (CPU 0 boot CPU). */
struct vcpu *env_guest(uint32_t ncpus, const struct hv_app *app);
/* env_guest() with `boot` run after env_setup() and before the guests are
 * prepared (their first entry), where core/boot.c registers libvmx hooks. */
struct vcpu *env_guest_booted(uint32_t ncpus, const struct hv_app *app, void (*boot)(void));

/* The EPT env_guest() runs the guests with (built once per process). */
uint64_t env_eptp(void);

/* Simulates a VM exit on the current CPU: writes the exit fields into its VMCS
 * and runs vmx_handle_exit(). Fields not given are 0. */
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
