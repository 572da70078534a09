/*
 * The app interface: the one header an app includes. It belongs to libvmx,
 * which calls through it; core/ only registers the image's table.
 *
 * An app is a name plus a table of callbacks, linked into its own image
 * (apps/<name>/). The libraries never name an app: core/ registers the image's
 * `hv_app` with libvmx at boot, and libvmx calls through the table. Every
 * callback is optional (NULL = the library default).
 */
#ifndef LIBVMX_VMX_APP_H
#define LIBVMX_VMX_APP_H

#include <stdbool.h>
#include <stdint.h>

struct vcpu; /* libvmx/vcpu.h */

/* What to do after an EPT violation the app was shown. */
enum hv_ept_action {
	HV_EPT_UNHANDLED = 0, /* library default: report and inject #GP(0) */
	HV_EPT_RETRY,         /* app fixed the mapping; re-execute the access */
	HV_EPT_HANDLED,       /* app emulated it and advanced guest RIP */
};

struct hv_app {
	const char *name;
	/* Exceptions (bit per vector) the app always wants to see as VM exits;
	 * more per CPU, for a while: vmx_exceptions_request (vmx_view.h). */
	uint32_t exception_bitmap;

	/* Once per CPU, after its VMCS is set up, before its first VM entry. */
	void (*boot)(struct vcpu *v);
	/* VMCALL. Returns true if handled (guest RIP is then advanced past VMCALL);
	 * false makes the library inject #UD, as hardware does with no VMM. */
	bool (*hypercall)(struct vcpu *v);
	/* EPT violation at guest-physical `gpa` (qualification per SDM Vol. 3C 29.3.3.2). */
	enum hv_ept_action (*ept_violation)(struct vcpu *v, uint64_t gpa, uint64_t qualification);
	/* An exception in exception_bitmap. Return true if handled. */
	bool (*exception)(struct vcpu *v, uint8_t vector, uint32_t error_code);
	/*
	 * MOV to/from a debug register (basic exit reason 29, qualification per
	 * SDM Vol. 3C 28.2.1 Table 28-4): only apps that set "MOV-DR exiting"
	 * (primary processor-based control bit 23) see it. Return true if handled
	 * (the app then set RIP and any event); NULL or false: libvmx executes the
	 * instruction against the guest's debug registers, as hardware would.
	 */
	bool (*mov_dr)(struct vcpu *v);
	/*
	 * The event question (docs/design.md section 3): may this guest take an NMI
	 * now? Asked at injection time, never when the NMI arrived. While it says
	 * no, the NMI stays pending. NULL = always yes.
	 */
	bool (*guest_may_take_nmi)(struct vcpu *v);
	/*
	 * The VMX-preemption timer expired (basic exit reason 52, SDM Vol. 3C
	 * 25.5.1 and Appendix C): only apps that turn the timer on (pin-based
	 * control bit 6) see it. Return true if handled; NULL or false panics
	 * with the VMCS dump, like any other exit nobody expected.
	 */
	bool (*preemption_timer)(struct vcpu *v);
	/*
	 * The step the app armed with vmx_single_step() (vmx_view.h) is over: an
	 * MTF VM exit (basic exit reason 37, SDM Vol. 3C 26.5.2), the flag is off
	 * again. Only apps that step see it.
	 */
	void (*monitor_trap)(struct vcpu *v);
	/*
	 * An INIT signal reached this CPU (INIT VM exit, SDM Vol. 3C 26.2, 28.2)
	 * and libvmx is about to put the guest CPU in its INIT state (SDM Vol. 3A
	 * 9.1.1, Table 9-1): called first, with the VMCS as the INIT found it, so
	 * an app that switched this CPU to a view of its own (EPTP, CR3, exception
	 * bitmap, pin-based controls) puts the guest's back and ends what it ran
	 * there. libvmx then resets the guest state, not those controls. Not
	 * called for the INIT libvmx drops because it was already consumed
	 * (the one held across a SIPI, libvmx/exit_init_sipi.c). There is no SIPI
	 * hook: a SIPI exits only in wait-for-SIPI, which only the boot or an
	 * INIT this hook saw can have put the CPU in.
	 */
	void (*before_init)(struct vcpu *v);
	/*
	 * Before every VM entry of this CPU (the first one included), after the
	 * toolkit's own before-entry hooks (core/quiesce_wiring.c: a quiesce round
	 * has ended by then) and before the injection point. core/boot.c registers
	 * it with libvmx once, on the boot CPU, before any guest runs.
	 */
	void (*before_entry)(struct vcpu *v);
	/* Guest power-off or hypervisor shutdown, once per CPU. */
	void (*shutdown)(struct vcpu *v);
};

/* Defined by each app (apps/<name>/app.c). */
extern const struct hv_app hv_app;

#endif /* LIBVMX_VMX_APP_H */
