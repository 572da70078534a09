/*
 * Simulated CPUs for the libquiesce tests: one pthread per CPU, and SIGUSR1 as
 * its NMI. The model fits the hardware closely where it matters:
 *   - a signal interrupts the thread at any instruction, even inside
 *     quiesce_poll() or the lock wait loop of quiesce_begin();
 *   - while the handler runs, SIGUSR1 is blocked (NMI blocking until IRET);
 *     sim_block_nmis() models the blocked window after an NMI exit;
 *   - a standard signal that is already pending is not queued twice: two NMIs
 *     that meet while one is latched merge, as in the local APIC.
 * The handler calls quiesce_handle_nmi() and counts the NMIs it reports as the
 * guest's (what a hypervisor would deliver to the guest).
 */
#ifndef TESTS_UNIT_QUIESCE_SIM_H
#define TESTS_UNIT_QUIESCE_SIM_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "libquiesce/quiesce.h"

#define SIM_MAX_CPUS QUIESCE_MAX_CPUS

struct sim_cpu {
	pthread_t thread;
	bool has_thread;          /* a guest_loop thread (not the test's main thread) */
	uint64_t work;            /* guest progress, bumped by guest_loop */
	uint64_t guest_nmis;      /* NMIs the handler passed on to the "guest" */
	uint64_t ipis;            /* send_nmi calls aimed at this CPU */
	uint64_t relaxes;         /* relax steps this CPU took (spin-waits) */
	uint32_t drop_next;       /* send_nmi drops this many NMIs (lost IPI) */
	uint32_t poll_in_loop;    /* guest_loop polls every iteration (VM entries) */
	uint32_t quiesce_rounds;  /* guest_loop runs this many rounds itself */
	void (*round_fn)(void *); /* ... with this function */
};

extern struct sim_cpu sim[SIM_MAX_CPUS];
/* Which simulated CPU the calling thread is. */
extern __thread uint32_t sim_self;

/* Ops over the simulation; kick and stuck settings are the test's. */
extern struct quiesce_ops sim_ops;
/* sim_ops.send_nmi: pthread_kill(SIGUSR1), unless drop_next says to lose it. */
void sim_send_nmi(uint32_t cpu);

/* Resets sim[], installs the NMI handler and quiesce_init_ops(n, &sim_ops). */
void sim_setup(uint32_t cpu_count);
/* The calling (main) thread becomes CPU `cpu`. */
void sim_become(uint32_t cpu);
/* Starts a thread running guest_loop as CPU `cpu` (it goes online first). */
void sim_start(uint32_t cpu);
/* Stops and joins every started thread. */
void sim_stop_all(void);

void sim_block_nmis(void);
void sim_unblock_nmis(void); /* a pending NMI is delivered here */
/* The test fails (abort) if the process runs longer than this from now. */
void sim_watchdog(unsigned seconds);
/* Spins (yielding) until *p >= value; false after ~5 s. */
bool sim_wait_u64(const uint64_t *p, uint64_t value);
bool sim_wait_u32(const uint32_t *p, uint32_t value);

uint64_t sim_load(const uint64_t *p);

#endif /* TESTS_UNIT_QUIESCE_SIM_H */
