/*
 * Guest-state area (SDM 25.4) for the states a guest CPU starts in: the boot
 * CPU as the BIOS leaves it at the boot sector, and the INIT / SIPI states
 * of SDM Vol. 3A 10.1.1 (Table 10-1) and 9.4.4. All are real mode, which the
 * "unrestricted guest" control lets VMX run directly (SDM Vol. 3C 27.3.1).
 */
#include "hw/hw.h"
#include "libvmx/vmx_internal.h"
#include "rt/string.h"

/* Segment access rights (SDM 25.4.1, Table 25-2). */
#define AR_TYPE_DATA_RW_ACCESSED 0x3u
#define AR_TYPE_CODE_RX_ACCESSED 0xbu
#define AR_TYPE_LDT              0x2u
#define AR_TYPE_TSS_BUSY         0xbu
#define AR_S                     (1u << 4)
#define AR_P                     (1u << 7)
#define AR_UNUSABLE              (1u << 16)
#define AR_REAL_CODE             (AR_TYPE_CODE_RX_ACCESSED | AR_S | AR_P) /* 0x9b */
#define AR_REAL_DATA             (AR_TYPE_DATA_RW_ACCESSED | AR_S | AR_P) /* 0x93 */
#define AR_TR                    (AR_TYPE_TSS_BUSY | AR_P)                /* 0x8b */

#define DR7_INIT 0x400ull

struct seg {
	vmcs_field16_t sel;
	vmcs_fieldnat_t base;
	vmcs_field32_t limit, ar;
};

static void write_seg(struct seg s, uint16_t sel, uint64_t base, uint32_t limit, uint32_t ar)
{
	vmcs_write16(s.sel, sel);
	vmcs_writenat(s.base, base);
	vmcs_write32(s.limit, limit);
	vmcs_write32(s.ar, ar);
}

#define SEG(x)                                                                                     \
	((struct seg){VMCS_GUEST_##x##_SELECTOR, VMCS_GUEST_##x##_BASE, VMCS_GUEST_##x##_LIMIT,    \
	              VMCS_GUEST_##x##_ACCESS_RIGHTS})

static void set_cr(uint64_t cr0_view, uint64_t cr4_view)
{
	vmcs_writenat(VMCS_CR0_READ_SHADOW, cr0_view);
	vmcs_writenat(VMCS_GUEST_CR0, vmx_cr0_actual(cr0_view));
	vmcs_writenat(VMCS_CR4_READ_SHADOW, cr4_view);
	vmcs_writenat(VMCS_GUEST_CR4, vmx_cr4_actual(cr4_view));
	vmcs_writenat(VMCS_GUEST_CR3, 0);
}

/* Real mode, flat 64 KiB segments, CS as given; everything else at reset values. */
static void real_mode(struct vcpu *v, uint64_t cr0_view, uint16_t cs_sel, uint64_t cs_base,
                      uint64_t rip)
{
	set_cr(cr0_view, 0);
	write_seg(SEG(CS), cs_sel, cs_base, 0xffff, AR_REAL_CODE);
	write_seg(SEG(SS), 0, 0, 0xffff, AR_REAL_DATA);
	write_seg(SEG(DS), 0, 0, 0xffff, AR_REAL_DATA);
	write_seg(SEG(ES), 0, 0, 0xffff, AR_REAL_DATA);
	write_seg(SEG(FS), 0, 0, 0xffff, AR_REAL_DATA);
	write_seg(SEG(GS), 0, 0, 0xffff, AR_REAL_DATA);
	/* LDTR unusable; TR a busy TSS (the only types VM entry accepts, 26.3.1.2). */
	write_seg(SEG(LDTR), 0, 0, 0xffff, AR_UNUSABLE);
	write_seg(SEG(TR), 0, 0, 0xffff, AR_TR);
	vmcs_writenat(VMCS_GUEST_GDTR_BASE, 0);
	vmcs_write32(VMCS_GUEST_GDTR_LIMIT, 0xffff);
	vmcs_writenat(VMCS_GUEST_IDTR_BASE, 0);
	vmcs_write32(VMCS_GUEST_IDTR_LIMIT, 0xffff);

	vmcs_writenat(VMCS_GUEST_RIP, rip);
	vmcs_writenat(VMCS_GUEST_RSP, 0);
	vmcs_writenat(VMCS_GUEST_RFLAGS, RFLAGS_FIXED1);
	vmcs_writenat(VMCS_GUEST_DR7, DR7_INIT);
	vmcs_write64(VMCS_GUEST_IA32_DEBUGCTL, 0);
	vmcs_write64(VMCS_GUEST_IA32_EFER, 0);
	vmcs_write32(VMCS_GUEST_IA32_SYSENTER_CS, 0);
	vmcs_writenat(VMCS_GUEST_IA32_SYSENTER_ESP, 0);
	vmcs_writenat(VMCS_GUEST_IA32_SYSENTER_EIP, 0);
	vmcs_write32(VMCS_GUEST_INTERRUPTIBILITY, 0);
	vmcs_writenat(VMCS_GUEST_PENDING_DBG_EXCEPTIONS, 0);
	vmcs_write32(VMCS_GUEST_ACTIVITY_STATE, VMX_ACTIVITY_ACTIVE);
	/* Real mode is not IA-32e mode. */
	vmcs_write32(VMCS_ENTRY_CONTROLS,
	             vmcs_read32(VMCS_ENTRY_CONTROLS) & ~ENTRY_IA32E_MODE_GUEST);
	memset(v->gpr, 0, sizeof(v->gpr));
}

void vmcs_guest_boot_state(struct vcpu *v)
{
	/*
	 * As the BIOS leaves the boot sector: CS:IP = 0000:7C00, DL = boot drive
	 * 0x80, caches on (CR0 = ET only), interrupts off until the boot code
	 * has a stack (SS:SP = 0000:7C00, just below the sector).
	 */
	real_mode(v, CR0_ET, 0, 0, 0x7c00);
	vmcs_writenat(VMCS_GUEST_RSP, 0x7c00);
	v->gpr[GPR_RDX] = 0x80;
}

void vmcs_guest_init_state(struct vcpu *v, bool wait_for_sipi)
{
	struct hw_cpuid_regs id;

	/* SDM Vol. 3A 10.1.1, Table 10-1: CR0 = 60000010H (CD, NW, ET), CS = F000:FFF0 with
	 * base FFFF0000H, EDX = family/model/stepping. PAT is unchanged by INIT. */
	real_mode(v, CR0_CD | CR0_NW | CR0_ET, 0xf000, 0xffff0000ull, 0xfff0);
	hw_cpuid(1, 0, &id);
	v->gpr[GPR_RDX] = id.eax;
	/* An AP waits for SIPI (SDM Vol. 3A 9.4.4); a BSP runs from the reset vector. */
	if (wait_for_sipi)
		vmcs_write32(VMCS_GUEST_ACTIVITY_STATE, VMX_ACTIVITY_WAIT_SIPI);
}

void vmcs_guest_sipi_state(struct vcpu *v, uint8_t vector)
{
	/* SDM Vol. 3A 9.4.4 / Vol. 3C 28.2.1 (SIPI exit): execution starts at vector << 12 in real mode. */
	write_seg(SEG(CS), (uint16_t)(vector << 8), (uint64_t)vector << 12, 0xffff, AR_REAL_CODE);
	vmcs_writenat(VMCS_GUEST_RIP, 0);
	vmcs_write32(VMCS_GUEST_ACTIVITY_STATE, VMX_ACTIVITY_ACTIVE);
	/* A fresh start: nothing blocks events, whatever the SIPI exit saved. */
	vmcs_write32(VMCS_GUEST_INTERRUPTIBILITY, 0);
	vmcs_writenat(VMCS_GUEST_PENDING_DBG_EXCEPTIONS, 0);
	(void)v;
}
