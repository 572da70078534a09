/*
 * The guest's INIT IPIs.
 *
 * In VMX non-root operation an INIT is a VM exit and exit_init_sipi.c does
 * what the CPU would: that is all real hardware needs. Two Bochs 2.7 quirks
 * (libvmx/quirks.c, docs/libvmx.md "Emulator quirks") need more, and this file is
 * their workaround; with both off it traps nothing.
 *  - init_pending: Bochs never clears a pending INIT when it makes the INIT VM
 *    exit, so the target exits with INIT again on every entry and the guest's
 *    APs never start. An INIT to a CPU in the wait-for-SIPI state is a no-op
 *    on any hardware (the CPU is already in its INIT state), so the guest's
 *    INIT IPIs whose every target waits for SIPI (an OS starting its APs) are
 *    dropped.
 *  - broadcast_start: INIT and SIPI by shorthand are sent one CPU at a time
 *    (start_ipi_by_shorthand).
 * Every other IPI goes to the local APIC unchanged. To see the ICR writes:
 *  - x2APIC: WRMSR to the ICR (MSR 830h) exits (MSR bitmap);
 *  - xAPIC: the LAPIC page is read-only in EPT; a store to it is an EPT
 *    violation, decoded (insn_decode.c) and replayed into the real register.
 * Reads of the LAPIC are not intercepted. The trap is needed only while some
 * CPU waits for SIPI: once none does (every guest AP started), the LAPIC page
 * gets its write access back (the guest's EOI and timer writes stop exiting:
 * about 85,000 exits per CPU in a Linux boot) and the x2APIC ICR stops
 * exiting too. When an INIT sends a CPU back to wait-for-SIPI (an OS taking a
 * CPU offline and online again), both come back until that CPU has started
 * again (vmx_guest_apic_ap_stopped); a CPU still in the guest with a writable
 * translation drops it at its next VM entry (vmx_guest_apic_before_entry).
 */
#include "hw/hw.h"
#include "libvmx/ept.h"
#include "libvmx/vmx_internal.h"
#include "rt/console.h"
#include "rt/layout.h"
#include "rt/panic.h"
#include "rt/percpu.h"
#include "rt/spinlock.h"

static uint64_t apic_page; /* guest-physical (= host-physical) LAPIC page, 0 = never trapped */
static unsigned apic_rwx;  /* its EPT access before the write protection */
static bool apic_trapped;  /* read-only in EPT and the x2APIC ICR exiting, now */
/* Lift and re-trap (SIPI and INIT exits of different CPUs) take turns. */
static struct spinlock trap_lock;
/* Bumped at every re-trap; a CPU whose count is behind INVEPTs before entry. */
static uint32_t trap_generation;
static uint32_t trap_generation_seen[HV_MAX_CPUS];

/* Does a quirk need the trap (top of the file)? */
static bool trap_wanted(void)
{
	return vmx_quirk(VMX_QUIRK_INIT_STAYS_PENDING) || vmx_quirk(VMX_QUIRK_BROADCAST_START_IPI);
}

/* Is CPU i a target of an IPI with this ICR low word and destination? */
static bool is_target(struct vcpu *sender, uint32_t i, uint32_t icr, uint32_t dest)
{
	switch (icr & APIC_ICR_SHORTHAND_MASK) {
	case APIC_ICR_SHORTHAND_SELF:
		return i == sender->cpu;
	case APIC_ICR_SHORTHAND_ALL:
		return true;
	case APIC_ICR_SHORTHAND_OTHERS:
		return i != sender->cpu;
	default:
		/* Logical destinations are not decoded: assume every other CPU. */
		if (icr & APIC_ICR_DEST_LOGICAL)
			return i != sender->cpu;
		return percpu_of(i)->apic_id == dest;
	}
}

/* True if this ICR write is an INIT the library drops (see the top). */
bool vmx_guest_init_dropped(struct vcpu *v, uint32_t icr, uint32_t dest)
{
	if (!vmx_quirk(VMX_QUIRK_INIT_STAYS_PENDING) ||
	    (icr & APIC_ICR_DM_MASK) != APIC_ICR_DM_INIT)
		return false;
	/* INIT level de-assert: ignored by every CPU since the Pentium 4 (SDM 11.6.1). */
	if ((icr & APIC_ICR_TRIGGER_LEVEL) && !(icr & APIC_ICR_LEVEL_ASSERT))
		return true;
	unsigned targets = 0;
	for (uint32_t i = 0; i < HV_MAX_CPUS; i++) {
		struct vcpu *t = vmx_vcpu(i);
		if (!t->vmcs_pa || !is_target(v, i, icr, dest))
			continue;
		if (!__atomic_load_n(&t->waiting_for_sipi, __ATOMIC_ACQUIRE))
			return false;
		targets++;
	}
	return targets > 0;
}

/*
 * INIT and SIPI by shorthand ("all including self", "all excluding self") go
 * out as one targeted IPI per CPU: the shorthand only names the destinations
 * (SDM Vol. 3A 11.6.1), so this is what the guest asked for on any hardware.
 * Bochs 2.7 ends its delivery loop at the first target that is a VMX guest
 * waiting for SIPI (that CPU exits at once), so a broadcast start-up reached
 * one AP only once there were 3 or more CPUs (quirk broadcast_start).
 */
static bool start_ipi_by_shorthand(uint32_t icr)
{
	uint32_t dm = icr & APIC_ICR_DM_MASK, sh = icr & APIC_ICR_SHORTHAND_MASK;
	if (sh != APIC_ICR_SHORTHAND_ALL && sh != APIC_ICR_SHORTHAND_OTHERS)
		return false;
	/* An INIT by shorthand also goes one by one for init_pending: the
	 * targets waiting for SIPI must be left out of it. */
	if (dm == APIC_ICR_DM_INIT)
		return vmx_quirk(VMX_QUIRK_BROADCAST_START_IPI) ||
		       vmx_quirk(VMX_QUIRK_INIT_STAYS_PENDING);
	return dm == APIC_ICR_DM_STARTUP && vmx_quirk(VMX_QUIRK_BROADCAST_START_IPI);
}

/* The xAPIC accepts the next ICR write once the last IPI left (SDM Vol. 3A 11.6.1). */
static void wait_icr_idle(void)
{
	for (unsigned i = 0; i < 100000; i++)
		if (!(hw_mmio_read32(apic_page + APIC_REG_ICR_LOW) & APIC_ICR_DELIVERY_PENDING))
			return;
}

static void send_start_ipi_per_target(struct vcpu *v, uint32_t icr, bool x2apic)
{
	uint32_t low = icr & ~(APIC_ICR_SHORTHAND_MASK | APIC_ICR_DEST_LOGICAL);
	bool init = (icr & APIC_ICR_DM_MASK) == APIC_ICR_DM_INIT;
	uint32_t guest_high = x2apic ? 0 : hw_mmio_read32(apic_page + APIC_REG_ICR_HIGH);

	for (uint32_t i = 0; i < HV_MAX_CPUS; i++) {
		struct vcpu *t = vmx_vcpu(i);
		if (!t->vmcs_pa || !is_target(v, i, icr, 0))
			continue;
		/* An INIT to a CPU waiting for SIPI is a no-op (top of the file). */
		if (init && vmx_quirk(VMX_QUIRK_INIT_STAYS_PENDING) &&
		    __atomic_load_n(&t->waiting_for_sipi, __ATOMIC_ACQUIRE))
			continue;
		uint32_t id = percpu_of(i)->apic_id;
		if (x2apic) {
			hw_wrmsr(MSR_X2APIC_ICR, ((uint64_t)id << 32) | low);
		} else {
			wait_icr_idle();
			hw_mmio_write32(apic_page + APIC_REG_ICR_HIGH, id << 24);
			hw_mmio_write32(apic_page + APIC_REG_ICR_LOW, low);
		}
	}
	if (!x2apic) /* the guest reads back the destination it wrote */
		hw_mmio_write32(apic_page + APIC_REG_ICR_HIGH, guest_high);
}

static bool x2apic_icr(struct vcpu *v, uint32_t msr, bool write, uint64_t *value)
{
	/* Outside x2APIC mode the MSR does not exist: #GP, as in the guest. */
	if (!(hw_rdmsr(MSR_IA32_APIC_BASE) & APIC_BASE_X2APIC))
		return false;
	if (!write) {
		*value = hw_rdmsr(msr);
		return true;
	}
	uint32_t low = (uint32_t)*value;
	if (vmx_guest_init_dropped(v, low, (uint32_t)(*value >> 32)))
		return true;
	if (start_ipi_by_shorthand(low))
		send_start_ipi_per_target(v, low, true);
	else
		hw_wrmsr(msr, *value);
	return true;
}

void vmx_guest_apic_protect(struct vcpu *v)
{
	uint64_t base = hw_rdmsr(MSR_IA32_APIC_BASE) & APIC_BASE_ADDR_MASK;
	struct ept_mapping m;

	if (apic_page || !trap_wanted())
		return;
	/* One CPU: no guest AP will ever wait for SIPI, so there is no INIT to
	 * drop, and a write-protected LAPIC page would make every EOI, timer and
	 * ICR write exit for the whole run (vmx_guest_apic_ap_started never
	 * comes). Every AP has run vmx_cpu_init (its VMCS exists) before the boot
	 * CPU launches the guest (core/boot.c waits for them). */
	bool other_cpus = false;
	for (uint32_t i = 0; i < HV_MAX_CPUS; i++)
		if (i != v->cpu && vmx_vcpu(i)->vmcs_pa)
			other_cpus = true;
	if (!other_cpus)
		return;
	if (!ept_lookup(v->eptp, base, &m) || !m.present ||
	    ept_set_page_access(v->eptp, base, HV_PAGE_SIZE, m.rwx & ~(unsigned)EPT_WRITE) != 0) {
		hv_printf(
		    "hv: cannot write-protect the LAPIC page at 0x%llx in EPT: guest INIT IPIs "
		    "go to the hardware\n",
		    (unsigned long long)base);
		return;
	}
	apic_page = base;
	apic_rwx = m.rwx;
	__atomic_store_n(&apic_trapped, true, __ATOMIC_RELEASE);
	if (vmx_intercept_msr(MSR_X2APIC_ICR, x2apic_icr) != 0)
		hv_panic("libvmx: no room to intercept the x2APIC ICR");
}

static bool some_cpu_waits_for_sipi(void)
{
	for (uint32_t i = 0; i < HV_MAX_CPUS; i++) {
		struct vcpu *t = vmx_vcpu(i);
		if (t->vmcs_pa && __atomic_load_n(&t->waiting_for_sipi, __ATOMIC_ACQUIRE))
			return true;
	}
	return false;
}

void vmx_guest_apic_ap_started(struct vcpu *v)
{
	if (!apic_page || some_cpu_waits_for_sipi())
		return;
	spin_lock(&trap_lock);
	/* Again under the lock: an INIT exit may have re-trapped meanwhile. */
	if (__atomic_load_n(&apic_trapped, __ATOMIC_ACQUIRE) && !some_cpu_waits_for_sipi()) {
		/* Other CPUs may still hold the read-only translation: their next
		 * store exits once more and refreshes it (vmx_guest_apic_write). The
		 * page was split to 4 KiB when protected: nothing to allocate. */
		if (ept_set_page_access(v->eptp, apic_page, HV_PAGE_SIZE, apic_rwx) != 0)
			hv_panic("libvmx: cannot give the LAPIC page its write access back");
		/* The x2APIC ICR likewise: every IPI of an x2APIC guest cost a WRMSR
		 * exit for the whole run (issue 15.4). msr_policy.c passes it through. */
		vmx_msr_bitmap_clear(MSR_X2APIC_ICR);
		__atomic_store_n(&apic_trapped, false, __ATOMIC_RELEASE);
	}
	spin_unlock(&trap_lock);
}

void vmx_guest_apic_ap_stopped(struct vcpu *v)
{
	if (!apic_page || !trap_wanted())
		return;
	spin_lock(&trap_lock);
	if (!__atomic_load_n(&apic_trapped, __ATOMIC_ACQUIRE)) {
		if (ept_set_page_access(v->eptp, apic_page, HV_PAGE_SIZE,
		                        apic_rwx & ~(unsigned)EPT_WRITE) != 0)
			hv_panic("libvmx: cannot write-protect the LAPIC page again");
		vmx_msr_bitmap_set(MSR_X2APIC_ICR); /* the handler is still registered */
		__atomic_store_n(&apic_trapped, true, __ATOMIC_RELEASE);
		/* This CPU INVEPTed; the others do before their next entry. */
		uint32_t gen = __atomic_add_fetch(&trap_generation, 1, __ATOMIC_ACQ_REL);
		trap_generation_seen[v->cpu] = gen;
	}
	spin_unlock(&trap_lock);
}

void vmx_guest_apic_before_entry(struct vcpu *v)
{
	uint32_t gen = __atomic_load_n(&trap_generation, __ATOMIC_ACQUIRE);
	if (gen == trap_generation_seen[v->cpu])
		return;
	trap_generation_seen[v->cpu] = gen;
	ept_invalidate(v->eptp);
}

bool vmx_guest_apic_write(struct vcpu *v)
{
	uint64_t gpa = v->exit.gpa;

	if (!apic_page || (gpa & ~0xfffull) != apic_page ||
	    !(v->exit.qualification & EPTQUAL_WRITE))
		return false;
	if (!__atomic_load_n(&apic_trapped, __ATOMIC_ACQUIRE)) {
		/* A stale read-only translation on this CPU: drop it and retry. */
		ept_invalidate(v->eptp);
		return true;
	}

	struct mmio_access st;
	uint8_t bytes[15];
	size_t n;
	enum vmx_mmio_decode d = vmx_guest_decode_mmio(v, &st, bytes, &n);
	if (d == VMX_MMIO_REFUSED)
		return true;
	if (d == VMX_MMIO_UNDECODABLE || !st.store)
		vmx_guest_stop(
		    v,
		    "store to LAPIC offset 0x%llx at RIP 0x%llx by an instruction that is "
		    "not emulated (%u-bit code, bytes %02x %02x %02x %02x %02x %02x)",
		    (unsigned long long)(gpa & 0xfff),
		    (unsigned long long)vmcs_readnat(VMCS_GUEST_RIP), vmx_guest_code_size(),
		    n > 0 ? bytes[0] : 0, n > 1 ? bytes[1] : 0, n > 2 ? bytes[2] : 0,
		    n > 3 ? bytes[3] : 0, n > 4 ? bytes[4] : 0, n > 5 ? bytes[5] : 0);

	/*
	 * LAPIC registers are 32 bits wide, 16-byte aligned, and must be written
	 * with aligned 32-bit stores (SDM Vol. 3A 11.4.1: anything else is model
	 * specific or undefined). A narrower or misaligned store is dropped, as
	 * KVM's APIC does (Bochs would stop the emulator). Wider ones write the
	 * low 32 bits.
	 */
	if (st.size >= 4 && (gpa & 0xf) == 0) {
		uint32_t value = st.imm ? st.imm_value : (uint32_t)vcpu_gpr_read(v, st.reg);
		uint32_t old = st.xchg ? hw_mmio_read32(gpa) : 0;
		bool icr = (gpa & 0xfff) == APIC_REG_ICR_LOW;
		bool dropped =
		    icr && vmx_guest_init_dropped(
		               v, value, hw_mmio_read32(apic_page + APIC_REG_ICR_HIGH) >> 24);
		if (!dropped && icr && start_ipi_by_shorthand(value))
			send_start_ipi_per_target(v, value, false);
		else if (!dropped)
			hw_mmio_write32(gpa, value);
		if (st.xchg)
			vmx_mmio_complete_load(v, &st, old);
	} else if (st.xchg) {
		/* Its load half reads the register's bytes (bytes 4-15 read as 0). */
		unsigned off = (unsigned)(gpa & 0xf);
		uint32_t reg = hw_mmio_read32(gpa & ~0xfull);
		vmx_mmio_complete_load(v, &st, off < 4 ? reg >> (8 * off) : 0);
	}
	v->exit.instruction_len = st.len;
	vcpu_skip_instruction(v);
	return true;
}
