/*
 * libvmx public API: what core/ and the apps call.
 *
 * Boot order (core/): vmx_supported() and vmx_print_caps() on the BSP;
 * vmx_set_app(); vmx_cpu_init(cpu) on every CPU (BSP first); then
 * vmx_launch_guest() on every CPU, which never returns.
 */
#ifndef LIBVMX_VMX_H
#define LIBVMX_VMX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "libvmx/vcpu_public.h"
#include "libvmx/vmx_app.h"
#include "libvmx/vmx_guest.h"
#include "libvmx/vmx_view.h"

/*
 * BSP only. True if this CPU can run the library; otherwise `why` says what is
 * missing (first CPUID.1:ECX.VMX, then IA32_FEATURE_CONTROL, then every
 * missing must-have feature by name). Sets and locks IA32_FEATURE_CONTROL if
 * the firmware left it unlocked.
 */
bool vmx_supported(char *why, size_t n);
/* Prints "hv: vmx: ept=yes unrestricted-guest=yes ... preemption-timer=yes". */
void vmx_print_caps(void);

/* The app whose callbacks the library calls (NULL callbacks = defaults). */
void vmx_set_app(const struct hv_app *app);
const struct hv_app *vmx_app(void);

/*
 * VMXON on the calling CPU (index `cpu`), after checking that its VMX
 * capabilities equal the BSP's (panics naming the CPU and the difference).
 * Allocates the CPU's VMCS and exit stack and makes the VMCS current.
 * Returns 0, or -1 after printing why VMXON failed.
 */
int vmx_cpu_init(uint32_t cpu);

/*
 * Sets up this CPU's VMCS (controls, host state, guest state) and enters the
 * guest: the boot CPU in real mode at 0000:7C00 with DL=0x80, the others in
 * the wait-for-SIPI state (the guest starts them with its own INIT-SIPI-SIPI).
 */
_Noreturn void vmx_launch_guest(uint32_t cpu, bool boot_cpu, uint64_t eptp);

/* "hv: cpu <n> exits: <reason>=<count> ..." for every CPU that has exited. */
void vmx_print_exit_counters(void);

/* ---- events (docs/design.md section 3; rules in docs/libvmx.md) ---- */

/* Queue a hardware exception for the guest (injected at the next VM entry). */
void vmx_queue_exception(struct vcpu *v, uint8_t vector, bool has_error, uint32_t error_code);
/* The app's guest_may_take_nmi() answer may have become yes: decide again at
 * the next VM entry. Call on v's CPU (from an exit handler). */
void vmx_event_app_unblocked(struct vcpu *v);
/*
 * Drops what the exit being handled left to deliver at the next entry: a
 * re-injected event and a queued exception (an app that ended what the guest
 * was doing, e.g. a PAL call, so that nothing meant for it reaches the OS).
 * Pending NMIs stay: they are the guest's and are never dropped.
 */
void vmx_discard_pending_events(struct vcpu *v);
/* Called for every NMI this CPU takes (root-mode NMI or NMI VM exit). */
void vmx_nmi_arrived(void);
#ifdef HV_NMI_SWEEP
/*
 * NMI sweep images only (--config=nmi_sweep, core/nmi_sweep.c): a probe told,
 * for every NMI that becomes a guest NMI, where it landed: in the guest (RIP =
 * guest RIP, v = its vcpu), in the guest while the app held NMIs (a PAL), or
 * in root mode (RIP = the hypervisor instruction it interrupted, v = NULL).
 * exit_reason: the basic reason of the VM exit this CPU was handling (root
 * mode; the current VMCS's field, valid from the exit to the next entry),
 * VMX_EXIT_EXCEPTION_NMI for an NMI exit, VMX_NMI_NO_EXIT before the first.
 * Called in NMI context (host) or the NMI exit: per-CPU stores only.
 */
enum vmx_nmi_where { VMX_NMI_AT_GUEST = 1, VMX_NMI_AT_HELD = 2, VMX_NMI_AT_HOST = 3 };
#define VMX_NMI_NO_EXIT 0xffu
typedef void (*vmx_nmi_probe_fn)(struct vcpu *v, enum vmx_nmi_where where, uint64_t rip,
                                 uint32_t exit_reason);
void vmx_set_nmi_probe(vmx_nmi_probe_fn fn);
#endif

/*
 * A library that signals CPUs with NMIs (libquiesce) registers a filter: it is
 * called first for every NMI and returns true if the NMI was its own signal,
 * which then does not become a guest NMI. Must only touch per-CPU atomics.
 */
void vmx_set_nmi_filter(bool (*is_own_signal)(void));

/*
 * Transition hooks (transition_hooks.c). One after-exit hook, for a library
 * that must see every exit first (libquiesce: quiesce_cpu_online()); it runs
 * before the exit is counted or dispatched. NULL = none.
 */
void vmx_set_after_exit_hook(void (*after_exit)(struct vcpu *v));
/*
 * Before-entry hooks: every one runs before every VM entry of every CPU (the
 * first one included), in registration order, before the injection point.
 * core/boot.c registers libquiesce's (quiesce_poll(), or quiesce_cpu_offline()
 * before an entry into wait-for-SIPI) and then the app's hv_app.before_entry.
 * Register on the boot CPU before any CPU enters the guest; more than
 * VMX_MAX_BEFORE_ENTRY_HOOKS, a NULL hook or a registration after the first
 * VM entry panics.
 */
#define VMX_MAX_BEFORE_ENTRY_HOOKS 4
void vmx_add_before_entry_hook(void (*before_entry)(struct vcpu *v));

/*
 * Toolkit hypercalls (core/debug_hypercall.c): one function that sees every
 * guest VMCALL first, before the app's hypercall callback, so the toolkit's
 * own reserved numbers work in every image. It returns true if it handled the
 * call (the library then advances RIP past VMCALL), false to pass it on to the
 * app. NULL = none. Set once, on the boot CPU, before any guest runs.
 */
void vmx_set_toolkit_hypercall(bool (*handler)(struct vcpu *v));

/* ---- stopping the guest (guest_stop.c) ---- */

/*
 * The guest did something with no sensible answer (neither hardware's nor an
 * emulation's): prints "hv: guest stopped on CPU <n>: <why>" and the VMCS and
 * exit counters, runs the app's shutdown callback and powers off. Breaks the
 * console lock first (a CPU parked by quiesce may hold it). Never hv_panic for
 * guest input: hv_panic is for the hypervisor's own broken invariants.
 */
_Noreturn void vmx_guest_stop(struct vcpu *v, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* ---- intercepts (shared by all CPUs; register before or in app->boot) ---- */

/* An I/O handler: `*value` is the data (written for IN). Return false to let
 * the library forward the access to the real port. */
typedef bool (*vmx_io_handler)(struct vcpu *v, uint16_t port, bool in, unsigned size,
                               uint32_t *value);
/* An MSR handler: `*value` is the data (written for RDMSR). Return false to
 * inject #GP(0). */
typedef bool (*vmx_msr_handler)(struct vcpu *v, uint32_t msr, bool write, uint64_t *value);
/* Returns 0, or -1 if the table is full or the port/MSR cannot be intercepted. */
int vmx_intercept_io(uint16_t port, vmx_io_handler h);
int vmx_intercept_msr(uint32_t msr, vmx_msr_handler h);
/* The ACPI FADT's reset register is I/O port `port` with RESET_VALUE `value`:
 * a guest write of that value there scrubs (the app's shutdown hook) before it
 * resets, like the chipset's other reset ports (guest_reset.c). */
void vmx_guest_reset_watch_port(uint16_t port, uint8_t value);
/* The FADT's PM1a/PM1b control blocks (I/O ports, 0 = none): a guest write
 * setting SLP_EN (sleep, soft power-off) runs the app's shutdown hook first. */
void vmx_guest_reset_watch_pm1(uint16_t pm1a, uint16_t pm1b);
/* Show CPUID.1:ECX[31] (hypervisor present) to the guest; default: hidden. */
void vmx_cpuid_show_hypervisor(bool show);

#endif /* LIBVMX_VMX_H */
