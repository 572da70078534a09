/*
 * Wires libquiesce into libvmx's NMI path and guest/host transitions.
 *
 * Neither library names the other: libvmx exposes an NMI filter, an
 * after-exit hook and a chain of before-entry hooks, libquiesce exposes what
 * must run there, and this file connects them for every image
 * (libquiesce/README.md gives the order).
 */
#include "core/quiesce_wiring.h"

#include "hw/hw.h"
#include "hw/vmx_defs.h"
#include "libquiesce/quiesce.h"
#include "libvmx/vcpu.h"
#include "libvmx/vmx.h"
#include "rt/boot_option.h"
#include "rt/console.h"
#include "rt/percpu.h"

/* First for every NMI: a quiesce signal is consumed and never reaches the guest. */
static bool nmi_is_quiesce_signal(void)
{
	return quiesce_handle_nmi(this_cpu_index());
}

static void after_exit(struct vcpu *v)
{
	quiesce_cpu_online(v->cpu);
}

/*
 * A CPU entering wait-for-SIPI cannot take NMIs (SDM Vol. 3C 27.7.1), so it
 * goes offline and quiescers stop waiting for it; any other entry answers a
 * request that arrived while NMIs were blocked.
 */
static void before_entry(struct vcpu *v)
{
	if (vmcs_read32(VMCS_GUEST_ACTIVITY_STATE) == VMX_ACTIVITY_WAIT_SIPI)
		quiesce_cpu_offline(v->cpu);
	else
		quiesce_poll(v->cpu);
}

/* A round that cannot complete: the guest disabled a local APIC (quiesce_platform.c). */
static void stop_guest(const char *why)
{
	vmx_guest_stop(vmx_vcpu(this_cpu_index()), "%s", why);
}

/*
 * quiesce_stuck_spins=N: give up on a round after N relax steps instead of
 * libquiesce's default (minutes in Bochs). For tests of a round that cannot
 * complete (tests/boot/test_quirks.py): they stop in seconds, the same way.
 */
#define STUCK_SPINS_MIN (1ull << 16)
#define STUCK_SPINS_MAX (1ull << 40)

static void stuck_spins_option(const char *cmdline)
{
	size_t len;
	uint64_t v;
	const char *opt = boot_option(cmdline, "quiesce_stuck_spins", &len);

	if (opt == NULL)
		return;
	if (!boot_option_u64(opt, len, &v) || v < STUCK_SPINS_MIN || v > STUCK_SPINS_MAX) {
		hv_printf("hv: quiesce_stuck_spins= wants relax steps in [2^16, 2^40]: keeping "
		          "the default\n");
		return;
	}
	quiesce_platform_set_stuck_spins(v);
	hv_printf("hv: quiesce: a round gives up after %llu relax steps (quiesce_stuck_spins=)\n",
	          (unsigned long long)v);
}

void quiesce_wiring_install(uint32_t cpu_count, const char *cmdline)
{
	quiesce_init(cpu_count);
	stuck_spins_option(cmdline);
	quiesce_set_stop_handler(stop_guest);
	vmx_set_nmi_filter(nmi_is_quiesce_signal);
	vmx_set_after_exit_hook(after_exit);
	/* First in libvmx's before-entry chain (core/boot.c registers the app's
	 * after it): a CPU parked in a round resumes before the app's hook runs. */
	vmx_add_before_entry_hook(before_entry);
}
