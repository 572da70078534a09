/*
 * VMX architectural constants: capability MSRs, VM-execution/exit/entry control
 * bits, basic exit reasons, event-information formats, guest interruptibility
 * and activity states, EPT formats (Intel SDM Vol. 3C chapters 24-29, Vol. 3D
 * Appendices A and C). Field encodings live in hw/vmcs_fields.h.
 */
#ifndef HW_VMX_DEFS_H
#define HW_VMX_DEFS_H

#include <stdint.h>

#include "hw/x86_defs.h"

/* ---- VMX capability MSRs (SDM Vol. 3D Appendix A) ---- */
#define MSR_IA32_VMX_BASIC               0x480u
#define MSR_IA32_VMX_PINBASED_CTLS       0x481u
#define MSR_IA32_VMX_PROCBASED_CTLS      0x482u
#define MSR_IA32_VMX_EXIT_CTLS           0x483u
#define MSR_IA32_VMX_ENTRY_CTLS          0x484u
#define MSR_IA32_VMX_MISC                0x485u
#define MSR_IA32_VMX_CR0_FIXED0          0x486u
#define MSR_IA32_VMX_CR0_FIXED1          0x487u
#define MSR_IA32_VMX_CR4_FIXED0          0x488u
#define MSR_IA32_VMX_CR4_FIXED1          0x489u
#define MSR_IA32_VMX_VMCS_ENUM           0x48Au
#define MSR_IA32_VMX_PROCBASED_CTLS2     0x48Bu
#define MSR_IA32_VMX_EPT_VPID_CAP        0x48Cu
#define MSR_IA32_VMX_TRUE_PINBASED_CTLS  0x48Du
#define MSR_IA32_VMX_TRUE_PROCBASED_CTLS 0x48Eu
#define MSR_IA32_VMX_TRUE_EXIT_CTLS      0x48Fu
#define MSR_IA32_VMX_TRUE_ENTRY_CTLS     0x490u
#define MSR_IA32_VMX_VMFUNC              0x491u
#define MSR_IA32_VMX_PROCBASED_CTLS3     0x492u

/* IA32_VMX_BASIC (A.1) */
#define VMX_BASIC_REVISION_MASK   0x7FFFFFFFull
#define VMX_BASIC_REGION_SIZE(v)  ((uint32_t)(((v) >> 32) & 0x1FFF))
#define VMX_BASIC_32BIT_ADDRESSES (1ull << 48)
#define VMX_BASIC_MEMTYPE(v)      ((uint32_t)(((v) >> 50) & 0xF))
#define VMX_BASIC_INS_OUTS_INFO   (1ull << 54)
#define VMX_BASIC_TRUE_CTLS       (1ull << 55) /* IA32_VMX_TRUE_* MSRs exist */

/* IA32_VMX_MISC (A.6) */
#define VMX_MISC_PREEMPTION_TIMER_RATE(v) ((uint32_t)((v)&0x1F)) /* TSC >> rate */
#define VMX_MISC_STORES_LMA               (1ull << 5)
#define VMX_MISC_ACTIVITY_HLT             (1ull << 6)
#define VMX_MISC_ACTIVITY_SHUTDOWN        (1ull << 7)
#define VMX_MISC_ACTIVITY_WAIT_SIPI       (1ull << 8)
#define VMX_MISC_CR3_TARGETS(v)           ((uint32_t)(((v) >> 16) & 0x1FF))
#define VMX_MISC_MAX_MSR_LIST(v)          (512u * ((uint32_t)(((v) >> 25) & 7) + 1))
#define VMX_MISC_VMWRITE_ANY_FIELD        (1ull << 29)
#define VMX_MISC_INJECT_ZERO_LENGTH       (1ull << 30)

/* IA32_VMX_EPT_VPID_CAP (A.10) */
#define VMX_EPT_CAP_EXECUTE_ONLY              (1ull << 0)
#define VMX_EPT_CAP_WALK_4                    (1ull << 6)
#define VMX_EPT_CAP_WALK_5                    (1ull << 7)
#define VMX_EPT_CAP_MEMTYPE_UC                (1ull << 8)
#define VMX_EPT_CAP_MEMTYPE_WB                (1ull << 14)
#define VMX_EPT_CAP_2MB_PAGES                 (1ull << 16)
#define VMX_EPT_CAP_1GB_PAGES                 (1ull << 17)
#define VMX_EPT_CAP_INVEPT                    (1ull << 20)
#define VMX_EPT_CAP_ACCESSED_DIRTY            (1ull << 21)
#define VMX_EPT_CAP_INVEPT_SINGLE             (1ull << 25)
#define VMX_EPT_CAP_INVEPT_ALL                (1ull << 26)
#define VMX_VPID_CAP_INVVPID                  (1ull << 32)
#define VMX_VPID_CAP_INVVPID_ADDR             (1ull << 40)
#define VMX_VPID_CAP_INVVPID_SINGLE           (1ull << 41)
#define VMX_VPID_CAP_INVVPID_ALL              (1ull << 42)
#define VMX_VPID_CAP_INVVPID_SINGLE_NONGLOBAL (1ull << 43)

/* INVEPT / INVVPID types (SDM Vol. 3C 29.4.3, instruction reference) */
#define INVEPT_SINGLE_CONTEXT                 1u
#define INVEPT_ALL_CONTEXT                    2u
#define INVVPID_INDIVIDUAL_ADDRESS            0u
#define INVVPID_SINGLE_CONTEXT                1u
#define INVVPID_ALL_CONTEXT                   2u
#define INVVPID_SINGLE_CONTEXT_RETAIN_GLOBALS 3u

/* ---- pin-based VM-execution controls (25.6.1) ---- */
#define PIN_EXTERNAL_INTERRUPT_EXITING (1u << 0)
#define PIN_NMI_EXITING                (1u << 3)
#define PIN_VIRTUAL_NMIS               (1u << 5)
#define PIN_PREEMPTION_TIMER           (1u << 6)
#define PIN_POSTED_INTERRUPTS          (1u << 7)

/* ---- primary processor-based VM-execution controls (25.6.2) ---- */
#define PROC_INTERRUPT_WINDOW_EXITING (1u << 2)
#define PROC_USE_TSC_OFFSETTING       (1u << 3)
#define PROC_HLT_EXITING              (1u << 7)
#define PROC_INVLPG_EXITING           (1u << 9)
#define PROC_MWAIT_EXITING            (1u << 10)
#define PROC_RDPMC_EXITING            (1u << 11)
#define PROC_RDTSC_EXITING            (1u << 12)
#define PROC_CR3_LOAD_EXITING         (1u << 15)
#define PROC_CR3_STORE_EXITING        (1u << 16)
#define PROC_ACTIVATE_TERTIARY        (1u << 17)
#define PROC_CR8_LOAD_EXITING         (1u << 19)
#define PROC_CR8_STORE_EXITING        (1u << 20)
#define PROC_USE_TPR_SHADOW           (1u << 21)
#define PROC_NMI_WINDOW_EXITING       (1u << 22)
#define PROC_MOV_DR_EXITING           (1u << 23)
#define PROC_UNCONDITIONAL_IO_EXITING (1u << 24)
#define PROC_USE_IO_BITMAPS           (1u << 25)
#define PROC_MONITOR_TRAP_FLAG        (1u << 27)
#define PROC_USE_MSR_BITMAPS          (1u << 28)
#define PROC_MONITOR_EXITING          (1u << 29)
#define PROC_PAUSE_EXITING            (1u << 30)
#define PROC_ACTIVATE_SECONDARY       (1u << 31)

/* ---- secondary processor-based VM-execution controls (25.6.2) ---- */
#define PROC2_VIRTUALIZE_APIC_ACCESSES (1u << 0)
#define PROC2_ENABLE_EPT               (1u << 1)
#define PROC2_DESCRIPTOR_TABLE_EXITING (1u << 2)
#define PROC2_ENABLE_RDTSCP            (1u << 3)
#define PROC2_VIRTUALIZE_X2APIC        (1u << 4)
#define PROC2_ENABLE_VPID              (1u << 5)
#define PROC2_WBINVD_EXITING           (1u << 6)
#define PROC2_UNRESTRICTED_GUEST       (1u << 7)
#define PROC2_APIC_REGISTER_VIRT       (1u << 8)
#define PROC2_VIRTUAL_INTR_DELIVERY    (1u << 9)
#define PROC2_PAUSE_LOOP_EXITING       (1u << 10)
#define PROC2_RDRAND_EXITING           (1u << 11)
#define PROC2_ENABLE_INVPCID           (1u << 12)
#define PROC2_ENABLE_VMFUNC            (1u << 13)
#define PROC2_VMCS_SHADOWING           (1u << 14)
#define PROC2_ENCLS_EXITING            (1u << 15)
#define PROC2_RDSEED_EXITING           (1u << 16)
#define PROC2_ENABLE_PML               (1u << 17)
#define PROC2_EPT_VIOLATION_VE         (1u << 18)
#define PROC2_CONCEAL_VMX_FROM_PT      (1u << 19)
#define PROC2_ENABLE_XSAVES            (1u << 20)
#define PROC2_MODE_BASED_EPT_EXEC      (1u << 22)
#define PROC2_USE_TSC_SCALING          (1u << 25)
#define PROC2_ENABLE_USER_WAIT_PAUSE   (1u << 26)

/* ---- primary VM-exit controls (25.7.1) ---- */
#define EXIT_SAVE_DEBUG_CONTROLS     (1u << 2)
#define EXIT_HOST_ADDRESS_SPACE_SIZE (1u << 9) /* host is 64-bit */
#define EXIT_LOAD_PERF_GLOBAL_CTRL   (1u << 12)
#define EXIT_ACK_INTERRUPT_ON_EXIT   (1u << 15)
#define EXIT_SAVE_IA32_PAT           (1u << 18)
#define EXIT_LOAD_IA32_PAT           (1u << 19)
#define EXIT_SAVE_IA32_EFER          (1u << 20)
#define EXIT_LOAD_IA32_EFER          (1u << 21)
#define EXIT_SAVE_PREEMPTION_TIMER   (1u << 22)
#define EXIT_CLEAR_IA32_BNDCFGS      (1u << 23)
#define EXIT_CONCEAL_VMX_FROM_PT     (1u << 24)
#define EXIT_ACTIVATE_SECONDARY      (1u << 31)

/* ---- VM-entry controls (25.8.1) ---- */
#define ENTRY_LOAD_DEBUG_CONTROLS     (1u << 2)
#define ENTRY_IA32E_MODE_GUEST        (1u << 9)
#define ENTRY_TO_SMM                  (1u << 10)
#define ENTRY_DEACTIVATE_DUAL_MONITOR (1u << 11)
#define ENTRY_LOAD_PERF_GLOBAL_CTRL   (1u << 13)
#define ENTRY_LOAD_IA32_PAT           (1u << 14)
#define ENTRY_LOAD_IA32_EFER          (1u << 15)
#define ENTRY_LOAD_IA32_BNDCFGS       (1u << 16)
#define ENTRY_CONCEAL_VMX_FROM_PT     (1u << 17)

/* ---- exit reason field (SDM Vol. 3C 25.9.1) ---- */
#define VMX_EXIT_REASON_BASIC(r)      ((uint32_t)(r)&0xFFFFu)
#define VMX_EXIT_REASON_ENCLAVE       (1u << 27)
#define VMX_EXIT_REASON_PENDING_MTF   (1u << 28)
#define VMX_EXIT_REASON_FROM_ROOT     (1u << 29)
#define VMX_EXIT_REASON_ENTRY_FAILURE (1u << 31)

/* Basic exit reasons (SDM Vol. 3D Appendix C). */
enum vmx_exit_reason {
	VMX_EXIT_EXCEPTION_NMI = 0,
	VMX_EXIT_EXTERNAL_INTERRUPT = 1,
	VMX_EXIT_TRIPLE_FAULT = 2,
	VMX_EXIT_INIT = 3,
	VMX_EXIT_SIPI = 4,
	VMX_EXIT_IO_SMI = 5,
	VMX_EXIT_OTHER_SMI = 6,
	VMX_EXIT_INTERRUPT_WINDOW = 7,
	VMX_EXIT_NMI_WINDOW = 8,
	VMX_EXIT_TASK_SWITCH = 9,
	VMX_EXIT_CPUID = 10,
	VMX_EXIT_GETSEC = 11,
	VMX_EXIT_HLT = 12,
	VMX_EXIT_INVD = 13,
	VMX_EXIT_INVLPG = 14,
	VMX_EXIT_RDPMC = 15,
	VMX_EXIT_RDTSC = 16,
	VMX_EXIT_RSM = 17,
	VMX_EXIT_VMCALL = 18,
	VMX_EXIT_VMCLEAR = 19,
	VMX_EXIT_VMLAUNCH = 20,
	VMX_EXIT_VMPTRLD = 21,
	VMX_EXIT_VMPTRST = 22,
	VMX_EXIT_VMREAD = 23,
	VMX_EXIT_VMRESUME = 24,
	VMX_EXIT_VMWRITE = 25,
	VMX_EXIT_VMXOFF = 26,
	VMX_EXIT_VMXON = 27,
	VMX_EXIT_CR_ACCESS = 28,
	VMX_EXIT_MOV_DR = 29,
	VMX_EXIT_IO_INSTRUCTION = 30,
	VMX_EXIT_RDMSR = 31,
	VMX_EXIT_WRMSR = 32,
	VMX_EXIT_INVALID_GUEST_STATE = 33, /* VM-entry failure */
	VMX_EXIT_MSR_LOADING = 34,         /* VM-entry failure */
	/* 35 is not used */
	VMX_EXIT_MWAIT = 36,
	VMX_EXIT_MONITOR_TRAP_FLAG = 37,
	/* 38 is not used */
	VMX_EXIT_MONITOR = 39,
	VMX_EXIT_PAUSE = 40,
	VMX_EXIT_MACHINE_CHECK = 41, /* VM-entry failure */
	/* 42 is not used */
	VMX_EXIT_TPR_BELOW_THRESHOLD = 43,
	VMX_EXIT_APIC_ACCESS = 44,
	VMX_EXIT_VIRTUALIZED_EOI = 45,
	VMX_EXIT_GDTR_IDTR = 46,
	VMX_EXIT_LDTR_TR = 47,
	VMX_EXIT_EPT_VIOLATION = 48,
	VMX_EXIT_EPT_MISCONFIG = 49,
	VMX_EXIT_INVEPT = 50,
	VMX_EXIT_RDTSCP = 51,
	VMX_EXIT_PREEMPTION_TIMER = 52,
	VMX_EXIT_INVVPID = 53,
	VMX_EXIT_WBINVD = 54,
	VMX_EXIT_XSETBV = 55,
	VMX_EXIT_APIC_WRITE = 56,
	VMX_EXIT_RDRAND = 57,
	VMX_EXIT_INVPCID = 58,
	VMX_EXIT_VMFUNC = 59,
	VMX_EXIT_ENCLS = 60,
	VMX_EXIT_RDSEED = 61,
	VMX_EXIT_PML_FULL = 62,
	VMX_EXIT_XSAVES = 63,
	VMX_EXIT_XRSTORS = 64,
	VMX_EXIT_REASON_COUNT = 65,
};
/* Newer reasons (SDM Vol. 3D Appendix C; Intel TDX and MSR-immediate ISA
 * extensions), past the name table: instructions a guest kernel can execute
 * that exit with no control enabling the exit. */
#define VMX_EXIT_SEAMCALL  76u
#define VMX_EXIT_TDCALL    77u
#define VMX_EXIT_RDMSR_IMM 84u
#define VMX_EXIT_WRMSR_IMM 85u

/* Name of a basic exit reason (bits 15:0 are used); "unknown" if not in 0..64. */
const char *vmx_exit_reason_name(uint32_t reason);

/*
 * ---- event information formats ----
 * VM-entry interruption information (25.8.3), VM-exit interruption information
 * and IDT-vectoring information (25.9.2, 25.9.3) share one layout.
 */
#define INTR_INFO_VECTOR_MASK      0xFFu
#define INTR_INFO_TYPE_SHIFT       8
#define INTR_INFO_TYPE_MASK        (7u << INTR_INFO_TYPE_SHIFT)
#define INTR_INFO_DELIVER_CODE     (1u << 11)
#define INTR_INFO_NMI_UNBLOCK_IRET (1u << 12) /* exit interruption info only */
#define INTR_INFO_VALID            (1u << 31)
#define INTR_INFO_VECTOR(i)        ((uint32_t)(i)&INTR_INFO_VECTOR_MASK)
#define INTR_INFO_TYPE(i)          (((uint32_t)(i) >> INTR_INFO_TYPE_SHIFT) & 7u)

enum intr_type {
	INTR_TYPE_EXTERNAL = 0,
	INTR_TYPE_NMI = 2,
	INTR_TYPE_HW_EXCEPTION = 3,
	INTR_TYPE_SW_INTERRUPT = 4,
	INTR_TYPE_PRIV_SW_EXCEPTION = 5, /* INT1 */
	INTR_TYPE_SW_EXCEPTION = 6,      /* INT3, INTO */
	INTR_TYPE_OTHER = 7,             /* pending MTF on entry */
};

/* Build an interruption-information value for injection. */
#define INTR_INFO(vector, type)                                                                    \
	(INTR_INFO_VALID | ((uint32_t)(type) << INTR_INFO_TYPE_SHIFT) | ((uint32_t)(vector)&0xFFu))

/* ---- guest interruptibility state (25.4.2) ---- */
#define INTERRUPTIBILITY_STI     (1u << 0)
#define INTERRUPTIBILITY_MOV_SS  (1u << 1)
#define INTERRUPTIBILITY_SMI     (1u << 2)
#define INTERRUPTIBILITY_NMI     (1u << 3)
#define INTERRUPTIBILITY_ENCLAVE (1u << 4)

/* ---- guest activity state (25.4.2) ---- */
enum vmx_activity_state {
	VMX_ACTIVITY_ACTIVE = 0,
	VMX_ACTIVITY_HLT = 1,
	VMX_ACTIVITY_SHUTDOWN = 2,
	VMX_ACTIVITY_WAIT_SIPI = 3,
};

/* Pending debug exceptions (25.4.2): BS bit, needed with STI/MOV-SS blocking and TF. */
#define PENDING_DBG_BS (1ull << 14)

/* ---- VM-instruction error numbers (31.4) ---- */
enum vmx_instruction_error {
	VMXERR_VMCALL_IN_ROOT = 1,
	VMXERR_VMCLEAR_INVALID_ADDRESS = 2,
	VMXERR_VMCLEAR_VMXON_POINTER = 3,
	VMXERR_VMLAUNCH_NONCLEAR_VMCS = 4,
	VMXERR_VMRESUME_NONLAUNCHED_VMCS = 5,
	VMXERR_VMRESUME_AFTER_VMXOFF = 6,
	VMXERR_ENTRY_INVALID_CONTROL_FIELD = 7,
	VMXERR_ENTRY_INVALID_HOST_STATE = 8,
	VMXERR_VMPTRLD_INVALID_ADDRESS = 9,
	VMXERR_VMPTRLD_VMXON_POINTER = 10,
	VMXERR_VMPTRLD_WRONG_REVISION = 11,
	VMXERR_UNSUPPORTED_VMCS_COMPONENT = 12,
	VMXERR_VMWRITE_READ_ONLY_COMPONENT = 13,
	VMXERR_VMXON_IN_ROOT = 15,
	VMXERR_ENTRY_EVENTS_BLOCKED_BY_MOV_SS = 26,
	VMXERR_INVALID_INVEPT_INVVPID_OPERAND = 28,
};

/* ---- exit qualifications (SDM Vol. 3C 28.2.1) ---- */
/* Control-register access */
#define CRQUAL_CR(q)           ((uint32_t)(q)&0xFu)
#define CRQUAL_ACCESS(q)       (((uint32_t)(q) >> 4) & 3u)
#define CRQUAL_ACCESS_MOV_TO   0u
#define CRQUAL_ACCESS_MOV_FROM 1u
#define CRQUAL_ACCESS_CLTS     2u
#define CRQUAL_ACCESS_LMSW     3u
#define CRQUAL_LMSW_MEMORY     (1u << 6)
#define CRQUAL_GPR(q)          (((uint32_t)(q) >> 8) & 0xFu) /* 0 = RAX ... 15 = R15 */
#define CRQUAL_LMSW_DATA(q)    ((uint16_t)((q) >> 16))
/* I/O instruction */
#define IOQUAL_SIZE(q)   (((uint32_t)(q)&7u) + 1) /* 1, 2 or 4 bytes */
#define IOQUAL_IN        (1u << 3)
#define IOQUAL_STRING    (1u << 4)
#define IOQUAL_REP       (1u << 5)
#define IOQUAL_IMMEDIATE (1u << 6)
#define IOQUAL_PORT(q)   ((uint16_t)((q) >> 16))
/* EPT violation */
#define EPTQUAL_READ             (1ull << 0)
#define EPTQUAL_WRITE            (1ull << 1)
#define EPTQUAL_FETCH            (1ull << 2)
#define EPTQUAL_READABLE         (1ull << 3)
#define EPTQUAL_WRITABLE         (1ull << 4)
#define EPTQUAL_EXECUTABLE       (1ull << 5)
#define EPTQUAL_GLA_VALID        (1ull << 7)
#define EPTQUAL_GLA_TRANSLATION  (1ull << 8)
#define EPTQUAL_NMI_UNBLOCK_IRET (1ull << 12)

/* ---- EPT formats (29.3.2) ---- */
#define EPTP_MEMTYPE_UC     0ull
#define EPTP_MEMTYPE_WB     6ull
#define EPTP_WALK_LENGTH_4  (3ull << 3) /* page-walk length minus one */
#define EPTP_ACCESSED_DIRTY (1ull << 6)
#define EPT_READ            (1ull << 0)
#define EPT_WRITE           (1ull << 1)
#define EPT_EXECUTE         (1ull << 2)
#define EPT_RWX             (EPT_READ | EPT_WRITE | EPT_EXECUTE)
#define EPT_MEMTYPE_SHIFT   3
#define EPT_MEMTYPE_UC      (0ull << EPT_MEMTYPE_SHIFT)
#define EPT_MEMTYPE_WB      (6ull << EPT_MEMTYPE_SHIFT)
#define EPT_IGNORE_PAT      (1ull << 6)
#define EPT_LARGE_PAGE      (1ull << 7)
#define EPT_ACCESSED        (1ull << 8)
#define EPT_DIRTY           (1ull << 9)
#define EPT_ADDR_MASK       0x000FFFFFFFFFF000ull

#endif /* HW_VMX_DEFS_H */
