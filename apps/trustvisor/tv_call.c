/*
 * Calling a PAL (README.md "Calling a PAL"): no all-CPU stop per call.
 *
 * Entry. The owner jumps to the entry point; the code page is absent from the
 * guest view, so the fetch is an EPT violation on this CPU. We read the
 * return address from the caller's stack, copy the inputs into the params
 * section, save the caller's state, and switch this CPU alone to the PAL:
 * its private CR3 and EPT view, RSP at the end of its stack with the sentinel
 * as return address, RFLAGS.IF = 0 (external interrupts stay pending in the
 * local APIC: external-interrupt exiting is off), every exception a VM exit
 * (exception bitmap all ones), the preemption timer armed, and NMIs held: our
 * guest_may_take_nmi() answers no while a PAL runs (docs/design.md section 3).
 *
 * Exit. The PAL's `ret` jumps to the sentinel, which its page tables do not
 * map: a #PF VM exit at the sentinel. Anything else (another exception, an
 * EPT violation, the timer) ends the call with an error. We copy the outputs
 * to the caller, restore its state (RIP = its return address, RSP popped,
 * RAX = status, RDX = the PAL's RAX) and tell libvmx the NMI answer changed.
 *
 * x87/SSE/AVX state (tv_fpu.c): saved at entry, the PAL starting from the
 * init state, and the caller's put back on every exit, so neither side sees
 * the other's registers. Debug registers, DEBUGCTL, pending debug exceptions,
 * performance counters and FS/GS bases: the same, switched by libvmx with the
 * view (libvmx/view_debug.c, README.md "Debug and trace state").
 */
#include "apps/trustvisor/tv_internal.h"
#include "apps/trustvisor/tv_platform.h"
#include "hw/hw.h"
#include "libvmx/vmx.h"
#include "rt/console.h"
#include "rt/string.h"

#define CR3_ADDR 0x000ffffffffff000ull

static struct tv_call calls[HV_MAX_CPUS];
uint32_t tv_pal_timer_ticks;

struct tv_call *tv_call_of(uint32_t cpu)
{
	return &calls[cpu];
}

bool tv_may_take_nmi(struct vcpu *v)
{
	return calls[vmx_vcpu_index(v)].pal == NULL;
}

static void *walk_page(void *arg, uint64_t gpa_page, bool write)
{
	(void)arg;
	return tv_guest_page(gpa_page, write);
}

void tv_walk_ctx(struct vcpu *v, struct vmx_gw_ctx *c, uint64_t cr3)
{
	uint64_t cr0 = vmx_guest_cr0(v), cr4 = vmx_guest_cr4(v), efer = vmx_guest_efer(v);

	memset(c, 0, sizeof(*c));
	if (!(cr0 & CR0_PG))
		c->mode = VMX_GW_PAGING_OFF;
	else if (efer & EFER_LMA)
		c->mode = VMX_GW_PAGING_4LEVEL;
	else if (cr4 & CR4_PAE)
		c->mode = VMX_GW_PAGING_PAE;
	else
		c->mode = VMX_GW_PAGING_32;
	c->cr3 = cr3;
	c->pse = (cr4 & CR4_PSE) != 0;
	c->wp = (cr0 & CR0_WP) != 0;
	c->nxe = (efer & EFER_NXE) != 0;
	c->page = walk_page;
}

/*
 * Copies between a hypervisor buffer and the PAL's own pages (by their
 * host-physical addresses: the guest view no longer maps them). False if any
 * byte is outside the PAL, or a write would land in a code section.
 */
bool tv_pal_copy(struct tv_pal *pal, uint64_t gva, void *buf, size_t n, bool to_pal)
{
	uint8_t *b = buf;
	if (gva + n < gva)
		return false;
	while (n) {
		size_t chunk = (size_t)(TV_PAGE - (gva & (TV_PAGE - 1)));
		const struct tv_page *p = NULL;
		if (chunk > n)
			chunk = n;
		for (uint32_t j = 0; j < pal->npages && !p; j++)
			if (pal->page[j].gva == (gva & ~(TV_PAGE - 1)))
				p = &pal->page[j];
		if (!p || (to_pal && p->kind == TV_SEC_CODE))
			return false;
		uint8_t *host = (uint8_t *)hw_phys_ptr(p->hpa) + (gva & (TV_PAGE - 1));
		if (to_pal)
			memcpy(host, b, chunk);
		else
			memcpy(b, host, chunk);
		b += chunk;
		gva += chunk;
		n -= chunk;
	}
	return true;
}

static void pal_write(struct tv_pal *pal, uint64_t gva, const void *src, size_t n)
{
	tv_pal_copy(pal, gva, (void *)src, n, true);
}

static void pal_read(struct tv_pal *pal, void *dst, uint64_t gva, size_t n)
{
	tv_pal_copy(pal, gva, dst, n, false);
}

/* Ends a call that never started: the caller returns with `status`. */
static void return_to_caller(struct vcpu *v, uint64_t ret_rip, uint64_t rsp, int64_t status)
{
	vcpu_gpr_write(v, GPR_RAX, (uint64_t)status);
	vmx_guest_set_rsp(v, rsp + 8);
	vmx_guest_set_rip(v, ret_rip);
}

static void enter_pal(struct vcpu *v, struct tv_pal *pal, uint64_t ret_rip, uint64_t in_count,
                      uint64_t out_gva, uint64_t out_count, const uint64_t *in)
{
	struct tv_call *c = &calls[vmx_vcpu_index(v)];
	uint64_t out_area = pal->params_gva + (uint64_t)pal->desc.in_words * 8;
	uint64_t sentinel = TV_PAL_SENTINEL;

	/* The params section: inputs, then zeroed outputs; the rest is the PAL's. */
	pal_write(pal, pal->params_gva, in, in_count * 8);
	uint64_t zero[TV_MAX_WORDS] = {0};
	if (pal->desc.in_words > in_count)
		pal_write(pal, pal->params_gva + in_count * 8, zero,
		          (pal->desc.in_words - in_count) * 8);
	pal_write(pal, out_area, zero, (uint64_t)pal->desc.out_words * 8);
	pal_write(pal, pal->stack_top - 8, &sentinel, 8);

	c->pal = pal;
	c->ret_rip = ret_rip;
	c->caller_rsp = vmx_guest_rsp(v);
	c->cr3 = vmx_guest_cr3(v);
	c->out_gva = out_gva;
	c->in_count = (uint32_t)in_count;
	c->out_count = (uint32_t)out_count;
	/* The caller's x87/SSE/AVX registers saved, the PAL's start in the init state. */
	tv_fpu_enter_pal(vmx_vcpu_index(v));

	/* One switch (libvmx/vmx_view.h): the PAL's CR3, EPT view, stack and
	 * arguments; IF = 0; every exception a VM exit; the time budget; the OS's
	 * breakpoints, LBR/BTS, counters and FS/GS bases saved, all off or zero. */
	struct vmx_view view = {
	    .eptp = pal->eptp,
	    .cr3 = pal->pt_root,
	    .rip = pal->desc.entry,
	    .rsp = pal->stack_top - 8,
	    .preemption_ticks = tv_pal_timer_ticks,
	    .clean_debug = true,
	};
	view.gpr[GPR_RDI] = pal->params_gva;
	view.gpr[GPR_RSI] = in_count;
	view.gpr[GPR_RDX] = out_area;
	view.gpr[GPR_RCX] = out_count;
	/* A recycled table page may still be cached under this EPTP. */
	tv_invept(pal->eptp);
	vmx_view_enter(v, &view);
	pal->calls++;
}

/*
 * The OS's view back on this CPU: the caller's x87/SSE/AVX state (which
 * replaces the PAL's) first, so that no path out leaves the PAL's registers
 * behind; then, as one libvmx call, its debug/trace registers and FS/GS
 * bases, CR3, EPTP, exception bitmap, the PAL's timer off, RFLAGS, RIP, RSP
 * and general registers. Whatever the PAL's exit left to deliver belongs to
 * the PAL, not the OS: dropped (vmx_view_leave).
 */
static void restore_os_view(struct vcpu *v)
{
	tv_fpu_exit_pal(vmx_vcpu_index(v));
	vmx_view_leave(v);
}

/* Leaves the PAL on this CPU with `status`; always restores the caller. */
static void exit_pal(struct vcpu *v, int64_t status)
{
	struct tv_call *c = &calls[vmx_vcpu_index(v)];
	struct tv_pal *pal = c->pal;
	uint64_t pal_rax = vcpu_gpr_read(v, GPR_RAX);

	restore_os_view(v); /* the caller's general registers back */

	if (status == TV_OK && c->out_count) {
		uint64_t out[TV_MAX_WORDS];
		struct vmx_gw_ctx g;
		pal_read(pal, out, pal->params_gva + (uint64_t)pal->desc.in_words * 8,
		         (size_t)c->out_count * 8);
		tv_walk_ctx(v, &g, c->cr3);
		if (vmx_gw_write(&g, c->out_gva, out, (size_t)c->out_count * 8,
		                 pal->user ? VMX_GW_USER : 0))
			status = TV_ERR_FAULT;
	}
	if (status != TV_OK)
		pal->faults++;
	return_to_caller(v, c->ret_rip, c->caller_rsp, status);
	vcpu_gpr_write(v, GPR_RDX, status == TV_OK ? pal_rax : 0);

	tv_lock_acquire();
	pal->running_on = -1;
	tv_lock_release();
	c->pal = NULL;
	/* NMIs held while the PAL ran are delivered on this entry (docs/design.md 3). */
	vmx_event_app_unblocked(v);
}

void tv_call_end(struct vcpu *v, int64_t status)
{
	exit_pal(v, status);
}

struct tv_pal *tv_call_drop(struct vcpu *v)
{
	struct tv_call *c = &calls[vmx_vcpu_index(v)];
	struct tv_pal *pal = c->pal;

	restore_os_view(v);
	/* Neither the PAL's registers nor the caller's: nobody is resumed. */
	for (unsigned i = 0; i < GPR_COUNT; i++)
		if (i != GPR_RSP)
			vcpu_gpr_write(v, i, 0);
	c->pal = NULL;
	vmx_event_app_unblocked(v);
	return pal;
}

/*
 * What the caller's checks read of the PAL, copied under tv_lock when the
 * entry was recognised. Once the lock is dropped (reading the caller's stack
 * and inputs walks guest memory) another CPU may unregister the PAL and
 * register another one into the same slot; the id, unique per registration,
 * tells at the claim whether the slot still holds this PAL.
 */
struct pal_ticket {
	uint32_t id;
	uint64_t cr3;
	bool user;
	uint32_t in_words, out_words;
};

/* The caller's side of an entry: return address, arguments, checks. */
static void call_pal(struct vcpu *v, struct tv_pal *pal, const struct pal_ticket *t)
{
	uint64_t rsp = vmx_guest_rsp(v), ret_rip;
	uint64_t in_gva = vcpu_gpr_read(v, GPR_RDI), in_count = vcpu_gpr_read(v, GPR_RSI);
	uint64_t out_gva = vcpu_gpr_read(v, GPR_RDX), out_count = vcpu_gpr_read(v, GPR_RCX);
	uint64_t cr3 = vmx_guest_cr3(v);
	unsigned acc = vcpu_cpl() == 3 ? VMX_GW_USER : 0;
	uint64_t in[TV_MAX_WORDS];
	struct vmx_gw_ctx g;
	int64_t status = TV_OK;

	tv_walk_ctx(v, &g, cr3);
	if (vmx_gw_read(&g, &ret_rip, rsp, 8, acc)) {
		/* No return address: nothing to return to. The caller faults. */
		vmx_queue_exception(v, X86_VEC_GP, true, 0);
		return;
	}
	if (!vmx_guest_in_64bit_mode(v))
		status = TV_ERR_UNSUPPORTED;
	else if ((cr3 & CR3_ADDR) != t->cr3 || (acc == VMX_GW_USER) != t->user)
		status = TV_ERR_WRONG_PROCESS;
	else if (in_count > t->in_words || out_count > t->out_words)
		status = TV_ERR_TOO_LARGE;
	else if (in_count && vmx_gw_read(&g, in, in_gva, in_count * 8, acc))
		status = TV_ERR_FAULT;
	else
		status = tv_fpu_prepare(vmx_vcpu_index(v));
	if (status == TV_OK) {
		/* The claim: the same PAL as at the check, or no call at all. Once
		 * running_on is ours, unregistration waits (TV_ERR_BUSY). */
		tv_lock_acquire();
		if (pal->state == TV_PAL_FREE || pal->id != t->id)
			status = TV_ERR_NOT_REGISTERED;
		else if (pal->state != TV_PAL_READY || pal->running_on >= 0)
			status = TV_ERR_BUSY;
		else
			pal->running_on = (int)vmx_vcpu_index(v);
		tv_lock_release();
	}
	if (status != TV_OK) {
		return_to_caller(v, ret_rip, rsp, status);
		return;
	}
	enter_pal(v, pal, ret_rip, in_count, out_gva, out_count, in);
}

enum hv_ept_action tv_ept_violation(struct vcpu *v, uint64_t gpa, uint64_t q)
{
	struct tv_call *c = &calls[vmx_vcpu_index(v)];
	uint64_t gla;

	if (c->pal) {
		/* The PAL touched something its EPT view does not give it. */
		exit_pal(v, TV_ERR_PAL_FAULT);
		return HV_EPT_HANDLED;
	}
	tv_lock_acquire();
	struct tv_pal *pal = tv_pal_by_gpa(gpa & ~(TV_PAGE - 1));
	if (!pal) {
		/*
		 * No PAL has the page, yet the view denied the access: it did when
		 * the CPU walked the EPT, and the PAL that held the page let it go
		 * (unregistered, or its registration failed) before this CPU took
		 * tv_lock (pages leave and come back under tv_lock only). If the
		 * view gives the page back whole, the access goes again; a guest
		 * calling or touching a PAL while another CPU unregisters it must not
		 * reach libvmx's panic for a violation nobody handled (found by the
		 * fuzzer's race: a foreign call of a PAL its owner was unregistering).
		 */
		uint64_t hpa;
		bool back = tv_guest_ram(gpa & ~(TV_PAGE - 1), &hpa);
		tv_lock_release();
		if (!back)
			return HV_EPT_UNHANDLED;
		tv_invept(tv_guest_eptp()); /* nothing stale of the old view on this CPU */
		return HV_EPT_RETRY;
	}
	uint64_t rip = vmx_guest_rip(v);
	bool entry = (q & EPTQUAL_FETCH) && gpa == pal->entry_gpa && rip == pal->desc.entry &&
	             vmx_ept_violation_linear(v, &gla) && gla == rip;
	if (entry) {
		struct pal_ticket t = {pal->id, pal->cr3, pal->user, pal->desc.in_words,
		                       pal->desc.out_words};
		tv_lock_release();
		call_pal(v, pal, &t);
		return HV_EPT_HANDLED;
	}
	if (pal->state != TV_PAL_READY || pal->running_on >= 0) {
		/* Being set up or running elsewhere: wait (bounded by the PAL's budget). */
		tv_lock_release();
		return HV_EPT_RETRY;
	}
	/*
	 * The guest touched a PAL's page other than by calling it: the OS reusing
	 * the memory of a process that exited without unregistering, or an
	 * attack. The secrets go first: scrub, unregister, let the access go on.
	 */
	uint32_t id = pal->id;
	tv_pal_destroy(pal);
	tv_lock_release();
	hv_printf("hv: tv: guest touched PAL %u (GPA 0x%llx, RIP 0x%llx, cpu %u): scrubbed and "
	          "unregistered\n",
	          id, (unsigned long long)gpa, (unsigned long long)rip, vmx_vcpu_index(v));
	return HV_EPT_RETRY;
}

bool tv_exception(struct vcpu *v, uint8_t vector, uint32_t error_code)
{
	struct tv_call *c = &calls[vmx_vcpu_index(v)];
	(void)error_code;

	if (!c->pal)
		return false;
	if (vector == X86_VEC_MC) {
		/*
		 * A machine check is the platform's, not the PAL's (SDM Vol. 3B
		 * 15.10: the OS's #MC handler reads the banks and decides). The call
		 * ends as a PAL fault, then the #MC is delivered to the OS, in its
		 * own view, at the caller's return address. The PAL stays READY:
		 * scrubbing its pages from root could consume poisoned memory and
		 * take the #MC in the hypervisor; its owner decides (README.md).
		 */
		exit_pal(v, TV_ERR_PAL_FAULT);
		vmx_queue_exception(v, X86_VEC_MC, false, 0);
		return true;
	}
	bool sentinel = vector == X86_VEC_PF && vmx_exit_qualification(v) == TV_PAL_SENTINEL &&
	                vmx_guest_rip(v) == TV_PAL_SENTINEL;
	exit_pal(v, sentinel ? TV_OK : TV_ERR_PAL_FAULT);
	return true;
}

bool tv_mov_dr(struct vcpu *v)
{
	/* MOV-DR exiting is on only while a PAL runs (its view's clean_debug): a ring-0 PAL
	 * reaching for a debug register ends its call. Outside PALs, libvmx
	 * executes the instruction. */
	if (!calls[vmx_vcpu_index(v)].pal)
		return false;
	exit_pal(v, TV_ERR_PAL_FAULT);
	return true;
}

bool tv_timer_expired(struct vcpu *v)
{
	/* The timer is armed only while a PAL runs: its budget ran out. Anywhere
	 * else nothing armed it; false makes libvmx panic with the VMCS fields. */
	if (!calls[vmx_vcpu_index(v)].pal)
		return false;
	exit_pal(v, TV_ERR_PAL_TIMEOUT);
	return true;
}
