/*
 * What the 32-bit test guest and its 64-bit PAL stage share: the stage's image
 * header and the one block of memory both sides read and write. Compiled with
 * -m32 and -m64, so only 32-bit fields (a uint64_t is 4-byte aligned in an
 * i386 struct and 8 in x86-64: the layouts would differ).
 */
#ifndef GUEST_PAL64_PAL64_ABI_H
#define GUEST_PAL64_PAL64_ABI_H

#define PAL64_MAGIC           0x34366c70 /* "pl64" */
#define PAL64_CASE_FUZZ_AP_ID 9          /* PAL64_CASE_FUZZ_AP, for entry64.S */

#ifndef __ASSEMBLER__
#include <stdint.h>

/* First bytes of the stage image (entry64.S), at PAL64_BASE. */
struct pal64_header {
	uint32_t magic;
	uint32_t entry;   /* pal64_start (below 4 GiB: the stage is linked at PAL64_BASE) */
	uint32_t mem_end; /* end of .bss: the copier zeroes [end of file, mem_end) */
	uint32_t base;    /* the link address (pal64.ld): must be PAL64_BASE */
};

/* The case the stage runs on this entry (one entry per case). */
enum pal64_case {
	PAL64_CASE_ADD = 1,
	PAL64_CASE_ERRORS,
	PAL64_CASE_UTPM,
	PAL64_CASE_BENCH,
	PAL64_CASE_NMI,
	PAL64_CASE_RESET,
	PAL64_CASE_FUZZ, /* the hostile-guest fuzzer (fuzz64.h), `fuzz` on the command line */
	PAL64_CASE_SWEEP,
	/* CPU 1's side of the fuzzer's race (pal64/fuzz_race.c): a second entry while
	 * the boot CPU runs PAL64_CASE_FUZZ, on its own stack (entry64.S) */
	PAL64_CASE_FUZZ_AP,
	/* CPU 1's side of the sweep's INIT variant (pal64/case_sweep_init.c), entered
	 * again after every INIT + SIPI; AP cases are numbered from PAL64_CASE_FUZZ_AP on
	 * (entry64.S gives them the second stack) */
	PAL64_CASE_SWEEP_AP,
};

/* The sweep's operation on the boot CPU (guest/case_sweep.c, `sweep=NAME`). */
enum pal64_sweep_path {
	SWEEP_PAL_CALL = 1,   /* the adder PAL called (TrustVisor) */
	SWEEP_PAL_REGISTER,   /* the adder PAL registered (unregistered after the round) */
	SWEEP_PAL_UNREGISTER, /* ... unregistered (registered before the round) */
	SWEEP_VMCALL,         /* a DEBUG_HC_COUNTERS VMCALL (any hvkit image) */
	SWEEP_NMI_WINDOW,     /* two self-NMIs, the second sent by the first's handler:
	                         an NMI-window exit and injection (any hvkit image) */
	SWEEP_QUIESCE,        /* one quiesce round (DEBUG_HC_QUIESCE_STORM, n = 1) */
};

/* What the sweep sends (sweep_event). */
enum pal64_sweep_event { SWEEP_EVENT_NMI = 0, SWEEP_EVENT_INIT = 1 };

/* CPU 1's state in a round of the INIT variant, frozen by the INIT. */
enum sweep_ap_state {
	SWEEP_AP_IDLE = 0,     /* waiting for the round */
	SWEEP_AP_GO,           /* boot CPU: start the call (CPU 1 had not seen it yet) */
	SWEEP_AP_CALLING,      /* CPU 1 is in tv64_call */
	SWEEP_AP_RETURNED_OK,  /* the call returned TV_OK with the right result */
	SWEEP_AP_RETURNED_BAD, /* it returned anything else */
	SWEEP_AP_LOST,         /* boot CPU: CPU 1 never came back (the sweep ended) */
	SWEEP_AP_PING,         /* boot CPU: still running? CPU 1 answers IDLE */
};

/* Where the NMI of a round met the boot CPU's own code (stage.c records it). */
enum pal64_sweep_phase { SWEEP_BEFORE = 0, SWEEP_DURING = 1, SWEEP_AFTER = 2 };

/* Same values as enum case_result (guest/runner.h). */
enum pal64_result { PAL64_PASS = 0, PAL64_FAIL = 1, PAL64_SKIP = 2 };

#define PAL64_DETAIL_SIZE 160

struct pal64_shared {
	uint32_t case_id;    /* in: enum pal64_case */
	uint32_t result;     /* out: enum pal64_result */
	uint32_t tsc_per_ms; /* in: calibrated by the 32-bit guest */
	uint32_t ncpus;      /* in: CPUs in the MADT */
	/* pal_nmi: the boot CPU's 64-bit side and the 32-bit sender on slot 1. */
	volatile uint32_t nmi_go;    /* stage: the PAL is registered, start sending */
	volatile uint32_t nmi_stop;  /* stage: stop sending (the calls are over or failed) */
	volatile uint32_t nmi_done;  /* sender: finished */
	volatile uint32_t nmi_sent;  /* sender: NMI IPIs sent */
	volatile uint32_t nmi_lost;  /* sender: an NMI the handler did not count in time */
	volatile uint32_t nmi_count; /* stage: NMIs its 64-bit handler took (any case) */
	/* stage: of those, interrupted RIP in PAL code or foreign CR3; the last such RIP */
	volatile uint32_t nmi_in_pal;
	volatile uint32_t nmi_pal_rip;
	/* stage: NMIs taken at a PAL call's return address (mostly held during the PAL) */
	volatile uint32_t nmi_at_return;
	/* fuzz (guest/case_fuzz.c, pal64/fuzz64.h): in */
	uint32_t fuzz_seed;
	uint32_t fuzz_count;      /* steps to run */
	uint32_t fuzz_flags;      /* FUZZ_F_* */
	uint32_t fuzz_trace_from; /* print every step from this one (0: none) */
	uint32_t fuzz_other_apic; /* the other CPU's APIC id (FUZZ_F_TWO_CPUS) */
	/* fuzz: out */
	uint32_t fuzz_steps;
	uint32_t fuzz_fails;
	/* The other CPU's stream runs from fuzz_go to fuzz_stop, both set by the stage
	 * while its IDT is loaded (an NMI while the CPU switches modes would triple
	 * fault); the stage waits for fuzz_ap_done before it leaves long mode. */
	volatile uint32_t fuzz_go;
	volatile uint32_t fuzz_stop;
	volatile uint32_t fuzz_ap_done;
	/* sweep (case_sweep.c, pal64/case_sweep64.c): in from the command line */
	uint32_t sweep_path, sweep_rounds, sweep_first, sweep_step, sweep_nmis, sweep_gap;
	uint32_t sweep_passes;
	uint32_t sweep_pit; /* non-zero: a PIT one-shot of this count raises the NMI, not slot 1 */
	/* sweep_pit: slot 1 makes VM exits (CPUID) while the round runs, not a plain spin */
	uint32_t sweep_busy;
	/* sweep_event=init (pal64/case_sweep_init.c): CPU 1 calls the PAL, the boot CPU
	 * sends it an INIT and restarts it by SIPI. In: CPU 1's APIC id and the address
	 * of the trampoline's slot counter (guest/smp.h, ap_started) */
	uint32_t sweep_event, sweep_ap_apic, sweep_ap_started;
	/* stage -> CPU 1: the stage is loaded, enter it; CPU 1: entries so far; both:
	 * the round's state (enum sweep_ap_state) */
	volatile uint32_t sweep_ap_enter, sweep_ap_alive, sweep_ap_state;
	/* boot CPU -> slot 1: round r may start (r = 1, 2, ...); its delay in instructions */
	volatile uint32_t sweep_go, sweep_delay, sweep_stop;
	/* slot 1 -> boot CPU: the NMIs of round sweep_sent are out */
	volatile uint32_t sweep_sent;
	/* boot CPU: its phase now; the stage's NMI handler copies it at each NMI */
	volatile uint32_t sweep_phase, nmi_phase;
	/* boot CPU: its NMI handler sends it one more NMI (nmi-window), then clears it */
	volatile uint32_t sweep_chain;
	char detail[PAL64_DETAIL_SIZE]; /* out: FAIL / SKIP reason */
};

/* Bits 8-15: the variants that hit the known panics of issue 11 point 4, each on
 * (default: all; `avoid-known`: none; `known=N`: the bits of N). */
#define FUZZ_F_KNOWN_SHIFT   8
#define FUZZ_KNOWN_GETSEC    1u  /* GETSEC after setting CR4.SMXE */
#define FUZZ_KNOWN_ABOVE_4G  2u  /* reads above 4 GiB: EPT violation nothing maps */
#define FUZZ_KNOWN_LAPIC_RMW 4u  /* OR/XCHG/MOVS stores to the LAPIC page */
#define FUZZ_KNOWN_STRING_IO 8u  /* OUTSB to the intercepted port 0x8900 */
#define FUZZ_KNOWN_APIC_OFF  16u /* IA32_APIC_BASE.EN off for a moment (quiesce) */
#define FUZZ_KNOWN_ALL       31u
#define FUZZ_F_TWO_CPUS      2u /* the other CPU runs its own stream (32-bit, case_fuzz.c) */
#define FUZZ_F_RACE          4u /* ... the race's instead, in the stage (pal64/fuzz_race.c) */
#define FUZZ_F_NO_RING3      8u /* no ring-3 steps (pal64/fuzz_ring3.c) */

_Static_assert(PAL64_CASE_FUZZ_AP == PAL64_CASE_FUZZ_AP_ID, "entry64.S's number");
_Static_assert(sizeof(struct pal64_header) == 16, "same layout in -m32 and -m64");
_Static_assert(sizeof(struct pal64_shared) == 45 * 4 + PAL64_DETAIL_SIZE,
               "same layout in -m32 and -m64");

#endif /* __ASSEMBLER__ */
#endif /* GUEST_PAL64_PAL64_ABI_H */
