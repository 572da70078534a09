/*
 * x87/SSE/AVX state of a PAL and its caller (README.md "Calling a PAL").
 *
 * The hypervisor keeps no extended state of its own (it is built without SSE;
 * only BearSSL uses XMM registers, and tv_utpm.c saves around it), so in VMX
 * root the registers still hold the guest's, and XCR0 is the guest's: libvmx
 * executes the guest's XSETBV itself (exit_xsetbv.c) and VM exits do not
 * switch it. PAL entry XSAVEs the caller's components into this CPU's area,
 * then XRSTORs an image whose XSTATE_BV is 0: every component requested is
 * put in its initial configuration (SDM Vol. 1 13.8.1), so the PAL starts
 * with zeroed x87/XMM/YMM/... registers, FCW 0x37f, and MXCSR 0x1f80 (MXCSR
 * is loaded from the image's legacy region even then, SDM 13.8.1, so the
 * image holds the default). Every PAL exit XRSTORs the caller's image: the
 * saved components come back, any other one the PAL could have touched is
 * initialised (its XSTATE_BV bit is 0), and XCR0 is the caller's again.
 *
 * XCR0: a guest that never enabled XSAVE runs with XCR0 = x87 only, yet SSE
 * registers are usable (CR4.OSFXSR) and must be switched too. XSAVE/XRSTOR act
 * only on components enabled in XCR0 (RFBM = XCR0 & EDX:EAX, SDM 13.7), so
 * XCR0 is widened with XSETBV for the instruction and put back after; a
 * ring-0 PAL may also have changed XCR0 (its XSETBV exits and libvmx runs it).
 *
 * PKRU: with the guest's CR4.PKE = 1, RDPKRU/WRPKRU work and PKRU governs
 * user-mode accesses whatever XCR0 says (SDM Vol. 3A 4.6.2), and VM exits do
 * not switch it. It is XSAVE-managed component 9 (SDM Vol. 1 13.5.7), loaded
 * by XRSTOR even with CR4.PKE = 0, so with CR4.PKE = 1 the mask includes it:
 * the PAL starts with PKRU = 0 (its init value: every key allows every
 * access), neither the OS's keys nor the PAL's value crossing over, even when
 * the guest's XCR0 lacks bit 9.
 *
 * Root mode needs CR4.OSXSAVE (libvmx sets it where CPUID has XSAVE) and
 * CR0.TS = 0 (else #NM, SDM Vol. 2 XSAVE); tv_fpu_prepare() checks both and
 * refuses the call (TV_ERR_UNSUPPORTED) rather than run a PAL unswitched.
 */
#include "apps/trustvisor/tv_internal.h"
#include "hw/hw.h"
#include "rt/palloc.h"
#include "rt/string.h"

/* The XSAVE area, standard form (SDM Vol. 1 13.4): a 512-byte legacy region,
 * then the 64-byte header whose first qword is XSTATE_BV. */
#define XSAVE_HEADER     512
#define XSAVE_MIN        (XSAVE_HEADER + 64)
#define XSAVE_MXCSR      24
#define MXCSR_DEFAULT    0x1f80u
#define XSTATE_ALWAYS    (XCR0_X87 | XCR0_SSE)
#define CPUID_XSAVE_LEAF 0xdu

/* One CPU's saved caller state, valid while a PAL runs there. */
struct fpu_cpu {
	uint8_t *area; /* pages from palloc, CPUID.(0xd,0).ECX bytes at least */
	/* As large: zero but MXCSR, so XRSTOR of it (XSTATE_BV = 0) initialises
	 * every requested component, whatever part of the area it reads. */
	uint8_t *init;
	uint64_t xcr0; /* the caller's XCR0 */
	uint64_t mask; /* the components saved: xcr0 | x87 | SSE (| PKRU if CR4.PKE) */
};
static struct fpu_cpu fpu[HV_MAX_CPUS];

/* XCR0 with `need` added for an XSAVE/XRSTOR; returns the value to put back. */
static uint64_t xcr0_widen(uint64_t need)
{
	uint64_t xcr0 = hw_xgetbv(0);
	if ((xcr0 & need) != need)
		hw_xsetbv(0, xcr0 | need);
	return xcr0;
}

static void xcr0_set_back(uint64_t old, uint64_t need)
{
	if ((old | need) != old)
		hw_xsetbv(0, old);
}

int64_t tv_fpu_prepare(uint32_t cpu)
{
	struct fpu_cpu *f = &fpu[cpu];
	struct hw_cpuid_regs r;

	hw_cpuid(1, 0, &r);
	if (!(r.ecx & CPUID1_ECX_XSAVE) || !(hw_read_cr4() & CR4_OSXSAVE) ||
	    (hw_read_cr0() & CR0_TS))
		return TV_ERR_UNSUPPORTED;
	if (vmx_guest_cr4(vmx_vcpu(cpu)) & CR4_PKE) {
		/* Switching PKRU needs it XSAVE-managed (CPUID.(0DH,0).EAX[9]). */
		hw_cpuid(CPUID_XSAVE_LEAF, 0, &r);
		if (!(r.eax & XCR0_PKRU))
			return TV_ERR_UNSUPPORTED;
	}
	if (!f->area) {
		/* ECX: the area size for every component XCR0 may enable (SDM Vol. 2
		 * CPUID leaf 0DH), so whatever the guest or the PAL sets fits. */
		hw_cpuid(CPUID_XSAVE_LEAF, 0, &r);
		size_t size = r.ecx > XSAVE_MIN ? r.ecx : XSAVE_MIN;
		size_t pages = (size + TV_PAGE - 1) / TV_PAGE;
		uint64_t pa = palloc_pages(2 * pages); /* zeroed */
		if (!pa)
			return TV_ERR_NO_MEMORY;
		uint32_t mxcsr = MXCSR_DEFAULT;
		f->init = hw_phys_ptr(pa + pages * TV_PAGE);
		memcpy(f->init + XSAVE_MXCSR, &mxcsr, sizeof(mxcsr));
		f->area = hw_phys_ptr(pa);
	}
	return TV_OK;
}

void tv_fpu_save(void *area, uint64_t mask)
{
	/* XSAVE writes only the XSTATE_BV bits in RFBM; the others, and the rest
	 * of the header (which XRSTOR wants zero), must be 0 already. */
	memset((uint8_t *)area + XSAVE_HEADER, 0, 64);
	uint64_t old = xcr0_widen(mask);
	hw_xsave(area, mask);
	xcr0_set_back(old, mask);
}

void tv_fpu_restore(const void *area, uint64_t mask)
{
	uint64_t old = xcr0_widen(mask);
	hw_xrstor(area, mask);
	xcr0_set_back(old, mask);
}

void tv_fpu_enter_pal(uint32_t cpu)
{
	struct fpu_cpu *f = &fpu[cpu];

	f->xcr0 = hw_xgetbv(0);
	f->mask = f->xcr0 | XSTATE_ALWAYS;
	if (vmx_guest_cr4(vmx_vcpu(cpu)) & CR4_PKE)
		f->mask |= XCR0_PKRU;
	memset(f->area + XSAVE_HEADER, 0, 64);
	if (f->mask != f->xcr0)
		hw_xsetbv(0, f->mask);
	hw_xsave(f->area, f->mask);
	hw_xrstor(f->init, f->mask);
	if (f->mask != f->xcr0)
		hw_xsetbv(0, f->xcr0);
}

void tv_fpu_exit_pal(uint32_t cpu)
{
	struct fpu_cpu *f = &fpu[cpu];
	/* The caller's components and any the PAL enabled since (XSETBV at CPL 0):
	 * the latter have XSTATE_BV = 0 in the image, so they are initialised. */
	uint64_t now = hw_xgetbv(0), mask = f->mask | now;

	if (now != mask)
		hw_xsetbv(0, mask);
	hw_xrstor(f->area, mask);
	if (mask != f->xcr0)
		hw_xsetbv(0, f->xcr0);
}
