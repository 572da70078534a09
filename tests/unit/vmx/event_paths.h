/*
 * The event-interleaving harness: every interleaving, up to LEN events, of
 *   {NMI arrives in root, NMI arrives in the guest (NMI exit), app blocks,
 *    app unblocks, the guest's NMI blocking ends (NMI-window exit if asked),
 *    VM exit + entry, quiesce request, quiesce release}
 * run against the real libvmx event code and the real libquiesce, wired by
 * core/quiesce_wiring.c (its NMI filter and transition hooks), and compared
 * with a reference model of what bare-metal hardware would deliver.
 *
 * The machine. CPU 0 runs the guest under libvmx (fake VMCS); CPU 1 is a
 * quiescer. Both are coroutines (ucontext) so that libquiesce's spin-waits
 * (ops->relax) yield to the scheduler here, which feeds the next events: a
 * CPU 0 parked by a quiesce round keeps taking NMIs (latched in its local APIC
 * while NMIs are blocked in root, or taken by the host NMI handler when not)
 * until the release. The local APIC holds one NMI; a second one merges.
 * A quiesce NMI is "in flight" after the request; it lands with the next
 * guest NMI (and merges with it), before the next plain exit, or after the
 * next VM entry of any other event - so a quiesce_poll() may see the request
 * before its NMI arrives.
 *
 * The reference. Deliveries to CPU 0 are classified by the documented rule
 * (libquiesce/README.md): a delivery while a quiesce NMI is owed is the
 * quiescer's, any other is the guest's. Guest NMIs then go through a model of
 * the guest's virtual hardware: delivered at once if the guest is not in its
 * NMI handler and the app allows NMIs, else one is held and the rest merge.
 *
 * Checked on every path, after every step:
 *   - an NMI is injected only when the app allows it and the guest is not in
 *     its NMI handler (never into a PAL);
 *   - no NMI window while the app blocks, none when nothing is pending;
 *   - libvmx delivered exactly what the reference delivered (no more, no
 *     fewer, not later): the guest's NMI handler entries match;
 *   - libquiesce consumed exactly the deliveries the reference gave it;
 * and at the end, after releasing, unblocking and enough entries: every guest
 * NMI not merged in the local APIC reached the libvmx side, nothing is
 * pending, no window is open, every quiesce NMI sent was consumed.
 *
 * Shared by test_event_interleavings.c (every path) and
 * test_event_two_root_nmis.c (one path by hand). A path: start_path(), then
 * event() and check_step() per event, then finish_path().
 */
#ifndef TESTS_UNIT_VMX_EVENT_PATHS_H
#define TESTS_UNIT_VMX_EVENT_PATHS_H

#include <stdbool.h>

enum ev {
	E_NMI_ROOT,    /* a guest NMI arrives while CPU 0 is in root (a long CPUID exit) */
	E_NMI_GUEST,   /* a guest NMI arrives while the guest runs: NMI exit */
	E_APP_BLOCK,   /* an exit in which the app starts saying no (a PAL starts) */
	E_APP_UNBLOCK, /* an exit in which the app says yes again (PAL exit) */
	E_WINDOW,      /* the guest IRETs from its NMI handler: NMI-window exit if asked */
	E_ENTRY,       /* a plain VM exit (CPUID) and VM entry */
	E_Q_REQUEST,   /* CPU 1 starts a quiesce round */
	E_Q_RELEASE,   /* CPU 1 ends its round (once every CPU parked) */
	E_N
};

#ifndef LEN
#define LEN 6
#endif

/* Machine and reference state, reset per path. */
struct path_state {
	/* CPU 0's local APIC: one NMI latched; how many were merged into it. */
	int latch, hw_merges;
	int q_inflight;    /* quiesce NMI sent, not yet at the local APIC */
	bool root_blocked; /* CPU 0 in root with NMIs blocked (NMI exit / handler) */
	bool root_stay;    /* CPU 0 in root in a long exit (E_NMI_ROOT), not yet entered */
	bool in_handler;   /* the guest runs its NMI handler (virtual-NMI blocking) */
	int raised_guest;  /* guest NMIs raised */
	int delivered;     /* NMIs libvmx injected (guest handler entries) */
	int quiesce_sent;  /* NMIs libquiesce sent to CPU 0 */
	/* reference */
	bool r_owed;
	int r_consumed, r_guest, r_delivered, r_latched, r_merged;
	bool r_in_handler;
};
extern struct path_state m;
/* The events of the current path (printed when a check fails). */
extern int cur_seq[LEN];
/* Events that found CPU 0 parked in a quiesce round (it runs no exit of its own). */
extern int skipped;
/* The coroutine stacks of CPU 0 and CPU 1 (allocated by setup_machine()). */
extern char *stacks[2];

void print_path(void);

/* Checks that name the path when they fail (cmocka's own would not). */
#define CHECK(c)                                                                                   \
	do {                                                                                       \
		if (!(c)) {                                                                        \
			print_path();                                                              \
			fail_msg("check failed: %s (line %d)", #c, __LINE__);                      \
		}                                                                                  \
	} while (0)
#define CHECK_EQ(a, b)                                                                             \
	do {                                                                                       \
		long long a_ = (long long)(a), b_ = (long long)(b);                                \
		if (a_ != b_) {                                                                    \
			print_path();                                                              \
			fail_msg("%s = %lld but %s = %lld (line %d)", #a, a_, #b, b_, __LINE__);   \
		}                                                                                  \
	} while (0)

/* The guest on CPU 0 under libvmx with core's quiesce wiring (once per test). */
void setup_machine(void);
/* A fresh path: guest state, libquiesce, both coroutines at their first wait. */
void start_path(void);
/* One event (enum ev) and whatever the spinning CPUs do after it. */
void event(enum ev e);
/* The per-step checks (at a step boundary: CPU 0 in the guest, not parked). */
void check_step(void);
/* Release, unblock, let the guest leave its handler, enter; then the end checks. */
void finish_path(void);

#endif
