/*
 * Stopping the guest for good: the one way libvmx (and the libraries above it)
 * end a run because of something the guest did that neither hardware nor the
 * hypervisor has a sensible answer for. hv_panic stays for the hypervisor's
 * own broken invariants; guest input never reaches it (issue 11.4).
 */
#include <stdarg.h>

#include "hw/hw.h"
#include "libvmx/vmx_internal.h"
#include "rt/console.h"
#include "rt/power.h"

#ifndef HV_HOST
/* Set by the first CPU that stops the guest; any later one just halts. */
static uint32_t stopping;
#endif

static _Noreturn void stop(struct vcpu *v, uint8_t code, const char *fmt, va_list ap)
{
#ifndef HV_HOST
	if (__atomic_exchange_n(&stopping, 1, __ATOMIC_ACQ_REL)) {
		/* Another CPU is already stopping the machine: its report wins. */
		for (;;) {
			hw_cli();
			hw_halt();
		}
	}
#endif
	/*
	 * A CPU parked by a quiesce round may hold the console lock (it parks
	 * inside its NMI handler): take and release it the way a panic does,
	 * which breaks it after a bounded wait.
	 */
	console_lock_for_panic();
	console_unlock();

	char why[192];
	hv_vsnprintf(why, sizeof(why), fmt, ap);
	hv_printf("hv: guest stopped on CPU %u: %s\n", v->cpu, why);
	vmx_dump_vmcs();
	vmx_print_exit_counters();
	const struct hv_app *app = vmx_app();
	if (app && app->shutdown)
		app->shutdown(v);
	hv_power_off(code);
}

_Noreturn void vmx_guest_stop(struct vcpu *v, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	stop(v, VMX_POWER_OFF_GUEST_STOPPED, fmt, ap);
}

_Noreturn void vmx_guest_stop_code(struct vcpu *v, uint8_t code, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	stop(v, code, fmt, ap);
}
