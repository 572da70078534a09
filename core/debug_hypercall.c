/*
 * The toolkit's debug hypercalls (ABI in debug_hypercall.h): a quiesce storm,
 * the NMI counters, the quiesce/NMI benchmark lines, and the exit and
 * quiesce-round counters.
 *
 * They run in the VMCALL exit of the calling CPU, in root mode with NMIs
 * enabled, so quiesce_run() is allowed (never from NMI context). Nothing is
 * printed between quiesce_begin and quiesce_end (quiesce.h): the timings are
 * collected first and printed after the rounds.
 */
#include "core/debug_hypercall.h"

#include "core/nmi_sweep.h"

#include "hw/hw.h"
#include "libquiesce/quiesce.h"
#include "libsmp/smp.h"
#include "libvmx/vcpu.h"
#include "libvmx/vmx.h"
#include "rt/console.h"
#include "rt/layout.h"
#include "rt/percpu.h"
#include "rt/spinlock.h"

/* Samples of BENCH: its rounds, then every CPU's NMI latencies. */
#define SAMPLE_MAX (HV_MAX_CPUS * VCPU_NMI_DELIVERY_SAMPLES)

static struct spinlock bench_lock = SPINLOCK_INIT;
static uint32_t samples[SAMPLE_MAX]; /* under bench_lock */

static void empty_round(void *arg)
{
	(void)arg;
}

static uint32_t median(uint32_t *a, uint32_t n)
{
	/* Insertion sort: at most SAMPLE_MAX entries, once per BENCH call. */
	for (uint32_t i = 1; i < n; i++) {
		uint32_t x = a[i], j = i;
		for (; j > 0 && a[j - 1] > x; j--)
			a[j] = a[j - 1];
		a[j] = x;
	}
	return n ? a[n / 2] : 0;
}

static uint32_t quiesce_storm(uint64_t n)
{
	if (n > DEBUG_HC_STORM_MAX)
		n = DEBUG_HC_STORM_MAX;
	for (uint64_t i = 0; i < n; i++)
		quiesce_run(empty_round, NULL);
	return (uint32_t)n;
}

static void nmi_stats(struct vcpu *v)
{
	uint64_t cpu = v->gpr[GPR_RBX] & 0xffffffffu;

	if (cpu == 0xffffffffu)
		cpu = v->cpu;
	if (cpu >= HV_MAX_CPUS) {
		v->gpr[GPR_RAX] = DEBUG_HC_ERROR;
		return;
	}
	const struct vcpu *t = vmx_vcpu((uint32_t)cpu);
	struct quiesce_cpu_stats qs;
	quiesce_cpu_stats((uint32_t)cpu, &qs);
	/* Plain loads of another CPU's counters: a snapshot, as any statistic. */
	v->gpr[GPR_RBX] = t->ev.nmis_injected;
	v->gpr[GPR_RCX] = qs.nmis_consumed;
	v->gpr[GPR_RDX] = t->ev.nmis_merged;
	v->gpr[GPR_RSI] = qs.guest_nmis;
	v->gpr[GPR_RAX] = 0;
}

static void bench(struct vcpu *v)
{
	uint32_t rounds[DEBUG_HC_BENCH_ROUNDS];

	for (uint32_t i = 0; i < DEBUG_HC_BENCH_ROUNDS; i++) {
		uint64_t t0 = hw_rdtsc();
		quiesce_run(empty_round, NULL);
		uint64_t dt = hw_rdtsc() - t0;
		rounds[i] = dt > UINT32_MAX ? UINT32_MAX : (uint32_t)dt;
	}
	uint32_t round_ticks = median(rounds, DEBUG_HC_BENCH_ROUNDS);

	spin_lock(&bench_lock);
	uint32_t n = 0;
	for (uint32_t cpu = 0; cpu < HV_MAX_CPUS; cpu++) {
		const struct vcpu *t = vmx_vcpu(cpu);
		uint32_t have = t->ev.nmi_delivery_count;
		if (have > VCPU_NMI_DELIVERY_SAMPLES)
			have = VCPU_NMI_DELIVERY_SAMPLES;
		for (uint32_t i = 0; i < have && n < SAMPLE_MAX; i++)
			samples[n++] = t->ev.nmi_delivery[i];
	}
	uint32_t nmi_ticks = median(samples, n);
	spin_unlock(&bench_lock);

	hv_printf("hv: bench: quiesce_round ticks=%u cpus=%u\n", round_ticks, smp_cpu_count());
	hv_printf("hv: bench: nmi_delivery ticks=%u samples=%u\n", nmi_ticks, n);
	v->gpr[GPR_RAX] = 0;
	v->gpr[GPR_RBX] = round_ticks;
	v->gpr[GPR_RCX] = nmi_ticks;
	v->gpr[GPR_RDX] = n;
}

static void counters(struct vcpu *v)
{
	uint64_t exits = 0;

	for (uint32_t r = 0; r <= VMX_EXIT_REASON_COUNT; r++)
		exits += v->exit_count[r];
	v->gpr[GPR_RBX] = exits & 0xffffffffu;
	v->gpr[GPR_RCX] = quiesce_rounds() & 0xffffffffu;
	v->gpr[GPR_RAX] = 0;
}

bool debug_hypercall(struct vcpu *v)
{
	uint32_t eax = (uint32_t)v->gpr[GPR_RAX];

	if ((eax & DEBUG_HC_MASK) != DEBUG_HC_BASE)
		return false; /* the app's */
	/* Reserved in every image; only the guest kernel may use them. */
	if (vcpu_cpl() != 0) {
		v->gpr[GPR_RAX] = DEBUG_HC_ERROR;
		return true;
	}
	switch (eax) {
	case DEBUG_HC_QUIESCE_STORM:
		v->gpr[GPR_RBX] = quiesce_storm(v->gpr[GPR_RBX] & 0xffffffffu);
		v->gpr[GPR_RAX] = 0;
		break;
	case DEBUG_HC_NMI_STATS:
		nmi_stats(v);
		break;
	case DEBUG_HC_BENCH:
		bench(v);
		break;
	case DEBUG_HC_COUNTERS:
		counters(v);
		break;
#ifdef HV_NMI_SWEEP
	case DEBUG_HC_NMI_SWEEP:
		nmi_sweep_read(v);
		break;
#endif
	default:
		v->gpr[GPR_RAX] = DEBUG_HC_ERROR;
		break;
	}
	return true;
}

void debug_hypercall_install(void)
{
	vmx_set_toolkit_hypercall(debug_hypercall);
#ifdef HV_NMI_SWEEP
	nmi_sweep_install();
#endif
}
