/* hv_panic and the panic hook (rt/panic.h). */
#include "rt/panic.h"

#include <stdint.h>

#include "hw/hw.h"
#include "rt/console.h"
#include "rt/layout.h"
#include "rt/percpu.h"

#ifdef HV_HOST
#include "rt/host_stop.h"
#endif

static void (*panic_hook)(void);
/* Per CPU: how many panics are in progress (a fault in the hook nests). */
static uint32_t panic_depth[HV_MAX_CPUS];
static char reason[256];

void rt_set_panic_hook(void (*hook)(void))
{
	__atomic_store_n(&panic_hook, hook, __ATOMIC_RELEASE);
}

const char *rt_panic_reason(void)
{
	return reason;
}

static uint32_t *depth_of_this_cpu(void)
{
	uint32_t cpu = rt_cpu_index();
	return &panic_depth[cpu < HV_MAX_CPUS ? cpu : 0];
}

static void panic_vbegin(const char *fmt, va_list ap)
{
	(*depth_of_this_cpu())++;
	/* Shared buffer: if two CPUs panic at once, the message printed below is
	 * still each CPU's own; only rt_panic_reason() may mix them. */
	hv_vsnprintf(reason, sizeof(reason), fmt, ap);
	console_lock_for_panic();
	hv_printf_locked("PANIC on CPU %u: %s\n", rt_cpu_index(), reason);
}

void rt_panic_begin(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	panic_vbegin(fmt, ap);
	va_end(ap);
}

_Noreturn void rt_panic_end(void)
{
	uint32_t *depth = depth_of_this_cpu();
	console_unlock();
	console_notes_flush(); /* the start-up details, for the report */
	void (*hook)(void) = __atomic_load_n(&panic_hook, __ATOMIC_ACQUIRE);
	if (hook != NULL && *depth == 1)
		hook();
	hv_printf("hv: CPU %u halted after a panic\n", rt_cpu_index());
#ifdef HV_HOST
	*depth = 0;
	rt_host_stop(reason);
#else
	for (;;) {
		hw_cli();
		hw_halt();
	}
#endif
}

_Noreturn void hv_panic(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	panic_vbegin(fmt, ap);
	va_end(ap);
	rt_panic_end();
}
