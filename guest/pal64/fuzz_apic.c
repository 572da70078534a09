/*
 * Fuzz actions on the local APIC (xAPIC MMIO; fuzz64.h): register writes and
 * IPIs. x2APIC is left off: the switch is one way and the 32-bit guest (and
 * the other CPU's stream) use the xAPIC page.
 *
 * Left out because they end the run, not because of the hypervisor:
 *  - clearing SVR bit 8 (software disable) and SMI or INIT delivery in an LVT
 *    entry or an IPI (INIT resets the other CPU's guest, SMI enters the BIOS's
 *    SMM handler); the APIC ID register (the other CPU addresses us by it);
 *  - fixed vectors 0-31 or ones the 32-bit guest handles, sent to the other
 *    CPU (it runs with IF = 1: a vector below 32 would look like an exception).
 * A register written is written back at once (its old value), so the next
 * steps find the APIC as the guest set it up. Stores other than a plain
 * 32-bit MOV to the LAPIC page (read-modify-write, XCHG, string) are a known
 * panic while the hypervisor write-protects that page (issue 11 point 4):
 * skipped with avoid_known. Byte and word stores (store() has them) are never
 * drawn: Bochs ends the simulation on them ("APIC write with len=2", a Bochs
 * panic, action=fatal) before the hypervisor could be at fault.
 */
#include "guest/layout.h"
#include "guest/pal64/cpu64.h"
#include "guest/pal64/fuzz64.h"
#include "guest/pal64/probe64.h"

#define REG(off) ((volatile uint32_t *)(uintptr_t)(LAPIC_BASE + (off)))

#define LAPIC_ICR_LO 0x300u
#define LAPIC_ICR_HI 0x310u
#define LAPIC_SVR    0x0f0u
#define ICR_BUSY     (1u << 12)
#define DM_SMI       (2u << 8)
#define DM_NMI       (4u << 8)
#define DM_INIT      (5u << 8)
#define DM_STARTUP   (6u << 8)
#define DM_MASK      (7u << 8)
#define SH_SELF      (1u << 18)
#define SH_ALL       (2u << 18)
#define SH_OTHERS    (3u << 18)
#define SH_MASK      (3u << 18)

/* A store of `size` bytes at LAPIC_BASE + off in one of several encodings; the vector raised. */
static uint32_t store(uint32_t off, uint32_t v, uint32_t form)
{
	uint64_t p = LAPIC_BASE + off;
	uint32_t src[1] = {v};
	uint64_t cnt = 1, si = (uint64_t)(uintptr_t)src, di = p;

	probe64_arm();
	switch (form) {
	case 0:
		__asm__ __volatile__(PROBE64_ASM("movl %[v], (%[p])")
		                     : PROBE64_OUT
		                     : [p] "r"(p), [v] "r"(v)
		                     : "memory");
		break;
	case 1:
		__asm__ __volatile__(PROBE64_ASM("movb %b[v], (%[p])")
		                     : PROBE64_OUT
		                     : [p] "r"(p), [v] "q"(v)
		                     : "memory");
		break;
	case 2:
		__asm__ __volatile__(PROBE64_ASM("movw %w[v], (%[p])")
		                     : PROBE64_OUT
		                     : [p] "r"(p), [v] "r"(v)
		                     : "memory");
		break;
	case 3:
		__asm__ __volatile__(PROBE64_ASM("orl %[v], (%[p])")
		                     : PROBE64_OUT
		                     : [p] "r"(p), [v] "r"(v)
		                     : "memory", "cc");
		break;
	case 4:
		__asm__ __volatile__(PROBE64_ASM("xchgl %[v], (%[p])")
		                     : [v] "+r"(v), PROBE64_OUT
		                     : [p] "r"(p)
		                     : "memory");
		break;
	default:
		__asm__ __volatile__(PROBE64_ASM("rep movsl")
		                     : "+c"(cnt), "+S"(si), "+D"(di), PROBE64_OUT
		                     :
		                     : "memory");
		break;
	}
	return probe64_disarm();
}

static const char *const form_names[] = {"mov32", "mov8", "mov16", "or32", "xchg32", "movs32"};

static uint32_t draw_form(void)
{
	if (!fuzz_known(FUZZ_KNOWN_LAPIC_RMW) || !fuzz_chance(8))
		return 0;
	return 3 + fuzz_below(3); /* not mov8/mov16: Bochs stops on them (see the top) */
}

/* LVT value without SMI/INIT delivery. */
static uint32_t lvt_value(void)
{
	uint32_t v = (uint32_t)fuzz_rand();
	uint32_t dm = v & DM_MASK;
	if (dm == DM_SMI || dm == DM_INIT)
		v &= ~DM_MASK;
	return v;
}

/*
 * IA32_APIC_BASE.EN cleared for a moment (SDM Vol. 3A 11.4.3: the APIC is
 * off, NMIs and IPIs to it are lost; EN set again resets its registers, so they
 * are written back). While CPU 1 starts quiesce rounds this is the known panic
 * "a disabled APIC during quiesce" (issue 11 point 4): not with avoid_known.
 */
static void apic_off_and_on(void)
{
	static const uint32_t regs[] = {0x080, 0x0d0, 0x0e0, 0x0f0, 0x320, 0x330,
	                                0x340, 0x350, 0x360, 0x370, 0x3e0, 0x380};
	uint32_t saved[sizeof(regs) / sizeof(regs[0])];
	uint64_t base;

	if (probe64_rdmsr(0x1b, &base) != PROBE_NONE)
		return;
	for (uint32_t i = 0; i < sizeof(regs) / sizeof(regs[0]); i++)
		saved[i] = *REG(regs[i]);
	uint32_t spins = fuzz_below(20000);
	fuzz_note("apic_base %llx -> %llx for %u pauses", (unsigned long long)base,
	          (unsigned long long)(base & ~(1ull << 11)), spins);
	uint32_t vec = probe64_wrmsr(0x1b, base & ~(1ull << 11));
	for (uint32_t i = 0; i < spins; i++)
		cpu64_pause();
	uint32_t vec2 = probe64_wrmsr(0x1b, base);
	for (uint32_t i = 0; i < sizeof(regs) / sizeof(regs[0]); i++)
		*REG(regs[i]) = saved[i];
	if (vec != PROBE_NONE && vec != 13)
		fuzz_fail("WRMSR APIC_BASE (off) raised vector %u", vec);
	if (vec2 != PROBE_NONE)
		fuzz_fail("WRMSR APIC_BASE (on again) raised vector %u", vec2);
}

void fuzz_act_lapic(void)
{
	if (fuzz_known(FUZZ_KNOWN_APIC_OFF) && fuzz_chance(64)) {
		apic_off_and_on();
		return;
	}
	static const uint32_t regs[] = {0x080, 0x0b0, 0x0d0, 0x0e0, 0x0f0, 0x280, 0x320,
	                                0x330, 0x340, 0x350, 0x360, 0x370, 0x380, 0x3e0,
	                                0x030, 0x090, 0x0a0, 0x100, 0x200, 0x3f0};
	uint32_t off = regs[fuzz_below(sizeof(regs) / sizeof(regs[0]))];
	uint32_t old = *REG(off), v = (uint32_t)fuzz_rand(), form = draw_form();

	if (off == LAPIC_SVR) {
		v |= 1u << 8; /* stays software-enabled */
	} else if (off >= 0x320 && off <= 0x370) {
		v = lvt_value();
		if (form == 3)
			form = 0; /* OR-ing delivery modes can make INIT (NMI | 1) */
	}
	fuzz_note("reg=%x value=%x old=%x form=%s", off, v, old, form_names[form]);
	uint32_t vec = store(off, v, form);
	if (vec != PROBE_NONE)
		fuzz_fail("LAPIC store raised vector %u", vec);
	if (off != 0x0b0 && off != 0x280)
		*REG(off) = old; /* EOI and ESR have nothing to restore */
}

static void wait_idle(void)
{
	for (uint32_t i = 0; i < 100000 && (*REG(LAPIC_ICR_LO) & ICR_BUSY); i++)
		cpu64_pause();
}

/*
 * IPIs: NMIs and fixed interrupts to this CPU (IF = 0 here: fixed ones stay
 * pending, NMIs are counted by stage.c) and to the other CPU, with every
 * shorthand and destination mode; SIPIs to the running other CPU (ignored by
 * hardware outside wait-for-SIPI).
 */
void fuzz_act_ipi(void)
{
	bool other = fz.other_apic != ~0u && fuzz_chance(2);
	uint32_t kind = fuzz_below(4), lo, dest;

	if (!other) {
		/* To this CPU: by shorthand or by its own APIC id. */
		/* Not 16-31 (the stage would take one, should it ever run with IF = 1,
		 * for an exception without its error code); 0-15 are illegal (ESR). */
		uint32_t vector = fuzz_below(256);
		if (vector >= 16 && vector < 32)
			vector += 16;
		lo = (kind == 0 ? DM_NMI : 0) | vector;
		if (fuzz_chance(2)) {
			lo |= SH_SELF;
			dest = 0;
		} else {
			dest = fz.self_apic << 24;
		}
		if (kind == 0)
			lo &= ~0xffu;
	} else {
		dest = fz.other_apic << 24;
		if (kind == 0)
			lo = DM_NMI;
		else if (kind == 1)
			lo = DM_STARTUP | fuzz_below(256);
		else if (kind == 2)
			lo = 0x50 + fuzz_below(0xa0); /* fixed, a vector nobody handles */
		else
			lo = DM_NMI | (fuzz_chance(2) ? SH_ALL : SH_OTHERS);
		if (fuzz_chance(8) && kind != 1) {
			lo |= 1u << 11; /* logical destination */
			dest = (uint32_t)fuzz_rand() & 0xff000000u;
		}
	}
	uint32_t form = (lo & DM_MASK) == DM_STARTUP ? 0 : draw_form();
	fuzz_note("icr_hi=%x icr_lo=%x form=%s", dest, lo, form_names[form]);
	wait_idle();
	uint32_t vec = store(LAPIC_ICR_HI, dest, 0);
	if (vec == PROBE_NONE)
		vec = store(LAPIC_ICR_LO, lo, form);
	wait_idle();
	if (vec != PROBE_NONE)
		fuzz_fail("ICR write raised vector %u", vec);
}
