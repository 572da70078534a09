/*
 * Isolated views (vmx_view.h): one CPU switched into an app's world (its EPT
 * view, page tables, entry point and stack) and back, each as one call. Every
 * field the switch writes is saved first and put back at leave, so an app
 * cannot forget one on some path out (a return, a fault, a timeout, an INIT).
 *
 * What the VMCS holds that a view replaces (SDM Vol. 3C 25.4.1 guest
 * registers, 25.6.1 pin-based controls, 25.6.3 exception bitmap, 25.6.11 EPT
 * pointer); the general registers are the vcpu's (saved by the exit stub).
 */
#include "hw/hw.h"
#include "libvmx/vmx_internal.h"
#include "rt/layout.h"
#include "rt/panic.h"

/* One CPU's guest state under its view; valid while `active`. */
struct view_save {
	bool active, clean_debug, timer_set;
	uint64_t eptp, cr3, rip, rsp, rflags;
	uint64_t gpr[GPR_COUNT];
};
static struct view_save saved[HV_MAX_CPUS];

/*
 * The general registers, 8 bytes at a time: rt's memcpy copies bytes (~600
 * Bochs ticks for 128), and a PAL call copies them three times. GCC would
 * turn this loop back into a memcpy call (loop-distribute-patterns), hence
 * the attribute, as in rt/string.c.
 */
#if defined(__GNUC__) && !defined(__clang__)
__attribute__((optimize("no-tree-loop-distribute-patterns")))
#endif
static void
copy_gprs(uint64_t *dst, const uint64_t *src)
{
	for (unsigned i = 0; i < GPR_COUNT; i++)
		dst[i] = src[i];
}

static void clear_sti_mov_ss_blocking(void)
{
	uint32_t intr = vmcs_read32(VMCS_GUEST_INTERRUPTIBILITY);
	if (intr & (INTERRUPTIBILITY_STI | INTERRUPTIBILITY_MOV_SS))
		vmcs_write32(VMCS_GUEST_INTERRUPTIBILITY,
		             intr & ~(INTERRUPTIBILITY_STI | INTERRUPTIBILITY_MOV_SS));
}

void vmx_view_reset(struct vcpu *v)
{
	saved[v->cpu] = (struct view_save){0};
}

bool vmx_view_active(const struct vcpu *v)
{
	return saved[v->cpu].active;
}

void vmx_view_enter(struct vcpu *v, const struct vmx_view *view)
{
	struct view_save *s = &saved[v->cpu];

	if (s->active)
		hv_panic("vmx_view_enter: CPU %u is already in a view", v->cpu);
	s->eptp = vmcs_read64(VMCS_EPT_POINTER);
	s->cr3 = vmcs_readnat(VMCS_GUEST_CR3);
	s->rip = vmcs_readnat(VMCS_GUEST_RIP);
	s->rsp = vmcs_readnat(VMCS_GUEST_RSP);
	s->rflags = vmcs_readnat(VMCS_GUEST_RFLAGS);
	copy_gprs(s->gpr, v->gpr);
	s->clean_debug = view->clean_debug;
	s->active = true;
	if (s->clean_debug)
		vmx_view_debug_clean(v);

	copy_gprs(v->gpr, view->gpr);
	v->gpr[GPR_RSP] = 0; /* unused: the RSP is the VMCS's */
	vmcs_writenat(VMCS_GUEST_RSP, view->rsp);
	vmcs_writenat(VMCS_GUEST_RIP, view->rip);
	/* IF = 0 and TF = 0; STI blocking must then be clear (SDM Vol. 3C
	 * 27.3.1.5), MOV-SS blocking is the OS's instruction's, not the view's. */
	vmcs_writenat(VMCS_GUEST_RFLAGS, RFLAGS_FIXED1);
	clear_sti_mov_ss_blocking();
	vmcs_writenat(VMCS_GUEST_CR3, view->cr3);
	vmcs_write64(VMCS_EPT_POINTER, view->eptp);
	vmx_exceptions_intercept_all(v, true);
	/* Only our bit of the pin-based controls, only if it was off (SDM Vol.
	 * 3C 26.5.1: the timer counts down in non-root operation, exit 52). */
	uint32_t pin = vmcs_read32(VMCS_PIN_BASED_CONTROLS);
	s->timer_set = view->preemption_ticks && !(pin & PIN_PREEMPTION_TIMER);
	if (view->preemption_ticks) {
		vmcs_write32(VMCS_PIN_BASED_CONTROLS, pin | PIN_PREEMPTION_TIMER);
		vmcs_write32(VMCS_PREEMPTION_TIMER_VALUE, view->preemption_ticks);
	}
}

void vmx_view_leave(struct vcpu *v)
{
	struct view_save *s = &saved[v->cpu];

	if (!s->active)
		hv_panic("vmx_view_leave: CPU %u is not in a view", v->cpu);
	/* Debug state first: no path out leaves the view's bases or the OS's
	 * breakpoints unrestored. */
	if (s->clean_debug)
		vmx_view_debug_restore(v);
	vmcs_writenat(VMCS_GUEST_CR3, s->cr3);
	vmcs_write64(VMCS_EPT_POINTER, s->eptp);
	vmx_exceptions_intercept_all(v, false);
	if (s->timer_set)
		vmcs_write32(VMCS_PIN_BASED_CONTROLS,
		             vmcs_read32(VMCS_PIN_BASED_CONTROLS) & ~PIN_PREEMPTION_TIMER);
	vmcs_writenat(VMCS_GUEST_RFLAGS, s->rflags);
	vmcs_writenat(VMCS_GUEST_RIP, s->rip);
	vmcs_writenat(VMCS_GUEST_RSP, s->rsp);
	clear_sti_mov_ss_blocking();
	copy_gprs(v->gpr, s->gpr);
	/* What the view's last exit left to deliver is the view's. */
	vmx_discard_pending_events(v);
	s->active = false;
	s->timer_set = false;
}
