/*
 * The NMI sweep, the boot CPU's side (guest/case_sweep.c has the sender and the
 * command line). Each round: start the sender, run the operation, wait for the
 * round's NMIs, read from the hypervisor where they landed (debug hypercall
 * NMI_SWEEP, only in --config=nmi_sweep images) and write one line to port
 * 0xE9 (below):
 *
 *   SWEEP: r=<round> k=<delay> sent=<n> got=<n> late=<n> pal=<n> ok=<0|1>
 *          phase=<p> hv=<n> own=<n> merged=<n> e=<hex>,<hex>,<hex>
 *          w=<where> rip=<hex> w2=<where> rip2=<hex> w3=<where> rip3=<hex>
 *
 * got: NMIs this stage's handler took in the round; own: NMIs this CPU sent
 * itself (nmi-window: 2); merged: NMIs the hypervisor merged into one already
 * pending while this CPU or its PAL held one (what the hardware does, SDM
 * Vol. 3A 6.7.1); got + merged must equal sent + own (none lost, none
 * doubled); late: NMIs it took only when the NMI_SWEEP VMCALL made
 * a VM exit (held by the hypervisor while the guest ran: lost for a guest that
 * never exits, so counted as lost too); pal: of those, taken with the PAL's
 * code or page tables current (must be 0); ok: the operation's result was
 * right; phase: where the last NMI met this CPU's own code (0 before the
 * operation, 1 during, 2 after); hv: NMIs the hypervisor recorded; e, w/rip:
 * for the first three, the VM exit a root-mode one met (its basic reason, ff
 * none), where it landed (1 guest, 2 guest while the app held NMIs = a PAL,
 * 3 hypervisor) and the guest or hypervisor RIP.
 *
 * A pass ends after sweep_rounds rounds or once END_STREAK rounds in a row
 * saw the NMI only after the operation; the next of sweep_passes passes runs
 * the same delays again, the go signal given PASS_PHASE NOPs later each pass.
 * The arrival point jitters by an instruction or two from round to round (the
 * sender's wait loop meets the start at a phase that depends on the rounds
 * before); passes with the same phase met the same boundaries (4 and 6 passes
 * without the shift: the same 1,558 of 1,641), other phases meet others.
 *
 * Bochs runs its CPUs in turns, so an NMI sent by slot 1 is seen here only at
 * the start of one of this CPU's turns. A delay of k therefore moves the sender
 * by QUANTUM * (k / QUANTUM) instructions and this CPU's operation by
 * QUANTUM - 1 - k % QUANTUM NOPs: consecutive k move the arrival point by one
 * instruction with any turn length that divides QUANTUM (1 too). QUANTUM 16
 * was chosen for Bochs's default quantum; Debian's Bochs 2.7, built with its
 * debugger, gives each CPU 5 instructions a turn whatever the option says
 * (docs/results.md, sweep), so at each multiple of 16 the arrival point moves
 * by 0 or 5 instead of 1 and the passes fill those gaps. A QUANTUM of 10 would
 * step it exactly; the figures in docs/results.md were taken with 16.
 */
#include <stdarg.h>

#include "guest/console.h"
#include "guest/layout.h"
#include "guest/pal64/cpu64.h"
#include "guest/pal64/pal_code.h"
#include "guest/pal64/stage.h"
#include "guest/pal64/tv64.h"

#define QUANTUM            16u
#define END_STREAK         16u
#define PASS_PHASE         5u
#define NMI_WAIT_US        20000ull
#define SETTLE_US          20ull
#define DEBUG_HC_NMI_SWEEP 0x48560005u /* core/debug_hypercall.h */
#define DEBUG_HC_QUIESCE   0x48560001u /* QUIESCE_STORM */
#define DEBUG_HC_NMI_STATS 0x48560002u
/* nmi-window: the two self-NMIs of the round, and how long the round waits for them. */
#define OWN_NMIS        2u
#define OWN_NMI_WAIT_US 2000ull

#define LAPIC_ID     0x020u
#define LAPIC_ICR_LO 0x300u
#define LAPIC_ICR_HI 0x310u
#define ICR_NMI      (4u << 8)
#define ICR_ASSERT   (1u << 14)
#define LAPIC(off)   (*(volatile uint32_t *)(uintptr_t)(LAPIC_BASE + (off)))

/*
 * The per-round lines go to port 0xE9, which Bochs (port_e9_hack, tools/sweep.py)
 * passes to its own output at once: through the UART every byte would take
 * about 87 us of simulated time on both CPUs, 50 times the round itself.
 */
#define PORT_E9 0xe9

void sweep_e9_printf(const char *fmt, ...)
{
	char line[200];
	va_list ap;
	va_start(ap, fmt);
	str_vformat(line, sizeof(line), fmt, ap);
	va_end(ap);
	for (const char *p = line; *p; p++)
		outb(PORT_E9, (uint8_t)*p);
}

struct hv_record {
	uint32_t count;
	uint32_t where[3], reason[3]; /* core/nmi_sweep.h: the first three NMIs */
	uint64_t rip[3];
};

static bool hv_record_read(struct hv_record *rec)
{
	struct vmcall_regs r = {DEBUG_HC_NMI_SWEEP, 0, 0, 0, 0, 0};
	cpu64_vmcall(&r);
	rec->count = (uint32_t)r.rbx;
	for (uint32_t i = 0; i < 3; i++) {
		rec->where[i] = (uint32_t)((r.rcx >> (8 * i)) & 0xff);
		rec->reason[i] = (uint32_t)((r.rcx >> (32 + 8 * i)) & 0xff);
	}
	rec->rip[0] = r.rdx;
	rec->rip[1] = r.rsi;
	rec->rip[2] = r.rdi;
	return r.rax == 0;
}

/* Guest NMIs the hypervisor merged into a pending one on this CPU so far (a
 * blocked CPU latches one NMI, SDM Vol. 3A 6.7.1): NMI_STATS, EDX. */
static uint32_t hv_merged(void)
{
	struct vmcall_regs r = {DEBUG_HC_NMI_STATS, 0xffffffffu, 0, 0, 0, 0};
	cpu64_vmcall(&r);
	return (uint32_t)r.rdx;
}

/*
 * sweep_pit=COUNT: a device NMI, which arrives while every guest CPU is parked by a
 * quiesce round (no guest CPU can send an IPI then). The PIT's channel 0 in
 * mode 0 raises its output at the terminal count (IRQ 0, IOAPIC pin 2 on the
 * PC), and the IOAPIC entry sends it as an NMI to this CPU. Bochs moves the PIT
 * in whole microseconds of its clock, so the arrival jitters by up to ~200
 * instructions round to round: the rounds sample the path rather than step it.
 */
#define IOAPIC_BASE 0xfec00000u
#define IOAPIC_PIN  2u
#define PIT_CH0     0x40
#define PIT_CMD     0x43
/* Instructions per PIT count at Bochs's 200 M ips (1,193,182 Hz PIT), rounded up. */
#define INSNS_PER_PIT_COUNT 168u

static void ioapic_write(uint32_t reg, uint32_t v)
{
	*(volatile uint32_t *)(uintptr_t)IOAPIC_BASE = reg;
	*(volatile uint32_t *)(uintptr_t)(IOAPIC_BASE + 0x10) = v;
}

static void pit_route_nmi(void)
{
	ioapic_write(0x10 + 2 * IOAPIC_PIN + 1, LAPIC(LAPIC_ID) & 0xff000000u);
	ioapic_write(0x10 + 2 * IOAPIC_PIN, ICR_NMI); /* edge, physical, unmasked */
}

/*
 * Arms the one-shot (count = sweep_pit), then waits so that the NMI meets the
 * operation about k instructions after it starts (while k < the count's length).
 */
static void pit_arm(uint32_t count, uint32_t k)
{
	uint32_t fire = count * INSNS_PER_PIT_COUNT;
	cpu64_outb(PIT_CMD, 0x30); /* channel 0, lobyte/hibyte, mode 0: output low */
	cpu64_outb(PIT_CH0, count & 0xff);
	cpu64_outb(PIT_CH0, (count >> 8) & 0xff);
	uint32_t wait = k < fire ? fire - k : 0;
	for (uint32_t i = 0; i < wait / 16; i++)
		cpu64_nops(15);
	cpu64_nops(wait % 16);
}

void sweep_self_nmi(void)
{
	LAPIC(LAPIC_ICR_HI) = LAPIC(LAPIC_ID) & 0xff000000u;
	LAPIC(LAPIC_ICR_LO) = ICR_NMI | ICR_ASSERT;
}

/* nmi-window: an NMI to itself whose handler sends the second; true once both ran. */
static bool nmi_window_round(void)
{
	uint32_t c0 = stage->nmi_count;
	stage->sweep_chain = 1;
	sweep_self_nmi();
	uint64_t end = stage_deadline_us(OWN_NMI_WAIT_US);
	while ((stage->sweep_chain || stage->nmi_count - c0 < OWN_NMIS) && !stage_passed(end))
		cpu64_pause();
	bool ok = !stage->sweep_chain && stage->nmi_count - c0 >= OWN_NMIS;
	stage->sweep_chain = 0;
	return ok;
}

/* The round's operation; true if its result is right. */
static bool operation(const struct tv_pal_desc *d, uint32_t r, uint32_t k)
{
	uint64_t entry = d->entry;
	switch (stage->sweep_path) {
	case SWEEP_PAL_CALL: {
		uint64_t a = k, b = (uint64_t)r * 0x9e3779b97f4a7c15ull;
		uint64_t in[ADDER_IN_WORDS] = {a, b, ADDER_NORMAL, 0},
		         out[ADDER_OUT_WORDS] = {0, 0};
		uint64_t ret = 0;
		int64_t st = tv64_call(entry, in, 3, out, ADDER_OUT_WORDS, &ret);
		return st == TV_OK && ret == PAL_MAGIC && out[0] == a + b && out[1] == (a ^ b);
	}
	case SWEEP_PAL_REGISTER:
		return tv64_register(d) == TV_OK;
	case SWEEP_PAL_UNREGISTER:
		return tv64_unregister(entry) == TV_OK;
	case SWEEP_NMI_WINDOW:
		return nmi_window_round();
	case SWEEP_QUIESCE: {
		struct vmcall_regs q = {DEBUG_HC_QUIESCE, 1, 0, 0, 0, 0};
		cpu64_vmcall(&q);
		return (uint32_t)q.rax == 0 && (uint32_t)q.rbx == 1;
	}
	default: {
		struct hv_counters c;
		return hv_counters(&c);
	}
	}
}

/* Brings the PAL into the state the round's operation starts from. */
static bool prepare(const struct tv_pal_desc *d, bool registered)
{
	uint32_t path = stage->sweep_path;
	bool want = path == SWEEP_PAL_CALL || path == SWEEP_PAL_UNREGISTER;
	if (path >= SWEEP_VMCALL || want == registered)
		return true;
	return (want ? tv64_register(d) : tv64_unregister(d->entry)) == TV_OK;
}

static bool registered_after(uint32_t path, bool ok)
{
	if (path == SWEEP_PAL_CALL)
		return true;
	if (path == SWEEP_PAL_REGISTER)
		return ok;
	return path == SWEEP_PAL_UNREGISTER ? !ok : false;
}

uint32_t case64_sweep(void)
{
	struct tv_pal_desc d;
	struct hv_record rec;
	uint32_t nmis = stage->sweep_nmis, path = stage->sweep_path;
	uint32_t lost = 0, delayed = 0, doubled = 0, in_pal = 0, wrong = 0, streak = 0;
	uint32_t cpu_merged = 0;
	bool registered = false;

	if (stage->sweep_event == SWEEP_EVENT_INIT)
		return case64_sweep_init();
	tv64_desc(&d, PAL_ADDER);
	if (!hv_record_read(&rec))
		return stage_fail("the image has no NMI recorder (build it with "
		                  "--config=nmi_sweep)");
	if (stage->sweep_pit)
		pit_route_nmi();
	uint32_t r = 0, passes_ended = 0;
	for (uint32_t pass = 0; pass < stage->sweep_passes; pass++) {
		streak = 0;
		for (uint32_t i = 0; i < stage->sweep_rounds && streak < END_STREAK; i++, r++) {
			uint32_t k = stage->sweep_first + i * stage->sweep_step;
			if (!prepare(&d, registered))
				return stage_fail("round %u: could not prepare the PAL", r);
			registered = path == SWEEP_PAL_CALL || path == SWEEP_PAL_UNREGISTER;
			uint32_t own = path == SWEEP_NMI_WINDOW ? OWN_NMIS : 0;
			uint32_t merged0 = hv_merged();
			uint32_t count0 = stage->nmi_count, pal0 = stage->nmi_in_pal;
			stage->sweep_phase = SWEEP_BEFORE;
			stage->sweep_delay = k / QUANTUM * QUANTUM;
			/* Each pass starts the sender at another phase of its wait loop
			 * (PASS_PHASE NOPs more per pass, mod QUANTUM): passes with the
			 * same phase meet the same boundaries. */
			cpu64_nops(pass * PASS_PHASE % QUANTUM);
			__atomic_store_n(&stage->sweep_go, r + 1, __ATOMIC_SEQ_CST);
			cpu64_nops(QUANTUM - 1 - k % QUANTUM);
			if (stage->sweep_pit)
				pit_arm(stage->sweep_pit, k);
			stage->sweep_phase = SWEEP_DURING;
			bool ok = operation(&d, r, k);
			stage->sweep_phase = SWEEP_AFTER;
			registered = registered_after(path, ok);
			uint64_t end = stage_deadline_us(NMI_WAIT_US);
			uint32_t want = nmis + own;
			/* NMIs the hypervisor merged never reach the handler: once the
			 * handler is one short, ask (a VMCALL) rather than wait out the
			 * timeout on every round where a PAL or a handler held one. */
			while (stage->sweep_sent != r + 1 && !stage_passed(end))
				cpu64_pause();
			while (stage->nmi_count - count0 < want && !stage_passed(end)) {
				if (stage->nmi_count - count0 + 1 >= want && hv_merged() != merged0)
					break;
				cpu64_pause();
			}
			stage_delay_us(SETTLE_US); /* a doubled NMI shows up here */
			uint32_t got = stage->nmi_count - count0, pal = stage->nmi_in_pal - pal0;
			uint32_t sent = stage->sweep_sent == r + 1 ? nmis : 0;
			if (!hv_record_read(&rec))
				return stage_fail("round %u: NMI_SWEEP refused", r);
			/* NMIs the hypervisor had but injected only at that VM exit. */
			uint32_t late = stage->nmi_count - count0 - got;
			/* Merged while this CPU (or a PAL) held one already: hardware
			 * semantics, not a loss (SDM Vol. 3A 6.7.1). */
			uint32_t merged = hv_merged() - merged0;
			sweep_e9_printf(
			    "SWEEP: r=%u k=%u sent=%u got=%u late=%u pal=%u ok=%u phase=%u hv=%u "
			    "own=%u merged=%u e=%x,%x,%x w=%u rip=%llx w2=%u rip2=%llx w3=%u "
			    "rip3=%llx\n",
			    r, k, sent, got, late, pal, ok ? 1u : 0u, stage->nmi_phase, rec.count,
			    own, merged, rec.reason[0], rec.reason[1], rec.reason[2], rec.where[0],
			    (unsigned long long)rec.rip[0], rec.where[1],
			    (unsigned long long)rec.rip[1], rec.where[2],
			    (unsigned long long)rec.rip[2]);
			/* This CPU's own NMI and the sender's met at one boundary: the
			 * CPU latched one (SDM Vol. 3A 6.7.1), the hypervisor never saw the
			 * other, and delivered or merged all it saw. Not a loss. */
			bool cpu_merge = own && rec.count < want && got + merged == rec.count;
			cpu_merged += cpu_merge;
			lost += got + merged < want && !cpu_merge;
			delayed += late != 0;
			doubled += got + merged > want;
			in_pal += pal != 0;
			wrong += !ok;
			streak = (got + merged == want && stage->nmi_phase == SWEEP_AFTER)
			             ? streak + 1
			             : 0;
		}
		passes_ended += streak >= END_STREAK;
	}
	if (registered && tv64_unregister(d.entry) != TV_OK)
		wrong++;
	con_printf("SWEEP-END: rounds=%u lost=%u (of which held until the next VM exit %u) "
	           "doubled=%u in_pal=%u wrong=%u cpu_merged=%u end=%s\n",
	           r, lost, delayed, doubled, in_pal, wrong, cpu_merged,
	           passes_ended == stage->sweep_passes ? "passed" : "rounds");
	if (lost || doubled || in_pal || wrong)
		return stage_fail("%u rounds: %u lost (%u delivered at the next VM exit), %u "
		                  "doubled, %u in a PAL, %u wrong results",
		                  r, lost, delayed, doubled, in_pal, wrong);
	return PAL64_PASS;
}
