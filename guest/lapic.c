#include "guest/lapic.h"

#include "guest/cpu.h"
#include "guest/layout.h"
#include "guest/time.h"
#include "guest/trap.h"

#define CPUID1_ECX_X2APIC (1u << 21)

uint32_t lapic_read(uint32_t reg)
{
	return *(volatile uint32_t *)(uintptr_t)(LAPIC_BASE + reg);
}

void lapic_write(uint32_t reg, uint32_t v)
{
	*(volatile uint32_t *)(uintptr_t)(LAPIC_BASE + reg) = v;
}

void lapic_enable(void)
{
	lapic_write(LAPIC_SVR, 0x100 | VEC_SPURIOUS);
}

uint32_t lapic_id(void)
{
	return lapic_read(LAPIC_ID) >> 24;
}

void lapic_eoi(void)
{
	lapic_write(LAPIC_EOI, 0);
}

static bool icr_idle_within(uint32_t us)
{
	uint64_t end = time_deadline_us(us);
	while (lapic_read(LAPIC_ICR_LO) & ICR_BUSY) {
		if (time_passed(end))
			return false;
		cpu_pause();
	}
	return true;
}

bool lapic_send_ipi(uint32_t apic_id, uint32_t icr_lo)
{
	icr_idle_within(1000);
	lapic_write(LAPIC_ICR_HI, apic_id << 24);
	lapic_write(LAPIC_ICR_LO, icr_lo); /* the write to the low half sends it */
	return icr_idle_within(1000);
}

bool x2apic_supported(void)
{
	return (cpuid(1, 0).ecx & CPUID1_ECX_X2APIC) != 0;
}

void x2apic_enable(void)
{
	/* xAPIC -> x2APIC is a legal transition with EN=1 (SDM Vol. 3A 11.12.5). */
	wrmsr(MSR_APIC_BASE, rdmsr(MSR_APIC_BASE) | APIC_BASE_ENABLE | APIC_BASE_X2APIC);
}

bool x2apic_enabled(void)
{
	return (rdmsr(MSR_APIC_BASE) & APIC_BASE_X2APIC) != 0;
}

uint32_t x2apic_id(void)
{
	return (uint32_t)rdmsr(MSR_X2APIC_ID);
}

void x2apic_send_ipi(uint32_t apic_id, uint32_t icr_lo)
{
	/* One 64-bit ICR; the destination is bits 63:32 (SDM Vol. 3A 11.12.9). */
	wrmsr(MSR_X2APIC_ICR, ((uint64_t)apic_id << 32) | icr_lo);
}

void x2apic_eoi(void)
{
	wrmsr(MSR_X2APIC_EOI, 0);
}
