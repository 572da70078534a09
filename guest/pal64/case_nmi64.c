/*
 * pal_nmi, the boot CPU's side: the adder PAL called back to back while the
 * AP in slot 1 (32-bit, guest/case_pal.c) sends NMIs to this CPU one at a
 * time, each waiting until this stage's NMI handler counted it. TrustVisor
 * holds an NMI that arrives during a PAL and injects it when the PAL returns,
 * so: every answer right, every NMI sent counted exactly once, none with the
 * PAL's code or page tables current (stage.c checks RIP and CR3).
 */
#include "guest/pal64/cpu64.h"
#include "guest/pal64/pal_code.h"
#include "guest/pal64/stage.h"
#include "guest/pal64/tv64.h"

#define STORM_TIMEOUT_US 120000000ull
#define SETTLE_US        50000ull

uint32_t case64_pal_nmi(void)
{
	struct tv_pal_desc d;
	uint64_t entry = tv64_entry(PAL_ADDER);
	uint32_t calls = 0, bad = 0;
	uint64_t first_bad_a = 0, first_bad_status = 0;

	tv64_desc(&d, PAL_ADDER);
	int64_t st = tv64_register(&d);
	if (st != TV_OK) {
		stage->nmi_stop = 1;
		return stage_fail("register: %s", tv64_strerror(st));
	}
	uint32_t count0 = stage->nmi_count, in_pal0 = stage->nmi_in_pal;
	uint32_t at_return0 = stage->nmi_at_return;
	__atomic_store_n(&stage->nmi_go, 1, __ATOMIC_SEQ_CST);
	uint64_t end = stage_deadline_us(STORM_TIMEOUT_US);
	while (!stage->nmi_done && !stage_passed(end)) {
		uint64_t a = cpu64_rdtsc(), b = (uint64_t)calls * 0x9e3779b97f4a7c15ull;
		uint64_t in[ADDER_IN_WORDS] = {a, b, ADDER_NORMAL, 0},
		         out[ADDER_OUT_WORDS] = {0, 0};
		uint64_t ret = 0;
		st = tv64_call(entry, in, 3, out, ADDER_OUT_WORDS, &ret);
		if (st != TV_OK || ret != PAL_MAGIC || out[0] != a + b || out[1] != (a ^ b)) {
			if (!bad++) {
				first_bad_a = a;
				first_bad_status = (uint64_t)st;
			}
		}
		calls++;
	}
	__atomic_store_n(&stage->nmi_stop, 1, __ATOMIC_SEQ_CST);
	int64_t ust = tv64_unregister(entry);
	stage_delay_us(SETTLE_US); /* a late or duplicate NMI shows up here */
	uint32_t got = stage->nmi_count - count0, in_pal = stage->nmi_in_pal - in_pal0;
	uint32_t sent = stage->nmi_sent, at_return = stage->nmi_at_return - at_return0;

	/* At a PAL call's return address: mostly NMIs TrustVisor held while the PAL ran. */
	stage_info("pal_nmi: %u PAL calls, %u wrong; NMIs sent %u, taken %u, inside a PAL %u, at a "
	           "PAL call's return %u",
	           calls, bad, sent, got, in_pal, at_return);
	if (!stage->nmi_done)
		return stage_fail("the sender on slot 1 did not finish (sent %u)", sent);
	if (bad)
		return stage_fail("%u of %u PAL calls wrong (first: a=%llx status %s)", bad, calls,
		                  (unsigned long long)first_bad_a,
		                  tv64_strerror((int64_t)first_bad_status));
	if (ust != TV_OK)
		return stage_fail("unregister: %s", tv64_strerror(ust));
	if (in_pal)
		return stage_fail("%u NMIs taken inside the PAL (last RIP %x)", in_pal,
		                  stage->nmi_pal_rip);
	if (stage->nmi_lost)
		return stage_fail("NMI %u of those sent was not taken within the sender's wait",
		                  sent);
	if (sent == 0 || got != sent)
		return stage_fail("sent %u NMIs one at a time, the 64-bit handler took %u", sent,
		                  got);
	return PAL64_PASS;
}
