/*
 * The sweep's INIT variant (`sweep=pal-call sweep_event=init`, issue 16): an INIT
 * at every point of a PAL call. CPU 1 calls the adder PAL in this stage; the boot
 * CPU starts the call, sends CPU 1 an INIT k instructions later and restarts it
 * by SIPI. The restarted CPU runs the guest's trampoline with its old slot (the
 * boot CPU sets the trampoline's slot counter back first, guest/smp.h), whose
 * posted call (case_sweep.c) enters this stage again: sweep_init_other_cpu.
 *
 * TrustVisor ends a PAL call before an INIT resets its CPU, and then unregisters
 * and scrubs the PAL (apps/trustvisor/README.md "Lifecycle"). An INIT that meets
 * CPU 1 in the hypervisor (the call's VM exit, the PAL's entry or exit) is held
 * on hardware until the next VM entry (INIT is blocked in VMX root operation,
 * SDM Vol. 3C 24.8 "Restrictions on VMX Operation") and exits right after it:
 * in the PAL (ended, scrubbed) or in the guest (the PAL stays registered).
 * Bochs 2.7 differs (docs/results.md, sweep): it drops such an INIT, and once
 * an INIT made a VM exit it stays pending, so the CPU never runs again.
 * Per round, one line to port 0xE9:
 *
 *   SWEEP-INIT: r=<round> k=<delay> state=<s> gone=<0|1> zero=<0|1> sipis=<n> cpu1=<f>
 *               ret=<0|3|4>
 *
 * state: CPU 1's enum sweep_ap_state when the INIT froze it (1 before the
 * call, 2 in tv64_call, 3 returned right, 4 returned wrong); gone: the PAL was
 * no longer registered afterwards (TV_HC_PAL_IDENTITY said NOT_REGISTERED);
 * zero: its params and stack pages, back in the guest's view, read all zero
 * (1 when not gone); sipis: SIPIs sent; cpu1: 1 back in the stage by SIPI, 2
 * never reset (the INIT was dropped: state is then where CPU 1 was when it was
 * sent), 0 lost (reset and never restarted: Bochs 2.7, below; the sweep ends
 * there); ret: how the call CPU 1 was in ended, if it returned (3 right, 4 wrong).
 * Bad: state 4 (a wrong answer), gone outside a call (state != 2), gone and not
 * zero (the PAL's state left for the OS). The
 * hypervisor prints one "hv: tv: INIT on cpu 1 while PAL" line per PAL ended:
 * tools/sweep.py checks that their count is the rounds with gone=1.
 */
#include "guest/console.h"
#include "guest/layout.h"
#include "guest/pal64/cpu64.h"
#include "guest/pal64/pal_code.h"
#include "guest/pal64/stage.h"
#include "guest/pal64/tv64.h"

#define QUANTUM    16u /* as case_sweep64.c: the delay's split between the CPUs */
#define END_STREAK 16u
/* CPU 1 takes the INIT at its next turn; the hypervisor's INIT exit changes no
 * guest memory CPU 1 reports through, so its state is frozen well before this. */
#define INIT_SETTLE_US 20ull
/* A SIPI meets CPU 1 only in wait-for-SIPI; the INIT exit before it may print a
 * line on the UART (~8 ms simulated): resend every SIPI_WAIT_US, 50 ms in all. */
#define SIPI_WAIT_US 100ull
#define SIPI_TRIES   500u
#define AP_ENTER_US  200000ull

#define LAPIC_ICR_LO 0x300u
#define LAPIC_ICR_HI 0x310u
#define ICR_INIT     (5u << 8)
#define ICR_STARTUP  (6u << 8)
#define ICR_ASSERT   (1u << 14)
#define ICR_LEVEL    (1u << 15)
#define LAPIC(off)   (*(volatile uint32_t *)(uintptr_t)(LAPIC_BASE + (off)))
#define GOLDEN_RATIO 0x9e3779b97f4a7c15ull

/* CPU 1: at every entry (the first and after each SIPI), serve rounds until stop. */
uint32_t sweep_init_other_cpu(void)
{
	struct tv_pal_desc d;
	tv64_desc(&d, PAL_ADDER);
	__atomic_fetch_add(&stage->sweep_ap_alive, 1, __ATOMIC_SEQ_CST);
	for (;;) {
		uint32_t st;
		while ((st = __atomic_load_n(&stage->sweep_ap_state, __ATOMIC_ACQUIRE)) !=
		       SWEEP_AP_GO) {
			if (__atomic_load_n(&stage->sweep_stop, __ATOMIC_ACQUIRE))
				return PAL64_PASS;
			if (st == SWEEP_AP_PING) /* the INIT did not reset this CPU */
				__atomic_compare_exchange_n(&stage->sweep_ap_state, &st,
				                            SWEEP_AP_IDLE, false, __ATOMIC_SEQ_CST,
				                            __ATOMIC_SEQ_CST);
			cpu64_pause();
		}
		uint32_t k = stage->sweep_delay, r = stage->sweep_go - 1;
		cpu64_nops(QUANTUM - 1 - k % QUANTUM);
		__atomic_store_n(&stage->sweep_ap_state, SWEEP_AP_CALLING, __ATOMIC_SEQ_CST);
		uint64_t a = k, b = (uint64_t)(r + 1) * GOLDEN_RATIO;
		uint64_t in[ADDER_IN_WORDS] = {a, b, ADDER_NORMAL, 0},
		         out[ADDER_OUT_WORDS] = {0, 0};
		uint64_t ret = 0;
		int64_t status = tv64_call(d.entry, in, 3, out, ADDER_OUT_WORDS, &ret);
		bool ok =
		    status == TV_OK && ret == PAL_MAGIC && out[0] == a + b && out[1] == (a ^ b);
		__atomic_store_n(&stage->sweep_ap_state,
		                 ok ? SWEEP_AP_RETURNED_OK : SWEEP_AP_RETURNED_BAD,
		                 __ATOMIC_SEQ_CST);
	}
}

static void ipi(uint32_t apic, uint32_t icr)
{
	LAPIC(LAPIC_ICR_HI) = apic << 24;
	LAPIC(LAPIC_ICR_LO) = icr;
}

/* Waits up to `us` for CPU 1's entry count to pass `alive`. */
static bool wait_alive(uint32_t alive, uint64_t us)
{
	uint64_t end = stage_deadline_us(us);
	while (__atomic_load_n(&stage->sweep_ap_alive, __ATOMIC_ACQUIRE) == alive)
		if (stage_passed(end))
			return false;
	return true;
}

static bool returned(uint32_t state)
{
	return state == SWEEP_AP_RETURNED_OK || state == SWEEP_AP_RETURNED_BAD;
}

/*
 * SIPIs to CPU 1 until it is back in the stage (CPU1_BACK, *sipis = the number
 * sent), or it shows it was never reset (CPU1_DROPPED: it finished the call, or
 * it answers a ping while it waits for the next round; on hardware an INIT that
 * meets VMX root is held until the next VM entry, SDM Vol. 3C 24.8, so this is
 * Bochs's doing). CPU1_LOST: none of these after SIPI_TRIES.
 */
enum cpu1_fate { CPU1_LOST = 0, CPU1_BACK = 1, CPU1_DROPPED = 2 };

static enum cpu1_fate restart(uint32_t alive, uint32_t *sipis)
{
	volatile uint32_t *slot_counter = (volatile uint32_t *)(uintptr_t)stage->sweep_ap_started;
	bool pinged = false;
	for (uint32_t n = 1; n <= SIPI_TRIES; n++) {
		*slot_counter = 0; /* the trampoline gives it slot 1 again */
		ipi(stage->sweep_ap_apic, ICR_STARTUP | (TRAMP_BASE >> 12));
		*sipis = n;
		if (wait_alive(alive, SIPI_WAIT_US))
			return CPU1_BACK;
		uint32_t st = __atomic_load_n(&stage->sweep_ap_state, __ATOMIC_ACQUIRE);
		if (returned(st) || (pinged && st == SWEEP_AP_IDLE))
			return CPU1_DROPPED;
		if (st == SWEEP_AP_IDLE) {
			__atomic_compare_exchange_n(&stage->sweep_ap_state, &st, SWEEP_AP_PING,
			                            false, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);
			pinged = true;
		}
	}
	return CPU1_LOST;
}

static bool all_zero(const uint8_t *p, uint32_t n)
{
	for (uint32_t i = 0; i < n; i++)
		if (((const volatile uint8_t *)p)[i])
			return false;
	return true;
}

/* Is the adder PAL registered? TV_HC_PAL_IDENTITY touches none of its pages. */
static int pal_registered(const struct tv_pal_desc *d)
{
	static uint8_t id[TV_IDENTITY_SIZE];
	int64_t st =
	    tv64_hypercall(TV_HC_PAL_IDENTITY, (uint64_t)(uintptr_t)id, sizeof(id), d->entry, 0, 0);
	if (st == TV_ERR_NOT_REGISTERED)
		return 0;
	return st == (int64_t)TV_IDENTITY_SIZE ? 1 : -1;
}

uint32_t case64_sweep_init(void)
{
	struct tv_pal_desc d;
	uint32_t wrong = 0, gone_outside = 0, not_zero = 0, gone_total = 0, dropped = 0;
	uint32_t r = 0, passes_ended = 0;
	bool lost = false;

	if (stage->sweep_path != SWEEP_PAL_CALL)
		return stage_fail("sweep_event=init: only the pal-call path");
	tv64_desc(&d, PAL_ADDER);
	stage->sweep_ap_state = SWEEP_AP_IDLE;
	uint32_t alive = stage->sweep_ap_alive;
	__atomic_store_n(&stage->sweep_ap_enter, 1, __ATOMIC_SEQ_CST);
	if (!wait_alive(alive, AP_ENTER_US))
		return stage_fail("CPU 1 did not enter the stage");
	bool registered = false;
	for (uint32_t pass = 0; pass < stage->sweep_passes; pass++) {
		uint32_t streak = 0;
		for (uint32_t i = 0; i < stage->sweep_rounds && streak < END_STREAK; i++, r++) {
			uint32_t k = stage->sweep_first + i * stage->sweep_step;
			if (!registered && tv64_register(&d) != TV_OK)
				return stage_fail("round %u: could not register the PAL", r);
			registered = true;
			alive = stage->sweep_ap_alive;
			stage->sweep_delay = k;
			stage->sweep_go = r + 1;
			__atomic_store_n(&stage->sweep_ap_state, SWEEP_AP_GO, __ATOMIC_SEQ_CST);
			for (uint32_t j = 0; j < k / QUANTUM; j++)
				cpu64_nops(13); /* with the loop, about QUANTUM instructions */
			ipi(stage->sweep_ap_apic, ICR_INIT | ICR_ASSERT | ICR_LEVEL);
			/* Where CPU 1 was when the INIT went out, give or take its turn. */
			uint32_t at_send =
			    __atomic_load_n(&stage->sweep_ap_state, __ATOMIC_SEQ_CST);
			stage_delay_us(INIT_SETTLE_US);
			/* Frozen if the INIT reset CPU 1; if CPU 1 still runs (a dropped
			 * INIT), the exchange fails or CPU 1 overwrites IDLE when it returns. */
			uint32_t state = __atomic_load_n(&stage->sweep_ap_state, __ATOMIC_SEQ_CST);
			uint32_t frozen = state;
			__atomic_compare_exchange_n(&stage->sweep_ap_state, &frozen, SWEEP_AP_IDLE,
			                            false, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);
			uint32_t sipis = 0, ret = returned(state) ? state : 0;
			enum cpu1_fate fate = restart(alive, &sipis);
			if (fate == CPU1_DROPPED) {
				/* Not reset: where it was at the send; its call's end, if any. */
				uint32_t end =
				    __atomic_load_n(&stage->sweep_ap_state, __ATOMIC_SEQ_CST);
				ret = returned(end) ? end : ret;
				state = at_send == SWEEP_AP_IDLE ? SWEEP_AP_GO : at_send;
				dropped++;
			}
			int reg = pal_registered(&d);
			if (reg < 0)
				return stage_fail("round %u: TV_HC_PAL_IDENTITY failed", r);
			bool gone = reg == 0;
			/* Back in the guest's view: what the PAL held must be gone. */
			bool zero = !gone || (all_zero(pal_params_page, sizeof(pal_params_page)) &&
			                      all_zero(pal_stack_pages, sizeof(pal_stack_pages)));
			sweep_e9_printf(
			    "SWEEP-INIT: r=%u k=%u state=%u gone=%u zero=%u sipis=%u cpu1=%u "
			    "ret=%u\n",
			    r, k, state, gone ? 1u : 0u, zero ? 1u : 0u, sipis, (uint32_t)fate,
			    ret);
			registered = !gone;
			gone_total += gone;
			wrong += state == SWEEP_AP_RETURNED_BAD || ret == SWEEP_AP_RETURNED_BAD;
			gone_outside += gone && state != SWEEP_AP_CALLING;
			not_zero += !zero;
			streak = returned(state) ? streak + 1 : 0;
			if (fate == CPU1_LOST) {
				/* Bochs 2.7 never clears an INIT that made a VM exit: every
				 * later VM entry of CPU 1 exits again (docs/design.md section
				 * 5). The sweep ends here; this round's checks stand. */
				lost = true;
				__atomic_store_n(&stage->sweep_ap_state, SWEEP_AP_LOST,
				                 __ATOMIC_SEQ_CST);
				r++;
				goto out;
			}
		}
		passes_ended += streak >= END_STREAK;
	}
out:
	if (registered && tv64_unregister(d.entry) != TV_OK)
		wrong++;
	con_printf("SWEEP-INIT-END: rounds=%u gone=%u wrong=%u gone_outside_call=%u "
	           "not_scrubbed=%u dropped=%u end=%s\n",
	           r, gone_total, wrong, gone_outside, not_zero, dropped,
	           lost                                  ? "cpu1-lost"
	           : passes_ended == stage->sweep_passes ? "passed"
	                                                 : "rounds");
	if (wrong || gone_outside || not_zero)
		return stage_fail("%u rounds: %u wrong results, %u PALs gone outside a call, %u "
		                  "not scrubbed",
		                  r, wrong, gone_outside, not_zero);
	return PAL64_PASS;
}
