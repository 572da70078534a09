/*
 * Build check, not run: every wrapper of hw/hw.h compiled in its image (inline
 * asm) form with the image flags, so a bad constraint fails `bazel build`.
 */
#include "hw/hw.h"

uint64_t hw_image_wrappers_use_all(uint64_t x);
uint64_t hw_image_wrappers_use_all(uint64_t x)
{
	struct hw_cpuid_regs r;
	struct hw_desc_ptr d = {0, 0};
	static uint8_t xsave_area[4096] __attribute__((aligned(64)));
	uint64_t acc = 0;

	hw_cpuid(1, 0, &r);
	acc += r.eax + r.ebx + r.ecx + r.edx;
	acc += hw_rdmsr(MSR_IA32_EFER);
	hw_wrmsr(MSR_IA32_GS_BASE, x);
	acc += hw_read_cr0() + hw_read_cr2() + hw_read_cr3() + hw_read_cr4();
	hw_write_cr0(x);
	hw_write_cr2(x);
	hw_write_cr3(x);
	hw_write_cr4(x);
	hw_invlpg(x);
	acc += hw_xgetbv(0);
	hw_xsetbv(0, x);
	acc += hw_read_rflags() + hw_rdtsc();
	acc += hw_inb(0x3f8) + hw_inw(0x3f8) + hw_inl(0xcfc);
	hw_outb(0x80, (uint8_t)x);
	hw_outw(0x8900, (uint16_t)x);
	hw_outl(0xcf8, (uint32_t)x);
	acc += hw_mmio_read32(x);
	hw_mmio_write32(x, (uint32_t)acc);
	hw_pause();
	hw_halt();
	hw_cli();
	hw_sti();
	hw_wbinvd();
	hw_lgdt(&d);
	hw_lidt(&d);
	hw_ltr(0x28);
	hw_sgdt(&d);
	hw_sidt(&d);
	acc += d.base + hw_str();
	acc +=
	    hw_read_cs() + hw_read_ss() + hw_read_ds() + hw_read_es() + hw_read_fs() + hw_read_gs();
	hw_xsave(xsave_area, x);
	hw_xrstor(xsave_area, x);
	acc += hw_read_gs_qword(8);
	acc += hw_ptr_phys(hw_phys_ptr(x));
	acc += hw_vmxon(x) + hw_vmclear(x) + hw_vmptrld(x) + hw_invept(1, x) + hw_invvpid(1, 1, x) +
	       hw_vmxoff();
	acc += vmcs_read16(VMCS_VPID) + vmcs_read32(VMCS_EXIT_REASON) +
	       vmcs_read64(VMCS_EPT_POINTER) + vmcs_readnat(VMCS_GUEST_RIP);
	vmcs_write16(VMCS_VPID, 1);
	vmcs_write32(VMCS_EXCEPTION_BITMAP, 2);
	vmcs_write64(VMCS_MSR_BITMAP, x);
	vmcs_writenat(VMCS_HOST_RSP, x);
	acc += hw_vmread_result(VMCS_VPID.enc, &x);
	return acc;
}
