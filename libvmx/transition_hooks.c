/*
 * What runs on every guest/host transition besides the exit handler: one
 * after-exit hook (libquiesce, through core/quiesce_wiring.c) and a short
 * chain of before-entry hooks, then the injection point.
 *
 * The chain is a fixed array filled on the boot CPU before any CPU enters the
 * guest (core/boot.c), so every CPU reads it without a lock: the other CPUs
 * only start reading after the boot CPU released guest memory to them.
 * Hooks run in registration order; core registers libquiesce's first, so a
 * later hook (the app's) sees the state a quiesce round left behind.
 */
#include "libvmx/vmx_internal.h"
#include "rt/panic.h"

static void (*after_exit_hook)(struct vcpu *v);
static void (*before_entry_hooks[VMX_MAX_BEFORE_ENTRY_HOOKS])(struct vcpu *v);
static unsigned before_entry_count;
/* Set by the first VM entry of any CPU: registering after it is a bug. */
static bool entries_started;

void vmx_set_after_exit_hook(void (*after_exit)(struct vcpu *v))
{
	after_exit_hook = after_exit;
}

void vmx_add_before_entry_hook(void (*before_entry)(struct vcpu *v))
{
	if (!before_entry)
		hv_panic("vmx_add_before_entry_hook: NULL hook");
	if (__atomic_load_n(&entries_started, __ATOMIC_RELAXED))
		hv_panic("vmx_add_before_entry_hook: registered after the first VM entry "
		         "(hooks are registered at boot only)");
	if (before_entry_count == VMX_MAX_BEFORE_ENTRY_HOOKS)
		hv_panic("vmx_add_before_entry_hook: more than %u before-entry hooks",
		         (unsigned)VMX_MAX_BEFORE_ENTRY_HOOKS);
	before_entry_hooks[before_entry_count++] = before_entry;
}

void vmx_run_after_exit_hook(struct vcpu *v)
{
	if (after_exit_hook)
		after_exit_hook(v);
}

void vmx_before_entry(struct vcpu *v)
{
	/* A plain load first: after boot the flag is never written again, so
	 * CPUs do not keep bouncing its cache line. */
	if (!__atomic_load_n(&entries_started, __ATOMIC_RELAXED))
		__atomic_store_n(&entries_started, true, __ATOMIC_RELAXED);
	vmx_guest_apic_before_entry(v);
	for (unsigned i = 0; i < before_entry_count; i++)
		before_entry_hooks[i](v);
	vmx_inject_pending_events(v);
	vmx_single_step_before_entry(v);
}

#ifdef HV_HOST
void vmx_transition_hooks_reset(void)
{
	after_exit_hook = NULL;
	before_entry_count = 0;
	entries_started = false;
}
#endif
