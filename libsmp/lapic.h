/*
 * Local APIC access for the hypervisor (SDM Vol. 3A chapter 10).
 *
 * The LAPIC is shared with the guest (passthrough), and the guest may switch it
 * to x2APIC mode at any time, so every call reads IA32_APIC_BASE and picks the
 * access method then: xAPIC = MMIO at the base address, x2APIC = MSRs.
 *
 * Not NMI-safe: in xAPIC mode an IPI is two MMIO writes (ICR high, then low),
 * so an NMI handler must not send IPIs (it only counts; docs/design.md section 3).
 */
#ifndef LIBSMP_LAPIC_H
#define LIBSMP_LAPIC_H

#include <stdbool.h>
#include <stdint.h>

/* The current CPU's local APIC ID (8 bits in xAPIC mode, 32 in x2APIC mode). */
uint32_t lapic_id(void);
/* True when IA32_APIC_BASE.EXTD (bit 10) is set. */
bool lapic_is_x2apic(void);
/* IA32_APIC_BASE[11]: false if this CPU's local APIC is globally disabled, when
 * it neither sends nor (on hardware) receives IPIs (SDM Vol. 3A 11.4.3). */
bool lapic_is_enabled(void);

/* IPIs to one CPU by physical APIC ID (SDM Vol. 3A 11.6.1, 11.12.9). */
void lapic_send_init(uint32_t apic_id);
void lapic_send_sipi(uint32_t apic_id, uint8_t vector_page);
void lapic_send_nmi(uint32_t apic_id);

/*
 * Waits (bounded) until the previous IPI left the ICR: xAPIC delivery status,
 * ICR bit 12 (SDM Vol. 3A 11.6.1). x2APIC has no delivery status (11.12.9), so
 * it is always idle. Returns false if the IPI is still pending at the bound.
 */
bool lapic_wait_icr_idle(void);

#endif /* LIBSMP_LAPIC_H */
