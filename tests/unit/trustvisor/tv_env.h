/*
 * The TrustVisor tests' machine: the shared fake machine
 * (tests/unit/vmx/vmx_fixture.h, which also gives env_exit, vmcs_get/set)
 * with RDSEED for the micro-TPM, EPT capabilities for PAL views, and a fresh
 * guest EPT view per test in tvf_eptp. Tests linking tv_env.c depend on
 * //tests/unit/vmx:vmx_fixture.
 */
#ifndef TESTS_UNIT_TRUSTVISOR_TV_ENV_H
#define TESTS_UNIT_TRUSTVISOR_TV_ENV_H

#include <stdint.h>

#include "tests/unit/vmx/vmx_fixture.h"

/* Builds a guest EPT view (RAM 0..256 MiB) into tvf_eptp and prepares the guest. */
struct vcpu *env_guest(uint32_t ncpus, const struct hv_app *app);

#endif
