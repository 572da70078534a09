/*
 * Fake hardware, registers and simple instructions of the current CPU: control
 * registers, debug registers, XCR0, RFLAGS.IF, TSC, descriptor tables, segment selectors,
 * GS-relative reads, RDRAND/RDSEED, and counters for
 * pause/hlt/cli/sti/wbinvd/invlpg/xsave.
 */
#include <string.h>

#include "hw/fake/fake_internal.h"

static uint64_t tsc_value, tsc_step;
static fake_hook_fn pause_hook, halt_hook;
static void *pause_arg, *halt_arg;
static uint64_t rng_state;
static uint32_t rdrand_failures, rdseed_failures;

#define FAKE_RNG_RESET_STATE 0x243f6a8885a308d3ull /* any fixed value */

void fake_regs_reset(void)
{
	tsc_value = 0;
	tsc_step = 1000;
	pause_hook = halt_hook = NULL;
	pause_arg = halt_arg = NULL;
	rng_state = FAKE_RNG_RESET_STATE;
	rdrand_failures = rdseed_failures = 0;
}

void fake_set_pause_hook(fake_hook_fn fn, void *arg)
{
	fake_lock();
	pause_hook = fn;
	pause_arg = arg;
	fake_unlock();
}

void fake_set_halt_hook(fake_hook_fn fn, void *arg)
{
	fake_lock();
	halt_hook = fn;
	halt_arg = arg;
	fake_unlock();
}

/* ---- registers ---- */

#define REG_GET(type, name, field)                                                                 \
	type name(void)                                                                            \
	{                                                                                          \
		fake_lock();                                                                       \
		type v = fake_cur()->field;                                                        \
		fake_unlock();                                                                     \
		return v;                                                                          \
	}
#define REG_SET(name, field)                                                                       \
	void name(uint64_t v)                                                                      \
	{                                                                                          \
		fake_lock();                                                                       \
		fake_cur()->field = v;                                                             \
		fake_unlock();                                                                     \
	}
REG_GET(uint64_t, hw_read_cr0, cr0)
REG_GET(uint64_t, hw_read_cr2, cr2)
REG_GET(uint64_t, hw_read_cr3, cr3)
REG_GET(uint64_t, hw_read_cr4, cr4)
REG_SET(hw_write_cr0, cr0)
REG_SET(hw_write_cr2, cr2)
REG_SET(hw_write_cr3, cr3)
REG_SET(hw_write_cr4, cr4)
REG_GET(uint64_t, hw_read_rflags, rflags)
REG_GET(uint16_t, hw_str, tr)
REG_GET(uint16_t, hw_read_cs, cs)
REG_GET(uint16_t, hw_read_ss, ss)
REG_GET(uint16_t, hw_read_ds, ds)
REG_GET(uint16_t, hw_read_es, es)
REG_GET(uint16_t, hw_read_fs, fs)
REG_GET(uint16_t, hw_read_gs, gs)
#undef REG_GET
#undef REG_SET

/* MOV DR (SDM Vol. 2B): DR4/DR5 and others are not modelled (#UD counted). */
uint64_t hw_read_dr(unsigned n)
{
	fake_lock();
	struct fake_cpu *c = fake_cur();
	uint64_t v = 0;
	if (n <= 3 || n == 6 || n == 7)
		v = c->dr[n];
	else
		c->ud_faults++;
	fake_unlock();
	return v;
}

void hw_write_dr(unsigned n, uint64_t v)
{
	fake_lock();
	struct fake_cpu *c = fake_cur();
	/* DR6/DR7 bits 63:32 must be 0 (#GP, SDM Vol. 2B MOV DR). */
	if (n <= 3 || ((n == 6 || n == 7) && !(v >> 32)))
		c->dr[n] = v;
	else if (n == 6 || n == 7)
		c->gp_faults++;
	else
		c->ud_faults++;
	fake_unlock();
}

uint64_t hw_xgetbv(uint32_t index)
{
	fake_lock();
	struct fake_cpu *c = fake_cur();
	uint64_t v = 0;
	if (index == 0 && (c->cr4 & CR4_OSXSAVE))
		v = c->xcr0;
	else
		c->ud_faults++; /* #UD without CR4.OSXSAVE, #GP for other indices */
	fake_unlock();
	return v;
}

void hw_xsetbv(uint32_t index, uint64_t value)
{
	fake_lock();
	struct fake_cpu *c = fake_cur();
	/* XCR0.x87 must stay set (SDM Vol. 1 13.3). */
	if (index == 0 && (c->cr4 & CR4_OSXSAVE) && (value & XCR0_X87))
		c->xcr0 = value;
	else
		c->gp_faults++;
	fake_unlock();
}

void fake_tsc_set(uint64_t value, uint64_t step)
{
	fake_lock();
	tsc_value = value;
	tsc_step = step;
	fake_unlock();
}

uint64_t hw_rdtsc(void)
{
	fake_lock();
	uint64_t v = tsc_value;
	tsc_value += tsc_step;
	fake_unlock();
	return v;
}

void fake_rng_set(uint64_t state, uint32_t rdrand_fail, uint32_t rdseed_fail)
{
	fake_lock();
	rng_state = state;
	rdrand_failures = rdrand_fail;
	rdseed_failures = rdseed_fail;
	fake_unlock();
}

/* splitmix64: a cheap, well-mixed sequence; tests only need distinct values. */
static uint64_t rng_next(void)
{
	uint64_t z = (rng_state += 0x9e3779b97f4a7c15ull);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static bool rng_draw(uint32_t *failures, uint64_t *out)
{
	bool ok = *failures == 0;
	if (ok)
		*out = rng_next();
	else {
		(*failures)--;
		*out = 0;
	}
	return ok;
}

bool hw_rdrand64(uint64_t *out)
{
	fake_lock();
	fake_hw.rdrand_calls++;
	bool ok = rng_draw(&rdrand_failures, out);
	fake_unlock();
	return ok;
}

bool hw_rdseed64(uint64_t *out)
{
	fake_lock();
	fake_hw.rdseed_calls++;
	bool ok = rng_draw(&rdseed_failures, out);
	fake_unlock();
	return ok;
}

/* The hooks run without the lock so they may switch CPUs and call hw_*. */
void hw_pause(void)
{
	fake_lock();
	fake_cur()->pauses++;
	fake_hook_fn fn = pause_hook;
	void *arg = pause_arg;
	fake_unlock();
	if (fn)
		fn(arg);
}

void hw_halt(void)
{
	fake_lock();
	fake_cur()->halts++;
	fake_hook_fn fn = halt_hook;
	void *arg = halt_arg;
	fake_unlock();
	if (fn)
		fn(arg);
}

void hw_cli(void)
{
	fake_lock();
	fake_cur()->clis++;
	fake_cur()->rflags &= ~RFLAGS_IF;
	fake_unlock();
}

void hw_sti(void)
{
	fake_lock();
	fake_cur()->stis++;
	fake_cur()->rflags |= RFLAGS_IF;
	fake_unlock();
}

void hw_wbinvd(void)
{
	fake_lock();
	fake_cur()->wbinvds++;
	fake_unlock();
}

void hw_invlpg(uint64_t va)
{
	fake_lock();
	fake_cur()->invlpgs++;
	fake_cur()->last_invlpg = va;
	fake_unlock();
}

/* XSAVE / XRSTOR (SDM Vol. 2 XSAVE, XRSTOR; Vol. 1 13.7, 13.8): #UD without
 * CR4.OSXSAVE, #NM with CR0.TS, #GP on a misaligned area; counted, not run. */
static bool xfault(struct fake_cpu *c, const void *area)
{
	if (!(c->cr4 & CR4_OSXSAVE))
		c->ud_faults++;
	else if (c->cr0 & CR0_TS)
		c->nm_faults++;
	else if ((uintptr_t)area & 63)
		c->gp_faults++;
	else
		return false;
	return true;
}

static void xlog(struct fake_cpu *c, bool restore, const void *area, uint64_t rfbm, uint64_t bv)
{
	if (c->nxops < FAKE_MAX_XOPS)
		c->xops[c->nxops] = (struct fake_xop){restore, area, rfbm, bv};
	c->nxops++;
}

void hw_xsave(void *area, uint64_t mask)
{
	fake_lock();
	struct fake_cpu *c = fake_cur();
	uint64_t rfbm = mask & c->xcr0, bv;
	uint8_t *a = area;
	c->xsaves++;
	c->last_xsave_mask = mask;
	if (!xfault(c, area)) {
		/* Every requested component written, as if all were in use. */
		if (rfbm & XCR0_X87)
			memcpy(a, &c->fcw, 2);
		if (rfbm & (XCR0_SSE | XCR0_AVX))
			memcpy(a + 24, &c->mxcsr, 4);
		if (rfbm & XCR0_SSE)
			memcpy(a + 160, &c->xmm0_lo, 8);
		if (rfbm & XCR0_PKRU)
			memcpy(a + FAKE_XSAVE_PKRU, &c->pkru, 4);
		memcpy(&bv, a + 512, 8);
		bv = (bv & ~rfbm) | rfbm;
		memcpy(a + 512, &bv, 8);
		xlog(c, false, area, rfbm, 0);
	}
	fake_unlock();
}

void hw_xrstor(const void *area, uint64_t mask)
{
	fake_lock();
	struct fake_cpu *c = fake_cur();
	uint64_t rfbm = mask & c->xcr0, bv, rest = 0;
	uint32_t mxcsr;
	const uint8_t *a = area;
	c->xrstors++;
	if (!xfault(c, area)) {
		memcpy(&bv, a + 512, 8);
		memcpy(&mxcsr, a + 24, 4);
		for (int i = 8; i < 64; i++)
			rest |= a[512 + i];
		/* Header: XSTATE_BV within XCR0, the rest 0 (standard form); MXCSR
		 * reserved bits clear. */
		if ((bv & ~c->xcr0) || rest ||
		    ((rfbm & (XCR0_SSE | XCR0_AVX)) && (mxcsr & ~0xffffu))) {
			c->gp_faults++;
		} else {
			if (rfbm & XCR0_X87) {
				c->fcw = 0x37f;
				if (bv & XCR0_X87)
					memcpy(&c->fcw, a, 2);
			}
			if (rfbm & (XCR0_SSE | XCR0_AVX))
				c->mxcsr = mxcsr;
			if (rfbm & XCR0_SSE) {
				c->xmm0_lo = 0;
				if (bv & XCR0_SSE)
					memcpy(&c->xmm0_lo, a + 160, 8);
			}
			if (rfbm & XCR0_PKRU) {
				c->pkru = 0;
				if (bv & XCR0_PKRU)
					memcpy(&c->pkru, a + FAKE_XSAVE_PKRU, 4);
			}
			xlog(c, true, area, rfbm, bv);
		}
	}
	fake_unlock();
}

void hw_lgdt(const struct hw_desc_ptr *p)
{
	fake_lock();
	fake_cur()->gdtr = *p;
	fake_unlock();
}

void hw_lidt(const struct hw_desc_ptr *p)
{
	fake_lock();
	fake_cur()->idtr = *p;
	fake_unlock();
}

void hw_sgdt(struct hw_desc_ptr *p)
{
	fake_lock();
	*p = fake_cur()->gdtr;
	fake_unlock();
}

void hw_sidt(struct hw_desc_ptr *p)
{
	fake_lock();
	*p = fake_cur()->idtr;
	fake_unlock();
}

void hw_ltr(uint16_t sel)
{
	fake_lock();
	fake_cur()->tr = sel;
	fake_unlock();
}

/* mov %gs:offset: the GS base is IA32_GS_BASE of the current CPU (SDM Vol. 3A 3.4.4). */
uint64_t hw_read_gs_qword(uint32_t offset)
{
	fake_lock();
	uint64_t *slot = fake_msr_slot(fake_cur(), MSR_IA32_GS_BASE);
	uint64_t base = slot ? *slot : 0, v = 0;
	if (base)
		memcpy(&v, (const void *)(uintptr_t)(base + offset), sizeof(v));
	else
		fake_hw.gs_reads_without_base++;
	fake_unlock();
	return v;
}

void *hw_phys_ptr(uint64_t pa)
{
	return (void *)(uintptr_t)pa;
}

uint64_t hw_ptr_phys(const void *p)
{
	return (uint64_t)(uintptr_t)p;
}
