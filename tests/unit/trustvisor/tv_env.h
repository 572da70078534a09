/*
 * A fake machine for the TrustVisor tests: CPUs with VMX on and a guest
 * prepared by libvmx with TrustVisor as the app, and simulated VM exits that
 * go through libvmx's real dispatch and injection point.
 */
#ifndef TESTS_UNIT_TRUSTVISOR_TV_ENV_H
#define TESTS_UNIT_TRUSTVISOR_TV_ENV_H

#include <stdint.h>

#include "core/hv_app.h"
#include "hw/fake/fake_hw.h"
#include "libvmx/vcpu.h"

/* Builds a guest EPT view (RAM 0..256 MiB) into tvf_eptp and prepares the guest. */
struct vcpu *env_guest(uint32_t ncpus, const struct hv_app *app);

struct exit_fields {
	uint32_t reason;
	uint64_t qualification;
	uint32_t instruction_len;
	uint32_t intr_info, intr_error;
	uint32_t idt_info, idt_error;
	uint64_t gpa;
};
/* Writes the exit fields (others 0), clears the entry interruption info as a
 * VM entry would, and runs vmx_handle_exit(). */
void env_exit(struct vcpu *v, const struct exit_fields *f);

uint64_t vmcs_get(uint32_t encoding);
void vmcs_set(uint32_t encoding, uint64_t value);

#endif
