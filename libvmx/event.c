/*
 * The event module (docs/design.md section 3): which event the guest gets at the
 * next VM entry, decided at that moment - never when the event arrived.
 *
 * - The host NMI handler only counts, per CPU (vmx_nmi_arrived()).
 * - vmx_inject_pending_events() is the single injection point, called right
 *   before every VM entry. Priority: the event whose delivery the VM exit
 *   interrupted (re-injected, SDM Vol. 3C 28.2.4 "Information for VM Exits
 *   That Occur During Event Delivery"), then a queued exception, then NMI.
 *   External interrupts are not intercepted (passthrough): the guest's own
 *   LAPIC delivers them.
 * - An NMI is injected only if the app's guest_may_take_nmi() says yes at that
 *   moment and the guest is not NMI-blocked; if the guest is blocked (virtual
 *   NMI blocking, STI or MOV-SS blocking) an NMI window is opened instead; if
 *   the app says no, the NMI stays pending with no window (no exit loop) and
 *   the question is asked again before the next entry.
 */
#include "hw/hw.h"
#include "libvmx/vmx_internal.h"
#include "rt/layout.h"
#include "rt/panic.h"
#include "rt/percpu.h"
#ifdef HV_NMI_SWEEP
#include "rt/trap.h"
#endif

/* Host NMIs per CPU: written by the NMI handler, read at the injection point. */
static uint32_t host_nmis[HV_MAX_CPUS];
/* TSC of each CPU's latest guest NMI arrival (for the latency figure only). */
static uint64_t host_nmi_tsc[HV_MAX_CPUS];
static bool (*nmi_filter)(void);

void vmx_set_nmi_filter(bool (*is_own_signal)(void))
{
	nmi_filter = is_own_signal;
}

#ifdef HV_NMI_SWEEP
/* NMI sweep images: told where each guest NMI landed (vmx.h). */
static vmx_nmi_probe_fn nmi_probe;

void vmx_set_nmi_probe(vmx_nmi_probe_fn fn)
{
	nmi_probe = fn;
}
#define NMI_PROBE(v, where, rip, reason)                                                           \
	do {                                                                                       \
		if (nmi_probe)                                                                     \
			nmi_probe((v), (where), (rip), (reason));                                  \
	} while (0)

/* The exit this CPU is handling: the VMCS field holds it from the exit to the
 * next entry (SDM Vol. 3C 25.9.1); the VMCS stays current on its CPU. */
static uint32_t exit_being_handled(void)
{
	const struct vcpu *v = vmx_vcpu(this_cpu_index());
	if (!v || !v->launched)
		return VMX_NMI_NO_EXIT;
	return VMX_EXIT_REASON_BASIC(vmcs_read32(VMCS_EXIT_REASON));
}
#else
#define NMI_PROBE(v, where, rip, reason) ((void)0)
#endif

static bool app_allows_nmi(struct vcpu *v);

/* Counts an NMI for the guest unless the filter claims it; true if counted. */
static bool count_nmi(void)
{
	if (nmi_filter && nmi_filter())
		return false;
	uint32_t cpu = this_cpu_index();
	__atomic_store_n(&host_nmi_tsc[cpu], hw_rdtsc(), __ATOMIC_RELAXED);
	__atomic_fetch_add(&host_nmis[cpu], 1, __ATOMIC_SEQ_CST);
	return true;
}

void vmx_nmi_arrived(void)
{
	(void)count_nmi();
}

/* The NMI-exit handler calls this: an NMI that met the guest (or a PAL) running. */
void vmx_nmi_exit_arrived(struct vcpu *v)
{
	if (count_nmi())
		NMI_PROBE(v, app_allows_nmi(v) ? VMX_NMI_AT_GUEST : VMX_NMI_AT_HELD,
		          vmcs_readnat(VMCS_GUEST_RIP), VMX_EXIT_EXCEPTION_NMI);
	(void)v;
}

/* The rt NMI IDT stub calls this: NMIs taken in root mode. */
void vmx_host_nmi_handler(void)
{
	if (count_nmi())
		NMI_PROBE(NULL, VMX_NMI_AT_HOST, rt_nmi_interrupted_rip(), exit_being_handled());
}

void vmx_event_reset(struct vcpu *v)
{
	uint32_t seen = __atomic_load_n(&host_nmis[v->cpu], __ATOMIC_SEQ_CST);
	v->ev = (struct vcpu_events){.host_nmis_seen = seen};
	v->entry_nmi_count = &host_nmis[v->cpu];
	v->entry_nmis_seen = seen;
}

/*
 * NMIs that arrived since the last look become pending guest NMIs, as many as
 * the hardware would hold: a CPU that is not NMI-blocked takes the first NMI
 * at once and latches one more while its handler runs; a blocked one latches
 * one; the rest merge (SDM Vol. 3A 6.7.1). So at most two pending while the
 * guest is not NMI-blocked and the app lets it take NMIs, one otherwise (a
 * PAL holds one, like a handler). Called at the start of every exit (the
 * guest's state then is the one the NMIs met) and at the injection point
 * (NMIs that came in during the exit). The app is asked only when it matters
 * (more than one NMI).
 */
static void collect_host_nmis(struct vcpu *v)
{
	uint32_t now = __atomic_load_n(&host_nmis[v->cpu], __ATOMIC_SEQ_CST);
	uint32_t fresh = now - v->ev.host_nmis_seen;

	if (!fresh)
		return;
	v->ev.host_nmis_seen = now;
	if (!v->ev.nmi_pending)
		v->ev.nmi_arrival_tsc = __atomic_load_n(&host_nmi_tsc[v->cpu], __ATOMIC_RELAXED);
	uint32_t total = v->ev.nmi_pending + fresh, cap = 1;
	if (total > 1 && !(vmcs_read32(VMCS_GUEST_INTERRUPTIBILITY) & INTERRUPTIBILITY_NMI) &&
	    app_allows_nmi(v))
		cap = 2;
	if (total > cap) {
		v->ev.nmis_merged += total - cap;
		total = cap;
	}
	v->ev.nmi_pending = total;
}

void vmx_event_redeliver(struct vcpu *v, uint32_t info, uint32_t error, uint32_t len)
{
	v->ev.reinject = true;
	v->ev.reinject_info = info & (INTR_INFO_VALID | 0x7ffu);
	v->ev.reinject_error = error;
	v->ev.reinject_len = len;
}

void vmx_event_delivered(struct vcpu *v)
{
	v->ev.reinject = false;
}

void vmx_discard_pending_events(struct vcpu *v)
{
	v->ev.reinject = false;
	v->ev.exception = false;
}

void vmx_event_init_reset(struct vcpu *v)
{
	uint32_t nmi_pending = v->ev.nmi_pending;
	vmx_set_nmi_window(v, false);
	vmx_event_reset(v);
	v->ev.nmi_pending = nmi_pending;
}

void vmx_event_window_written_off(struct vcpu *v)
{
	v->ev.nmi_window = false;
}

void vmx_set_nmi_window(struct vcpu *v, bool on)
{
	if (v->ev.nmi_window == on)
		return;
	uint32_t proc = vmcs_read32(VMCS_PRIMARY_PROC_CONTROLS);
	proc = on ? (proc | PROC_NMI_WINDOW_EXITING) : (proc & ~PROC_NMI_WINDOW_EXITING);
	vmcs_write32(VMCS_PRIMARY_PROC_CONTROLS, proc);
	v->ev.nmi_window = on;
}

void vmx_event_on_exit(struct vcpu *v)
{
	const struct vcpu_exit_info *e = &v->exit;
	uint32_t basic = VMX_EXIT_REASON_BASIC(e->reason);

	/* Root NMIs that met the guest as it was when it exited. */
	collect_host_nmis(v);

	if (e->idt_vectoring_info & INTR_INFO_VALID) {
		/*
		 * The exit interrupted the delivery of an event: deliver it again
		 * (SDM 28.2.4). Bits 30:12 are undefined here and reserved in the
		 * VM-entry field. Software interrupts and exceptions need the
		 * instruction length to push the right return address.
		 */
		v->ev.reinject = true;
		v->ev.reinject_info = e->idt_vectoring_info & (INTR_INFO_VALID | 0x7ffu);
		v->ev.reinject_error = e->idt_vectoring_error;
		v->ev.reinject_len = e->instruction_len;
		return;
	}
	/*
	 * "NMI unblocking due to IRET" (SDM 28.2.3): the exit was a fault in a
	 * guest IRET that had already cleared virtual-NMI blocking. The IRET will
	 * run again, so the blocking it undid must be back in place.
	 */
	bool unblocked_by_iret = false;
	if (basic == VMX_EXIT_EXCEPTION_NMI && (e->intr_info & INTR_INFO_VALID) &&
	    INTR_INFO_TYPE(e->intr_info) != INTR_TYPE_NMI)
		unblocked_by_iret = (e->intr_info & INTR_INFO_NMI_UNBLOCK_IRET) != 0;
	else if (basic == VMX_EXIT_EPT_VIOLATION)
		unblocked_by_iret = (e->qualification & EPTQUAL_NMI_UNBLOCK_IRET) != 0;
	if (unblocked_by_iret)
		vmcs_write32(VMCS_GUEST_INTERRUPTIBILITY,
		             vmcs_read32(VMCS_GUEST_INTERRUPTIBILITY) | INTERRUPTIBILITY_NMI);
}

static bool contributory(uint8_t vec)
{
	return vec == X86_VEC_DE || vec == X86_VEC_TS || vec == X86_VEC_NP || vec == X86_VEC_SS ||
	       vec == X86_VEC_GP;
}

/*
 * Fault-class exceptions (SDM Vol. 3A 6.5, Table 6-1): the CPU pushes EFLAGS
 * with RF = 1 for every fault but an instruction breakpoint (SDM Vol. 3A
 * 17.3.1.1, "Instruction-Breakpoint Exception Condition"), so that the IRET
 * back to the faulting instruction does not stop on a breakpoint there again.
 * VM entry pushes the guest-state RFLAGS as it is (SDM Vol. 3C 27.6.1.1), so
 * the injector sets RF itself, as KVM does. #DB is left out (a fault or a trap,
 * and libvmx never raises one); #DF and #MC are aborts, #BP and #OF traps.
 */
bool vmx_exception_is_fault(uint8_t vec)
{
	return vec == X86_VEC_DE || vec == X86_VEC_BR || vec == X86_VEC_UD || vec == X86_VEC_NM ||
	       vec == X86_VEC_TS || vec == X86_VEC_NP || vec == X86_VEC_SS || vec == X86_VEC_GP ||
	       vec == X86_VEC_PF || vec == X86_VEC_MF || vec == X86_VEC_AC || vec == X86_VEC_XM ||
	       vec == X86_VEC_VE || vec == X86_VEC_CP;
}

void vmx_queue_exception(struct vcpu *v, uint8_t vector, bool has_error, uint32_t error_code)
{
	struct vcpu_events *ev = &v->ev;
	/*
	 * An exception while delivering a hardware exception (the one queued or
	 * the one being re-injected) combines as on hardware (SDM Vol. 3A 6.15,
	 * Table 6-5): #DF, or a triple fault after #DF.
	 */
	bool have_first = false;
	uint8_t first = 0;
	if (ev->exception) {
		have_first = true;
		first = ev->exception_vector;
	} else if (ev->reinject && INTR_INFO_TYPE(ev->reinject_info) == INTR_TYPE_HW_EXCEPTION) {
		have_first = true;
		first = (uint8_t)INTR_INFO_VECTOR(ev->reinject_info);
	}
	if (have_first) {
		if (first == X86_VEC_DF)
			vmx_guest_triple_fault(v, "exception while delivering #DF");
		if ((contributory(first) && contributory(vector)) ||
		    (first == X86_VEC_PF && (contributory(vector) || vector == X86_VEC_PF))) {
			vector = X86_VEC_DF;
			has_error = true;
			error_code = 0;
		}
		/* The combined exception replaces a re-injected hardware exception. */
		if (ev->reinject && INTR_INFO_TYPE(ev->reinject_info) == INTR_TYPE_HW_EXCEPTION)
			ev->reinject = false;
	}
	ev->exception = true;
	ev->exception_vector = vector;
	ev->exception_has_error = has_error;
	ev->exception_error = error_code;
}

void vmx_event_app_unblocked(struct vcpu *v)
{
	/*
	 * Nothing to record: the injection point asks guest_may_take_nmi() before
	 * every VM entry, and the app calls this from an exit handler, so the
	 * pending NMI is delivered on the entry that follows. The function exists
	 * so that an app states the moment explicitly.
	 */
	(void)v;
}

static bool app_allows_nmi(struct vcpu *v)
{
	const struct hv_app *app = vmx_app();
	return !app || !app->guest_may_take_nmi || app->guest_may_take_nmi(v);
}

static void write_injection(uint32_t info, uint32_t error, uint32_t len)
{
	/* One event per VM entry: the valid bit is clear after every VM exit
	 * (SDM Vol. 3C 25.8.3), so a set one is a second injection this entry. */
	HV_ASSERT(!(vmcs_read32(VMCS_VM_ENTRY_INTR_INFO) & INTR_INFO_VALID));
	/* An NMI is never injected into blocking by MOV SS or STI, nor with
	 * virtual-NMI blocking set: VM entry would fail (SDM Vol. 3C 27.3.1.5). */
	if (INTR_INFO_TYPE(info) == INTR_TYPE_NMI)
		HV_ASSERT(
		    !(vmcs_read32(VMCS_GUEST_INTERRUPTIBILITY) &
		      (INTERRUPTIBILITY_NMI | INTERRUPTIBILITY_STI | INTERRUPTIBILITY_MOV_SS)));
	/* Real mode under unrestricted guest delivers no error code (SDM Vol. 3C 27.2.1.3). */
	if ((info & INTR_INFO_DELIVER_CODE) && !(vmcs_readnat(VMCS_GUEST_CR0) & CR0_PE))
		info &= ~INTR_INFO_DELIVER_CODE;
	vmcs_write32(VMCS_VM_ENTRY_INTR_INFO, info);
	if (info & INTR_INFO_DELIVER_CODE)
		vmcs_write32(VMCS_VM_ENTRY_EXCEPTION_ERROR_CODE, error);
	uint32_t type = INTR_INFO_TYPE(info);
	if (type == INTR_TYPE_SW_INTERRUPT || type == INTR_TYPE_PRIV_SW_EXCEPTION ||
	    type == INTR_TYPE_SW_EXCEPTION)
		vmcs_write32(VMCS_VM_ENTRY_INSTRUCTION_LEN, len);
}

/*
 * The NMI decision, made before every VM entry (so also after every NMI-window
 * exit). Returns true if an NMI window is wanted.
 */
static bool decide_nmi(struct vcpu *v, bool event_injected)
{
	/* At most two per CPU: one being delivered or blocked, one latched; more
	 * merge as on hardware (collect_host_nmis). Every writer of nmi_pending
	 * (collection, the INIT/SIPI reset) comes through here before an entry. */
	HV_ASSERT(v->ev.nmi_pending <= 2);
	/* No: the NMI stays pending, no window - nothing to wait for until the
	 * app says yes, which it is asked again before the next entry. */
	if (!app_allows_nmi(v)) {
		/* Held like a blocked CPU holds NMIs: one latched, more merge. */
		if (v->ev.nmi_pending > 1) {
			v->ev.nmis_merged += v->ev.nmi_pending - 1;
			v->ev.nmi_pending = 1;
		}
		return false;
	}
	/* NMIs are held in wait-for-SIPI and shutdown (SDM 25.4.2); the SIPI or
	 * INIT exit comes first. */
	uint32_t activity = vmcs_read32(VMCS_GUEST_ACTIVITY_STATE);
	if (activity == VMX_ACTIVITY_WAIT_SIPI || activity == VMX_ACTIVITY_SHUTDOWN)
		return false;
	/*
	 * Another event goes in first, or the guest is blocked: virtual-NMI
	 * blocking, or STI/MOV-SS blocking (injecting an NMI with MOV-SS blocking
	 * fails VM entry, SDM Vol. 3C 27.3.1.5, and some CPUs require no STI blocking
	 * either). The NMI window exits after the blocking ends (SDM 26.7.6), so
	 * it cannot loop.
	 */
	uint32_t intr = vmcs_read32(VMCS_GUEST_INTERRUPTIBILITY);
	if (event_injected ||
	    (intr & (INTERRUPTIBILITY_NMI | INTERRUPTIBILITY_STI | INTERRUPTIBILITY_MOV_SS)))
		return true;
	write_injection(INTR_INFO(X86_VEC_NMI, INTR_TYPE_NMI), 0, 0);
	v->ev.nmi_pending--;
	v->ev.nmis_injected++;
	uint64_t ticks = hw_rdtsc() - v->ev.nmi_arrival_tsc;
	v->ev.nmi_delivery[v->ev.nmi_delivery_count++ % VCPU_NMI_DELIVERY_SAMPLES] =
	    ticks > UINT32_MAX ? UINT32_MAX : (uint32_t)ticks;
	/* A second, latched NMI: this delivery sets virtual-NMI blocking, so the
	 * window exits after the guest handler's IRET (SDM 26.7.6), not at once. */
	return v->ev.nmi_pending != 0;
}

void vmx_inject_pending_events(struct vcpu *v)
{
	struct vcpu_events *ev = &v->ev;
	bool injected = false;

	/*
	 * Root-mode NMIs are counted by the IDT handler and collected here. An
	 * NMI that arrives after this read and before VMRESUME is counted and
	 * collected at the next VM exit; one that arrives in non-root mode is
	 * an NMI exit (NMI exiting is on) right after the entry. Physical NMIs
	 * are unblocked by VM entry with virtual NMIs (SDM Vol. 3C 27.7.1), so a root-mode
	 * NMI held by the blocking that follows an NMI exit (SDM Vol. 3C 28.1) is taken
	 * as an NMI exit right after the entry: nothing is lost.
	 */
	collect_host_nmis(v);

	/*
	 * A queued exception is one the handler raised for this exit; when an
	 * interrupted hardware exception was also pending, vmx_queue_exception()
	 * has already combined the two (#DF) and dropped the re-injection.
	 */
	if (ev->exception) {
		uint32_t info = INTR_INFO(ev->exception_vector, INTR_TYPE_HW_EXCEPTION);
		if (ev->exception_has_error)
			info |= INTR_INFO_DELIVER_CODE;
		write_injection(info, ev->exception_error, 0);
		if (vmx_exception_is_fault(ev->exception_vector))
			vmcs_writenat(VMCS_GUEST_RFLAGS,
			              vmcs_readnat(VMCS_GUEST_RFLAGS) | RFLAGS_RF);
		ev->exception = false;
		injected = true;
	} else if (ev->reinject) {
		/* Re-injecting an NMI: the exit left virtual-NMI blocking set, which
		 * VM entry refuses together with NMI injection (SDM Vol. 3C 27.3.1.5). */
		if (INTR_INFO_TYPE(ev->reinject_info) == INTR_TYPE_NMI)
			vmcs_write32(VMCS_GUEST_INTERRUPTIBILITY,
			             vmcs_read32(VMCS_GUEST_INTERRUPTIBILITY) &
			                 ~INTERRUPTIBILITY_NMI);
		write_injection(ev->reinject_info, ev->reinject_error, ev->reinject_len);
		ev->reinject = false;
		injected = true;
	}

	bool window = ev->nmi_pending && decide_nmi(v, injected);
	/* An interrupted interrupt or NMI left behind by an exception injected
	 * first: the window exit right after that delivery brings it in. */
	vmx_set_nmi_window(v, window || ev->reinject);
	v->entry_nmis_seen = ev->host_nmis_seen;
}

/*
 * vmx_entry.S, just before VMLAUNCH/VMRESUME: root-mode NMIs came in after the
 * injection point collected them. Left for the next VM exit, they would wait
 * as long as the guest runs without one (found by the NMI sweep: an NMI that
 * met the last ~50 instructions before the entry that ends a PAL call reached
 * the guest only at its next VMCALL). Collect and decide again, keeping an
 * event the injection point already wrote (the valid bit of the VM-entry
 * interruption field is cleared by every VM exit, SDM Vol. 3C 25.8.3, so a set one is
 * this exit's): the NMI then waits for the window exit after that delivery.
 * NMIs during the entry sequence itself are sent back here by rt's restart
 * range (vmx_cpu.c), so none is left behind.
 */
void vmx_entry_recheck_nmis(struct vcpu *v)
{
	collect_host_nmis(v);
	bool injecting = (vmcs_read32(VMCS_VM_ENTRY_INTR_INFO) & INTR_INFO_VALID) != 0;
	bool window = v->ev.nmi_pending && decide_nmi(v, injecting);
	vmx_set_nmi_window(v, window || v->ev.reinject);
	v->entry_nmis_seen = v->ev.host_nmis_seen;
}
