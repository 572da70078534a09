/*
 * x2apic_ipi: where CPUID.1:ECX[21] offers x2APIC, switch to x2APIC mode (SDM
 * Vol. 3A 11.12), check the x2APIC ID, take a self IPI (SELF IPI MSR), and ping
 * the first AP with a fixed IPI through the 64-bit ICR MSR; its handler answers
 * with an IPI back. Runs last: the mode switch is one way.
 */
#include "guest/cases.h"
#include "guest/cpu.h"
#include "guest/lapic.h"
#include "guest/smp.h"
#include "guest/time.h"
#include "guest/trap.h"

#define WAIT_US 100000

static volatile uint32_t self_hits, ping_hits, pong_hits;
static volatile uint32_t pong_dest;

static void on_self(struct trap_frame *f)
{
	(void)f;
	self_hits++;
	x2apic_eoi();
}

static void on_ping(struct trap_frame *f)
{
	(void)f;
	ping_hits++;
	x2apic_send_ipi(pong_dest, ICR_FIXED | ICR_ASSERT | VEC_X2APIC_PONG);
	x2apic_eoi();
}

static void on_pong(struct trap_frame *f)
{
	(void)f;
	pong_hits++;
	x2apic_eoi();
}

static void ap_enable_x2apic(void *arg)
{
	x2apic_enable();
	*(volatile uint32_t *)arg = x2apic_enabled() ? x2apic_id() : 0xffffffffu;
}

static void wait_for(volatile uint32_t *counter)
{
	uint64_t end = time_deadline_us(WAIT_US);
	cpu_sti();
	while (*counter == 0 && !time_passed(end))
		cpu_pause();
	cpu_cli();
}

enum case_result case_x2apic_ipi(struct case_ctx *c)
{
	if (!x2apic_supported())
		return case_skip(c, "CPUID.1:ECX.x2APIC = 0");
	trap_set_handler(VEC_X2APIC_SELF, on_self);
	trap_set_handler(VEC_X2APIC_PING, on_ping);
	trap_set_handler(VEC_X2APIC_PONG, on_pong);

	x2apic_enable();
	if (!x2apic_enabled())
		return case_fail(c, "IA32_APIC_BASE.EXTD did not stick");
	uint32_t id = x2apic_id();
	if (id != guest_env.bsp_apic_id)
		return case_fail(c, "x2APIC id %u, xAPIC id was %u", id, guest_env.bsp_apic_id);

	wrmsr(MSR_X2APIC_SELF_IPI, VEC_X2APIC_SELF);
	wait_for(&self_hits);
	if (self_hits != 1)
		return case_fail(c, "self IPI handled %u times, expected once", self_hits);

	if (smp_ap_count() == 0) {
		runner_info("x2APIC: no AP online, self IPI only");
		return CASE_PASS;
	}
	volatile uint32_t ap_id = 0xffffffffu;
	if (!smp_call(1, ap_enable_x2apic, (void *)&ap_id, WAIT_US))
		return case_fail(c, "cpu slot 1 did not answer");
	if (ap_id != smp_ap(1)->lapic_id)
		return case_fail(c, "cpu slot 1: x2APIC id %x, xAPIC id was %u", ap_id,
		                 smp_ap(1)->lapic_id);
	pong_dest = id;
	x2apic_send_ipi(ap_id, ICR_FIXED | ICR_ASSERT | VEC_X2APIC_PING);
	wait_for(&pong_hits);
	if (ping_hits != 1 || pong_hits != 1)
		return case_fail(c, "ping handled %u times, pong %u times, expected once each",
		                 ping_hits, pong_hits);
	return CASE_PASS;
}
