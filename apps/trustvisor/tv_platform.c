/*
 * TrustVisor's platform pieces in the image (tv_platform.h): the guest EPT
 * view (libvmx/ept.h), quiesce rounds (libquiesce) and per-CPU INVEPT.
 *
 * Stale translations. Taking a page out of the guest view changes EPT entries
 * that every CPU may have cached, and INVEPT only works on the CPU that runs
 * it. So tv_sync_all_cpus() bumps a generation number and runs an empty
 * quiesce round: the round makes every online CPU leave the guest (NMI) and
 * park; on its way back in, each CPU sees the new generation in its
 * before-entry hook and INVEPTs the guest view before running guest code. A
 * CPU in wait-for-SIPI runs no guest code and does the same at its SIPI exit.
 *
 * Quiesce rounds and Bochs 2.7. The round's NMI is the only thing that makes
 * a CPU that stays in the guest leave it, and under Bochs 2.7 those NMIs were
 * not taken (README.md "Missing"); the round then waits until the CPU exits
 * for some other reason. So every CPU also runs the VMX-preemption timer with a
 * short period outside PALs: a round ends within one period even when its NMI
 * is lost, and costs one cheap exit per period otherwise.
 *
 * Stopgap (needs libvmx/core, see README.md "Missing"): libvmx has one slot
 * for transition hooks, filled by core/quiesce_wiring.c, and no dispatch for
 * the preemption-timer exit (reason 52). TrustVisor installs hooks that do
 * what core's do and then its own work; for reason 52 it ends the PAL in the
 * after-exit hook and hands libvmx the NMI-window reason, whose handler is a
 * no-op here (it clears a control the injection point sets again).
 */
#include "apps/trustvisor/tv_platform.h"

#include "apps/trustvisor/tv_internal.h"
#include "hw/hw.h"
#include "libquiesce/quiesce.h"
#include "libvmx/ept.h"
#include "libvmx/vmx.h"
#include "libvmx/vmx_caps.h"

/* PAL time budget in TSC cycles (about 0.6 s at 3.5 GHz). */
#define TV_PAL_BUDGET_TSC (1ull << 31)
/* Outside PALs every CPU leaves the guest at least this often (about 1.2 ms at
 * 3.5 GHz): see "Quiesce rounds" above. */
#define TV_TICK_TSC (1ull << 22)

static uint64_t guest_eptp;
static uint32_t generation;
static uint32_t seen_generation[HV_MAX_CPUS];

void *tv_guest_page(uint64_t gpa_page, bool write)
{
	struct ept_mapping m;
	if (!ept_lookup(guest_eptp, gpa_page, &m) || !m.present || m.memtype != EPT_MT_WB ||
	    !(m.rwx & EPT_READ) || (write && !(m.rwx & EPT_WRITE)))
		return NULL;
	return hw_phys_ptr(m.hpa & ~0xfffull);
}

bool tv_guest_ram(uint64_t gpa_page, uint64_t *hpa)
{
	struct ept_mapping m;
	if (!ept_lookup(guest_eptp, gpa_page, &m) || m.rwx != EPT_RWX || m.memtype != EPT_MT_WB)
		return false;
	*hpa = m.hpa & ~0xfffull;
	return true;
}

int tv_guest_view_set(uint64_t gpa_page, unsigned rwx)
{
	return ept_set_page_access(guest_eptp, gpa_page, 0x1000, rwx) == 0 ? 0 : -1;
}

uint64_t tv_guest_eptp(void)
{
	return guest_eptp;
}

void tv_invept(uint64_t eptp)
{
	ept_invalidate(eptp);
}

static void nothing(void *arg)
{
	(void)arg;
}

void tv_sync_all_cpus(void)
{
	__atomic_add_fetch(&generation, 1, __ATOMIC_SEQ_CST);
	quiesce_run(nothing, NULL);
}

/* core/quiesce_wiring.c's after-exit hook, then the preemption timer. */
static void tv_after_exit(struct vcpu *v)
{
	quiesce_cpu_online(v->cpu);
	if (VMX_EXIT_REASON_BASIC(v->exit.reason) == VMX_EXIT_PREEMPTION_TIMER) {
		/* In a PAL: its budget ran out. Otherwise the periodic tick. */
		tv_timer_expired(v);
		v->exit.reason = VMX_EXIT_NMI_WINDOW;
	}
}

/* core/quiesce_wiring.c's before-entry hook, then the INVEPT generation. */
static void tv_before_entry(struct vcpu *v)
{
	if (vmcs_read32(VMCS_GUEST_ACTIVITY_STATE) == VMX_ACTIVITY_WAIT_SIPI)
		quiesce_cpu_offline(v->cpu);
	else
		quiesce_poll(v->cpu);
	uint32_t g = __atomic_load_n(&generation, __ATOMIC_SEQ_CST);
	if (seen_generation[v->cpu] != g) {
		seen_generation[v->cpu] = g;
		ept_invalidate(guest_eptp);
	}
}

void tv_platform_boot(struct vcpu *v)
{
	const struct vmx_config *cfg = vmx_config();

	guest_eptp = v->eptp;
	vmx_set_transition_hooks(tv_after_exit, tv_before_entry);
	if (cfg->preemption_timer) {
		unsigned rate = VMX_MISC_PREEMPTION_TIMER_RATE(cfg->misc);
		uint64_t ticks = TV_PAL_BUDGET_TSC >> rate, tick = TV_TICK_TSC >> rate;
		tv_pal_timer_ticks = ticks > 0xffffffffull ? 0xffffffffu : (uint32_t)ticks;
		tv_tick_ticks = tick ? (uint32_t)tick : 1;
		/* This CPU's VMCS is current (hv_app.boot). The timer reloads this
		 * value at every VM entry (no "save timer value" exit control). */
		vmcs_write32(VMCS_PIN_BASED_CONTROLS,
		             vmcs_read32(VMCS_PIN_BASED_CONTROLS) | PIN_PREEMPTION_TIMER);
		vmcs_write32(VMCS_PREEMPTION_TIMER_VALUE, tv_tick_ticks);
	}
}
