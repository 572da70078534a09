/*
 * The guest's MSR policy (msr_policy.c): one table says, for reads and for
 * writes separately, whether an MSR passes through (no exit), is emulated by
 * the hypervisor (msr_emulate.c, msr_apic_base.c) or gets #GP(0). An MSR the
 * table does not name exits and gets #GP, as on a CPU without that MSR.
 * Internal to libvmx.
 */
#ifndef LIBVMX_MSR_POLICY_H
#define LIBVMX_MSR_POLICY_H

#include <stddef.h>
#include <stdint.h>

#include "libvmx/vmx.h"

enum msr_rule {
	MSR_GP = 0,  /* exits, #GP(0): the MSR does not exist for the guest */
	MSR_PASS,    /* no exit: the guest reaches the real MSR */
	MSR_EMULATE, /* exits, handled by `emulate` */
};

struct msr_policy {
	uint32_t first, last; /* inclusive range */
	uint8_t read, write;  /* enum msr_rule */
	/* For MSR_EMULATE (either direction); returns false for #GP(0). */
	vmx_msr_handler emulate;
	const char *name;
};

/* The entry covering `msr`, or NULL (then: #GP both ways). */
const struct msr_policy *vmx_msr_policy_for(uint32_t msr);
/* The table, for the bitmap and for tests. */
size_t vmx_msr_policy_count(void);
const struct msr_policy *vmx_msr_policy_entry(size_t i);
/* Fills a 4 KiB MSR bitmap (SDM Vol. 3C 25.6.9): every MSR exits, except the
 * reads and writes the table passes through. */
void vmx_msr_policy_fill_bitmap(uint8_t *bitmap);

/* ---- emulations (msr_emulate.c, msr_apic_base.c) ---- */
bool vmx_msr_feature_control(struct vcpu *v, uint32_t msr, bool write, uint64_t *value);
bool vmx_msr_apic_base(struct vcpu *v, uint32_t msr, bool write, uint64_t *value);
bool vmx_msr_debugctl(struct vcpu *v, uint32_t msr, bool write, uint64_t *value);
/* MTRR writes: dropped if the MTRR exists, else #GP. */
bool vmx_msr_mtrr(struct vcpu *v, uint32_t msr, bool write, uint64_t *value);
/* MCU_OPT_CTRL writes: #GP if they disable the SRBDS mitigation, else dropped. */
bool vmx_msr_mcu_opt_ctrl(struct vcpu *v, uint32_t msr, bool write, uint64_t *value);
/* Writes accepted and dropped (the hardware MSR is not touched). */
bool vmx_msr_write_ignored(struct vcpu *v, uint32_t msr, bool write, uint64_t *value);

/* IA32_DEBUGCTL bits (SDM Vol. 3B 17.4.1) the guest may set (msr_emulate.c). */
#define DEBUGCTL_LBR             (1ull << 0)
#define DEBUGCTL_BTF             (1ull << 1)
#define DEBUGCTL_BUS_LOCK_DETECT (1ull << 2)
#define DEBUGCTL_TR              (1ull << 6)
#define DEBUGCTL_BTS             (1ull << 7)
/* IA32_MCU_OPT_CTRL bit 0 (Intel SRBDS guidance). */
#define MCU_OPT_CTRL_RNGDS_MITG_DIS (1ull << 0)

#endif /* LIBVMX_MSR_POLICY_H */
