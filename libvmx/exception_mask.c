/*
 * The exception bitmap's one owner (vmx_view.h): per CPU, the app's static
 * bitmap, the vectors it requested and, in an isolated view, all of them.
 * Nothing else in the tree writes VMCS_EXCEPTION_BITMAP (SDM Vol. 3C 25.6.3:
 * bit n set = exception n exits; #PF further filtered by the error-code
 * mask/match, which libvmx leaves at 0/0 so a set bit 14 means every #PF).
 */
#include "hw/hw.h"
#include "libvmx/vmx_internal.h"
#include "rt/layout.h"

static uint32_t requested[HV_MAX_CPUS];
static bool all[HV_MAX_CPUS];

static void write_bitmap(struct vcpu *v)
{
	vmcs_write32(VMCS_EXCEPTION_BITMAP, vmx_exceptions_intercepted(v));
}

uint32_t vmx_exceptions_intercepted(struct vcpu *v)
{
	const struct hv_app *app = vmx_app();
	if (all[v->cpu])
		return 0xffffffffu;
	return requested[v->cpu] | (app ? app->exception_bitmap : 0);
}

void vmx_exceptions_request(struct vcpu *v, uint32_t vectors)
{
	requested[v->cpu] |= vectors;
	write_bitmap(v);
}

void vmx_exceptions_release(struct vcpu *v, uint32_t vectors)
{
	requested[v->cpu] &= ~vectors;
	write_bitmap(v);
}

void vmx_exceptions_intercept_all(struct vcpu *v, bool on)
{
	all[v->cpu] = on;
	write_bitmap(v);
}

void vmx_exceptions_reset(struct vcpu *v)
{
	requested[v->cpu] = 0;
	all[v->cpu] = false;
	write_bitmap(v);
}
