/*
 * How a PAL's life ends other than by its owner's unregister (README.md
 * "Lifecycle"): teardown (shutdown, triple fault), an INIT to the CPU that
 * runs it, and the before-entry check that connects the two.
 *
 * A CPU's VMCS can only be changed by that CPU (VMREAD/VMWRITE act on the
 * current VMCS, and a VMCS is current on one CPU at a time, SDM Vol. 3C
 * 25.11.1), so no CPU can take another out of a PAL. Teardown therefore:
 *   1. under tv_lock, marks every READY PAL DYING: from then on nobody can
 *      call, unregister or touch it (tv_call.c and tv_register.c want READY);
 *   2. if one runs on another CPU, stops every CPU (tv_sync_all_cpus: a
 *      quiesce round makes each leave the guest, and each passes its
 *      before-entry hooks before running guest code again); the PAL's CPU,
 *      in tv_before_entry, sees DYING and ends the call itself: the OS view
 *      back, PAL registers and x87/SSE state replaced by the caller's, the
 *      caller resumed with TV_ERR_NOT_REGISTERED, running_on = -1;
 *   3. waits, holding no lock, until no DYING PAL it marked runs;
 *   4. only then scrubs, gives the pages back and frees the tables.
 * A PAL being registered (SETUP) is left alone: it never ran, so its pages
 * hold only what its owner put there, and its registrar still owns the slot.
 *
 * INIT (hv_app.before_init, before libvmx resets the CPU): the call ends
 * without resuming the caller (the INIT resets the CPU anyway), then the PAL
 * is unregistered and scrubbed. Why not leave it READY, as a timeout or a
 * fault does: an INIT is the one event by which the OS can stop a PAL at a
 * moment of its choosing (NMIs and interrupts wait, exceptions are the PAL's
 * own), e.g. between a PAL's check and its update of a counter in its data
 * section, and then call it again with that half-done state. Scrubbing takes
 * the state away, and costs an honest OS nothing: it never sends INIT to a
 * CPU that runs a task (Linux offlines a CPU only after moving its tasks
 * away). A PAL a teardown already marked DYING is left to that teardown.
 */
#include "apps/trustvisor/tv_internal.h"
#include "apps/trustvisor/tv_platform.h"
#include "rt/console.h"

void tv_before_entry(struct vcpu *v)
{
	tv_platform_before_entry(v);
	struct tv_pal *pal = tv_call_of(vmx_vcpu_index(v))->pal;
	if (pal && __atomic_load_n(&pal->state, __ATOMIC_ACQUIRE) == TV_PAL_DYING)
		tv_call_end(v, TV_ERR_NOT_REGISTERED);
}

void tv_before_init(struct vcpu *v)
{
	if (!tv_call_of(vmx_vcpu_index(v))->pal)
		return;
	struct tv_pal *pal = tv_call_drop(v);
	uint32_t id = pal->id;
	bool scrubbed = false;

	tv_lock_acquire();
	pal->running_on = -1;
	if (pal->state == TV_PAL_READY) {
		tv_pal_destroy(pal);
		scrubbed = true;
	}
	tv_lock_release();
	hv_printf("hv: tv: INIT on cpu %u while PAL %u ran: call ended, PAL %s\n",
	          vmx_vcpu_index(v), id,
	          scrubbed ? "scrubbed and unregistered" : "left to the teardown");
}

void tv_unregister_all(struct vcpu *v)
{
	uint32_t mine = 0; /* slots this teardown marked DYING */
	bool elsewhere = false;

	tv_lock_acquire();
	for (uint32_t i = 0; i < TV_MAX_PALS; i++) {
		struct tv_pal *p = &tv_pals[i];
		if (p->state != TV_PAL_READY)
			continue;
		__atomic_store_n(&p->state, TV_PAL_DYING, __ATOMIC_RELEASE);
		mine |= 1u << i;
		elsewhere |= p->running_on >= 0 && (uint32_t)p->running_on != vmx_vcpu_index(v);
	}
	tv_lock_release();

	/* An exit from inside this CPU's own PAL led here (e.g. a ring-0 PAL
	 * writing the power-off port): this CPU leaves it first. */
	struct tv_pal *own = tv_call_of(vmx_vcpu_index(v))->pal;
	if (own && __atomic_load_n(&own->state, __ATOMIC_ACQUIRE) == TV_PAL_DYING)
		tv_call_end(v, TV_ERR_NOT_REGISTERED);
	if (elsewhere)
		tv_sync_all_cpus();

	/*
	 * Scrub ours once none of them runs; return once no PAL is DYING, so a
	 * second teardown racing with this one (two CPUs powering off) does not
	 * end the run while the first is still scrubbing.
	 */
	for (;;) {
		bool running = false, dying = false;
		tv_lock_acquire();
		for (uint32_t i = 0; i < TV_MAX_PALS; i++)
			running |= (mine & (1u << i)) && tv_pals[i].running_on >= 0;
		if (!running) {
			for (uint32_t i = 0; i < TV_MAX_PALS; i++)
				if (mine & (1u << i))
					tv_pal_destroy(&tv_pals[i]);
			mine = 0;
		}
		for (uint32_t i = 0; i < TV_MAX_PALS; i++)
			dying |= tv_pals[i].state == TV_PAL_DYING;
		tv_lock_release();
		if (!running && !dying)
			return;
		/* Each running PAL's CPU ends its call in tv_before_entry. */
		tv_relax();
	}
}
