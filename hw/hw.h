/*
 * Hardware-access layer: one wrapper per privileged instruction.
 *
 * This is the only header (with the entry stubs) that contains inline assembly.
 * In a host build (HV_HOST=1) every wrapper is an ordinary function implemented
 * by the fake in hw/fake/, so all code above this layer compiles and runs under
 * cmocka on the host.
 *
 * Memory model: the hypervisor identity-maps physical memory, so in the image a
 * physical address and a pointer are the same number. Code must still convert
 * with hw_phys_ptr()/hw_ptr_phys() so the fake can map "physical" addresses to
 * host buffers.
 */
#ifndef HW_HW_H
#define HW_HW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hw/vmcs_fields.h"
#include "hw/vmx_defs.h"

struct hw_cpuid_regs {
	uint32_t eax, ebx, ecx, edx;
};

struct __attribute__((packed)) hw_desc_ptr {
	uint16_t limit;
	uint64_t base;
};

/* Result of a VMX instruction (SDM Vol. 3C 31.2 "Conventions"). */
enum hw_vmx_result {
	HW_VMX_OK = 0,
	HW_VMX_FAIL_INVALID = 1, /* CF=1: no current VMCS */
	HW_VMX_FAIL_VALID = 2,   /* ZF=1: see VMCS_VM_INSTRUCTION_ERROR */
};

#ifdef HV_HOST
/* ---- host build: implemented by hw/fake/fake_hw.c ---- */
void hw_cpuid(uint32_t leaf, uint32_t subleaf, struct hw_cpuid_regs *out);
uint64_t hw_rdmsr(uint32_t msr);
void hw_wrmsr(uint32_t msr, uint64_t value);
uint64_t hw_read_cr0(void);
uint64_t hw_read_cr2(void);
uint64_t hw_read_cr3(void);
uint64_t hw_read_cr4(void);
void hw_write_cr0(uint64_t v);
void hw_write_cr3(uint64_t v);
void hw_write_cr4(uint64_t v);
void hw_write_cr2(uint64_t v); /* the guest's CR2 is not in the VMCS */
void hw_invlpg(uint64_t va);
uint64_t hw_xgetbv(uint32_t index);
void hw_xsetbv(uint32_t index, uint64_t value);
/*
 * Debug registers DR0-DR3, DR6 and DR7 (n = 0..3, 6, 7; any other n reads 0
 * and writes nothing). VM exits and entries do not switch DR0-DR3 and DR6
 * (SDM Vol. 3C 28.3.1, 27.3.2.1): in VMX root they hold the guest's values.
 * DR7 is the guest's in the VMCS ("save/load debug controls").
 */
uint64_t hw_read_dr(unsigned n);
void hw_write_dr(unsigned n, uint64_t v);
uint64_t hw_read_rflags(void);
uint64_t hw_rdtsc(void);
/* RDRAND/RDSEED (SDM Vol. 2B): true (CF=1) with a random value in *out; false
 * when the DRNG had none ready (the caller retries). */
bool hw_rdrand64(uint64_t *out);
bool hw_rdseed64(uint64_t *out);
uint8_t hw_inb(uint16_t port);
uint16_t hw_inw(uint16_t port);
uint32_t hw_inl(uint16_t port);
void hw_outb(uint16_t port, uint8_t v);
void hw_outw(uint16_t port, uint16_t v);
void hw_outl(uint16_t port, uint32_t v);
uint32_t hw_mmio_read32(uint64_t pa);
void hw_mmio_write32(uint64_t pa, uint32_t v);
/* One aligned 64-bit access (VT-d registers, Intel VT-d spec 10.2). */
uint64_t hw_mmio_read64(uint64_t pa);
void hw_mmio_write64(uint64_t pa, uint64_t v);
void hw_pause(void);
void hw_halt(void); /* hlt (interrupts as they are) */
void hw_cli(void);
void hw_sti(void);
void hw_wbinvd(void);
void hw_lgdt(const struct hw_desc_ptr *p);
void hw_lidt(const struct hw_desc_ptr *p);
void hw_ltr(uint16_t sel);
void hw_sgdt(struct hw_desc_ptr *p);
void hw_sidt(struct hw_desc_ptr *p);
uint16_t hw_str(void);
uint16_t hw_read_cs(void); /* segment selectors, for the VMCS host state */
uint16_t hw_read_ss(void);
uint16_t hw_read_ds(void);
uint16_t hw_read_es(void);
uint16_t hw_read_fs(void);
uint16_t hw_read_gs(void);
void hw_xsave(void *area, uint64_t mask); /* area: 64-byte aligned */
void hw_xrstor(const void *area, uint64_t mask);
uint64_t hw_read_gs_qword(uint32_t offset); /* mov %gs:offset */
void *hw_phys_ptr(uint64_t pa);
uint64_t hw_ptr_phys(const void *p);

enum hw_vmx_result hw_vmxon(uint64_t pa);
enum hw_vmx_result hw_vmxoff(void);
enum hw_vmx_result hw_vmclear(uint64_t pa);
enum hw_vmx_result hw_vmptrld(uint64_t pa);
enum hw_vmx_result hw_invept(uint64_t type, uint64_t eptp);
enum hw_vmx_result hw_invvpid(uint64_t type, uint16_t vpid, uint64_t gla);
/* Raw accessors: use the typed vmcs_readNN/vmcs_writeNN below. */
uint64_t hw_vmread(uint32_t encoding);
enum hw_vmx_result hw_vmread_result(uint32_t encoding, uint64_t *value);
enum hw_vmx_result hw_vmwrite(uint32_t encoding, uint64_t value);

#else
/* ---- image build: the real instructions ---- */
static inline void hw_cpuid(uint32_t leaf, uint32_t subleaf, struct hw_cpuid_regs *out)
{
	__asm__ volatile("cpuid"
	                 : "=a"(out->eax), "=b"(out->ebx), "=c"(out->ecx), "=d"(out->edx)
	                 : "a"(leaf), "c"(subleaf));
}
static inline uint64_t hw_rdmsr(uint32_t msr)
{
	uint32_t lo, hi;
	__asm__ volatile("rdmsr" : "=a"(lo), "=d"(hi) : "c"(msr));
	return ((uint64_t)hi << 32) | lo;
}
static inline void hw_wrmsr(uint32_t msr, uint64_t value)
{
	__asm__ volatile("wrmsr" ::"c"(msr), "a"((uint32_t)value), "d"((uint32_t)(value >> 32))
	                 : "memory");
}
#define HW_CR_READ(n)                                                                              \
	static inline uint64_t hw_read_cr##n(void)                                                 \
	{                                                                                          \
		uint64_t v;                                                                        \
		__asm__ volatile("mov %%cr" #n ", %0" : "=r"(v)::"memory");                        \
		return v;                                                                          \
	}
#define HW_CR_WRITE(n)                                                                             \
	static inline void hw_write_cr##n(uint64_t v)                                              \
	{                                                                                          \
		__asm__ volatile("mov %0, %%cr" #n ::"r"(v) : "memory");                           \
	}
HW_CR_READ(0)
HW_CR_READ(2)
HW_CR_READ(3)
HW_CR_READ(4)
HW_CR_WRITE(0)
HW_CR_WRITE(2)
HW_CR_WRITE(3)
HW_CR_WRITE(4)
#undef HW_CR_READ
#undef HW_CR_WRITE
static inline void hw_invlpg(uint64_t va)
{
	__asm__ volatile("invlpg (%0)" ::"r"(va) : "memory");
}
static inline uint64_t hw_xgetbv(uint32_t index)
{
	uint32_t lo, hi;
	__asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(index));
	return ((uint64_t)hi << 32) | lo;
}
static inline void hw_xsetbv(uint32_t index, uint64_t value)
{
	__asm__ volatile("xsetbv" ::"c"(index), "a"((uint32_t)value), "d"((uint32_t)(value >> 32)));
}
/* MOV to/from DRn takes the register number in the opcode: one case each. */
#define HW_DR_READ(n)                                                                              \
	case n:                                                                                    \
		__asm__ volatile("mov %%dr" #n ", %0" : "=r"(v));                                  \
		break;
#define HW_DR_WRITE(n)                                                                             \
	case n:                                                                                    \
		__asm__ volatile("mov %0, %%dr" #n ::"r"(v) : "memory");                           \
		break;
static inline uint64_t hw_read_dr(unsigned n)
{
	uint64_t v = 0;
	switch (n) {
		HW_DR_READ(0)
		HW_DR_READ(1)
		HW_DR_READ(2)
		HW_DR_READ(3)
		HW_DR_READ(6)
		HW_DR_READ(7)
	default:
		break;
	}
	return v;
}
static inline void hw_write_dr(unsigned n, uint64_t v)
{
	switch (n) {
		HW_DR_WRITE(0)
		HW_DR_WRITE(1)
		HW_DR_WRITE(2)
		HW_DR_WRITE(3)
		HW_DR_WRITE(6)
		HW_DR_WRITE(7)
	default:
		break;
	}
}
#undef HW_DR_READ
#undef HW_DR_WRITE
static inline uint64_t hw_read_rflags(void)
{
	uint64_t f;
	__asm__ volatile("pushfq; popq %0" : "=r"(f));
	return f;
}
static inline uint64_t hw_rdtsc(void)
{
	uint32_t lo, hi;
	__asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
	return ((uint64_t)hi << 32) | lo;
}
static inline bool hw_rdrand64(uint64_t *out)
{
	uint8_t ok;
	__asm__ volatile("rdrand %0; setc %1" : "=r"(*out), "=qm"(ok)::"cc");
	return ok;
}
static inline bool hw_rdseed64(uint64_t *out)
{
	uint8_t ok;
	__asm__ volatile("rdseed %0; setc %1" : "=r"(*out), "=qm"(ok)::"cc");
	return ok;
}
static inline uint8_t hw_inb(uint16_t port)
{
	uint8_t v;
	__asm__ volatile("inb %1, %0" : "=a"(v) : "Nd"(port));
	return v;
}
static inline uint16_t hw_inw(uint16_t port)
{
	uint16_t v;
	__asm__ volatile("inw %1, %0" : "=a"(v) : "Nd"(port));
	return v;
}
static inline uint32_t hw_inl(uint16_t port)
{
	uint32_t v;
	__asm__ volatile("inl %1, %0" : "=a"(v) : "Nd"(port));
	return v;
}
static inline void hw_outb(uint16_t port, uint8_t v)
{
	__asm__ volatile("outb %0, %1" ::"a"(v), "Nd"(port));
}
static inline void hw_outw(uint16_t port, uint16_t v)
{
	__asm__ volatile("outw %0, %1" ::"a"(v), "Nd"(port));
}
static inline void hw_outl(uint16_t port, uint32_t v)
{
	__asm__ volatile("outl %0, %1" ::"a"(v), "Nd"(port));
}
static inline uint32_t hw_mmio_read32(uint64_t pa)
{
	return *(volatile uint32_t *)(uintptr_t)pa;
}
static inline void hw_mmio_write32(uint64_t pa, uint32_t v)
{
	*(volatile uint32_t *)(uintptr_t)pa = v;
}
static inline uint64_t hw_mmio_read64(uint64_t pa)
{
	return *(volatile uint64_t *)(uintptr_t)pa;
}
static inline void hw_mmio_write64(uint64_t pa, uint64_t v)
{
	*(volatile uint64_t *)(uintptr_t)pa = v;
}
static inline void hw_pause(void)
{
	__asm__ volatile("pause" ::: "memory");
}
static inline void hw_halt(void)
{
	__asm__ volatile("hlt" ::: "memory");
}
static inline void hw_cli(void)
{
	__asm__ volatile("cli" ::: "memory");
}
static inline void hw_sti(void)
{
	__asm__ volatile("sti" ::: "memory");
}
static inline void hw_wbinvd(void)
{
	__asm__ volatile("wbinvd" ::: "memory");
}
static inline void hw_lgdt(const struct hw_desc_ptr *p)
{
	__asm__ volatile("lgdt %0" ::"m"(*p));
}
static inline void hw_lidt(const struct hw_desc_ptr *p)
{
	__asm__ volatile("lidt %0" ::"m"(*p));
}
static inline void hw_ltr(uint16_t sel)
{
	__asm__ volatile("ltr %0" ::"r"(sel));
}
static inline void hw_sgdt(struct hw_desc_ptr *p)
{
	__asm__ volatile("sgdt %0" : "=m"(*p));
}
static inline void hw_sidt(struct hw_desc_ptr *p)
{
	__asm__ volatile("sidt %0" : "=m"(*p));
}
static inline uint16_t hw_str(void)
{
	uint16_t sel;
	__asm__ volatile("str %0" : "=r"(sel));
	return sel;
}
#define HW_SEG_READ(s)                                                                             \
	static inline uint16_t hw_read_##s(void)                                                   \
	{                                                                                          \
		uint16_t sel;                                                                      \
		__asm__ volatile("mov %%" #s ", %0" : "=r"(sel));                                  \
		return sel;                                                                        \
	}
HW_SEG_READ(cs)
HW_SEG_READ(ss)
HW_SEG_READ(ds)
HW_SEG_READ(es)
HW_SEG_READ(fs)
HW_SEG_READ(gs)
#undef HW_SEG_READ
static inline void hw_xsave(void *area, uint64_t mask)
{
	__asm__ volatile("xsave64 (%0)" ::"r"(area), "a"((uint32_t)mask),
	                 "d"((uint32_t)(mask >> 32))
	                 : "memory");
}
static inline void hw_xrstor(const void *area, uint64_t mask)
{
	__asm__ volatile("xrstor64 (%0)" ::"r"(area), "a"((uint32_t)mask),
	                 "d"((uint32_t)(mask >> 32))
	                 : "memory");
}
static inline uint64_t hw_read_gs_qword(uint32_t offset)
{
	uint64_t v;
	__asm__ volatile("movq %%gs:(%1), %0" : "=r"(v) : "r"((uint64_t)offset));
	return v;
}
static inline void *hw_phys_ptr(uint64_t pa)
{
	return (void *)(uintptr_t)pa;
}
static inline uint64_t hw_ptr_phys(const void *p)
{
	return (uint64_t)(uintptr_t)p;
}

/* VMX instructions report failure in CF (VMfailInvalid) or ZF (VMfailValid). */
#define HW_VMX_RESULT(cf, zf) ((cf) ? HW_VMX_FAIL_INVALID : (zf) ? HW_VMX_FAIL_VALID : HW_VMX_OK)
static inline enum hw_vmx_result hw_vmxon(uint64_t pa)
{
	uint8_t cf, zf;
	__asm__ volatile("vmxon %2; setc %0; setz %1"
	                 : "=r"(cf), "=r"(zf)
	                 : "m"(pa)
	                 : "cc", "memory");
	return HW_VMX_RESULT(cf, zf);
}
static inline enum hw_vmx_result hw_vmxoff(void)
{
	uint8_t cf, zf;
	__asm__ volatile("vmxoff; setc %0; setz %1" : "=r"(cf), "=r"(zf)::"cc", "memory");
	return HW_VMX_RESULT(cf, zf);
}
static inline enum hw_vmx_result hw_vmclear(uint64_t pa)
{
	uint8_t cf, zf;
	__asm__ volatile("vmclear %2; setc %0; setz %1"
	                 : "=r"(cf), "=r"(zf)
	                 : "m"(pa)
	                 : "cc", "memory");
	return HW_VMX_RESULT(cf, zf);
}
static inline enum hw_vmx_result hw_vmptrld(uint64_t pa)
{
	uint8_t cf, zf;
	__asm__ volatile("vmptrld %2; setc %0; setz %1"
	                 : "=r"(cf), "=r"(zf)
	                 : "m"(pa)
	                 : "cc", "memory");
	return HW_VMX_RESULT(cf, zf);
}
static inline enum hw_vmx_result hw_invept(uint64_t type, uint64_t eptp)
{
	struct {
		uint64_t eptp, zero;
	} desc = {eptp, 0};
	uint8_t cf, zf;
	__asm__ volatile("invept %2, %3; setc %0; setz %1"
	                 : "=r"(cf), "=r"(zf)
	                 : "m"(desc), "r"(type)
	                 : "cc", "memory");
	return HW_VMX_RESULT(cf, zf);
}
static inline enum hw_vmx_result hw_invvpid(uint64_t type, uint16_t vpid, uint64_t gla)
{
	struct {
		uint64_t vpid, gla;
	} desc = {vpid, gla};
	uint8_t cf, zf;
	__asm__ volatile("invvpid %2, %3; setc %0; setz %1"
	                 : "=r"(cf), "=r"(zf)
	                 : "m"(desc), "r"(type)
	                 : "cc", "memory");
	return HW_VMX_RESULT(cf, zf);
}
static inline uint64_t hw_vmread(uint32_t encoding)
{
	uint64_t v;
	__asm__ volatile("vmread %1, %0" : "=rm"(v) : "r"((uint64_t)encoding) : "cc");
	return v;
}
static inline enum hw_vmx_result hw_vmread_result(uint32_t encoding, uint64_t *value)
{
	uint64_t v;
	uint8_t cf, zf;
	__asm__ volatile("vmread %3, %2; setc %0; setz %1"
	                 : "=r"(cf), "=r"(zf), "=rm"(v)
	                 : "r"((uint64_t)encoding)
	                 : "cc");
	*value = v;
	return HW_VMX_RESULT(cf, zf);
}
static inline enum hw_vmx_result hw_vmwrite(uint32_t encoding, uint64_t value)
{
	uint8_t cf, zf;
	__asm__ volatile("vmwrite %2, %3; setc %0; setz %1"
	                 : "=r"(cf), "=r"(zf)
	                 : "rm"(value), "r"((uint64_t)encoding)
	                 : "cc");
	return HW_VMX_RESULT(cf, zf);
}
#undef HW_VMX_RESULT
#endif /* HV_HOST */

/*
 * A VMX instruction that failed (VMfailInvalid or VMfailValid, SDM Vol. 3C
 * 31.2) is a broken invariant of the hypervisor, never something to carry on
 * from: hw_vmx_failed() hands it to the one handler libvmx registers before its
 * first VMX instruction (it panics naming the instruction, the field and the
 * VM-instruction error). The typed accessors below call it themselves, so no
 * VMREAD or VMWRITE result can be ignored. Without a handler: halt (image) or
 * abort (host).
 */
typedef void (*hw_vmx_failure_fn)(const char *insn, uint32_t encoding, uint64_t value,
                                  enum hw_vmx_result result);
void hw_vmx_set_failure_handler(hw_vmx_failure_fn fn);
_Noreturn void hw_vmx_failed(const char *insn, uint32_t encoding, uint64_t value,
                             enum hw_vmx_result result);

#ifdef HV_HOST
static inline uint64_t hw_vmread_checked(uint32_t encoding)
{
	uint64_t v = 0;
	enum hw_vmx_result r = hw_vmread_result(encoding, &v);
	if (r != HW_VMX_OK)
		hw_vmx_failed("VMREAD", encoding, 0, r);
	return v;
}
static inline void hw_vmwrite_checked(uint32_t encoding, uint64_t value)
{
	enum hw_vmx_result r = hw_vmwrite(encoding, value);
	if (r != HW_VMX_OK)
		hw_vmx_failed("VMWRITE", encoding, value, r);
}
#else
/*
 * The image's checked accessors cost one instruction more than the bare ones:
 * VMfailInvalid sets CF, VMfailValid ZF, so a single JBE (CF or ZF) leaves the
 * hot path (SDM Vol. 3C 31.2). The cold path runs the instruction again for
 * the exact result: a failure that depends only on the field and the current
 * VMCS repeats.
 */
static inline uint64_t hw_vmread_checked(uint32_t encoding)
{
	uint64_t v;
	__asm__ goto("vmread %1, %0; jbe %l[failed]"
	             : "=r"(v)
	             : "r"((uint64_t)encoding)
	             : "cc"
	             : failed);
	return v;
failed:
	hw_vmx_failed("VMREAD", encoding, 0, hw_vmread_result(encoding, &v));
}
static inline void hw_vmwrite_checked(uint32_t encoding, uint64_t value)
{
	__asm__ goto("vmwrite %0, %1; jbe %l[failed]"
	             :
	             : "r"(value), "r"((uint64_t)encoding)
	             : "cc"
	             : failed);
	return;
failed:
	hw_vmx_failed("VMWRITE", encoding, value, hw_vmwrite(encoding, value));
}
#endif

/*
 * Typed VMCS accessors. Each field constant carries its width in its C type
 * (hw/vmcs_fields.h), so vmcs_write16(VMCS_GUEST_RIP, x) does not compile.
 */
static inline uint16_t vmcs_read16(vmcs_field16_t f)
{
	return (uint16_t)hw_vmread_checked(f.enc);
}
static inline uint32_t vmcs_read32(vmcs_field32_t f)
{
	return (uint32_t)hw_vmread_checked(f.enc);
}
static inline uint64_t vmcs_read64(vmcs_field64_t f)
{
	return hw_vmread_checked(f.enc);
}
static inline uint64_t vmcs_readnat(vmcs_fieldnat_t f)
{
	return hw_vmread_checked(f.enc);
}
static inline void vmcs_write16(vmcs_field16_t f, uint16_t v)
{
	hw_vmwrite_checked(f.enc, v);
}
static inline void vmcs_write32(vmcs_field32_t f, uint32_t v)
{
	hw_vmwrite_checked(f.enc, v);
}
static inline void vmcs_write64(vmcs_field64_t f, uint64_t v)
{
	hw_vmwrite_checked(f.enc, v);
}
static inline void vmcs_writenat(vmcs_fieldnat_t f, uint64_t v)
{
	hw_vmwrite_checked(f.enc, v);
}

#endif /* HW_HW_H */
