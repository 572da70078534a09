/*
 * smp: start every other CPU the ACPI MADT lists with INIT-SIPI-SIPI; each must
 * reach C through the real-mode trampoline, bump the shared check-in counter and
 * report the APIC id it was started for. With `smp_shorthand` on the command
 * line the IPIs go to all of them at once by the "all excluding self"
 * shorthand, as some OSes start their APs (issue 15.3).
 */
#include <stdbool.h>

#include "guest/cases.h"
#include "guest/cmdline.h"
#include "guest/smp.h"

#define AP_TIMEOUT_MS 500

/* The slot of an AP already online with this APIC id, or 0. */
static uint32_t started_slot(uint32_t apic_id)
{
	for (uint32_t s = 1; s < SMP_MAX_CPUS; s++)
		if (smp_ap(s)->online && smp_ap(s)->lapic_id == apic_id)
			return s;
	return 0;
}

static bool by_shorthand;

void smp_parse_cmdline(uint32_t mbi_pa)
{
	by_shorthand = cmdline_has_word(mbi_pa, "smp_shorthand");
}

static bool listed(uint32_t apic_id)
{
	for (uint32_t i = 0; i < guest_env.ncpus; i++)
		if (guest_env.apic_ids[i] == apic_id)
			return true;
	return false;
}

/* Every AP at once; then each listed CPU must have checked in under its own id. */
static enum case_result start_by_shorthand(struct case_ctx *c, uint32_t expected)
{
	uint32_t up = smp_start_all_aps(expected, AP_TIMEOUT_MS * expected);
	runner_info("smp by shorthand: %u of %u APs checked in", up, expected);
	if (up != expected)
		return case_fail(c, "a start-up IPI by shorthand brought up %u of %u APs", up,
		                 expected);
	for (uint32_t i = 0; i < guest_env.ncpus; i++) {
		uint32_t id = guest_env.apic_ids[i];
		if (id != guest_env.bsp_apic_id && !started_slot(id))
			return case_fail(c, "APIC id %u did not check in", id);
	}
	for (uint32_t s = 1; s < SMP_MAX_CPUS; s++)
		if (smp_ap(s)->online && !listed(smp_ap(s)->lapic_id))
			return case_fail(c, "slot %u reports LAPIC id %u, not in the MADT", s,
			                 smp_ap(s)->lapic_id);
	return CASE_PASS;
}

enum case_result case_smp(struct case_ctx *c)
{
	if (guest_env.ncpus == 0)
		return case_fail(c, "no ACPI MADT found");
	if (guest_env.ncpus == 1)
		return case_skip(c, "the MADT lists one CPU");

	bool bsp_listed = false;
	uint32_t expected = 0;
	smp_install_trampoline();
	if (by_shorthand && smp_ap_count() == 0) {
		if (!listed(guest_env.bsp_apic_id))
			return case_fail(c, "boot CPU APIC id %u is not in the MADT",
			                 guest_env.bsp_apic_id);
		return start_by_shorthand(c, guest_env.ncpus - 1);
	}
	for (uint32_t i = 0; i < guest_env.ncpus; i++) {
		uint32_t id = guest_env.apic_ids[i];
		if (id == guest_env.bsp_apic_id) {
			bsp_listed = true;
			continue;
		}
		expected++;
		/* Started earlier in this run (`bench pal`: bench_smp, then smp): INIT
		 * again would reset a CPU that is already serving its mailbox. */
		uint32_t slot = started_slot(id);
		if (slot) {
			runner_info("cpu slot %u already up: LAPIC id %u", slot, id);
			continue;
		}
		slot = smp_start_ap(id, AP_TIMEOUT_MS);
		if (!slot)
			return case_fail(c, "APIC id %u did not check in within %u ms", id,
			                 AP_TIMEOUT_MS);
		const struct ap_info *ap = smp_ap(slot);
		runner_info("cpu slot %u up: LAPIC id %u, CPUID.1 APIC id %u", slot, ap->lapic_id,
		            ap->cpuid_apic_id);
		if (ap->lapic_id != id)
			return case_fail(c, "started APIC id %u but the CPU reports LAPIC id %u",
			                 id, ap->lapic_id);
	}
	if (!bsp_listed)
		return case_fail(c, "boot CPU APIC id %u is not in the MADT",
		                 guest_env.bsp_apic_id);
	if (smp_ap_count() != expected)
		return case_fail(c, "%u APs checked in, expected %u", smp_ap_count(), expected);
	return CASE_PASS;
}
