/*
 * Isolated views (isolated_view.c, view_debug.c) and the exception intercept
 * mask (exception_mask.c): how an app runs one CPU, for a while, in a world of
 * its own (TrustVisor: a PAL) and gets the guest's back, without touching the
 * VMCS.
 *
 * SDM citations follow the 2023 and later editions (Vol. 3C chapter 25 VMCS,
 * 26 VMX non-root operation, 27 VM entries, 28 VM exits), docs/design.md
 * section 7.
 */
#ifndef LIBVMX_VMX_VIEW_H
#define LIBVMX_VMX_VIEW_H

#include <stdbool.h>
#include <stdint.h>

#include "libvmx/vcpu_public.h"

/* ---- the exception intercept mask (one owner: libvmx) ---- */

/*
 * Which exceptions exit (the VMCS exception bitmap, SDM Vol. 3C 25.6.3) is
 * computed by libvmx alone, per CPU: hv_app.exception_bitmap, OR the vectors
 * this CPU's app requested, OR all 32 while the CPU is in an isolated view.
 * Requests are bits, not counts: releasing a vector the app requested twice
 * releases it. Call on v's CPU. Intercepted exceptions go to
 * hv_app.exception.
 */
void vmx_exceptions_request(struct vcpu *v, uint32_t vectors);
void vmx_exceptions_release(struct vcpu *v, uint32_t vectors);
/* The bitmap in force on v's CPU now. */
uint32_t vmx_exceptions_intercepted(struct vcpu *v);

/* ---- isolated views ---- */

/* What the CPU runs in an isolated view. */
struct vmx_view {
	uint64_t eptp; /* the view's EPT (built by the app, libvmx/ept.h) */
	uint64_t cr3;  /* the view's guest page tables */
	uint64_t rip, rsp;
	/* General registers in the view; gpr[GPR_RSP] is ignored (rsp). */
	uint64_t gpr[GPR_COUNT];
	/* VMX-preemption timer value (SDM Vol. 3C 26.5.1): the view's budget, the
	 * exit goes to hv_app.preemption_timer; 0 = no timer. The timer reloads
	 * this value at every entry (no "save timer value" exit control). */
	uint32_t preemption_ticks;
	/* Debug and trace state clean in the view (view_debug.c). */
	bool clean_debug;
};

/*
 * Switches v's CPU into `view` as one step, saving everything it replaces:
 * - EPTP, guest CR3, RIP, RSP and the general registers from `view`;
 * - RFLAGS = 2 (IF = 0: external interrupts stay pending in the local APIC,
 *   TF = 0), blocking by STI and by MOV SS cleared (with IF = 0 the VM-entry
 *   checks require no STI blocking, SDM Vol. 3C 27.3.1.5);
 * - every exception a VM exit (the mask above);
 * - the preemption timer armed if view->preemption_ticks;
 * - with view->clean_debug: DR0-DR3 = 0, DR6 = FFFF0FF0H, DR7 = 400H,
 *   IA32_DEBUGCTL = 0, no pending debug exceptions, FS/GS/kernel-GS bases 0,
 *   IA32_PERF_GLOBAL_CTRL = 0 (if it exists) and MOV-DR exiting on (if the
 *   CPU allows it): no OS breakpoint, trace or counter reaches into the view,
 *   a MOV DR there exits to hv_app.mov_dr.
 * NMIs are the app's to hold (hv_app.guest_may_take_nmi); the view does not
 * INVEPT (a view whose tables were reused is the app's to invalidate). Call
 * on v's CPU, outside a view (nested enters panic: an app invariant).
 */
void vmx_view_enter(struct vcpu *v, const struct vmx_view *view);
/*
 * Puts back everything vmx_view_enter replaced, as one step: EPTP, CR3, RIP,
 * RSP, RFLAGS, the general registers, the exception mask, the timer off, the
 * debug state and bases; STI/MOV-SS blocking cleared (what blocked in the view
 * is not the guest's). Whatever the view's last exit left to deliver (a
 * re-injected event, a queued exception) belongs to the view: dropped. Pending
 * NMIs stay (vmx_discard_pending_events). Read the view's registers first if
 * the app needs them. Call on v's CPU, in a view.
 */
void vmx_view_leave(struct vcpu *v);
/* v's CPU is in an isolated view. */
bool vmx_view_active(const struct vcpu *v);

/* ---- EPT views alone, and one-instruction steps (single_step.c) ---- */

/*
 * The EPT view v's CPU runs in now (the guest's, vmx_vcpu_guest_eptp(), until
 * an app switches), and a switch of that alone: the guest keeps its registers
 * and runs on in `eptp` (an app's view, libvmx/ept.h) from the next VM entry.
 * No INVEPT: mappings are tagged by view (SDM Vol. 3C 29.4.1); a view whose
 * tables changed is the app's to invalidate (ept_invalidate()). Call on v's
 * CPU, outside an isolated view (it saved the EPTP it puts back; a switch
 * under it, or eptp 0, panics: an app invariant).
 */
uint64_t vmx_ept_view_current(struct vcpu *v);
void vmx_ept_view_set(struct vcpu *v, uint64_t eptp);

/*
 * One step with the monitor trap flag (SDM Vol. 3C 26.5.2): from the next VM
 * entry the guest runs one instruction, or delivers one event (an event that
 * entry injects, a fault of the instruction), and exits to hv_app.monitor_trap
 * on the next instruction boundary; the flag is then off again. A REP string
 * instruction steps one iteration. Other exits may come first (an NMI exit,
 * an exit of the instruction itself): the step stays armed across them.
 * While armed, an entry that injects nothing holds the guest's maskable
 * interrupts for the stepped instruction, as STI does (blocking by STI, where
 * VM entry allows it: IF = 1, TF = 0, no pending single-step trap, no MOV-SS
 * blocking): the step is the instruction, not an interrupt taken before it.
 * NMIs are the app's to hold (hv_app.guest_may_take_nmi) for as long as the
 * step should not be one. Returns false if the CPU has no monitor trap flag
 * (Bochs 2.7's CPU models do not offer it: corei7_skylake_x leaves it out).
 * Call on v's CPU. cancel: disarm (nothing if not armed); INIT cancels too.
 */
bool vmx_single_step_supported(void);
bool vmx_single_step(struct vcpu *v);
bool vmx_single_step_armed(const struct vcpu *v);
void vmx_single_step_cancel(struct vcpu *v);

/*
 * One store completed by the hypervisor (guest_store.c), from the EPT
 * violation at guest-physical `gpa` being handled (a write): if the
 * instruction at the guest's RIP is a plain move to memory (MOV m, r; MOV m,
 * imm; MOV moffs, AL/eAX; XCHG m, r: libvmx/insn_decode.c), the access is
 * aligned to its size (so it is the whole store, in one page) and `eptp` (an
 * EPT view, the app's) maps gpa to itself writable below 4 GiB, libvmx writes
 * the bytes to guest RAM (XCHG: atomically, the old value to the register)
 * and moves RIP past the instruction: VMX_STORE_DONE, the app returns
 * HV_EPT_HANDLED. Otherwise nothing changed: VMX_STORE_UNDECODABLE (another
 * instruction: string moves, read-modify-write, pushes, SSE; a misaligned
 * store; the CPU writing a paging-structure entry at gpa, exit qualification
 * bit 8 clear) or VMX_STORE_NOT_ALLOWED (`eptp` forbids it); VMX_STORE_REFUSED: the
 * instruction's bytes are where the CPU's view lets the guest not read them,
 * and the guest was shown that read (vmx_guest_access_denied): return
 * HV_EPT_HANDLED. A guest single-stepping with RFLAGS.TF gets no #DB after
 * a completed store (as for libvmx's other emulated moves).
 */
enum vmx_store_result {
	VMX_STORE_DONE,
	VMX_STORE_UNDECODABLE,
	VMX_STORE_NOT_ALLOWED,
	VMX_STORE_REFUSED,
};
enum vmx_store_result vmx_guest_complete_store(struct vcpu *v, uint64_t gpa, uint64_t eptp);

#endif /* LIBVMX_VMX_VIEW_H */
