/*
 * TrustVisor's platform pieces in the image (tv_platform.h): the guest EPT
 * view (libvmx/ept.h), quiesce rounds (libquiesce), per-CPU INVEPT and the
 * PAL's preemption timer.
 *
 * Stale translations. Taking a page out of the guest view changes EPT entries
 * that every CPU may have cached, and INVEPT only works on the CPU that runs
 * it. So tv_sync_all_cpus() bumps a generation number and runs an empty
 * quiesce round: the round makes every online CPU leave the guest (NMI) and
 * park; on its way back in, each CPU sees the new generation in its
 * before-entry hook (hv_app.before_entry, which libvmx runs after libquiesce's
 * hook, so after the CPU left the round) and INVEPTs the guest view before
 * running guest code. A CPU in wait-for-SIPI runs no guest code and does the
 * same at its SIPI exit.
 *
 * The VMX-preemption timer runs only inside a PAL (its time budget, armed in
 * tv_call.c); libvmx hands its exit to hv_app.preemption_timer. Outside PALs
 * a quiesce round relies on its NMI alone: since libvmx ends NMI blocking with
 * an IRET in root after NMI and SIPI exits (libvmx/nmi_unblock.S), Bochs 2.7
 * takes those NMIs, and the ~1.2 ms tick this file used to run on every CPU
 * as a backstop is gone (README.md "Missing" has the measurement).
 */
#include "apps/trustvisor/tv_platform.h"

#include "apps/trustvisor/tv_dma.h"
#include "apps/trustvisor/tv_internal.h"
#include "hw/hw.h"
#include "libquiesce/quiesce.h"
#include "libvmx/ept.h"
#include "libvmx/vmx.h"
#include "libvmx/vmx_caps.h"
#include "rt/boot.h"
#include "rt/boot_option.h"
#include "rt/console.h"
#include "rt/percpu.h"

/* PAL time budget in TSC cycles (about 0.6 s at 3.5 GHz); tv_pal_budget=CYCLES on
 * the hypervisor's command line sets another, within the bounds below (the boot
 * tests of PALs that loop use 2^24: apps/trustvisor/README.md "Calling a PAL"). */
#define TV_PAL_BUDGET_TSC (1ull << 31)
#define TV_PAL_BUDGET_MIN (1ull << 20)
#define TV_PAL_BUDGET_MAX (1ull << 40)

/* The budget the command line asks for, or the default; `report`: say which. */
static uint64_t pal_budget_tsc(const char *cmdline, bool report)
{
	size_t len;
	uint64_t v;
	const char *opt = boot_option(cmdline, "tv_pal_budget", &len);

	if (opt == NULL)
		return TV_PAL_BUDGET_TSC;
	if (!boot_option_u64(opt, len, &v) || v < TV_PAL_BUDGET_MIN || v > TV_PAL_BUDGET_MAX) {
		if (report)
			hv_printf("hv: tv: tv_pal_budget= wants TSC cycles in [2^20, 2^40]: "
			          "keeping 2^31\n");
		return TV_PAL_BUDGET_TSC;
	}
	if (report)
		hv_printf("hv: tv: PAL time budget %llu TSC cycles (tv_pal_budget=)\n",
		          (unsigned long long)v);
	return v;
}

/* The hypervisor maps only 0..4 GiB (rt/entry.S); guest RAM above it is in the
 * EPT but not reachable through hw_phys_ptr: never hand out a pointer there
 * (the host would fault on the guest's behalf: a panic). */
#define TV_HOST_MAPPED_TOP 0x100000000ull

static uint64_t guest_eptp;
static uint32_t generation;
static uint32_t seen_generation[HV_MAX_CPUS];

void *tv_guest_page(uint64_t gpa_page, bool write)
{
	struct ept_mapping m;
	if (!ept_lookup(guest_eptp, gpa_page, &m) || !m.present || m.memtype != EPT_MT_WB ||
	    !(m.rwx & EPT_READ) || (write && !(m.rwx & EPT_WRITE)) || m.hpa >= TV_HOST_MAPPED_TOP)
		return NULL;
	return hw_phys_ptr(m.hpa & ~0xfffull);
}

bool tv_guest_ram(uint64_t gpa_page, uint64_t *hpa)
{
	struct ept_mapping m;
	if (!ept_lookup(guest_eptp, gpa_page, &m) || m.rwx != EPT_RWX || m.memtype != EPT_MT_WB ||
	    m.hpa >= TV_HOST_MAPPED_TOP)
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

void tv_relax(void)
{
	quiesce_poll(this_cpu_index());
	hw_pause();
}

void tv_platform_before_entry(struct vcpu *v)
{
	uint32_t g = __atomic_load_n(&generation, __ATOMIC_SEQ_CST);
	if (seen_generation[vmx_vcpu_index(v)] != g) {
		seen_generation[vmx_vcpu_index(v)] = g;
		ept_invalidate(guest_eptp);
	}
}

void tv_platform_boot(struct vcpu *v)
{
	const struct vmx_config *cfg = vmx_config();
	const char *cmdline = rt_boot_info()->cmdline;

	guest_eptp = vmx_vcpu_guest_eptp(v);
	if (vmx_vcpu_is_boot(v)) /* once; before the guest can register a PAL */
		tv_dma_boot(cmdline);
	if (cfg->preemption_timer) {
		uint64_t budget_tsc = pal_budget_tsc(cmdline, vmx_vcpu_is_boot(v));
		/* The timer counts down by one every 2^rate TSC cycles (SDM Vol. 3C
		 * 26.5.1, IA32_VMX_MISC[4:0]). tv_call.c sets the pin-based control
		 * and this value at PAL entry; the timer reloads it at every entry
		 * (no "save timer value" exit control). */
		unsigned rate = VMX_MISC_PREEMPTION_TIMER_RATE(cfg->misc);
		uint64_t ticks = budget_tsc >> rate;
		tv_pal_timer_ticks = ticks > 0xffffffffull ? 0xffffffffu : (uint32_t)ticks;
	}
}
