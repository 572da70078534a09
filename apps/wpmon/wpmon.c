/*
 * wpmon's logic: protected ranges, the write log, and the write that goes
 * through. Only libvmx's public calls (vmx.h, vmx_view.h, ept.h).
 *
 * Two EPT views. The guest's own (vmx_vcpu_guest_eptp(), shared by every
 * CPU) is where protection lives: a protected page is read/execute there, so
 * a guest write to it is an EPT violation (SDM Vol. 3C 29.3.3.2). The other
 * is wpmon's: a copy of the guest's taken at boot, before anything was
 * protected, which this app never changes, so every protected page is
 * writable in it. A write is logged, then completed, in the first way that
 * applies:
 *  1. libvmx completes the store (vmx_guest_complete_store: a plain MOV or
 *     XCHG, aligned), checked against the writable view: one VM exit;
 *  2. the CPU is switched to the writable view for one instruction, stepped
 *     with the monitor trap flag (SDM Vol. 3C 26.5.2), and switched back at
 *     the MTF exit: any instruction, two VM exits. Bochs 2.7's CPU models do
 *     not offer the flag (its corei7_skylake_x leaves it out);
 *  3. neither: the range is released (writable again, counted in the log):
 *     the guest runs on unmonitored there rather than stopping.
 * The other CPUs stay in the guest's view throughout: nothing they write is
 * missed.
 *
 * Why protection is not in a view of wpmon's instead: libvmx write-protects
 * the LAPIC page in the guest's view while APs start and gives the access
 * back later (libvmx/guest_apic.c); a long-lived copy would miss that. The
 * writable copy is used for one instruction at a time.
 *
 * Events during a step: NMIs are held (guest_may_take_nmi says no while this
 * CPU steps; libvmx keeps them pending, docs/design.md section 3) and
 * delivered at the entry after the MTF exit; maskable interrupts are held by
 * libvmx for the stepped instruction (vmx_single_step). An event that entry
 * re-injects (the write was its delivery: a frame pushed onto a protected
 * stack page) is the step: the MTF exit follows its delivery. A completed
 * store (way 1) has no window at all: the exit ends with the store done.
 */
#include "apps/wpmon/wpmon.h"

#include "apps/wpmon/wpmon_hypercall.h"
#include "hw/hw.h"
#include "libvmx/ept.h"
#include "libvmx/vmx.h"
#include "rt/console.h"
#include "rt/layout.h"
#include "rt/spinlock.h"

#define PAGE 0x1000ull

struct range {
	uint64_t start, len; /* len 0: free slot */
};

struct entry {
	uint64_t gpa, rip;
	uint32_t cpu;
};

/* Under `lock`: the ranges and the log. */
static struct spinlock lock = SPINLOCK_INIT;
static struct range ranges[WPMON_MAX_RANGES];
static struct entry ring[WPMON_LOG_ENTRIES];
static uint64_t writes;   /* logged since boot or the last clear */
static uint64_t released; /* ranges released: a write neither completed nor stepped */

static uint64_t guest_eptp, writable_eptp; /* set by the boot CPU's boot */
static bool stepping[HV_MAX_CPUS];         /* this CPU runs its step */
/* Protection changes; each CPU INVEPTs the guest's view when it sees a new one. */
static uint32_t generation;
static uint32_t seen_generation[HV_MAX_CPUS];

void wpmon_boot(struct vcpu *v)
{
	stepping[vmx_vcpu_index(v)] = false;
	if (!vmx_vcpu_is_boot(v))
		return;
	/* Nothing protected, nothing logged (once per boot; host tests boot
	 * the app once per test). */
	for (unsigned i = 0; i < WPMON_MAX_RANGES; i++)
		ranges[i] = (struct range){0, 0};
	writes = released = 0;
	guest_eptp = vmx_vcpu_guest_eptp(v);
	writable_eptp = ept_clone(guest_eptp);
	if (!writable_eptp)
		hv_printf("hv: wpmon: no memory for the writable view: protection refused\n");
	else if (!vmx_single_step_supported())
		hv_printf("hv: wpmon: no monitor trap flag: writes other than plain moves "
		          "release their range\n");
}

/* ---- hypercalls ---- */

static bool overlaps(uint64_t start, uint64_t len)
{
	for (unsigned i = 0; i < WPMON_MAX_RANGES; i++)
		if (ranges[i].len && start < ranges[i].start + ranges[i].len &&
		    ranges[i].start < start + len)
			return true;
	return false;
}

/* Every page guest RAM with all rights in the guest's view (not the hypervisor
 * region, not MMIO, not a page someone else already restricted). */
static bool plain_ram(uint64_t start, uint64_t len)
{
	for (uint64_t p = start; p < start + len; p += PAGE) {
		struct ept_mapping m;
		if (!ept_lookup(guest_eptp, p, &m) || m.rwx != EPT_RWX || m.memtype != EPT_MT_WB ||
		    m.hpa != p)
			return false;
	}
	return true;
}

static int64_t protect(uint64_t start, uint64_t len)
{
	if (!writable_eptp)
		return WPMON_ERR_UNSUPPORTED;
	if (len == 0 || (start | len) & (PAGE - 1))
		return WPMON_ERR_ALIGN;
	if (len > WPMON_MAX_RANGE_BYTES)
		return WPMON_ERR_TOO_LARGE;
	/* Below 4 GiB: the hypervisor completes stores only there (vmx_view.h). */
	if (start + len < start || start + len > 0x100000000ull)
		return WPMON_ERR_RANGE;

	spin_lock(&lock);
	int64_t r = WPMON_OK;
	unsigned slot = WPMON_MAX_RANGES;
	for (unsigned i = 0; i < WPMON_MAX_RANGES && slot == WPMON_MAX_RANGES; i++)
		if (!ranges[i].len)
			slot = i;
	if (overlaps(start, len))
		r = WPMON_ERR_OVERLAP;
	else if (!plain_ram(start, len))
		r = WPMON_ERR_RANGE;
	else if (slot == WPMON_MAX_RANGES)
		r = WPMON_ERR_FULL;
	else if (ept_set_page_access(guest_eptp, start, len, EPT_READ | EPT_EXECUTE) != 0) {
		/* Out of memory splitting a 2 MiB page: give back what changed. */
		(void)ept_set_page_access(guest_eptp, start, len, EPT_RWX);
		r = WPMON_ERR_UNSUPPORTED;
	} else
		ranges[slot] = (struct range){start, len};
	spin_unlock(&lock);
	if (r == WPMON_OK) {
		/* This CPU INVEPTed (ept_set_page_access); the others now. */
		__atomic_add_fetch(&generation, 1, __ATOMIC_SEQ_CST);
		wpmon_sync_all_cpus();
	}
	return r;
}

static int64_t unprotect(uint64_t start)
{
	int64_t r = WPMON_ERR_NOT_FOUND;

	spin_lock(&lock);
	for (unsigned i = 0; i < WPMON_MAX_RANGES; i++) {
		if (!ranges[i].len || ranges[i].start != start)
			continue;
		/* The pages were split when protected: nothing to allocate. Other
		 * CPUs' read-only translations cost one more exit each at most. */
		(void)ept_set_page_access(guest_eptp, start, ranges[i].len, EPT_RWX);
		ranges[i] = (struct range){0, 0};
		r = WPMON_OK;
	}
	spin_unlock(&lock);
	return r;
}

static uint64_t kept(void)
{
	return writes < WPMON_LOG_ENTRIES ? writes : WPMON_LOG_ENTRIES;
}

static void read_log(struct vcpu *v)
{
	spin_lock(&lock);
	const struct entry *last = &ring[(writes + WPMON_LOG_ENTRIES - 1) % WPMON_LOG_ENTRIES];
	vcpu_gpr_write(v, GPR_RBX, writes);
	vcpu_gpr_write(v, GPR_RCX, writes ? last->gpa : 0);
	vcpu_gpr_write(v, GPR_RDX, writes ? last->rip : 0);
	vcpu_gpr_write(v, GPR_RSI, kept());
	vcpu_gpr_write(v, GPR_RDI, released);
	spin_unlock(&lock);
}

static int64_t read_entry(struct vcpu *v, uint64_t i)
{
	int64_t r = WPMON_ERR_INVALID;

	spin_lock(&lock);
	if (i < kept()) {
		const struct entry *e = &ring[(writes - 1 - i) % WPMON_LOG_ENTRIES];
		vcpu_gpr_write(v, GPR_RBX, e->gpa);
		vcpu_gpr_write(v, GPR_RCX, e->rip);
		vcpu_gpr_write(v, GPR_RDX, e->cpu);
		r = WPMON_OK;
	}
	spin_unlock(&lock);
	return r;
}

bool wpmon_hypercall(struct vcpu *v)
{
	uint32_t fn = (uint32_t)vcpu_gpr_read(v, GPR_RAX);
	uint64_t mask = vmx_guest_in_64bit_mode(v) ? ~0ull : 0xffffffffull;
	uint64_t a = vcpu_gpr_read(v, GPR_RBX) & mask, b = vcpu_gpr_read(v, GPR_RCX) & mask;
	int64_t r = WPMON_OK;

	if (fn < WPMON_HC_PROTECT || fn > WPMON_HC_LOG_CLEAR)
		return false; /* not ours: #UD */
	if (vcpu_cpl() != 0)
		r = WPMON_ERR_PERM;
	else if (fn == WPMON_HC_PROTECT)
		r = protect(a, b);
	else if (fn == WPMON_HC_UNPROTECT)
		r = unprotect(a);
	else if (fn == WPMON_HC_LOG)
		read_log(v);
	else if (fn == WPMON_HC_LOG_ENTRY)
		r = read_entry(v, a);
	else {
		spin_lock(&lock);
		writes = released = 0;
		spin_unlock(&lock);
	}
	vcpu_gpr_write(v, GPR_RAX, (uint64_t)r);
	return true;
}

/* ---- the write ---- */

/* The slot of the range holding gpa, or WPMON_MAX_RANGES. Under `lock`. */
static unsigned range_of(uint64_t gpa)
{
	for (unsigned i = 0; i < WPMON_MAX_RANGES; i++)
		if (ranges[i].len && gpa - ranges[i].start < ranges[i].len)
			return i;
	return WPMON_MAX_RANGES;
}

/* Way 3: the range holding gpa writable again, counted. */
static void release(uint64_t gpa)
{
	spin_lock(&lock);
	unsigned i = range_of(gpa);
	if (i < WPMON_MAX_RANGES) {
		(void)ept_set_page_access(guest_eptp, ranges[i].start, ranges[i].len, EPT_RWX);
		ranges[i] = (struct range){0, 0};
		released++;
	}
	spin_unlock(&lock);
}

enum hv_ept_action wpmon_ept_violation(struct vcpu *v, uint64_t gpa, uint64_t qualification)
{
	uint32_t cpu = vmx_vcpu_index(v);

	/* Only writes in the guest's view: a PAL-like isolated view, or this
	 * CPU's own step, are not what wpmon protects. */
	if (!(qualification & EPTQUAL_WRITE) || stepping[cpu] || vmx_view_active(v) ||
	    vmx_ept_view_current(v) != guest_eptp)
		return HV_EPT_UNHANDLED;
	spin_lock(&lock);
	bool ours = range_of(gpa) < WPMON_MAX_RANGES;
	if (ours) {
		ring[writes % WPMON_LOG_ENTRIES] =
		    (struct entry){.gpa = gpa, .rip = vmx_guest_rip(v), .cpu = cpu};
		writes++;
	}
	spin_unlock(&lock);
	if (!ours) {
		/* Unprotected meanwhile (another CPU): a stale read-only
		 * translation of this CPU's; drop it and let the write run. */
		struct ept_mapping m;
		if (ept_lookup(guest_eptp, gpa, &m) && (m.rwx & EPT_WRITE)) {
			ept_invalidate(guest_eptp);
			return HV_EPT_RETRY;
		}
		return HV_EPT_UNHANDLED;
	}
	switch (vmx_guest_complete_store(v, gpa, writable_eptp)) {
	case VMX_STORE_DONE:
	case VMX_STORE_REFUSED: /* the guest was shown why */
		return HV_EPT_HANDLED;
	case VMX_STORE_UNDECODABLE:
	case VMX_STORE_NOT_ALLOWED:
		break;
	}
	if (vmx_single_step(v)) {
		stepping[cpu] = true;
		vmx_ept_view_set(v, writable_eptp);
	} else
		release(gpa);
	return HV_EPT_RETRY;
}

void wpmon_monitor_trap(struct vcpu *v)
{
	uint32_t cpu = vmx_vcpu_index(v);

	if (!stepping[cpu])
		return;
	vmx_ept_view_set(v, guest_eptp);
	stepping[cpu] = false;
	/* NMIs held during the step go in at this entry. */
	vmx_event_app_unblocked(v);
}

bool wpmon_guest_may_take_nmi(struct vcpu *v)
{
	return !stepping[vmx_vcpu_index(v)];
}

void wpmon_before_init(struct vcpu *v)
{
	/* INIT ends the step (libvmx disarms the flag after this hook). */
	wpmon_monitor_trap(v);
}

void wpmon_before_entry(struct vcpu *v)
{
	uint32_t cpu = vmx_vcpu_index(v), g = __atomic_load_n(&generation, __ATOMIC_SEQ_CST);
	if (seen_generation[cpu] != g) {
		seen_generation[cpu] = g;
		ept_invalidate(guest_eptp);
	}
}
