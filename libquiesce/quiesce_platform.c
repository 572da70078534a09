/*
 * The production platform pieces of libquiesce: NMI IPIs through libsmp's
 * local APIC code, the CPU index from rt's per-CPU data, pause, and what
 * happens when a round cannot complete. Host tests use quiesce_init_ops()
 * instead; the protocol in quiesce.c is the same code either way.
 *
 * What can stop a round. An NMI IPI is accepted by a local APIC that software
 * disabled through its spurious-interrupt vector register (SDM Vol. 3A
 * 11.4.7.2: it "will respond normally to INIT, NMI, SMI, and start-up
 * messages" and "can still issue IPIs"), and masking LVT entries or LINT1
 * does not touch IPIs; NMI exiting makes the NMI leave the guest whatever the
 * guest's own NMI blocking. What does stop it is a local APIC the guest
 * disabled globally (IA32_APIC_BASE[11] = 0, SDM Vol. 3A 11.4.3): it sends no
 * IPI (Bochs: its ICR writes reach no APIC), and on hardware receives none.
 * So a sender whose APIC is off stops at once, and a target that never
 * answers is reported after QUIESCE_STUCK_SPINS. Either way the guest is
 * stopped cleanly through the stop handler (core/quiesce_wiring.c), never
 * with a panic; without a handler (early boot) it is a panic. Refusing the
 * guest's disabling write is issue 11.1's IA32_APIC_BASE handling.
 */
#include "libquiesce/quiesce.h"

#include "hw/hw.h"
#include "libsmp/lapic.h"
#include "libsmp/smp.h"
#include "rt/format.h"
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

static void (*stop_handler)(const char *why);

void quiesce_set_stop_handler(void (*stop)(const char *why))
{
	stop_handler = stop;
}

static void cannot_complete(const char *why)
{
	void (*stop)(const char *why) = stop_handler;

	if (stop) {
		quiesce_abandon_round();
		stop(why);
	}
	/* hv_panic breaks the console lock a parked CPU may hold. */
	hv_panic("quiesce: %s", why);
}

static void platform_send_nmi(uint32_t cpu)
{
	if (!lapic_is_enabled()) {
		char why[128];
		hv_snprintf(why, sizeof(why),
		            "quiesce: no NMI can reach CPU %u: this CPU's local APIC is disabled "
		            "(IA32_APIC_BASE[11] = 0)",
		            (unsigned)cpu);
		cannot_complete(why);
	}
	lapic_send_nmi(smp_apic_id(cpu));
}

static void platform_relax(void)
{
	hw_pause();
}

static void platform_stuck(uint32_t cpu, uint64_t round)
{
	char why[160];
	hv_snprintf(why, sizeof(why),
	            "quiesce: CPU %u did not park for round %u (no NMI reached it: its local APIC "
	            "disabled by the guest, or its NMIs blocked?)",
	            (unsigned)cpu, (unsigned)round);
	cannot_complete(why);
}

static struct quiesce_ops platform_ops = {
    .send_nmi = platform_send_nmi,
    .this_cpu = this_cpu_index,
    .relax = platform_relax,
    .stuck = platform_stuck,
    .kick_spins = QUIESCE_KICK_SPINS,
    .stuck_spins = QUIESCE_STUCK_SPINS,
};

void quiesce_platform_set_stuck_spins(uint64_t stuck_spins)
{
	platform_ops.stuck_spins = stuck_spins;
}

#ifdef HV_HOST
void quiesce_platform_set_spins(uint64_t kick_spins, uint64_t stuck_spins)
{
	platform_ops.kick_spins = kick_spins;
	platform_ops.stuck_spins = stuck_spins;
}
#endif

void quiesce_init(uint32_t cpu_count)
{
	quiesce_init_ops(cpu_count, &platform_ops);
}
