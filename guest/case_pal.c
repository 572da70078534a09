/*
 * The PAL cases (`pal` on the command line, README.md): TrustVisor PALs
 * registered and called from the 64-bit stage (pal64/), one stage entry per
 * case. Without TrustVisor (no hypervisor by the memory map, or a VMCALL to
 * TrustVisor raising #UD, as under passthrough) they SKIP with the reason.
 *
 * pal_nmi also needs the AP in slot 1 (started by the smp case): it stays in
 * 32-bit mode and sends NMIs to the boot CPU while the boot CPU runs PAL calls
 * in 64-bit mode (pal64/case_nmi64.c). It must not print meanwhile: the stage
 * has its own copy of the console lock.
 */
#include "guest/cases.h"
#include "guest/cmdline.h"
#include "guest/cpu.h"
#include "guest/lapic.h"
#include "guest/pal_stage.h"
#include "guest/smp.h"
#include "guest/time.h"
#include "guest/trap.h"

#include "apps/trustvisor/tv_hypercall.h"

#define NMI_COUNT          100u
#define NMI_ACK_TIMEOUT_US 200000u
#define NMI_START_TIMEOUT  60000000u
#define NMI_CALL_TIMEOUT   180000000u
#define SETTLE_US          50000u

static bool requested, reset_requested;
static struct pal64_shared shared;

void pal_parse_cmdline(uint32_t mbi_pa)
{
	requested = cmdline_has_word(mbi_pa, "pal");
	reset_requested = cmdline_has_word(mbi_pa, "pal_reset");
}

bool pal_reset_requested(void)
{
	return reset_requested;
}

bool pal_requested(void)
{
	return requested;
}

/* NULL if TrustVisor answers, else why the PAL cases skip. Asked once. */
static const char *why_no_trustvisor(void)
{
	static bool asked;
	static const char *why;
	if (asked)
		return why;
	asked = true;
	if (!guest_under_hv())
		return why = "no hypervisor (the memory map offers its region as RAM)";
	/* Unregistering entry 0 harms nothing: TrustVisor answers NOT_REGISTERED,
	 * any other hypervisor (and bare metal) raises #UD. */
	uint32_t eax = TV_HC_UNREGISTER;
	if (probe_vmcall_eax(&eax, 0) != TRAP_NONE)
		return why = "not TrustVisor (its VMCALL raised #UD)";
	if ((int32_t)eax != TV_ERR_NOT_REGISTERED)
		return why = "not TrustVisor (unexpected answer to TV_HC_UNREGISTER)";
	return why = pal_stage_unsupported();
}

const char *pal_why_unavailable(void)
{
	return why_no_trustvisor();
}

static enum case_result run(struct case_ctx *c, uint32_t id)
{
	const char *why = why_no_trustvisor();
	if (why)
		return case_skip(c, "%s", why);
	shared.tsc_per_ms = time_tsc_per_ms();
	shared.ncpus = guest_env.ncpus;
	return pal_stage_run(c, &shared, id);
}

enum case_result case_pal_add(struct case_ctx *c)
{
	return run(c, PAL64_CASE_ADD);
}

enum case_result case_pal_errors(struct case_ctx *c)
{
	return run(c, PAL64_CASE_ERRORS);
}

enum case_result case_pal_utpm(struct case_ctx *c)
{
	return run(c, PAL64_CASE_UTPM);
}

/* Ends the run with a machine reset (pal64/case_reset.c). */
static enum case_result case_pal_reset(struct case_ctx *c)
{
	return run(c, PAL64_CASE_RESET);
}

enum case_result case_pal_bench(struct case_ctx *c)
{
	return run(c, PAL64_CASE_BENCH);
}

/* On slot 1: NMIs to the boot CPU, one at a time, once the stage says go. */
static void nmi_sender(void *arg)
{
	struct pal64_shared *s = arg;
	uint64_t end = time_deadline_us(NMI_START_TIMEOUT);

	while (!s->nmi_go && !s->nmi_stop && !time_passed(end))
		cpu_pause();
	for (uint32_t i = 0; i < NMI_COUNT && s->nmi_go && !s->nmi_stop; i++) {
		uint32_t before = s->nmi_count;
		if (!lapic_send_ipi(guest_env.bsp_apic_id, ICR_NMI | ICR_ASSERT)) {
			s->nmi_lost++;
			break;
		}
		s->nmi_sent++;
		uint64_t ack = time_deadline_us(NMI_ACK_TIMEOUT_US);
		while (s->nmi_count == before && !time_passed(ack))
			cpu_pause();
		if (s->nmi_count == before) {
			s->nmi_lost++;
			break;
		}
		/* Vary the phase against the boot CPU's call loop. */
		time_delay_us((i * 7) % 23);
	}
	__atomic_store_n(&s->nmi_done, 1, __ATOMIC_SEQ_CST);
}

enum case_result case_pal_nmi(struct case_ctx *c)
{
	const char *why = why_no_trustvisor();
	if (why)
		return case_skip(c, "%s", why);
	if (smp_ap_count() == 0 || !smp_ap(1)->online)
		return case_skip(c, "needs a second CPU (slot 1 not online)");
	shared.nmi_go = shared.nmi_stop = shared.nmi_done = 0;
	shared.nmi_sent = shared.nmi_lost = 0;
	uint32_t nmi32 = trap_nmi_count(0);
	uint32_t ticket = smp_post(1, nmi_sender, &shared);
	enum case_result r = run(c, PAL64_CASE_NMI);
	shared.nmi_stop = 1;
	if (!smp_wait(1, ticket, NMI_CALL_TIMEOUT) && r == CASE_PASS)
		return case_fail(c, "the NMI sender on slot 1 did not return");
	time_delay_us(SETTLE_US);
	if (r == CASE_PASS && trap_nmi_count(0) != nmi32)
		return case_fail(c, "%u NMIs reached the 32-bit handler after the 64-bit stage",
		                 trap_nmi_count(0) - nmi32);
	return r;
}

const struct test_case pal_cases[] = {
    {"smp", case_smp},           {"pal_add", case_pal_add},     {"pal_errors", case_pal_errors},
    {"pal_utpm", case_pal_utpm}, {"pal_bench", case_pal_bench}, {"pal_nmi", case_pal_nmi},
};
const uint32_t pal_case_count = sizeof(pal_cases) / sizeof(pal_cases[0]);
const struct test_case pal_reset_cases[] = {{"pal_reset", case_pal_reset}};
const uint32_t pal_reset_case_count = 1;
