/*
 * The NMI sweep (issue 16; tools/sweep.py runs it): with `sweep=PATH` on the
 * command line the guest runs `smp` and then this case instead of the others.
 * The boot CPU does the same operation (PATH) once per round, in the 64-bit
 * stage (pal64/case_sweep64.c); the AP in slot 1 (32-bit, here) waits for the
 * round to start, spins a delay that the boot CPU chose for the round and
 * sends it an NMI (two with sweep_nmis=2, sweep_gap instructions apart).
 * Round r's delay is k = sweep_first + r * sweep_step instructions, split as
 * described in case_sweep64.c so that Bochs's quantum does not hide steps.
 *
 *   sweep=pal-call|pal-register|pal-unregister|vmcall|nmi-window|quiesce
 *                                                       the operation
 *   sweep_rounds=N sweep_first=K sweep_step=S           rounds and delays
 *   sweep_passes=P                                      the same delays P times
 *   sweep_nmis=1|2 sweep_gap=G                          NMIs per round
 *   sweep_pit=COUNT  the PIT (one-shot of COUNT) raises the NMI through the IOAPIC,
 *                    not slot 1; k is then its distance from the operation's start
 *   sweep_event=init pal-call only: slot 1 calls the PAL and the boot CPU sends it an
 *                    INIT, then SIPIs (pal64/case_sweep_init.c); slot 1 re-enters
 *                    the stage through the trampoline and the call posted below
 *   sweep_busy=1     with sweep_pit: slot 1 makes CPUID exits in a loop while the
 *                    round runs (below), so that a quiesce round's NMI meets it in
 *                    the guest or in the hypervisor at varied points
 *
 * The sender must not print (the stage has its own console lock).
 */
#include "guest/cases.h"
#include "guest/cmdline.h"
#include "guest/cpu.h"
#include "guest/lapic.h"
#include "guest/pal_stage.h"
#include "guest/smp.h"
#include "guest/time.h"

#define SWEEP_STOP_TIMEOUT_US 1000000u

static struct pal64_shared sweep;
static const char *path_name;

static const struct {
	const char *name;
	uint32_t path;
	bool needs_trustvisor;
} paths[] = {
    {"pal-call", SWEEP_PAL_CALL, true},
    {"pal-register", SWEEP_PAL_REGISTER, true},
    {"pal-unregister", SWEEP_PAL_UNREGISTER, true},
    {"vmcall", SWEEP_VMCALL, false},
    {"nmi-window", SWEEP_NMI_WINDOW, false},
    {"quiesce", SWEEP_QUIESCE, false},
};

void sweep_parse_cmdline(uint32_t mbi_pa)
{
	static char name[24];
	if (!cmdline_value(mbi_pa, "sweep", name, sizeof(name)))
		return;
	path_name = name;
	for (uint32_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
		const char *a = paths[i].name, *b = name;
		while (*a && *a == *b)
			a++, b++;
		if (!*a && !*b)
			sweep.sweep_path = paths[i].path;
	}
	sweep.sweep_rounds = cmdline_uint(mbi_pa, "sweep_rounds", 64);
	sweep.sweep_first = cmdline_uint(mbi_pa, "sweep_first", 0);
	sweep.sweep_step = cmdline_uint(mbi_pa, "sweep_step", 1);
	sweep.sweep_nmis = cmdline_uint(mbi_pa, "sweep_nmis", 1) == 2 ? 2 : 1;
	sweep.sweep_gap = cmdline_uint(mbi_pa, "sweep_gap", 64);
	sweep.sweep_passes = cmdline_uint(mbi_pa, "sweep_passes", 1);
	sweep.sweep_pit = cmdline_uint(mbi_pa, "sweep_pit", 0) & 0xffff;
	sweep.sweep_busy = cmdline_uint(mbi_pa, "sweep_busy", 0) != 0;
	static char event[8];
	if (cmdline_value(mbi_pa, "sweep_event", event, sizeof(event)) && event[0] == 'i')
		sweep.sweep_event = SWEEP_EVENT_INIT;
}

bool sweep_requested(void)
{
	return path_name != 0;
}

/*
 * sweep_busy: CPUID exits with a spin of 1-7 loop pairs between them, until
 * the next round starts. A quiesce round's NMI IPI then meets this CPU in the
 * guest (NMI exit) or in the hypervisor (its NMI handler, or the poll before
 * VM entry), each a path of another length to the ack, so the initiator sees
 * the ack at another phase of Bochs's CPU turns (docs/results.md, sweep).
 */
static void busy_until_next_round(struct pal64_shared *s, uint32_t r)
{
	for (uint32_t i = r; __atomic_load_n(&s->sweep_go, __ATOMIC_ACQUIRE) == r; i++) {
		(void)cpuid(0, 0);
		cpu_spin_pairs(1 + i % 7);
	}
}

/* On slot 1: per round, wait for the start, spin the delay, send the NMI(s). */
static void sweep_sender(void *arg)
{
	struct pal64_shared *s = arg;

	lapic_write(LAPIC_ICR_HI, guest_env.bsp_apic_id << 24);
	for (uint32_t r = 1;; r++) {
		cpu_wait_word(&s->sweep_go, r);
		if (s->sweep_stop)
			break;
		if (s->sweep_pit) { /* the boot CPU's PIT sends it (case_sweep64.c) */
			__atomic_store_n(&s->sweep_sent, r, __ATOMIC_SEQ_CST);
			if (s->sweep_busy)
				busy_until_next_round(s, r);
			continue;
		}
		uint32_t a = s->sweep_delay;
		if (a >= 2)
			cpu_spin_pairs(a / 2);
		lapic_write(LAPIC_ICR_LO, ICR_NMI | ICR_ASSERT); /* sends it */
		if (s->sweep_nmis == 2) {
			if (s->sweep_gap >= 2)
				cpu_spin_pairs(s->sweep_gap / 2);
			lapic_write(LAPIC_ICR_LO, ICR_NMI | ICR_ASSERT);
		}
		__atomic_store_n(&s->sweep_sent, r, __ATOMIC_SEQ_CST);
	}
}

/*
 * sweep_event=init, on slot 1: enter the stage once it is loaded and serve its
 * rounds. Each INIT resets this CPU in the middle of this call; the SIPI after
 * it restarts the CPU in the trampoline with slot 1 again (the stage set
 * ap_started back), and ap_main runs this call again, as it never returned.
 */
static struct pal64_shared ap_block;

static void sweep_init_worker(void *arg)
{
	struct pal64_shared *s = arg;
	while (!s->sweep_ap_enter && !s->sweep_stop)
		cpu_pause();
	if (!s->sweep_stop)
		(void)pal_stage_enter_other_cpu(&ap_block, PAL64_CASE_SWEEP_AP);
}

/* Ends the sender: whichever round it waits for, it sees sweep_stop. */
static bool stop_sender(uint32_t ticket)
{
	uint64_t end = time_deadline_us(SWEEP_STOP_TIMEOUT_US);
	__atomic_store_n(&sweep.sweep_stop, 1, __ATOMIC_SEQ_CST);
	while (!time_passed(end)) {
		__atomic_store_n(&sweep.sweep_go, sweep.sweep_sent + 1, __ATOMIC_SEQ_CST);
		if (smp_wait(1, ticket, 1000))
			return true;
	}
	return false;
}

static enum case_result case_nmi_sweep(struct case_ctx *c)
{
	if (!sweep.sweep_path)
		return case_fail(c,
		                 "sweep=%s: no such path (pal-call, pal-register, "
		                 "pal-unregister, vmcall, nmi-window, quiesce)",
		                 path_name);
	if (!guest_under_hv())
		return case_skip(c, "no hypervisor (the memory map offers its region as RAM)");
	for (uint32_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
		const char *why = paths[i].path == sweep.sweep_path && paths[i].needs_trustvisor
		                      ? pal_why_unavailable()
		                      : 0;
		if (why)
			return case_skip(c, "%s", why);
	}
	const char *why = pal_stage_unsupported();
	if (why)
		return case_skip(c, "%s", why);
	if (smp_ap_count() == 0 || !smp_ap(1)->online)
		return case_skip(c, "needs a second CPU (slot 1 not online)");
	sweep.tsc_per_ms = time_tsc_per_ms();
	sweep.ncpus = guest_env.ncpus;
	sweep.sweep_go = sweep.sweep_sent = sweep.sweep_stop = 0;
	sweep.sweep_ap_enter = sweep.sweep_ap_alive = sweep.sweep_ap_state = 0;
	sweep.sweep_ap_apic = smp_ap(1)->lapic_id;
	sweep.sweep_ap_started = (uint32_t)(uintptr_t)&ap_started;
	bool init = sweep.sweep_event == SWEEP_EVENT_INIT;
	if (init && sweep.sweep_path != SWEEP_PAL_CALL)
		return case_fail(c, "sweep_event=init: only sweep=pal-call");
	uint32_t ticket = smp_post(1, init ? sweep_init_worker : sweep_sender, &sweep);
	enum case_result r = pal_stage_run(c, &sweep, PAL64_CASE_SWEEP);
	if (init && sweep.sweep_ap_state == SWEEP_AP_LOST) {
		/* An INIT left slot 1 in wait-for-SIPI for good (Bochs 2.7 never clears
		 * an INIT that made a VM exit): nothing to stop. */
		__atomic_store_n(&sweep.sweep_stop, 1, __ATOMIC_SEQ_CST);
		return r;
	}
	if (!stop_sender(ticket) && r == CASE_PASS)
		return case_fail(c, "the NMI sender on slot 1 did not stop");
	return r;
}

const struct test_case sweep_cases[] = {
    {"smp", case_smp},
    {"nmi_sweep", case_nmi_sweep},
};
const uint32_t sweep_case_count = sizeof(sweep_cases) / sizeof(sweep_cases[0]);
