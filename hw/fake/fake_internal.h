/* State shared by the fake's source files (not for tests: use fake_hw.h). */
#ifndef HW_FAKE_FAKE_INTERNAL_H
#define HW_FAKE_FAKE_INTERNAL_H

#include "hw/fake/fake_hw.h"

void fake_lock(void);
void fake_unlock(void);
/* The calling thread's CPU; callers hold the lock. */
struct fake_cpu *fake_cur(void);
uint32_t fake_cur_index(void);

/* MSR table of one CPU; callers hold the lock. NULL if not defined. */
uint64_t *fake_msr_slot(struct fake_cpu *c, uint32_t msr);
void fake_msr_define(struct fake_cpu *c, uint32_t msr, uint64_t value);

/* Reset hooks of the other parts. */
void fake_regs_reset(void);
void fake_vmx_reset(void);
void fake_io_reset(void);
void fake_vtd_reset(void);
void fake_apic_reset_cpu(struct fake_cpu *c);

/* Local APIC access through x2APIC MSRs (fake_io.c); true if handled. */
bool fake_x2apic_rdmsr(struct fake_cpu *c, uint32_t msr, uint64_t *value);
bool fake_x2apic_wrmsr(struct fake_cpu *c, uint32_t msr, uint64_t value);

/* VT-d register accesses (fake_vtd.c); true if `pa` is in a unit's page. */
bool fake_vtd_mmio_read32(uint64_t pa, uint32_t *v);
bool fake_vtd_mmio_write32(uint64_t pa, uint32_t v);

#endif /* HW_FAKE_FAKE_INTERNAL_H */
