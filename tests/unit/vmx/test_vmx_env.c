#include "tests/unit/vmx/test_vmx_env.h"

static uint64_t eptp; /* one EPT for the process, like the bitmaps */

void env_setup(uint32_t ncpus)
{
	fixture_setup(ncpus, NULL);
}

struct vcpu *env_guest(uint32_t ncpus, const struct hv_app *app)
{
	return env_guest_booted(ncpus, app, NULL);
}

struct vcpu *env_guest_booted(uint32_t ncpus, const struct hv_app *app, void (*boot)(void))
{
	env_setup(ncpus);
	if (!eptp)
		eptp = fixture_build_ept();
	return fixture_guest(ncpus, app, eptp, boot);
}

uint64_t env_eptp(void)
{
	return eptp;
}
