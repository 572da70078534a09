/* Local APIC access: xAPIC through MMIO at LAPIC_BASE, x2APIC through MSRs (SDM Vol. 3A ch. 11). */
#ifndef GUEST_LAPIC_H
#define GUEST_LAPIC_H

#include <stdbool.h>
#include <stdint.h>

#define LAPIC_ID         0x020
#define LAPIC_EOI        0x0b0
#define LAPIC_SVR        0x0f0
#define LAPIC_ICR_LO     0x300
#define LAPIC_ICR_HI     0x310
#define LAPIC_LVT_TIMER  0x320
#define LAPIC_LVT_LINT0  0x350
#define LAPIC_TIMER_INIT 0x380
#define LAPIC_TIMER_CUR  0x390
#define LAPIC_TIMER_DIV  0x3e0

/* ICR low fields (SDM Vol. 3A 11.6.1). */
#define ICR_FIXED        (0u << 8)
#define ICR_NMI          (4u << 8)
#define ICR_INIT         (5u << 8)
#define ICR_STARTUP      (6u << 8)
#define ICR_BUSY         (1u << 12)
#define ICR_ASSERT       (1u << 14)
#define ICR_LEVEL        (1u << 15)
#define ICR_ALL_BUT_SELF (3u << 18) /* destination shorthand "all excluding self" */
#define LVT_MASKED       (1u << 16)
#define LVT_EXTINT       (7u << 8)

#define MSR_APIC_BASE       0x1b
#define APIC_BASE_BSP       (1u << 8)
#define APIC_BASE_X2APIC    (1u << 10)
#define APIC_BASE_ENABLE    (1u << 11)
#define MSR_X2APIC_ID       0x802
#define MSR_X2APIC_EOI      0x80b
#define MSR_X2APIC_ICR      0x830
#define MSR_X2APIC_SELF_IPI 0x83f

uint32_t lapic_read(uint32_t reg);
void lapic_write(uint32_t reg, uint32_t v);
/* Software-enables this CPU's LAPIC (SVR bit 8) with the spurious vector. */
void lapic_enable(void);
uint32_t lapic_id(void);
void lapic_eoi(void);
/* Sends an IPI to a physical APIC id (no shorthand); false if it stays pending. */
bool lapic_send_ipi(uint32_t apic_id, uint32_t icr_lo);

bool x2apic_supported(void);
/* Switches this CPU's LAPIC to x2APIC mode (one way: leaving it needs a disable). */
void x2apic_enable(void);
bool x2apic_enabled(void);
uint32_t x2apic_id(void);
void x2apic_send_ipi(uint32_t apic_id, uint32_t icr_lo);
void x2apic_eoi(void);

#endif
