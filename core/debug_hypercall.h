/*
 * The toolkit's debug hypercalls, present in every image (issue 4): a guest
 * kernel (CPL 0) can stress the quiesce path and read the NMI counters the
 * boot tests check. Registered with libvmx by debug_hypercall_install(), so
 * they are seen before the app's own hypercalls.
 *
 * ABI (32- or 64-bit guest): EAX = DEBUG_HC_BASE | function, VMCALL.
 * Out: EAX = 0 on success, DEBUG_HC_ERROR for an unknown function or a call
 * from CPL > 0 (the numbers are reserved for the toolkit in every image).
 *
 *   QUIESCE_STORM  in EBX = n (at most DEBUG_HC_STORM_MAX): quiesce every other
 *                  CPU n times (quiesce_run with an empty function).
 *                  Out EBX = rounds completed.
 *   NMI_STATS      in EBX = hypervisor CPU index (0xffffffff = the caller's).
 *                  Out EBX = guest NMIs libvmx injected on that CPU,
 *                  ECX = quiesce NMIs libquiesce consumed there, EDX = guest
 *                  NMIs merged into a pending one, ESI = NMIs libquiesce
 *                  passed to the guest (all low 32 bits).
 *   BENCH          prints "hv: bench: quiesce_round ticks=<median> cpus=<n>"
 *                  (median of DEBUG_HC_BENCH_ROUNDS rounds, TSC ticks) and
 *                  "hv: bench: nmi_delivery ticks=<median> samples=<n>"
 *                  (NMI arrival to injecting VM entry, libvmx's per-CPU
 *                  samples of every CPU: the hypervisor's part of what the
 *                  test guest measures end to end as BENCH nmi_latency,
 *                  guest/bench/bench_nmi.c). Out EBX, ECX = the two
 *                  medians, EDX = samples.
 *   COUNTERS       Out EBX = VM exits so far on the calling CPU (every
 *                  reason, this call's VMCALL included), ECX = quiesce rounds
 *                  completed by all CPUs (both low 32 bits). Read before and
 *                  after an operation, they give its exits and all-CPU stops.
 *   NMI_SWEEP      only in --config=nmi_sweep images (core/nmi_sweep.h):
 *                  where this CPU's guest NMIs landed since the last call.
 */
#ifndef CORE_DEBUG_HYPERCALL_H
#define CORE_DEBUG_HYPERCALL_H

#include <stdbool.h>
#include <stdint.h>

struct vcpu;

#define DEBUG_HC_BASE          0x48560000u /* "HV" */
#define DEBUG_HC_MASK          0xffff0000u
#define DEBUG_HC_QUIESCE_STORM (DEBUG_HC_BASE | 1u)
#define DEBUG_HC_NMI_STATS     (DEBUG_HC_BASE | 2u)
#define DEBUG_HC_BENCH         (DEBUG_HC_BASE | 3u)
#define DEBUG_HC_COUNTERS      (DEBUG_HC_BASE | 4u)
#define DEBUG_HC_NMI_SWEEP     (DEBUG_HC_BASE | 5u)
#define DEBUG_HC_ERROR         0xffffffffu

#define DEBUG_HC_STORM_MAX    10000u
#define DEBUG_HC_BENCH_ROUNDS 32u

/* Boot CPU, before the first guest entry: registers the handler with libvmx. */
void debug_hypercall_install(void);

/* The handler itself (vmx_set_toolkit_hypercall's contract), for tests. */
bool debug_hypercall(struct vcpu *v);

#endif /* CORE_DEBUG_HYPERCALL_H */
