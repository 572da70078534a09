/*
 * The libvmx core tests' machine: vmx_fixture.h with one EPT for the process.
 */
#ifndef TESTS_UNIT_VMX_TEST_VMX_ENV_H
#define TESTS_UNIT_VMX_TEST_VMX_ENV_H

#include "tests/unit/vmx/vmx_fixture.h"

/* fixture_setup(ncpus) with the fake hardware's defaults. */
void env_setup(uint32_t ncpus);
/* env_setup(n), then the guest prepared on each CPU (CPU 0 boot CPU). */
struct vcpu *env_guest(uint32_t ncpus, const struct hv_app *app);
/* env_guest() with `boot` run after env_setup() and before the guests are
 * prepared (their first entry), where core/boot.c registers libvmx hooks. */
struct vcpu *env_guest_booted(uint32_t ncpus, const struct hv_app *app, void (*boot)(void));

/* The EPT env_guest() runs the guests with (built once per process). */
uint64_t env_eptp(void);

#endif
