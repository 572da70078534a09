/*
 * Local APIC access in xAPIC and x2APIC mode, decided at each call.
 *
 * SDM Vol. 3A (chapter 10 in editions before 2023, chapter 11 since):
 * 10.4.4 IA32_APIC_BASE; 10.6.1 the ICR (fields, delivery status, "software
 * should wait for the previous IPI to be sent"); 10.12.1.2 x2APIC registers are
 * MSR 0x800 + MMIO offset / 16; 10.12.9 in x2APIC mode the ICR is one 64-bit
 * MSR (0x830) with the destination in bits 63:32, written at once, and has no
 * delivery-status bit.
 */
#include "libsmp/lapic.h"

#include "hw/hw.h"
#include "hw/x86_defs.h"

/* Polls of the delivery-status bit before giving up (far above any real delay). */
#define ICR_IDLE_POLL_LIMIT 1000000u

static uint64_t apic_base_msr(void)
{
	return hw_rdmsr(MSR_IA32_APIC_BASE);
}

bool lapic_is_x2apic(void)
{
	return (apic_base_msr() & APIC_BASE_X2APIC) != 0;
}

bool lapic_is_enabled(void)
{
	return (apic_base_msr() & APIC_BASE_ENABLE) != 0;
}

static uint64_t xapic_reg(uint64_t base_msr, uint32_t offset)
{
	return (base_msr & APIC_BASE_ADDR_MASK) + offset;
}

uint32_t lapic_id(void)
{
	uint64_t base = apic_base_msr();

	if (base & APIC_BASE_X2APIC)
		return (uint32_t)hw_rdmsr(MSR_X2APIC_ID);
	/* xAPIC: the ID is in bits 31:24 (SDM Vol. 3A 11.4.6). */
	return hw_mmio_read32(xapic_reg(base, APIC_REG_ID)) >> 24;
}

bool lapic_wait_icr_idle(void)
{
	for (uint32_t i = 0; i < ICR_IDLE_POLL_LIMIT; i++) {
		uint64_t base = apic_base_msr();

		if (base & APIC_BASE_X2APIC)
			return true;
		if ((hw_mmio_read32(xapic_reg(base, APIC_REG_ICR_LOW)) &
		     APIC_ICR_DELIVERY_PENDING) == 0)
			return true;
		hw_pause();
	}
	return false;
}

/*
 * Physical destination, no shorthand, edge; `command` is ICR bits 31:0. The
 * level bit is 1: "must be 1 for all delivery modes but INIT level de-assert".
 */
static void send_ipi(uint32_t apic_id, uint32_t command)
{
	uint64_t base = apic_base_msr();

	command |= APIC_ICR_LEVEL_ASSERT;
	if (base & APIC_BASE_X2APIC) {
		hw_wrmsr(MSR_X2APIC_ICR, ((uint64_t)apic_id << 32) | command);
		return;
	}
	(void)lapic_wait_icr_idle();
	/* Writing the low word sends the IPI, so the destination goes first. */
	hw_mmio_write32(xapic_reg(base, APIC_REG_ICR_HIGH), (apic_id & 0xffu)
	                                                        << APIC_ICR_XAPIC_DEST_SHIFT);
	hw_mmio_write32(xapic_reg(base, APIC_REG_ICR_LOW), command);
}

void lapic_send_init(uint32_t apic_id)
{
	send_ipi(apic_id, APIC_ICR_DM_INIT);
}

void lapic_send_sipi(uint32_t apic_id, uint8_t vector_page)
{
	send_ipi(apic_id, APIC_ICR_DM_STARTUP | vector_page);
}

void lapic_send_nmi(uint32_t apic_id)
{
	send_ipi(apic_id, APIC_ICR_DM_NMI);
}
