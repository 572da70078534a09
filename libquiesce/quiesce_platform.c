/*
 * The production platform pieces of libquiesce: NMI IPIs through libsmp's
 * local APIC code, the CPU index from rt's per-CPU data, pause, and a panic
 * when a CPU never answers. Host tests use quiesce_init_ops() instead; the
 * protocol in quiesce.c is the same code either way.
 */
#include "libquiesce/quiesce.h"

#include "hw/hw.h"
#include "libsmp/lapic.h"
#include "libsmp/smp.h"
#include "rt/layout.h"
#include "rt/panic.h"
#include "rt/percpu.h"

_Static_assert(HV_MAX_CPUS <= QUIESCE_MAX_CPUS, "a quiesce slot for every CPU");

/*
 * Relax steps before re-sending an NMI to a CPU that has not answered, and
 * before giving up. A pause is tens of cycles on hardware (the SDM's spin-loop
 * hint) and a few instructions in Bochs (50-60 M instructions/s): the kick
 * comes after milliseconds, the panic after tens of seconds to minutes.
 */
#define QUIESCE_KICK_SPINS  (1ull << 22)
#define QUIESCE_STUCK_SPINS (1ull << 32)

static void platform_send_nmi(uint32_t cpu)
{
	lapic_send_nmi(smp_apic_id(cpu));
}

static void platform_relax(void)
{
	hw_pause();
}

static void platform_stuck(uint32_t cpu, uint64_t round)
{
	/* hv_panic breaks the console lock a parked CPU may hold. */
	hv_panic("quiesce: CPU %u did not park for round %u", (unsigned)cpu, (unsigned)round);
}

static const struct quiesce_ops platform_ops = {
    .send_nmi = platform_send_nmi,
    .this_cpu = this_cpu_index,
    .relax = platform_relax,
    .stuck = platform_stuck,
    .kick_spins = QUIESCE_KICK_SPINS,
    .stuck_spins = QUIESCE_STUCK_SPINS,
};

void quiesce_init(uint32_t cpu_count)
{
	quiesce_init_ops(cpu_count, &platform_ops);
}
