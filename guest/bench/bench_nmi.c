/*
 * NMI and quiesce figures of `./hv compare`, after the CPU and memory workloads:
 *
 * bench_smp  starts every other CPU of the MADT (case_smp), so the quiesce
 *            rounds below stop CPUs that run guest code (a CPU left in
 *            wait-for-SIPI is not waited for, libquiesce/README.md).
 * bench_nmi  NMI latency as the guest sees it, in every configuration: the
 *            boot CPU sends an NMI IPI to its own APIC id; TSC just before
 *            the ICR write, TSC at the handler's entry (trap_nmi_tsc);
 *            median of NMI_SAMPLES. Under a hypervisor this includes the NMI
 *            exit and the injection. BENCH: nmi_latency ticks=<n>.
 * bench_hv   under a hypervisor only: the BENCH debug hypercall, which prints
 *            the hypervisor's own lines (core/debug_hypercall.h):
 *            quiesce_round and nmi_delivery (NMI exit to the injecting VM
 *            entry, over the NMIs above).
 */
#include "guest/bench/bench.h"
#include "guest/cases.h"
#include "guest/cpu.h"
#include "guest/lapic.h"
#include "guest/runner.h"
#include "guest/time.h"
#include "guest/trap.h"

#define NMI_SAMPLES 15u
#define NMI_WAIT_US 100000u
#define ICR_IDLE_US 1000u

/* core/debug_hypercall.h, the guest's copy of the ABI. */
#define HC_BENCH 0x48560003u

static bool icr_idle(void)
{
	uint64_t end = time_deadline_us(ICR_IDLE_US);
	while (lapic_read(LAPIC_ICR_LO) & ICR_BUSY)
		if (time_passed(end))
			return false;
	return true;
}

enum case_result bench_nmi(struct case_ctx *c)
{
	uint32_t t[NMI_SAMPLES];

	for (uint32_t i = 0; i < NMI_SAMPLES; i++) {
		uint32_t before = trap_nmi_count(0);
		if (!icr_idle())
			return case_fail(c, "ICR delivery status stayed busy");
		lapic_write(LAPIC_ICR_HI, guest_env.bsp_apic_id << 24);
		uint64_t t0 = rdtsc();
		lapic_write(LAPIC_ICR_LO, ICR_NMI | ICR_ASSERT); /* sends it */
		uint64_t end = time_deadline_us(NMI_WAIT_US);
		while (trap_nmi_count(0) == before && !time_passed(end))
			cpu_pause();
		if (trap_nmi_count(0) != before + 1)
			return case_fail(c, "self-NMI %u: handler ran %u times", i,
			                 trap_nmi_count(0) - before);
		uint64_t dt = trap_nmi_tsc(0) - t0;
		t[i] = dt > UINT32_MAX ? UINT32_MAX : (uint32_t)dt;
	}
	bench_sort_u32(t, NMI_SAMPLES);
	runner_info("bench nmi_latency: %u self-NMIs, ICR write to handler entry, min %u median "
	            "%u max %u ticks",
	            NMI_SAMPLES, t[0], t[NMI_SAMPLES / 2], t[NMI_SAMPLES - 1]);
	bench_report("nmi_latency", t[NMI_SAMPLES / 2]);
	return CASE_PASS;
}

enum case_result bench_hv(struct case_ctx *c)
{
	if (!guest_under_hv())
		return case_skip(c, "no hypervisor (quiesce rounds are the hypervisor's)");
	uint32_t eax = HC_BENCH, ebx = 0, ecx = 0, edx = 0;
	trap_arm();
	__asm__ __volatile__(PROBE_ASM("vmcall")
	                     : "+a"(eax), "+b"(ebx), "+c"(ecx), "+d"(edx), PROBE_OUT
	                     :
	                     : "memory");
	if (trap_disarm() != TRAP_NONE)
		return case_skip(c, "VMCALL refused: no toolkit debug hypercall in this image");
	if (eax != 0)
		return case_fail(c, "BENCH hypercall returned %x", eax);
	runner_info("bench hv: quiesce_round=%u ticks, nmi_delivery=%u ticks over %u samples", ebx,
	            ecx, edx);
	return CASE_PASS;
}
