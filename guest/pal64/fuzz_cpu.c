/*
 * Fuzz actions on the CPU's own state (fuzz64.h): MSRs, control and debug
 * registers, INVLPG/INVPCID, CPUID, XSETBV, VMX instructions, GETSEC,
 * memory reads. Every write that could change how the rest of the run works is
 * undone at once (the old value written back); what the hardware may refuse
 * is probed (#GP/#UD caught). A step fails when the guest sees what hardware
 * would never give: a wrong vector, a VMX instruction that does not fault, VMX
 * visible in CPUID or its MSRs, a register that does not read back after the
 * restore, hypervisor memory that reads as data.
 */
#include "guest/cpu.h"
#include "guest/layout.h"
#include "guest/pal64/cpu64.h"
#include "guest/pal64/fuzz64.h"
#include "guest/pal64/probe64.h"

#define VEC_UD 6
#define VEC_GP 13

#define MSR_TSC        0x10u
#define MSR_APIC_BASE  0x1bu
#define MSR_TSC_ADJUST 0x3bu
#define MSR_VMX_FIRST  0x480u /* IA32_VMX_BASIC .. IA32_VMX_PROCBASED_CTLS3 */
#define MSR_VMX_LAST   0x492u
#define MSR_EFER       0xc0000080u
#define EFER_SCE       1ull

static bool vec_ok(uint32_t vec, uint32_t a, uint32_t b)
{
	return vec == PROBE_NONE || vec == a || vec == b;
}

/* MSR numbers: dense over the architectural ranges, plus the edges of the bitmaps. */
static uint32_t draw_msr(void)
{
	static const uint64_t edges[] = {0x0,        0x1fff,     0x2000,     0x40000000, 0x400000ff,
	                                 0xbfffffff, 0xc0000000, 0xc0001fff, 0xc0002000, 0xffffffff,
	                                 0x3a,       0x1b,       0x480,      0x491,      0x9b,
	                                 0x1d9,      0x277,      0x2ff,      0x79,       0x600,
	                                 0x560,      0x570,      0xc0000100, 0xc0000102};
	switch (fuzz_below(6)) {
	case 0:
		return (uint32_t)fuzz_pick(edges, sizeof(edges) / sizeof(edges[0]));
	case 1:
		return 0xc0000000u + fuzz_below(0x120);
	case 2:
		return (uint32_t)fuzz_rand();
	case 3:
		return 0x40000000u + fuzz_below(0x100);
	default:
		return fuzz_below(0x2000);
	}
}

void fuzz_act_rdmsr(void)
{
	uint32_t msr = draw_msr();
	uint64_t v;
	fuzz_note("msr=%x", msr);
	uint32_t vec = probe64_rdmsr(msr, &v);
	if (!vec_ok(vec, VEC_GP, VEC_GP))
		fuzz_fail("RDMSR raised vector %u", vec);
	/* VMX is hidden (CPUID.1:ECX.VMX = 0): its capability MSRs #GP as on a CPU without it. */
	if (fz.hv && msr >= MSR_VMX_FIRST && msr <= MSR_VMX_LAST && vec == PROBE_NONE)
		fuzz_fail("VMX capability MSR readable: %llx", (unsigned long long)v);
}

/*
 * Excluded from writes: TSC and TSC_ADJUST (the guest's deadlines would jump),
 * and IA32_APIC_BASE / EFER get only values that keep them as they are (the
 * same value, or one with a reserved bit, which must #GP): moving or
 * disabling the APIC or leaving long mode ends the run, not the hypervisor
 * (issue 11 point 1 covers APIC_BASE on its own).
 */
void fuzz_act_wrmsr(void)
{
	uint32_t msr = draw_msr();
	uint64_t old, v = fuzz_value64();

	if (msr == MSR_TSC || msr == MSR_TSC_ADJUST)
		msr = 0x8b; /* IA32_BIOS_SIGN_ID instead */
	uint32_t rvec = probe64_rdmsr(msr, &old);
	if (!vec_ok(rvec, VEC_GP, VEC_GP)) {
		fuzz_note("msr=%x (read)", msr);
		fuzz_fail("RDMSR raised vector %u", rvec);
		return;
	}
	if (msr == MSR_APIC_BASE)
		v = fuzz_chance(2) ? old : old | (1ull << (40 + fuzz_below(24))); /* reserved */
	if (msr == MSR_EFER)
		v = fuzz_chance(2) ? old ^ EFER_SCE : old | (1ull << (16 + fuzz_below(48)));
	fuzz_note("msr=%x value=%llx old=%llx%s", msr, (unsigned long long)v,
	          (unsigned long long)old, rvec == PROBE_NONE ? "" : " (read #GP)");
	uint32_t vec = probe64_wrmsr(msr, v);
	if (!vec_ok(vec, VEC_GP, VEC_GP))
		fuzz_fail("WRMSR raised vector %u", vec);
	if (vec == PROBE_NONE && rvec == PROBE_NONE)
		probe64_wrmsr(msr, old); /* may #GP for write-once MSRs: fine */
	if (msr >= MSR_VMX_FIRST && msr <= MSR_VMX_LAST && fz.hv && vec == PROBE_NONE)
		fuzz_fail("WRMSR to a VMX capability MSR did not fault");
}

/*
 * CR0/CR4: one bit flipped (reserved ones included: #GP), then the old value
 * back; CR0.PG/PE and CR4.PAE cannot be cleared in long mode (#GP). CR3: the
 * same tables with PWT/PCD flipped, or a reserved/no-flush bit. CR8: a TPR.
 * After the restore the register must read as before.
 */
void fuzz_act_cr(void)
{
	uint64_t old, v, back;
	uint32_t which = fuzz_below(5), vec = PROBE_NONE, bit = fuzz_below(64);

	switch (which) {
	case 0:
		probe64_read_cr0(&old);
		v = old ^ (1ull << bit);
		fuzz_note("cr0 %llx -> %llx", (unsigned long long)old, (unsigned long long)v);
		vec = probe64_write_cr0(v);
		probe64_write_cr0(old);
		probe64_read_cr0(&back);
		break;
	case 1:
		probe64_read_cr4(&old);
		/* CR4.SMXE is GETSEC's (fuzz_act_getsec); LA57 cannot change in long mode. */
		if (bit == 14 && !fuzz_known(FUZZ_KNOWN_GETSEC))
			bit = 13;
		v = old ^ (1ull << bit);
		fuzz_note("cr4 %llx -> %llx", (unsigned long long)old, (unsigned long long)v);
		vec = probe64_write_cr4(v);
		probe64_write_cr4(old);
		probe64_read_cr4(&back);
		break;
	case 2:
		probe64_read_cr3(&old);
		v = old ^ (fuzz_chance(2) ? (fuzz_chance(2) ? 0x8 : 0x10)
		                          : (1ull << (52 + fuzz_below(12))));
		fuzz_note("cr3 %llx -> %llx", (unsigned long long)old, (unsigned long long)v);
		vec = probe64_write_cr3(v);
		probe64_write_cr3(old);
		probe64_read_cr3(&back);
		break;
	case 3:
		probe64_read_cr8(&old);
		v = fuzz_chance(4) ? fuzz_value64() : fuzz_below(16);
		fuzz_note("cr8 %llx -> %llx", (unsigned long long)old, (unsigned long long)v);
		vec = probe64_write_cr8(v);
		probe64_write_cr8(old);
		probe64_read_cr8(&back);
		break;
	default:
		old = back = 0;
		v = fuzz_value64();
		fuzz_note("cr2 -> %llx", (unsigned long long)v);
		vec = probe64_write_cr2(v);
		break;
	}
	if (!vec_ok(vec, VEC_GP, VEC_GP))
		fuzz_fail("MOV to CR raised vector %u", vec);
	if (back != old)
		fuzz_fail("after restoring, the register reads %llx", (unsigned long long)back);
}

/*
 * DR0-DR3 any value (no breakpoint is enabled); DR4/DR5 alias DR6/DR7 or #UD
 * (CR4.DE); DR6 any value; DR7 with the enable bits and GD (13) clear, so no
 * breakpoint ever fires; bits 63:32 set must #GP. DR7 goes back to 0x400.
 */
void fuzz_act_dr(void)
{
	uint32_t which = fuzz_below(8), vec;
	uint64_t v = fuzz_value64();

	if (which == 5 || which == 7) {
		v &= ~0x20ffull;      /* L0-3, G0-3, GD */
		v &= ~(0xffull << 8); /* LE, GE and the rest of the low control byte */
		if (fuzz_chance(2))
			v &= 0xffffffffull;
	}
	fuzz_note("dr%u -> %llx", which, (unsigned long long)v);
	switch (which) {
	case 0:
		vec = probe64_write_dr0(v);
		break;
	case 1:
		vec = probe64_write_dr1(v);
		break;
	case 2:
		vec = probe64_write_dr2(v);
		break;
	case 3:
		vec = probe64_write_dr3(v);
		break;
	case 4:
		vec = probe64_write_dr4(v);
		break;
	case 5:
		vec = probe64_write_dr5(v);
		break;
	case 6:
		vec = probe64_write_dr6(v);
		break;
	default:
		vec = probe64_write_dr7(v);
		break;
	}
	probe64_write_dr7(0x400);
	if (!vec_ok(vec, VEC_GP, VEC_UD))
		fuzz_fail("MOV to DR raised vector %u", vec);
}

PROBE64_MEMOP(invpcid, "invpcid %[m], %%rcx")

void fuzz_act_invlpg(void)
{
	uint64_t addr = fuzz_value64();
	uint32_t vec;

	if (fuzz_chance(2)) {
		fuzz_note("invlpg %llx", (unsigned long long)addr);
		probe64_arm();
		__asm__ __volatile__(PROBE64_ASM("invlpg (%[a])")
		                     : PROBE64_OUT
		                     : [a] "r"(addr)
		                     : "memory");
		vec = probe64_disarm();
		if (!vec_ok(vec, VEC_GP, VEC_GP))
			fuzz_fail("INVLPG raised vector %u", vec);
		return;
	}
	struct probe64_m128 d = {{fuzz_chance(2) ? 0 : fuzz_below(4096), addr}};
	uint64_t type = fuzz_chance(4) ? fuzz_value64() : fuzz_below(4);
	fuzz_note("invpcid type=%llx pcid=%llx addr=%llx", (unsigned long long)type,
	          (unsigned long long)d.q[0], (unsigned long long)addr);
	vec = probe64_invpcid(0, type, &d);
	if (!vec_ok(vec, VEC_GP, VEC_UD))
		fuzz_fail("INVPCID raised vector %u", vec);
}

void fuzz_act_cpuid(void)
{
	static const uint64_t leaves[] = {0,          1,          4,         7,          0xb,
	                                  0xd,        0x14,       0x1f,      0x40000000, 0x40000001,
	                                  0x80000000, 0x80000001, 0x80000008};
	uint32_t leaf = fuzz_chance(2) ? (uint32_t)fuzz_pick(leaves, 13) : (uint32_t)fuzz_rand();
	uint32_t sub = fuzz_chance(2) ? fuzz_below(4) : (uint32_t)fuzz_rand();
	fuzz_note("leaf=%x subleaf=%x", leaf, sub);
	struct cpuid_regs r = cpuid(leaf, sub);
	if (fz.hv && leaf == 1 && (r.ecx & (1u << 5)))
		fuzz_fail("CPUID.1:ECX.VMX = 1 under the hypervisor");
}

/* XSETBV: XCR0 with random bits (most #GP), then the old value back. #UD without OSXSAVE. */
void fuzz_act_xsetbv(void)
{
	uint32_t xcr = fuzz_chance(4) ? (uint32_t)fuzz_value64() : 0;
	uint64_t old = 3, v = fuzz_chance(2) ? fuzz_value64() : 1ull << fuzz_below(20);
	uint32_t lo = 0, hi = 0, vec;

	probe64_arm();
	__asm__ __volatile__(PROBE64_ASM("xgetbv")
	                     : "+a"(lo), "+d"(hi), PROBE64_OUT
	                     : "c"(0)
	                     : "memory");
	if (probe64_disarm() == PROBE_NONE)
		old = ((uint64_t)hi << 32) | lo;
	fuzz_note("xcr%x -> %llx (xcr0 was %llx)", xcr, (unsigned long long)v,
	          (unsigned long long)old);
	probe64_arm();
	__asm__ __volatile__(PROBE64_ASM("xsetbv")
	                     : PROBE64_OUT
	                     : "c"(xcr), "a"((uint32_t)v), "d"((uint32_t)(v >> 32))
	                     : "memory");
	vec = probe64_disarm();
	if (vec == PROBE_NONE) {
		probe64_arm();
		__asm__ __volatile__(PROBE64_ASM("xsetbv")
		                     : PROBE64_OUT
		                     : "c"(0), "a"((uint32_t)old), "d"((uint32_t)(old >> 32))
		                     : "memory");
		probe64_disarm();
	}
	if (!vec_ok(vec, VEC_GP, VEC_UD))
		fuzz_fail("XSETBV raised vector %u", vec);
}

PROBE64_MEMOP(vmxon, "vmxon %[m]")
PROBE64_MEMOP(vmxoff, "vmxoff")
PROBE64_MEMOP(vmptrld, "vmptrld %[m]")
PROBE64_MEMOP(vmptrst, "vmptrst %[m]")
PROBE64_MEMOP(vmclear, "vmclear %[m]")
PROBE64_MEMOP(vmread, "vmread %%rcx, %[m]")
PROBE64_MEMOP(vmwrite, "vmwrite %[m], %%rcx")
PROBE64_MEMOP(vmlaunch, "vmlaunch")
PROBE64_MEMOP(vmresume, "vmresume")
PROBE64_MEMOP(invept, "invept %[m], %%rcx")
PROBE64_MEMOP(invvpid, "invvpid %[m], %%rcx")
PROBE64_MEMOP(vmfunc, "vmfunc")
PROBE64_MEMOP(getsec, "getsec")

/* VMX is hidden (CR4.VMXE = 0 and CPUID.1:ECX.VMX = 0): every VMX instruction is #UD. */
void fuzz_act_vmx(void)
{
	static const char *const names[] = {"vmxon",    "vmxoff", "vmptrld", "vmptrst",
	                                    "vmclear",  "vmread", "vmwrite", "vmlaunch",
	                                    "vmresume", "invept", "invvpid", "vmfunc"};
	uint32_t which = fuzz_below(12), vec;
	struct probe64_m128 m = {{fuzz_value64(), fuzz_value64()}};
	uint64_t rax = fuzz_chance(2) ? 0 : fuzz_value64(), rcx = fuzz_value64();

	fuzz_note("%s rax=%llx rcx=%llx m=%llx", names[which], (unsigned long long)rax,
	          (unsigned long long)rcx, (unsigned long long)m.q[0]);
	switch (which) {
	case 0:
		vec = probe64_vmxon(rax, rcx, &m);
		break;
	case 1:
		vec = probe64_vmxoff(rax, rcx, &m);
		break;
	case 2:
		vec = probe64_vmptrld(rax, rcx, &m);
		break;
	case 3:
		vec = probe64_vmptrst(rax, rcx, &m);
		break;
	case 4:
		vec = probe64_vmclear(rax, rcx, &m);
		break;
	case 5:
		vec = probe64_vmread(rax, rcx, &m);
		break;
	case 6:
		vec = probe64_vmwrite(rax, rcx, &m);
		break;
	case 7:
		vec = probe64_vmlaunch(rax, rcx, &m);
		break;
	case 8:
		vec = probe64_vmresume(rax, rcx, &m);
		break;
	case 9:
		vec = probe64_invept(rax, rcx, &m);
		break;
	case 10:
		vec = probe64_invvpid(rax, rcx, &m);
		break;
	default:
		vec = probe64_vmfunc(rax, rcx, &m);
		break;
	}
	if (vec != VEC_UD)
		fuzz_fail("%s gave vector %u, expected #UD", names[which], vec);
}

/*
 * GETSEC: #UD with CR4.SMXE = 0. With SMXE set (if the write is allowed)
 * hardware without SMX in CPUID would have refused the CR4 write. The set-SMXE
 * variant is one of the known panics (issue 11 point 4): skipped with avoid_known.
 */
void fuzz_act_getsec(void)
{
	uint64_t cr4;
	struct probe64_m128 m = {{0, 0}};
	uint64_t leaf = fuzz_chance(2) ? 0 : fuzz_below(8);
	bool smxe = fuzz_known(FUZZ_KNOWN_GETSEC) && fuzz_chance(2);

	probe64_read_cr4(&cr4);
	fuzz_note("getsec leaf=%llx smxe=%u", (unsigned long long)leaf, smxe);
	uint32_t cvec = smxe ? probe64_write_cr4(cr4 | (1ull << 14)) : PROBE_NONE;
	uint32_t vec = probe64_getsec(leaf, 0, &m);
	if (smxe)
		probe64_write_cr4(cr4);
	if (!smxe && vec != VEC_UD)
		fuzz_fail("GETSEC with CR4.SMXE = 0 gave vector %u, expected #UD", vec);
	if (smxe && cvec != PROBE_NONE && vec != VEC_UD)
		fuzz_fail("GETSEC after a refused CR4.SMXE gave vector %u", vec);
}

/*
 * Reads of physical addresses outside guest RAM (identity mapped up to 4 GiB):
 * the hypervisor region must fault (#GP) or read 0 / all ones; MMIO and ROM
 * read whatever the device gives. Above RAM (256 MiB in the boot tests) up to
 * 4 GiB libvmx's EPT maps (reads give what the bus gives); above 4 GiB (the
 * stage maps [4 GiB, 5 GiB) for this, fuzz_map_above_4g) nothing does: an EPT
 * violation there is a known panic (issue 11 point 4), skipped with avoid_known.
 */
#define PTE_P_RW_PS 0x83ull

void fuzz_map_above_4g(void)
{
	/* CPUID.80000001H:EDX[26]: 1-GiB pages (SDM Vol. 3A 4.1.4). */
	if (!(cpuid(0x80000001u, 0).edx & (1u << 26)))
		return;
	uint64_t cr3;
	probe64_read_cr3(&cr3);
	uint64_t *pml4 = (uint64_t *)(uintptr_t)(cr3 & 0x000ffffffffff000ull);
	uint64_t *pdpt = (uint64_t *)(uintptr_t)(pml4[0] & 0x000ffffffffff000ull);
	if (!pdpt[4])
		pdpt[4] = FUZZ_ABOVE_4G | PTE_P_RW_PS;
	fz.above_4g = true;
}

void fuzz_act_mem(void)
{
	static const uint64_t known_safe[] = {0xfee00030, 0xfec00000, 0xfffffff0, 0xf0000};
	uint64_t addr;
	uint32_t kind = fuzz_below(4);

	if (kind == 0)
		addr = HV_REGION_BASE + (fuzz_below(HV_REGION_SIZE) & ~7u);
	else if (kind == 1 && fuzz_known(FUZZ_KNOWN_ABOVE_4G))
		addr = (fuzz_chance(2) || !fz.above_4g ? 0x10000000ull : FUZZ_ABOVE_4G) +
		       ((uint64_t)fuzz_below(0x20000000) & ~7ull);
	else
		addr = fuzz_pick(known_safe, 4);
	uint64_t v;
	uint32_t v32 = 0, vec;
	fuzz_note("read %llx", (unsigned long long)addr);
	if (kind >= 2 || (kind == 1 && !fuzz_known(FUZZ_KNOWN_ABOVE_4G))) {
		vec = probe64_read32(addr, &v32); /* MMIO: 32-bit accesses only */
		v = v32;
	} else {
		vec = probe64_read64(addr, &v);
	}
	if (kind == 0 && fz.hv && vec == PROBE_NONE && v != 0 && v != ~0ull)
		fuzz_fail("hypervisor memory readable: %llx", (unsigned long long)v);
	else if (!vec_ok(vec, VEC_GP, VEC_GP))
		fuzz_fail("read raised vector %u", vec);
}
