#include "guest/smp.h"

#include "guest/cpu.h"
#include "guest/lapic.h"
#include "guest/time.h"
#include "guest/trap.h"

/* Referenced by entry.S. */
uint8_t bsp_stack[BSP_STACK_SIZE] __attribute__((aligned(16)));
uint8_t ap_stacks[(SMP_MAX_CPUS - 1) * AP_STACK_SIZE] __attribute__((aligned(16)));
volatile uint32_t ap_started; /* trampoline: slot = 1 + ap_started++ */

extern const char tramp_start[], tramp_end[];

struct ap_mailbox {
	void (*volatile fn)(void *);
	void *volatile arg;
	volatile uint32_t done;
};

static struct ap_info aps[SMP_MAX_CPUS];
static struct ap_mailbox mailbox[SMP_MAX_CPUS];
static volatile uint32_t ap_checked_in;

void smp_install_trampoline(void)
{
	volatile uint8_t *dst = (volatile uint8_t *)(uintptr_t)TRAMP_BASE;
	for (const char *p = tramp_start; p < tramp_end; p++)
		*dst++ = (uint8_t)*p;
}

uint32_t smp_start_ap(uint32_t apic_id, uint32_t timeout_ms)
{
	uint32_t before = ap_checked_in;

	/* INIT, 10 ms, SIPI, 200 us, SIPI (a started AP ignores the second SIPI). */
	lapic_send_ipi(apic_id, ICR_INIT | ICR_ASSERT | ICR_LEVEL);
	time_delay_us(10000);
	for (int i = 0; i < 2; i++) {
		lapic_send_ipi(apic_id, ICR_STARTUP | (TRAMP_BASE >> 12));
		time_delay_us(200);
	}
	uint64_t end = time_deadline_us(timeout_ms * 1000);
	while (ap_checked_in == before && !time_passed(end))
		cpu_pause();
	if (ap_checked_in == before)
		return 0;
	/* The newest AP to check in is the highest slot that is online. */
	for (uint32_t s = SMP_MAX_CPUS - 1; s > 0; s--)
		if (aps[s].online)
			return s;
	return 0;
}

uint32_t smp_start_all_aps(uint32_t count, uint32_t timeout_ms)
{
	uint32_t before = ap_checked_in;

	/* INIT then one SIPI by the "all excluding self" shorthand (SDM Vol. 3A
	 * 11.6.1; the destination field is ignored), as kvm-unit-tests starts its
	 * APs: each IPI must reach every AP the first time. */
	lapic_send_ipi(0, ICR_INIT | ICR_ASSERT | ICR_LEVEL | ICR_ALL_BUT_SELF);
	time_delay_us(10000);
	lapic_send_ipi(0, ICR_STARTUP | ICR_ALL_BUT_SELF | (TRAMP_BASE >> 12));
	uint64_t end = time_deadline_us(timeout_ms * 1000);
	while (ap_checked_in - before < count && !time_passed(end))
		cpu_pause();
	return ap_checked_in - before;
}

uint32_t smp_ap_count(void)
{
	return ap_checked_in;
}

const struct ap_info *smp_ap(uint32_t slot)
{
	return &aps[slot < SMP_MAX_CPUS ? slot : 0];
}

uint32_t smp_post(uint32_t slot, void (*fn)(void *), void *arg)
{
	if (slot == 0 || slot >= SMP_MAX_CPUS || !aps[slot].online)
		return 0;
	struct ap_mailbox *m = &mailbox[slot];
	uint32_t done = m->done;
	m->arg = arg;
	__atomic_store_n(&m->fn, fn, __ATOMIC_RELEASE);
	return done + 1;
}

bool smp_wait(uint32_t slot, uint32_t ticket, uint32_t timeout_us)
{
	if (!ticket || slot >= SMP_MAX_CPUS)
		return false;
	struct ap_mailbox *m = &mailbox[slot];
	uint64_t end = time_deadline_us(timeout_us);
	while (m->done != ticket) {
		if (time_passed(end))
			return false;
		cpu_pause();
	}
	return true;
}

bool smp_call(uint32_t slot, void (*fn)(void *), void *arg, uint32_t timeout_us)
{
	return smp_wait(slot, smp_post(slot, fn, arg), timeout_us);
}

uint32_t smp_this_slot(void)
{
	uint32_t sp = (uint32_t)(uintptr_t)&sp;
	uint32_t base = (uint32_t)(uintptr_t)ap_stacks;
	if (sp >= base && sp < base + sizeof(ap_stacks))
		return 1 + ((sp - base) >> AP_STACK_SHIFT);
	return 0;
}

_Noreturn void ap_main(uint32_t slot)
{
	if (slot >= SMP_MAX_CPUS)
		cpu_halt_forever(); /* more CPUs than stacks: stay out of the way */
	trap_load();
	lapic_enable();
	aps[slot].lapic_id = lapic_id();
	aps[slot].cpuid_apic_id = cpuid(1, 0).ebx >> 24;
	__atomic_store_n(&aps[slot].online, 1, __ATOMIC_RELEASE);
	__atomic_fetch_add(&ap_checked_in, 1, __ATOMIC_SEQ_CST);

	/* Interrupts on: the x2APIC case sends this CPU fixed IPIs. */
	cpu_sti();
	struct ap_mailbox *m = &mailbox[slot];
	for (;;) {
		void (*fn)(void *) = __atomic_load_n(&m->fn, __ATOMIC_ACQUIRE);
		if (fn) {
			fn(m->arg);
			m->fn = 0;
			__atomic_fetch_add(&m->done, 1, __ATOMIC_SEQ_CST);
		}
		cpu_pause();
	}
}
