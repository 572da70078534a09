/*
 * bench_exits: what one VM exit costs the guest, per exit reason, from a guest
 * loop (issue 15), so the exit path's cost is a figure regressions move. Runs
 * before bench_smp: with two or more CPUs the LAPIC page is still
 * write-protected then (libvmx/guest_apic.c), so a LAPIC store is an EPT
 * violation the hypervisor emulates.
 *
 * Each line is the mean over EXIT_LOOPS of one instruction, TSC ticks:
 *   exit_cpuid   CPUID leaf 0 (always exits under VMX)
 *   exit_rdmsr   RDMSR IA32_FEATURE_CONTROL (exits: VMX is hidden)
 *   exit_io      IN from port 0x92 (exits: reset ports are watched)
 *   exit_ept     a store to the LAPIC TPR (EPT violation, decoded, replayed)
 *   exit_vmcall  the COUNTERS debug hypercall (under a hypervisor only)
 * Bare, the same instructions run without an exit: the ratio is the exit's cost.
 * Under a hypervisor each line also gives exits= per instruction from COUNTERS.
 */
#include "guest/bench/bench.h"
#include "guest/cases.h"
#include "guest/console.h"
#include "guest/cpu.h"
#include "guest/lapic.h"
#include "guest/runner.h"
#include "guest/trap.h"

#define EXIT_SHIFT 6u /* 64 instructions a loop: the mean is a shift (no 64-bit division) */
#define EXIT_LOOPS (1u << EXIT_SHIFT)
/* core/debug_hypercall.h, the guest's copy of the ABI. */
#define HC_COUNTERS 0x48560004u

enum exit_kind { EXIT_CPUID, EXIT_RDMSR, EXIT_IO, EXIT_EPT, EXIT_VMCALL };

/* VM exits on this CPU so far (COUNTERS), or 0 without a hypervisor. */
static uint32_t hv_exits(void)
{
	uint32_t eax = HC_COUNTERS, ebx = 0;
	if (!guest_under_hv())
		return 0;
	trap_arm();
	__asm__ __volatile__(PROBE_ASM("vmcall")
	                     : "+a"(eax), "+b"(ebx), PROBE_OUT
	                     :
	                     : "ecx", "edx", "memory");
	return trap_disarm() == TRAP_NONE && eax == 0 ? ebx : 0;
}

static void once(enum exit_kind k, uint32_t i)
{
	switch (k) {
	case EXIT_CPUID:
		(void)cpuid(0, 0);
		break;
	case EXIT_RDMSR:
		(void)rdmsr(0x3a);
		break;
	case EXIT_IO:
		(void)inb(0x92);
		break;
	case EXIT_EPT:
		lapic_write(0x080, (i & 1)
		                       << 4); /* TPR: 0x00 / 0x10, no vector masked below 0x20 */
		break;
	case EXIT_VMCALL:
		(void)hv_exits();
		break;
	}
}

static void measure(const char *name, enum exit_kind k)
{
	uint32_t exits0 = hv_exits();
	uint64_t t0 = rdtsc();
	for (uint32_t i = 0; i < EXIT_LOOPS; i++)
		once(k, i);
	uint64_t dt = rdtsc() - t0;
	uint32_t exits = hv_exits() - exits0;
	uint64_t per = dt >> EXIT_SHIFT;

	if (guest_under_hv()) {
		/* The second COUNTERS call is one more exit than the loop's. */
		uint32_t per_exit10 = (exits - 1) * 10 / EXIT_LOOPS;
		char dec[24];
		bench_u64_dec(dec, per);
		con_printf("BENCH: %s ticks=%s exits=%u.%u\n", name, dec, per_exit10 / 10,
		           per_exit10 % 10);
	} else {
		bench_report(name, per);
	}
}

enum case_result bench_exits(struct case_ctx *c)
{
	uint64_t v;
	if (probe_rdmsr(0x3a, &v) != TRAP_NONE)
		return case_fail(c, "RDMSR IA32_FEATURE_CONTROL raised #GP");
	measure("exit_cpuid", EXIT_CPUID);
	measure("exit_rdmsr", EXIT_RDMSR);
	measure("exit_io", EXIT_IO);
	measure("exit_ept", EXIT_EPT);
	lapic_write(0x080, 0);
	if (guest_under_hv())
		measure("exit_vmcall", EXIT_VMCALL);
	return CASE_PASS;
}
