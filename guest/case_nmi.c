/*
 * nmi_self: the guest sends an NMI IPI to its own APIC id (the "self" shorthand
 * is not valid with NMI delivery, SDM Vol. 3A 11.6.1); its NMI handler must run
 * exactly once, and on no other CPU.
 */
#include "guest/cases.h"
#include "guest/lapic.h"
#include "guest/smp.h"
#include "guest/time.h"
#include "guest/trap.h"

#define NMI_WAIT_US   100000
#define NMI_SETTLE_US 20000

enum case_result case_nmi_self(struct case_ctx *c)
{
	uint32_t before[SMP_MAX_CPUS];
	for (uint32_t s = 0; s < SMP_MAX_CPUS; s++)
		before[s] = trap_nmi_count(s);

	if (!lapic_send_ipi(guest_env.bsp_apic_id, ICR_NMI | ICR_ASSERT))
		return case_fail(c, "ICR delivery status stayed busy");
	uint64_t end = time_deadline_us(NMI_WAIT_US);
	while (trap_nmi_count(0) == before[0] && !time_passed(end))
		;
	time_delay_us(NMI_SETTLE_US); /* a duplicate would show up here */

	uint32_t got = trap_nmi_count(0) - before[0];
	if (got != 1)
		return case_fail(c, "NMI handler ran %u times on the boot CPU, expected once", got);
	for (uint32_t s = 1; s < SMP_MAX_CPUS; s++)
		if (trap_nmi_count(s) != before[s])
			return case_fail(c, "an NMI also reached cpu slot %u", s);
	return CASE_PASS;
}
