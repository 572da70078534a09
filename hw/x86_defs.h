/*
 * Architectural x86-64 constants the hypervisor needs outside VMX proper:
 * MSR numbers, control-register and EFER/RFLAGS bits, exception vectors and
 * local APIC registers (Intel SDM Vol. 3A and Vol. 4 "Model-Specific Registers").
 * Included by hw/vmx_defs.h, so one include gives both.
 */
#ifndef HW_X86_DEFS_H
#define HW_X86_DEFS_H

#include <stdint.h>

/* ---- MSRs (SDM Vol. 4, Table 2-2) ---- */
#define MSR_IA32_TSC              0x00000010u
#define MSR_IA32_APIC_BASE        0x0000001Bu
#define MSR_IA32_FEATURE_CONTROL  0x0000003Au
#define MSR_IA32_TSC_ADJUST       0x0000003Bu
#define MSR_IA32_SPEC_CTRL        0x00000048u
#define MSR_IA32_BIOS_SIGN_ID     0x0000008Bu
#define MSR_IA32_MTRRCAP          0x000000FEu
#define MSR_IA32_SYSENTER_CS      0x00000174u
#define MSR_IA32_SYSENTER_ESP     0x00000175u
#define MSR_IA32_SYSENTER_EIP     0x00000176u
#define MSR_IA32_MCG_CAP          0x00000179u
#define MSR_IA32_MCG_STATUS       0x0000017Au
#define MSR_IA32_MISC_ENABLE      0x000001A0u
#define MSR_IA32_DEBUGCTL         0x000001D9u
#define MSR_IA32_PAT              0x00000277u
#define MSR_IA32_MTRR_DEF_TYPE    0x000002FFu
#define MSR_IA32_PERF_GLOBAL_CTRL 0x0000038Fu
#define MSR_IA32_XSS              0x00000DA0u
#define MSR_IA32_EFER             0xC0000080u
#define MSR_IA32_STAR             0xC0000081u
#define MSR_IA32_LSTAR            0xC0000082u
#define MSR_IA32_CSTAR            0xC0000083u
#define MSR_IA32_FMASK            0xC0000084u
#define MSR_IA32_FS_BASE          0xC0000100u
#define MSR_IA32_GS_BASE          0xC0000101u
#define MSR_IA32_KERNEL_GS_BASE   0xC0000102u
#define MSR_IA32_TSC_AUX          0xC0000103u

/* IA32_FEATURE_CONTROL (SDM Vol. 3C 24.7 "Enabling and entering VMX operation") */
#define FEATURE_CONTROL_LOCKED          (1ull << 0)
#define FEATURE_CONTROL_VMX_IN_SMX      (1ull << 1)
#define FEATURE_CONTROL_VMX_OUTSIDE_SMX (1ull << 2)

/* IA32_APIC_BASE (SDM Vol. 3A 11.4.4) */
#define APIC_BASE_BSP       (1ull << 8)
#define APIC_BASE_X2APIC    (1ull << 10) /* EXTD: x2APIC mode */
#define APIC_BASE_ENABLE    (1ull << 11)
#define APIC_BASE_ADDR_MASK 0x000FFFFFFFFFF000ull
#define APIC_DEFAULT_BASE   0xFEE00000ull

/* ---- local APIC registers: xAPIC MMIO offsets (SDM Vol. 3A Table 11-1) ---- */
#define APIC_REG_ID        0x020u
#define APIC_REG_VERSION   0x030u
#define APIC_REG_TPR       0x080u
#define APIC_REG_EOI       0x0B0u
#define APIC_REG_LDR       0x0D0u
#define APIC_REG_DFR       0x0E0u
#define APIC_REG_SVR       0x0F0u
#define APIC_REG_ISR0      0x100u
#define APIC_REG_IRR0      0x200u
#define APIC_REG_ESR       0x280u
#define APIC_REG_ICR_LOW   0x300u
#define APIC_REG_ICR_HIGH  0x310u
#define APIC_REG_LVT_TIMER 0x320u
#define APIC_REG_LVT_LINT0 0x350u
#define APIC_REG_LVT_LINT1 0x360u
#define APIC_REG_LVT_ERROR 0x370u
#define APIC_REG_TIMER_ICR 0x380u
#define APIC_REG_TIMER_CCR 0x390u
#define APIC_REG_TIMER_DCR 0x3E0u
/* x2APIC: register at MMIO offset X is MSR 0x800 + X/16 (SDM Vol. 3A 11.12.1.2);
 * the ICR is a single 64-bit MSR with the destination in bits 63:32. */
#define MSR_X2APIC_BASE     0x00000800u
#define MSR_X2APIC_REG(off) (MSR_X2APIC_BASE + ((uint32_t)(off) >> 4))
#define MSR_X2APIC_ID       0x00000802u
#define MSR_X2APIC_EOI      0x0000080Bu
#define MSR_X2APIC_SVR      0x0000080Fu
#define MSR_X2APIC_ICR      0x00000830u

/* ICR fields (SDM Vol. 3A 11.6.1) */
#define APIC_ICR_VECTOR_MASK      0x000000FFu
#define APIC_ICR_DM_SHIFT         8
#define APIC_ICR_DM_MASK          (7u << APIC_ICR_DM_SHIFT)
#define APIC_ICR_DM_FIXED         (0u << APIC_ICR_DM_SHIFT)
#define APIC_ICR_DM_LOWEST        (1u << APIC_ICR_DM_SHIFT)
#define APIC_ICR_DM_SMI           (2u << APIC_ICR_DM_SHIFT)
#define APIC_ICR_DM_NMI           (4u << APIC_ICR_DM_SHIFT)
#define APIC_ICR_DM_INIT          (5u << APIC_ICR_DM_SHIFT)
#define APIC_ICR_DM_STARTUP       (6u << APIC_ICR_DM_SHIFT)
#define APIC_ICR_DEST_LOGICAL     (1u << 11)
#define APIC_ICR_DELIVERY_PENDING (1u << 12) /* xAPIC only */
#define APIC_ICR_LEVEL_ASSERT     (1u << 14)
#define APIC_ICR_TRIGGER_LEVEL    (1u << 15)
#define APIC_ICR_SHORTHAND_SHIFT  18
#define APIC_ICR_SHORTHAND_MASK   (3u << APIC_ICR_SHORTHAND_SHIFT)
#define APIC_ICR_SHORTHAND_NONE   (0u << APIC_ICR_SHORTHAND_SHIFT)
#define APIC_ICR_SHORTHAND_SELF   (1u << APIC_ICR_SHORTHAND_SHIFT)
#define APIC_ICR_SHORTHAND_ALL    (2u << APIC_ICR_SHORTHAND_SHIFT)
#define APIC_ICR_SHORTHAND_OTHERS (3u << APIC_ICR_SHORTHAND_SHIFT)
#define APIC_ICR_XAPIC_DEST_SHIFT 24 /* in ICR high (offset 0x310) */
#define APIC_SVR_ENABLE           (1u << 8)

/* ---- control registers (SDM Vol. 3A 2.5) ---- */
#define CR0_PE (1ull << 0)
#define CR0_MP (1ull << 1)
#define CR0_EM (1ull << 2)
#define CR0_TS (1ull << 3)
#define CR0_ET (1ull << 4)
#define CR0_NE (1ull << 5)
#define CR0_WP (1ull << 16)
#define CR0_AM (1ull << 18)
#define CR0_NW (1ull << 29)
#define CR0_CD (1ull << 30)
#define CR0_PG (1ull << 31)

#define CR4_VME        (1ull << 0)
#define CR4_PVI        (1ull << 1)
#define CR4_TSD        (1ull << 2)
#define CR4_DE         (1ull << 3)
#define CR4_PSE        (1ull << 4)
#define CR4_PAE        (1ull << 5)
#define CR4_MCE        (1ull << 6)
#define CR4_PGE        (1ull << 7)
#define CR4_PCE        (1ull << 8)
#define CR4_OSFXSR     (1ull << 9)
#define CR4_OSXMMEXCPT (1ull << 10)
#define CR4_UMIP       (1ull << 11)
#define CR4_LA57       (1ull << 12)
#define CR4_VMXE       (1ull << 13)
#define CR4_SMXE       (1ull << 14)
#define CR4_FSGSBASE   (1ull << 16)
#define CR4_PCIDE      (1ull << 17)
#define CR4_OSXSAVE    (1ull << 18)
#define CR4_SMEP       (1ull << 20)
#define CR4_SMAP       (1ull << 21)
#define CR4_PKE        (1ull << 22)
#define CR4_CET        (1ull << 23)

/* IA32_EFER (SDM Vol. 3A 2.2.1) */
#define EFER_SCE (1ull << 0)
#define EFER_LME (1ull << 8)
#define EFER_LMA (1ull << 10)
#define EFER_NXE (1ull << 11)

/* RFLAGS (SDM Vol. 1 3.4.3) */
#define RFLAGS_CF        (1ull << 0)
#define RFLAGS_FIXED1    (1ull << 1) /* reads as 1 */
#define RFLAGS_PF        (1ull << 2)
#define RFLAGS_AF        (1ull << 4)
#define RFLAGS_ZF        (1ull << 6)
#define RFLAGS_SF        (1ull << 7)
#define RFLAGS_TF        (1ull << 8)
#define RFLAGS_IF        (1ull << 9)
#define RFLAGS_DF        (1ull << 10)
#define RFLAGS_OF        (1ull << 11)
#define RFLAGS_IOPL_MASK (3ull << 12)
#define RFLAGS_NT        (1ull << 14)
#define RFLAGS_RF        (1ull << 16)
#define RFLAGS_VM        (1ull << 17)
#define RFLAGS_AC        (1ull << 18)
#define RFLAGS_VIF       (1ull << 19)
#define RFLAGS_VIP       (1ull << 20)
#define RFLAGS_ID        (1ull << 21)

/* XCR0 (SDM Vol. 1 13.3) */
#define XCR0_X87  (1ull << 0)
#define XCR0_SSE  (1ull << 1)
#define XCR0_AVX  (1ull << 2)
#define XCR0_PKRU (1ull << 9) /* PKRU, XSAVE-managed even with CR4.PKE = 0 (SDM Vol. 1 13.5.7) */

/* ---- exception vectors (SDM Vol. 3A Table 6-1) ---- */
enum x86_vector {
	X86_VEC_DE = 0,
	X86_VEC_DB = 1,
	X86_VEC_NMI = 2,
	X86_VEC_BP = 3,
	X86_VEC_OF = 4,
	X86_VEC_BR = 5,
	X86_VEC_UD = 6,
	X86_VEC_NM = 7,
	X86_VEC_DF = 8,
	X86_VEC_TS = 10,
	X86_VEC_NP = 11,
	X86_VEC_SS = 12,
	X86_VEC_GP = 13,
	X86_VEC_PF = 14,
	X86_VEC_MF = 16,
	X86_VEC_AC = 17,
	X86_VEC_MC = 18,
	X86_VEC_XM = 19,
	X86_VEC_VE = 20,
	X86_VEC_CP = 21,
};

/* CPUID leaf 1 feature bits used by the hypervisor (SDM Vol. 2A, CPUID) */
#define CPUID1_ECX_VMX        (1u << 5)
#define CPUID1_ECX_SMX        (1u << 6)
#define CPUID1_ECX_X2APIC     (1u << 21)
#define CPUID1_ECX_XSAVE      (1u << 26)
#define CPUID1_ECX_OSXSAVE    (1u << 27)
#define CPUID1_ECX_HYPERVISOR (1u << 31)

#endif /* HW_X86_DEFS_H */
