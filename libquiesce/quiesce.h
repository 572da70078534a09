/*
 * libquiesce: stop every other CPU in the hypervisor, run a function, resume.
 *
 * The signal is an NMI IPI: it reaches a CPU whatever it is doing. In VMX
 * non-root with "NMI exiting" set it causes a VM exit even when the guest runs
 * with interrupts off; in root mode it enters the host NMI handler. A request
 * slot per target CPU tells a quiesce NMI apart from the guest's own NMIs
 * (docs/design.md section 3).
 *
 * Who calls what (see README.md for the full contract):
 *   boot CPU     quiesce_init(cpus) before starting the APs;
 *   every CPU    quiesce_cpu_online(cpu) once it runs hypervisor code, and at
 *                every VM exit if it entered the guest in wait-for-SIPI;
 *                quiesce_cpu_offline(cpu) just before a VM entry into
 *                wait-for-SIPI (that state blocks NMIs, SDM Vol. 3C 27.7.1);
 *   NMI exit and root NMI handler   quiesce_handle_nmi(cpu) FIRST; if it
 *                returns false the NMI is the guest's;
 *   VM-exit path quiesce_poll(cpu) right before every VM entry;
 *   anyone       quiesce_run(fn, arg), or quiesce_begin() ... quiesce_end().
 */
#ifndef LIBQUIESCE_QUIESCE_H
#define LIBQUIESCE_QUIESCE_H

#include <stdbool.h>
#include <stdint.h>

/* Slots are per CPU index; rt/layout.h's HV_MAX_CPUS must not exceed this. */
#define QUIESCE_MAX_CPUS 8u

/*
 * The platform pieces, injectable so host tests can run simulated CPUs as
 * threads. quiesce_init() installs the real ones (libsmp's lapic_send_nmi,
 * rt's this_cpu_index, hw_pause, hv_panic); the core logic is the same code.
 */
struct quiesce_ops {
	void (*send_nmi)(uint32_t cpu); /* NMI IPI to CPU *index* `cpu` */
	uint32_t (*this_cpu)(void);     /* index of the calling CPU */
	void (*relax)(void);            /* one step of a spin-wait (pause) */
	/*
	 * A target has not acknowledged round `round` after stuck_spins relax
	 * steps. Called with the other targets parked: it must not take locks
	 * they may hold (the production hook panics, which breaks the console
	 * lock and never resumes anyone). If it returns, the wait goes on.
	 */
	void (*stuck)(uint32_t cpu, uint64_t round);
	/* Re-send the NMI to a silent target every kick_spins steps (0 = never). */
	uint64_t kick_spins;
	uint64_t stuck_spins; /* 0 = never call stuck */
};

/* Boot CPU, before any other CPU runs: every CPU starts offline. */
void quiesce_init(uint32_t cpu_count);
/* The same with explicit platform pieces (host tests). */
void quiesce_init_ops(uint32_t cpu_count, const struct quiesce_ops *ops);

/*
 * A CPU takes part in rounds only while online. Going online answers a request
 * already posted; going offline first answers any pending request, and after it
 * the CPU may only enter the guest. Both are cheap when nothing changes.
 */
void quiesce_cpu_online(uint32_t cpu);
void quiesce_cpu_offline(uint32_t cpu);

/*
 * quiesce_begin() returns with every other online CPU parked at an NMI or
 * VM-exit boundary; quiesce_end() resumes them. Between the two only the
 * calling CPU runs hypervisor code, and it must not take a lock another CPU
 * may hold when an NMI lands: not hv_printf (console lock), not palloc, no
 * spinlock. Print after quiesce_end(). Nested begin/end on the same CPU is
 * allowed (only the outermost pair stops and resumes CPUs). Never call from
 * an NMI handler.
 */
void quiesce_begin(void);
void quiesce_end(void);
/* quiesce_begin(); fn(arg); quiesce_end(); */
void quiesce_run(void (*fn)(void *), void *arg);

/*
 * Call FIRST for every NMI this CPU sees: the NMI-exit handler and the host
 * NMI handler. Parks here if a request is pending (touches only atomics, so it
 * is NMI-handler safe). Returns true when the NMI was a quiesce NMI (consume
 * it), false when it is the guest's (deliver it as usual).
 */
bool quiesce_handle_nmi(uint32_t cpu);

/*
 * Call before every VM entry (and in any long root-mode wait loop): parks if a
 * request is pending whose NMI has not been seen yet, e.g. because NMIs were
 * blocked after an NMI exit. The late NMI is still recognised afterwards.
 */
void quiesce_poll(uint32_t cpu);

/*
 * A round that cannot complete (a CPU never answers, or this CPU cannot send
 * its NMIs): from the quiescer only, in its stuck hook. Releases the CPUs
 * already parked and frees the round lock, so that the caller can stop the
 * machine without waiting on locks they hold. The caller must not return into
 * code that thinks the other CPUs are stopped.
 */
void quiesce_abandon_round(void);

/*
 * The production platform's answer to a round that cannot complete: with no
 * handler it panics; with one it abandons the round and calls `stop` with the
 * reason (core/quiesce_wiring.c: stop the guest cleanly, which is what makes
 * it happen: its local APIC disabled). `stop` must not return.
 */
void quiesce_set_stop_handler(void (*stop)(const char *why));
/*
 * The production platform's stuck limit in relax steps (QUIESCE_STUCK_SPINS
 * by default, tens of seconds to minutes): the boot option
 * quiesce_stuck_spins= (core/quiesce_wiring.c) shortens it so that a test of a
 * round that cannot complete stops in seconds. Before the first round.
 */
void quiesce_platform_set_stuck_spins(uint64_t stuck_spins);
#ifdef HV_HOST
/* Host tests: the production platform's kick and stuck limits, in relax steps
 * (QUIESCE_KICK_SPINS / QUIESCE_STUCK_SPINS are minutes of host time). */
void quiesce_platform_set_spins(uint64_t kick_spins, uint64_t stuck_spins);
#endif

/* Counters. */
struct quiesce_cpu_stats {
	uint64_t nmis_sent;     /* quiesce NMIs sent to this CPU */
	uint64_t nmis_consumed; /* NMIs quiesce_handle_nmi() reported as quiesce */
	uint64_t guest_nmis;    /* NMIs it reported as the guest's */
	uint64_t parks;         /* times this CPU was parked (any path) */
	uint64_t parks_by_poll; /* ... of which from quiesce_poll/online/offline */
};
uint64_t quiesce_rounds(void); /* completed outermost rounds */
uint64_t quiesce_nmis_consumed(uint32_t cpu);
void quiesce_cpu_stats(uint32_t cpu, struct quiesce_cpu_stats *out);

#endif /* LIBQUIESCE_QUIESCE_H */
