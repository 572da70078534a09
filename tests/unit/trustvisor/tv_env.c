/* The fake machine of tv_env.h. */
#include "tests/unit/trustvisor/tv_env.h"

#include "hw/hw.h"
#include "libvmx/vmx.h"
#include "tests/unit/trustvisor/fake_platform.h"

static void tv_machine(void)
{
	/* Entropy for the micro-TPM: RDSEED (CPUID.7:EBX[18]) with scripted values. */
	struct hw_cpuid_regs l7;
	hw_cpuid(7, 0, &l7);
	l7.ebx |= 1u << 18;
	fake_cpuid_set(7, 0, &l7);
	fake_rng_set(0x5eed, 0, 0);
	/* EPT capabilities: 4-level walk, WB, 2 MiB pages, INVEPT (SDM A.10). */
	fake_msr_set(0x48C, fake_msr_get(0x48C) | (1ull << 6) | (1ull << 14) | (1ull << 16) |
	                        (1ull << 20) | (1ull << 25) | (1ull << 26));
}

static const struct hv_app *booting;

/* As core/boot.c does: the app's before-entry hook in libvmx's chain. */
static void register_app_hooks(void)
{
	if (booting->before_entry)
		vmx_add_before_entry_hook(booting->before_entry);
}

struct vcpu *env_guest(uint32_t ncpus, const struct hv_app *app)
{
	fixture_setup(ncpus, tv_machine);
	tvf_eptp = fixture_build_ept();
	booting = app;
	return fixture_guest(ncpus, app, tvf_eptp, app ? register_app_hooks : NULL);
}
