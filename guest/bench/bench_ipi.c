/*
 * bench_ipi: what sending a fixed IPI costs the sender, after every CPU has
 * started (issue 15.4): the TSC around the ICR write alone, median of
 * IPI_SAMPLES, each IPI taken by its handler before the next is sent.
 *   ipi_self_xapic   to the sender's own APIC id, xAPIC ICR (MMIO)
 *   ipi_cross_xapic  to the first AP, xAPIC ICR
 *   ipi_self_x2apic  the same in x2APIC mode (ICR MSR 830h), and
 *   ipi_cross_x2apic only without `pal`: x2APIC mode is one way on this
 *                    CPU, and the PAL cases that follow use the xAPIC
 * Under a hypervisor these stop exiting once the last AP starts (the LAPIC
 * page and the ICR MSR are trapped only until then, libvmx/guest_apic.c).
 */
#include "guest/bench/bench.h"
#include "guest/cases.h"
#include "guest/cpu.h"
#include "guest/lapic.h"
#include "guest/runner.h"
#include "guest/smp.h"
#include "guest/time.h"
#include "guest/trap.h"

#define IPI_SAMPLES 15u
#define IPI_VEC     0x52
#define IPI_WAIT_US 100000u

static volatile uint32_t hits[SMP_MAX_CPUS];

static void on_ipi(struct trap_frame *f)
{
	(void)f;
	uint32_t slot = smp_this_slot();
	if (slot < SMP_MAX_CPUS)
		__atomic_fetch_add(&hits[slot], 1, __ATOMIC_SEQ_CST);
	if (x2apic_enabled())
		x2apic_eoi();
	else
		lapic_write(LAPIC_EOI, 0);
}

/* Median send cost of IPI_SAMPLES fixed IPIs to `dest` (slot `slot` takes them). */
static bool measure(const char *name, uint32_t slot, uint32_t dest, bool x2apic)
{
	uint32_t t[IPI_SAMPLES];

	for (uint32_t i = 0; i < IPI_SAMPLES; i++) {
		uint32_t before = hits[slot];
		uint64_t t0, t1;
		if (x2apic) {
			t0 = rdtsc();
			x2apic_send_ipi(dest, ICR_FIXED | ICR_ASSERT | IPI_VEC);
			t1 = rdtsc();
		} else {
			uint64_t idle = time_deadline_us(IPI_WAIT_US);
			while ((lapic_read(LAPIC_ICR_LO) & ICR_BUSY) && !time_passed(idle))
				cpu_pause();
			lapic_write(LAPIC_ICR_HI, dest << 24);
			t0 = rdtsc();
			lapic_write(LAPIC_ICR_LO, ICR_FIXED | ICR_ASSERT | IPI_VEC);
			t1 = rdtsc();
		}
		uint64_t end = time_deadline_us(IPI_WAIT_US);
		while (hits[slot] == before && !time_passed(end))
			cpu_pause();
		if (hits[slot] != before + 1)
			return false;
		t[i] = (uint32_t)(t1 - t0);
	}
	bench_sort_u32(t, IPI_SAMPLES);
	runner_info("bench %s: %u IPIs, send (ICR write) min %u median %u max %u ticks", name,
	            IPI_SAMPLES, t[0], t[IPI_SAMPLES / 2], t[IPI_SAMPLES - 1]);
	bench_report(name, t[IPI_SAMPLES / 2]);
	return true;
}

enum case_result bench_ipi(struct case_ctx *c)
{
	bool ap = smp_ap(1)->online;
	uint32_t ap_id = smp_ap(1)->lapic_id;

	trap_set_handler(IPI_VEC, on_ipi);
	cpu_sti();
	if (!measure("ipi_self_xapic", 0, guest_env.bsp_apic_id, false))
		return case_fail(c, "a self IPI (xAPIC) was not taken once");
	if (ap && !measure("ipi_cross_xapic", 1, ap_id, false))
		return case_fail(c, "an IPI to the first AP (xAPIC) was not taken once");
	if (!x2apic_supported() || pal_requested()) {
		cpu_cli();
		return CASE_PASS;
	}
	x2apic_enable();
	if (!x2apic_enabled())
		return case_fail(c, "x2APIC mode did not stick");
	if (!measure("ipi_self_x2apic", 0, x2apic_id(), true))
		return case_fail(c, "a self IPI (x2APIC) was not taken once");
	if (ap && !measure("ipi_cross_x2apic", 1, ap_id, true))
		return case_fail(c, "an IPI to the first AP (x2APIC) was not taken once");
	cpu_cli();
	return CASE_PASS;
}
