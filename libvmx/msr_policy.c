/*
 * The guest's MSRs: deny by default, one reviewed allow list.
 *
 * Every RDMSR and WRMSR exits (the MSR bitmap starts all ones, SDM Vol. 3C
 * 25.6.9) unless this table passes that direction through. An exit for an MSR
 * the table does not name injects #GP(0), what a CPU without the MSR does
 * (SDM Vol. 2B RDMSR/WRMSR), and never touches the hardware MSR. An app's
 * vmx_intercept_msr() handler comes first (exit_msr.c).
 *
 * Each entry says why the access is safe. What makes a pass-through safe:
 *  - the VMCS switches the MSR on entry and exit (the host never runs with the
 *    guest's value): SYSENTER_*, FS/GS base (always, SDM Vol. 3C 27.3.2.2, 28.3.2), EFER,
 *    PAT and DEBUGCTL (libvmx's "save/load" controls, vmx_caps.c); or
 *  - the hypervisor never uses what the MSR controls (no SYSCALL, SWAPGS,
 *    RDTSCP, XSAVES, LAPIC timer, CET in root mode); or
 *  - it is a read of a value that reveals nothing of the hypervisor.
 * Never passed through: anything that makes the CPU write to memory or trace
 * execution (Intel PT, DS/BTS/PEBS, LBRs, performance counters) -- a guest
 * value would stay live in root mode or in a PAL --, microcode update, SMRR,
 * writes of MTRRs (memory types of the hypervisor's memory) and of TSC/
 * TSC_ADJUST (the hypervisor's time base), and IA32_APIC_BASE writes (the
 * hypervisor's own NMIs and IPIs go through the local APIC).
 *
 * The table is sorted by address and its ranges do not overlap (tested).
 */
#include "libvmx/msr_policy.h"

#include <string.h>

#include "hw/hw.h"
#include "rt/layout.h"

/* One entry: MSRs lo..hi, read rule, write rule, emulation, name. */
#define R(lo, hi, rd, wr, fn, nm)                                                                  \
	{                                                                                          \
		.first = (lo), .last = (hi), .read = (rd), .write = (wr), .emulate = (fn),         \
		.name = (nm)                                                                       \
	}

static const struct msr_policy table[] = {
    /* TSC: reads as RDTSC does (TSC offset 0). Writes #GP: the hypervisor's
     * delays and timeouts run on the TSC (libsmp/delay.c). */
    R(0x010, 0x010, MSR_PASS, MSR_GP, NULL, "IA32_TSC"),
    /* Platform id: read by the microcode loader; a fused constant. */
    R(0x017, 0x017, MSR_PASS, MSR_GP, NULL, "IA32_PLATFORM_ID"),
    /* APIC base: reads give the real value. Writes may only switch xAPIC to
     * x2APIC (libsmp follows the mode at every IPI); moving the window,
     * disabling the APIC or leaving x2APIC #GP (msr_apic_base.c). */
    R(0x01b, 0x01b, MSR_PASS, MSR_EMULATE, vmx_msr_apic_base, "IA32_APIC_BASE"),
    /* SMI count: a read-out (how many SMIs ran), no hypervisor state. */
    R(0x034, 0x034, MSR_PASS, MSR_GP, NULL, "MSR_SMI_COUNT"),
    /* Core/thread count (topology): a constant. */
    R(0x035, 0x035, MSR_PASS, MSR_GP, NULL, "MSR_CORE_THREAD_COUNT"),
    /* VMX is hidden: reads as locked with VMX off, writes #GP (msr_emulate.c). */
    R(0x03a, 0x03a, MSR_EMULATE, MSR_GP, vmx_msr_feature_control, "IA32_FEATURE_CONTROL"),
    /* TSC_ADJUST: reads harmless; writes would move the hypervisor's TSC. */
    R(0x03b, 0x03b, MSR_PASS, MSR_GP, NULL, "IA32_TSC_ADJUST"),
    /* SPEC_CTRL (IBRS/STIBP/SSBD): Linux writes it on context switches. It only
     * sets speculation restrictions; the hypervisor sets none of its own, so
     * the guest's value in root mode weakens nothing (as KVM passes it). */
    R(0x048, 0x048, MSR_PASS, MSR_PASS, NULL, "IA32_SPEC_CTRL"),
    /* PRED_CMD (IBPB): a write-only command with no state. */
    R(0x049, 0x049, MSR_GP, MSR_PASS, NULL, "IA32_PRED_CMD"),
    /* PPIN_CTL: enables reading the processor serial number; a fused id. */
    R(0x04e, 0x04e, MSR_PASS, MSR_GP, NULL, "MSR_PPIN_CTL"),
    /* Microcode revision: the guest writes 0, runs CPUID(1), reads it back
     * (SDM Vol. 3A 10.11.7); a latch with no effect. */
    R(0x08b, 0x08b, MSR_PASS, MSR_PASS, NULL, "IA32_BIOS_SIGN_ID"),
    /* Platform info (ratios for TSC calibration): read-only. */
    R(0x0ce, 0x0ce, MSR_PASS, MSR_GP, NULL, "MSR_PLATFORM_INFO"),
    /* C-state configuration: read by intel_idle; writes (C-state limits)
     * are not needed. */
    R(0x0e2, 0x0e2, MSR_PASS, MSR_GP, NULL, "MSR_PKG_CST_CONFIG_CONTROL"),
    /* MPERF/APERF: frequency read-outs, no more than RDTSC tells. */
    R(0x0e7, 0x0e8, MSR_PASS, MSR_GP, NULL, "IA32_MPERF/IA32_APERF"),
    /* MTRR capabilities: read-only. */
    R(0x0fe, 0x0fe, MSR_PASS, MSR_GP, NULL, "IA32_MTRRCAP"),
    /* ARCH_CAPABILITIES: read-only enumeration Linux needs for mitigations. */
    R(0x10a, 0x10a, MSR_PASS, MSR_GP, NULL, "IA32_ARCH_CAPABILITIES"),
    /* FLUSH_CMD (L1D flush): a write-only command with no state. */
    R(0x10b, 0x10b, MSR_GP, MSR_PASS, NULL, "IA32_FLUSH_CMD"),
    /* TSX_CTRL: disables TSX or hides it from CPUID; the hypervisor uses
     * neither. */
    R(0x122, 0x122, MSR_PASS, MSR_PASS, NULL, "IA32_TSX_CTRL"),
    /* MCU_OPT_CTRL: RNGDS_MITG_DIS would switch off the SRBDS mitigation,
     * letting one core sample RDRAND/RDSEED results of another (the micro-
     * TPM's and PALs' randomness): writes setting it #GP, others are dropped
     * (msr_emulate.c). */
    R(0x123, 0x123, MSR_PASS, MSR_EMULATE, vmx_msr_mcu_opt_ctrl, "IA32_MCU_OPT_CTRL"),
    /* CPUID faulting: applies at CPL > 0 only, never to the hypervisor;
     * the guest's CPUID exits all the same. */
    R(0x140, 0x140, MSR_PASS, MSR_PASS, NULL, "MSR_MISC_FEATURES_ENABLES"),
    /* SYSENTER_CS/ESP/EIP: VMCS guest fields, loaded and saved at every
     * transition (SDM Vol. 3C 27.3.2.1, 28.3.1). */
    R(0x174, 0x176, MSR_PASS, MSR_PASS, NULL, "IA32_SYSENTER_*"),
    /* Machine-check capabilities: read-only. */
    R(0x179, 0x179, MSR_PASS, MSR_GP, NULL, "IA32_MCG_CAP"),
    /* MCG_STATUS/MCG_CTL: the guest OS owns machine-check handling as on
     * bare metal; the hypervisor does not use MCA (an #MC in root panics). */
    R(0x17a, 0x17b, MSR_PASS, MSR_PASS, NULL, "IA32_MCG_STATUS/IA32_MCG_CTL"),
    /* Performance (P-state) status: a read-out. */
    R(0x198, 0x198, MSR_PASS, MSR_GP, NULL, "IA32_PERF_STATUS"),
    /* Thermal status/interrupt: read-outs and the guest's thermal LVT
     * enables; no memory effect. */
    R(0x19b, 0x19c, MSR_PASS, MSR_PASS, NULL, "IA32_THERM_INTERRUPT/STATUS"),
    /* MISC_ENABLE: reads pass. Writes are dropped: its bits include XD
     * disable and the CPUID limit, which the hypervisor's own paging and
     * CPUID depend on (msr_emulate.c). */
    R(0x1a0, 0x1a0, MSR_PASS, MSR_EMULATE, vmx_msr_write_ignored, "IA32_MISC_ENABLE"),
    /* Temperature target: a read-out. */
    R(0x1a2, 0x1a2, MSR_PASS, MSR_GP, NULL, "MSR_TEMPERATURE_TARGET"),
    /* Turbo ratio limits: read-only enumeration. */
    R(0x1ad, 0x1ad, MSR_PASS, MSR_GP, NULL, "MSR_TURBO_RATIO_LIMIT"),
    /* Energy/performance bias: a power hint. */
    R(0x1b0, 0x1b0, MSR_PASS, MSR_PASS, NULL, "IA32_ENERGY_PERF_BIAS"),
    /* Package thermal status/interrupt: as the core's (0x19b/0x19c). */
    R(0x1b1, 0x1b2, MSR_PASS, MSR_PASS, NULL, "IA32_PACKAGE_THERM_STATUS/INTERRUPT"),
    /* DEBUGCTL: a VMCS guest field (save/load debug controls; cleared on
     * exit, SDM Vol. 3C 28.3.1), so the hypervisor never runs with it. Reads
     * pass; writes go to the VMCS field and only BTF, bus-lock detection and
     * freeze-in-SMM are accepted: LBR/BTS would record the PAL's branches
     * (msr_emulate.c). */
    R(0x1d9, 0x1d9, MSR_PASS, MSR_EMULATE, vmx_msr_debugctl, "IA32_DEBUGCTL"),
    /* POWER_CTL: C1E promotion (intel_idle clears it); power only, no
     * memory or trace effect. */
    R(0x1fc, 0x1fc, MSR_PASS, MSR_PASS, NULL, "MSR_POWER_CTL"),
    /* Variable MTRRs. Reads pass. Writes are dropped: MTRRs set the memory
     * types of all of physical memory, the hypervisor's included, while
     * under EPT the guest's own accesses take their type from EPT and the
     * guest PAT, not the MTRRs (SDM Vol. 3C 29.3.7.2). */
    R(0x200, 0x21f, MSR_PASS, MSR_EMULATE, vmx_msr_mtrr, "IA32_MTRR_PHYSBASE/MASKn"),
    /* Fixed-range MTRRs: as the variable ones. */
    R(0x250, 0x250, MSR_PASS, MSR_EMULATE, vmx_msr_mtrr, "IA32_MTRR_FIX64K"),
    R(0x258, 0x259, MSR_PASS, MSR_EMULATE, vmx_msr_mtrr, "IA32_MTRR_FIX16K"),
    R(0x268, 0x26f, MSR_PASS, MSR_EMULATE, vmx_msr_mtrr, "IA32_MTRR_FIX4K"),
    /* PAT: a VMCS guest field (save/load IA32_PAT, must-haves in vmx_caps.c). */
    R(0x277, 0x277, MSR_PASS, MSR_PASS, NULL, "IA32_PAT"),
    /* MTRR default type: as the variable MTRRs. */
    R(0x2ff, 0x2ff, MSR_PASS, MSR_EMULATE, vmx_msr_mtrr, "IA32_MTRR_DEF_TYPE"),
    /* PMU capabilities: read-only enumeration (Linux reads it when CPUID
     * says PDCM). */
    R(0x345, 0x345, MSR_PASS, MSR_GP, NULL, "IA32_PERF_CAPABILITIES"),
    /* PERF_GLOBAL_CTRL: reads pass. Writes #GP: libvmx does not switch it
     * through the VMCS, so counters the guest enabled would count the
     * hypervisor and the PALs. Counters and event selects are not listed. */
    R(0x38f, 0x38f, MSR_PASS, MSR_GP, NULL, "IA32_PERF_GLOBAL_CTRL"),
    /* Machine-check banks (MCi_CTL/STATUS/ADDR/MISC): see MCG_STATUS. */
    R(0x400, 0x47f, MSR_PASS, MSR_PASS, NULL, "IA32_MCi_*"),
    /* PPERF: a productive-cycles read-out, like APERF. */
    R(0x64e, 0x64e, MSR_PASS, MSR_GP, NULL, "MSR_PPERF"),
    /* CET: U_CET, S_CET, PL0-3_SSP, interrupt SSP table. The host's CR4
     * (loaded on exit) has CET off, so these are inert in root mode. */
    R(0x6a0, 0x6a0, MSR_PASS, MSR_PASS, NULL, "IA32_U_CET"),
    R(0x6a2, 0x6a2, MSR_PASS, MSR_PASS, NULL, "IA32_S_CET"),
    R(0x6a4, 0x6a8, MSR_PASS, MSR_PASS, NULL, "IA32_PLx_SSP/INTERRUPT_SSP_TABLE_ADDR"),
    /* TSC deadline: the guest's LAPIC timer; the hypervisor uses no timer. */
    R(0x6e0, 0x6e0, MSR_PASS, MSR_PASS, NULL, "IA32_TSC_DEADLINE"),
    /* x2APIC registers: the same registers the guest reaches through the
     * xAPIC page, which EPT maps to it; absent ones #GP natively (and all
     * of them outside x2APIC mode). The ICR exits when guest_apic.c needs
     * it to drop INITs (vmx_intercept_msr). */
    R(0x800, 0x8ff, MSR_PASS, MSR_PASS, NULL, "x2APIC registers"),
    /* XSS: the hypervisor never executes XSAVES/XRSTORS. */
    R(0xda0, 0xda0, MSR_PASS, MSR_PASS, NULL, "IA32_XSS"),
    /* EFER: a VMCS guest field (save/load IA32_EFER, must-haves). */
    R(0xc0000080, 0xc0000080, MSR_PASS, MSR_PASS, NULL, "IA32_EFER"),
    /* STAR/LSTAR/CSTAR/FMASK: only SYSCALL/SYSRET use them; the hypervisor
     * has no ring 3 and never executes either. */
    R(0xc0000081, 0xc0000084, MSR_PASS, MSR_PASS, NULL, "IA32_STAR/LSTAR/CSTAR/FMASK"),
    /* FS/GS base: VMCS guest fields. KERNEL_GS_BASE: only SWAPGS uses it,
     * which the hypervisor never executes. TSC_AUX: only RDTSCP/RDPID. */
    R(0xc0000100, 0xc0000103, MSR_PASS, MSR_PASS, NULL, "FS/GS/KERNEL_GS_BASE, TSC_AUX"),
};

size_t vmx_msr_policy_count(void)
{
	return sizeof(table) / sizeof(table[0]);
}

const struct msr_policy *vmx_msr_policy_entry(size_t i)
{
	return i < vmx_msr_policy_count() ? &table[i] : NULL;
}

const struct msr_policy *vmx_msr_policy_for(uint32_t msr)
{
	for (size_t i = 0; i < vmx_msr_policy_count(); i++)
		if (msr >= table[i].first && msr <= table[i].last)
			return &table[i];
	return NULL;
}

/* Bit offset of `msr` in the read half of the bitmap (low MSRs, then high). */
static uint32_t bitmap_bit(uint32_t msr)
{
	return (msr >= 0xc0000000u ? 1024u * 8 : 0) + (msr & 0x1fffu);
}

static void clear_bit(uint8_t *b, uint32_t bit)
{
	b[bit / 8] &= (uint8_t) ~(1u << (bit % 8));
}

void vmx_msr_policy_fill_bitmap(uint8_t *bitmap)
{
	memset(bitmap, 0xff, HV_PAGE_SIZE);
	for (size_t i = 0; i < vmx_msr_policy_count(); i++) {
		const struct msr_policy *p = &table[i];
		for (uint32_t m = p->first; m <= p->last; m++) {
			if (p->read == MSR_PASS)
				clear_bit(bitmap, bitmap_bit(m));
			if (p->write == MSR_PASS)
				clear_bit(bitmap + 2048, bitmap_bit(m));
		}
	}
}
