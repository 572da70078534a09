/*
 * NMI storms (issue 4): run when the command line holds the word `nmi-storm`,
 * instead of the normal cases (main.c). The AP in slot 1 sends NMI IPIs to the
 * boot CPU while the boot CPU spins waiting for it; the boot CPU's NMI handler
 * counts (trap.c). Under the hypervisor every NMI is an NMI exit, a pending
 * guest NMI and an injection at a VM entry (docs/design.md section 3).
 *
 * nmi_storm          one NMI at a time: the sender waits until the handler
 *                    counted it before the next, so nothing can merge and the
 *                    count must equal what was sent, exactly.
 * nmi_burst          NMIs back to back (only the ICR in between): the local
 *                    APIC holds one NMI while another is being handled, the
 *                    rest merge (SDM Vol. 3A 11.5.1 / 6.7.1), on bare metal
 *                    as under the hypervisor. Bound: 1 <= received <= sent.
 * nmi_quiesce_storm  under the hypervisor only: the sender also calls the
 *                    QUIESCE_STORM debug hypercall after each NMI, so quiesce
 *                    NMIs hit the boot CPU between the guest's own. Exact
 *                    count again, the hypervisor's NMI_STATS must show quiesce
 *                    NMIs consumed on the boot CPU and as many guest NMIs
 *                    injected as the handler counted; then BENCH prints the
 *                    quiesce-round and NMI-latency lines.
 * Every case: no other CPU's NMI handler runs.
 */
#include "guest/cases.h"
#include "guest/cmdline.h"
#include "guest/cpu.h"
#include "guest/lapic.h"
#include "guest/smp.h"
#include "guest/time.h"
#include "guest/trap.h"

#define STORM_NMIS      200u
#define BURST_NMIS      200u
#define QSTORM_NMIS     100u
#define QSTORM_ROUNDS   2u /* quiesce rounds per NMI */
#define ACK_TIMEOUT_US  200000u
#define STORM_GAP_US    5u
#define BURST_GAP_US    0u
#define SETTLE_US       50000u
#define CALL_TIMEOUT_US 120000000u

/* core/debug_hypercall.h, the guest's copy of the ABI. */
#define HC_QUIESCE_STORM 0x48560001u
#define HC_NMI_STATS     0x48560002u
#define HC_BENCH         0x48560003u

static bool storm_requested;

void nmi_storm_parse_cmdline(uint32_t mbi_pa)
{
	storm_requested = cmdline_has_word(mbi_pa, "nmi-storm");
}

bool nmi_storm_requested(void)
{
	return storm_requested;
}

struct hc_regs {
	uint32_t eax, ebx, ecx, edx, esi;
};

static inline void vmcall(struct hc_regs *r)
{
	__asm__ __volatile__("vmcall"
	                     : "+a"(r->eax), "+b"(r->ebx), "+c"(r->ecx), "+d"(r->edx), "+S"(r->esi)
	                     :
	                     : "memory");
}

/* The same on the boot CPU, as a probe: #UD when no hypervisor answers. */
static inline uint32_t probe_vmcall(struct hc_regs *r)
{
	trap_arm();
	__asm__ __volatile__(PROBE_ASM("vmcall")
	                     : "+a"(r->eax), "+b"(r->ebx), "+c"(r->ecx), "+d"(r->edx), "+S"(r->esi),
	                       PROBE_OUT
	                     :
	                     : "memory");
	return trap_disarm();
}

struct storm {
	uint32_t count;   /* NMIs to send */
	uint32_t gap_us;  /* pause after each */
	bool wait_ack;    /* wait for the handler to count each one */
	uint32_t quiesce; /* QUIESCE_STORM rounds after each NMI (0 = none) */
	volatile uint32_t sent, timeouts, icr_busy, hc_errors;
};

/* Runs on the AP in slot 1. */
static void storm_sender(void *arg)
{
	struct storm *s = arg;

	for (uint32_t i = 0; i < s->count; i++) {
		uint32_t before = trap_nmi_count(0);
		if (!lapic_send_ipi(guest_env.bsp_apic_id, ICR_NMI | ICR_ASSERT)) {
			s->icr_busy++;
			continue;
		}
		s->sent++;
		if (s->quiesce) {
			struct hc_regs r = {.eax = HC_QUIESCE_STORM, .ebx = s->quiesce};
			vmcall(&r);
			if (r.eax != 0 || r.ebx != s->quiesce)
				s->hc_errors++;
		}
		if (s->wait_ack) {
			uint64_t end = time_deadline_us(ACK_TIMEOUT_US);
			while (trap_nmi_count(0) == before && !time_passed(end))
				cpu_pause();
			if (trap_nmi_count(0) == before) {
				s->timeouts++;
				break; /* lost: stop here, the case reports where */
			}
		}
		time_delay_us(s->gap_us);
	}
}

struct nmi_counts {
	uint32_t slot[SMP_MAX_CPUS];
};

static void snapshot(struct nmi_counts *c)
{
	for (uint32_t s = 0; s < SMP_MAX_CPUS; s++)
		c->slot[s] = trap_nmi_count(s);
}

/* Runs the storm from slot 1; the boot CPU spins in smp_call meanwhile. */
static enum case_result run_storm(struct case_ctx *c, struct storm *s, uint32_t *received)
{
	struct nmi_counts before, after;

	if (smp_ap_count() == 0 || !smp_ap(1)->online)
		return case_skip(c, "needs a second CPU (slot 1 not online)");
	snapshot(&before);
	if (!smp_call(1, storm_sender, s, CALL_TIMEOUT_US))
		return case_fail(c, "sender on slot 1 did not finish (sent %u)", s->sent);
	time_delay_us(SETTLE_US); /* a late or duplicate NMI would show up here */
	snapshot(&after);
	*received = after.slot[0] - before.slot[0];
	for (uint32_t i = 1; i < SMP_MAX_CPUS; i++)
		if (after.slot[i] != before.slot[i])
			return case_fail(c, "%u NMIs reached cpu slot %u",
			                 after.slot[i] - before.slot[i], i);
	if (s->icr_busy)
		return case_fail(c, "ICR stayed busy %u times", s->icr_busy);
	return CASE_PASS;
}

static bool nmi_stats(uint32_t cpu, struct hc_regs *out);

/* Under the hypervisor, what it counted for the boot CPU (for a failure). */
static void report_hv_stats(const char *name)
{
	struct hc_regs st;
	if (guest_under_hv() && nmi_stats(0, &st))
		runner_info("%s: hv cpu 0: injected=%u quiesce-consumed=%u merged=%u passed=%u",
		            name, st.ebx, st.ecx, st.edx, st.esi);
}

enum case_result case_nmi_storm(struct case_ctx *c)
{
	struct storm s = {.count = STORM_NMIS, .gap_us = STORM_GAP_US, .wait_ack = true};
	uint32_t got = 0;
	enum case_result r = run_storm(c, &s, &got);
	if (r != CASE_PASS)
		return r;
	runner_info("nmi_storm: sent=%u received=%u ack-timeouts=%u", s.sent, got, s.timeouts);
	if (got != s.sent || s.timeouts)
		report_hv_stats("nmi_storm");
	if (got != s.sent || s.timeouts)
		return case_fail(c, "sent %u NMIs one at a time, handler counted %u (%u not acked)",
		                 s.sent, got, s.timeouts);
	return CASE_PASS;
}

enum case_result case_nmi_burst(struct case_ctx *c)
{
	struct storm s = {.count = BURST_NMIS, .gap_us = BURST_GAP_US, .wait_ack = false};
	uint32_t got = 0;
	enum case_result r = run_storm(c, &s, &got);
	if (r != CASE_PASS)
		return r;
	runner_info("nmi_burst: sent=%u received=%u merged=%u", s.sent, got,
	            got <= s.sent ? s.sent - got : 0);
	if (got < 1 || got > s.sent)
		return case_fail(c, "sent %u NMIs in a burst, handler counted %u (want 1..%u)",
		                 s.sent, got, s.sent);
	return CASE_PASS;
}

static bool nmi_stats(uint32_t cpu, struct hc_regs *out)
{
	*out = (struct hc_regs){.eax = HC_NMI_STATS, .ebx = cpu};
	return probe_vmcall(out) == TRAP_NONE && out->eax == 0;
}

enum case_result case_nmi_quiesce_storm(struct case_ctx *c)
{
	if (!guest_under_hv())
		return case_skip(c, "no hypervisor (the quiesce storm is a hypervisor hypercall)");
	/* Hypervisor CPU 0 is the boot CPU (core/boot.c), the guest's slot 0. */
	struct hc_regs st0, st1;
	if (!nmi_stats(0, &st0))
		return case_skip(c, "no toolkit debug hypercall in this image (VMCALL refused)");

	struct storm s = {.count = QSTORM_NMIS,
	                  .gap_us = STORM_GAP_US,
	                  .wait_ack = true,
	                  .quiesce = QSTORM_ROUNDS};
	uint32_t got = 0;
	enum case_result r = run_storm(c, &s, &got);
	if (r != CASE_PASS)
		return r;
	if (!nmi_stats(0, &st1))
		return case_fail(c, "NMI_STATS failed after the storm");
	uint32_t injected = st1.ebx - st0.ebx, consumed = st1.ecx - st0.ecx;
	runner_info("nmi_quiesce_storm: sent=%u received=%u ack-timeouts=%u hv-injected=%u "
	            "quiesce-nmis-consumed=%u hv-merged=%u",
	            s.sent, got, s.timeouts, injected, consumed, st1.edx - st0.edx);
	if (s.hc_errors)
		return case_fail(c, "QUIESCE_STORM failed %u times", s.hc_errors);
	if (got != s.sent || s.timeouts)
		return case_fail(
		    c, "sent %u NMIs one at a time amid quiesce rounds, handler counted %u", s.sent,
		    got);
	if (injected != got)
		return case_fail(c, "hypervisor injected %u NMIs, the handler counted %u", injected,
		                 got);
	if (consumed == 0)
		return case_fail(c,
		                 "no quiesce NMI was consumed on CPU 0 (storm did not reach it)");

	struct hc_regs b = {.eax = HC_BENCH};
	if (probe_vmcall(&b) != TRAP_NONE || b.eax != 0)
		return case_fail(c, "BENCH hypercall failed");
	runner_info("hv bench: quiesce_round=%u ticks, nmi_delivery=%u ticks over %u samples",
	            b.ebx, b.ecx, b.edx);
	return CASE_PASS;
}

const struct test_case nmi_storm_cases[] = {
    {"smp", case_smp},
    {"nmi_storm", case_nmi_storm},
    {"nmi_burst", case_nmi_burst},
    {"nmi_quiesce_storm", case_nmi_quiesce_storm},
};
const uint32_t nmi_storm_case_count = sizeof(nmi_storm_cases) / sizeof(nmi_storm_cases[0]);
