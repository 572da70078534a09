/*
 * The PAL stage's entry, IDT and interrupt dispatch.
 *
 * Interrupts stay off (IF = 0) as in the rest of the guest; only NMIs and
 * exceptions arrive. An NMI is counted in the shared block, with a check that
 * it did not interrupt a PAL (TrustVisor holds NMIs while one runs: the RIP
 * must be outside the PAL code and CR3 the guest's). Any exception is a
 * failure of the running case: reported in the detail, and the stage returns.
 */
#include "guest/pal64/stage.h"

#include <stdarg.h>

#include "guest/console.h"
#include "guest/layout.h"
#include "guest/pal64/cpu64.h"
#include "guest/pal64/fuzz64.h"
#include "guest/pal64/pal_code.h"
#include "guest/pal64/probe64.h"
#include "guest/pal64/ring3.h"
#include "guest/pal64/tv64.h"

#define VEC_NMI       2
#define ISR_STUB_SIZE 16

struct pal64_shared *stage;

/* 64-bit interrupt gate (SDM Vol. 3A 6.14.1). */
struct __attribute__((packed)) idt_gate64 {
	uint16_t offset_lo;
	uint16_t selector;
	uint8_t ist;
	uint8_t type_attr; /* P=1, DPL=0, type 0xe */
	uint16_t offset_mid;
	uint32_t offset_hi;
	uint32_t reserved;
};

extern const char isr64_stubs[];
static struct idt_gate64 idt64[256];
static struct descriptor_ptr64 idt64_ptr;
static uint64_t guest_cr3;

void stage_interrupt(struct frame64 *f);

static void idt_load(void)
{
	if (!idt64_ptr.base) {
		for (uint32_t v = 0; v < 256; v++) {
			uint64_t stub = (uint64_t)(uintptr_t)isr64_stubs + v * ISR_STUB_SIZE;
			idt64[v].offset_lo = (uint16_t)stub;
			idt64[v].selector = GDT_CODE64;
			idt64[v].ist = 0;
			/* DPL 3 on the gate that ends a fuzzer ring-3 run (ring3.h), 0 elsewhere.
			 */
			idt64[v].type_attr = v == RING3_DONE_VEC ? 0xee : 0x8e;
			idt64[v].offset_mid = (uint16_t)(stub >> 16);
			idt64[v].offset_hi = (uint32_t)(stub >> 32);
			idt64[v].reserved = 0;
		}
		idt64_ptr.limit = sizeof(idt64) - 1;
		idt64_ptr.base = (uint64_t)(uintptr_t)idt64;
	}
	cpu64_lidt(&idt64_ptr);
}

/*
 * An NMI taken right after the caller's CALL to a PAL, before the PAL's first
 * instruction: RIP = the entry, the return address just pushed on the caller's
 * stack, the caller's CR3. The PAL has not started (its code page is absent
 * from the guest's view; the fetch after this NMI's IRET is what enters it),
 * so the NMI is rightly the guest's. The NMI sweep meets this boundary.
 */
static bool before_pal_entry(const struct frame64 *f)
{
	return pal_code_contains(f->rip) && cpu64_read_cr3() == guest_cr3 &&
	       *(const volatile uint64_t *)(uintptr_t)f->rsp == tv64_return_rip;
}

void stage_interrupt(struct frame64 *f)
{
	if (f->vector == VEC_NMI) {
		bool in_pal = (pal_code_contains(f->rip) && !before_pal_entry(f)) ||
		              cpu64_read_cr3() != guest_cr3;
		stage->nmi_phase = stage->sweep_phase;
		__atomic_fetch_add(&stage->nmi_count, 1, __ATOMIC_SEQ_CST);
		if (f->rip == tv64_return_rip)
			__atomic_fetch_add(&stage->nmi_at_return, 1, __ATOMIC_SEQ_CST);
		if (in_pal) {
			stage->nmi_pal_rip = (uint32_t)f->rip;
			__atomic_fetch_add(&stage->nmi_in_pal, 1, __ATOMIC_SEQ_CST);
		}
		/* The sweep's nmi-window path: an NMI sent now meets this handler
		 * (virtual-NMI blocking), so it waits for the window exit after the
		 * IRET below (SDM Vol. 3C 26.7.6). */
		if (stage->sweep_chain) {
			stage->sweep_chain = 0;
			sweep_self_nmi();
		}
		return;
	}
	/* The fuzzer's ring-3 runs (ring3.h) and probes (probe64.h); its self-IPIs
	 * may arrive if a stale PAL ran STI. */
	if (ring3_catch(f))
		return;
	if (f->vector < 32 && probe64_catch(f->vector, f->error, &f->rip, &f->rsp))
		return;
	if (f->vector >= 32 && stage->case_id == PAL64_CASE_FUZZ) {
		*(volatile uint32_t *)(uintptr_t)(LAPIC_BASE + 0xb0) = 0; /* EOI */
		return;
	}
	if (f->vector < 32) {
		stage_fail("unexpected exception vector %u error %llx at rip %llx (cr2 %llx)",
		           (uint32_t)f->vector, (unsigned long long)f->error,
		           (unsigned long long)f->rip, (unsigned long long)cpu64_read_cr2());
		stage_abort(PAL64_FAIL);
	}
	/* IF = 0 throughout: an external interrupt here is a bug of the stage. */
	stage_fail("unexpected interrupt vector %u at rip %llx", (uint32_t)f->vector,
	           (unsigned long long)f->rip);
	stage_abort(PAL64_FAIL);
}

static uint32_t set_detail(uint32_t result, const char *fmt, va_list ap)
{
	str_vformat(stage->detail, sizeof(stage->detail), fmt, ap);
	return result;
}

uint32_t stage_fail(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	uint32_t r = set_detail(PAL64_FAIL, fmt, ap);
	va_end(ap);
	return r;
}

uint32_t stage_skip(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	uint32_t r = set_detail(PAL64_SKIP, fmt, ap);
	va_end(ap);
	return r;
}

void stage_info(const char *fmt, ...)
{
	char line[200];
	va_list ap;
	va_start(ap, fmt);
	str_vformat(line, sizeof(line), fmt, ap);
	va_end(ap);
	con_printf("testguest: %s\n", line);
}

uint64_t stage_deadline_us(uint64_t us)
{
	return cpu64_rdtsc() + us * stage->tsc_per_ms / 1000;
}

bool stage_passed(uint64_t deadline)
{
	return cpu64_rdtsc() >= deadline;
}

void stage_delay_us(uint64_t us)
{
	uint64_t end = stage_deadline_us(us);
	while (!stage_passed(end))
		cpu64_pause();
}

/* The other CPU's entries (PAL64_CASE_FUZZ_AP, PAL64_CASE_SWEEP_AP): `stage` stays
 * the boot CPU's block. */
uint32_t stage_ap_main(struct pal64_shared *sh)
{
	idt_load();
	if (sh->case_id == PAL64_CASE_SWEEP_AP)
		return sweep_init_other_cpu();
	return fuzz_race_other_cpu();
}

uint32_t stage_main(struct pal64_shared *sh)
{
	stage = sh;
	guest_cr3 = cpu64_read_cr3();
	idt_load();
	sh->detail[0] = '\0';
	switch (sh->case_id) {
	case PAL64_CASE_ADD:
		return case64_pal_add();
	case PAL64_CASE_ERRORS:
		return case64_pal_errors();
	case PAL64_CASE_UTPM:
		return case64_pal_utpm();
	case PAL64_CASE_BENCH:
		return case64_pal_bench();
	case PAL64_CASE_NMI:
		return case64_pal_nmi();
	case PAL64_CASE_RESET:
		return case64_pal_reset();
	case PAL64_CASE_FUZZ:
		return case64_fuzz();
	case PAL64_CASE_SWEEP:
		return case64_sweep();
	default:
		return stage_fail("the stage has no case %u", sh->case_id);
	}
}
