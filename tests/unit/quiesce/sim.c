/* Simulated CPUs for the libquiesce tests (see sim.h). */
#include "tests/unit/quiesce/sim.h"

#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

struct sim_cpu sim[SIM_MAX_CPUS];
__thread uint32_t sim_self = 0xffffffffu;

static uint32_t stop;

static uint32_t sim_this_cpu(void)
{
	return sim_self;
}

static void sim_relax(void)
{
	if (sim_self < SIM_MAX_CPUS)
		__atomic_fetch_add(&sim[sim_self].relaxes, 1, __ATOMIC_SEQ_CST);
	sched_yield();
}

void sim_send_nmi(uint32_t cpu)
{
	__atomic_fetch_add(&sim[cpu].ipis, 1, __ATOMIC_SEQ_CST);
	if (__atomic_load_n(&sim[cpu].drop_next, __ATOMIC_SEQ_CST) > 0) {
		__atomic_fetch_sub(&sim[cpu].drop_next, 1, __ATOMIC_SEQ_CST);
		return;
	}
	pthread_kill(sim[cpu].thread, SIGUSR1);
}

struct quiesce_ops sim_ops;

/* The "NMI handler": what the hypervisor's handler does first. */
static void nmi_signal(int sig)
{
	(void)sig;
	uint32_t cpu = sim_self;

	if (!quiesce_handle_nmi(cpu))
		__atomic_fetch_add(&sim[cpu].guest_nmis, 1, __ATOMIC_SEQ_CST);
}

static void watchdog_fired(int sig)
{
	(void)sig;
	static const char msg[] = "quiesce test: watchdog expired (deadlock?)\n";
	ssize_t r = write(2, msg, sizeof(msg) - 1);
	(void)r;
	_exit(3);
}

void sim_watchdog(unsigned seconds)
{
	signal(SIGALRM, watchdog_fired);
	alarm(seconds);
}

void sim_setup(uint32_t cpu_count)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = nmi_signal;
	sa.sa_flags = SA_RESTART;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGUSR1, &sa, NULL);

	memset(sim, 0, sizeof(sim));
	__atomic_store_n(&stop, 0, __ATOMIC_SEQ_CST);
	sim_ops = (struct quiesce_ops){
	    .send_nmi = sim_send_nmi,
	    .this_cpu = sim_this_cpu,
	    .relax = sim_relax,
	};
	quiesce_init_ops(cpu_count, &sim_ops);
	sim_become(0);
	sim_unblock_nmis();
}

void sim_become(uint32_t cpu)
{
	sim_self = cpu;
	sim[cpu].thread = pthread_self();
}

static void *guest_loop(void *arg)
{
	uint32_t cpu = (uint32_t)(uintptr_t)arg;
	struct sim_cpu *c = &sim[cpu];

	sim_self = cpu;
	sim[cpu].thread = pthread_self(); /* before anyone can send us an NMI */
	quiesce_cpu_online(cpu);
	while (!__atomic_load_n(&stop, __ATOMIC_SEQ_CST)) {
		__atomic_fetch_add(&c->work, 1, __ATOMIC_SEQ_CST);
		if (c->poll_in_loop)
			quiesce_poll(cpu);
		if (c->quiesce_rounds > 0) {
			quiesce_run(c->round_fn, NULL);
			c->quiesce_rounds--;
		}
		sched_yield();
	}
	/* Take any NMI still latched, then leave the round protocol. */
	sim_unblock_nmis();
	quiesce_cpu_offline(cpu);
	return NULL;
}

void sim_start(uint32_t cpu)
{
	sim[cpu].has_thread = true;
	pthread_create(&sim[cpu].thread, NULL, guest_loop, (void *)(uintptr_t)cpu);
}

void sim_stop_all(void)
{
	__atomic_store_n(&stop, 1, __ATOMIC_SEQ_CST);
	for (uint32_t i = 0; i < SIM_MAX_CPUS; i++) {
		if (sim[i].has_thread)
			pthread_join(sim[i].thread, NULL);
		sim[i].has_thread = false;
	}
}

static void set_nmi_mask(int how)
{
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	pthread_sigmask(how, &set, NULL);
}

void sim_block_nmis(void)
{
	set_nmi_mask(SIG_BLOCK);
}

void sim_unblock_nmis(void)
{
	set_nmi_mask(SIG_UNBLOCK);
}

uint64_t sim_load(const uint64_t *p)
{
	return __atomic_load_n(p, __ATOMIC_SEQ_CST);
}

bool sim_wait_u64(const uint64_t *p, uint64_t value)
{
	for (int i = 0; i < 5000; i++) {
		if (__atomic_load_n(p, __ATOMIC_SEQ_CST) >= value)
			return true;
		usleep(1000);
	}
	return false;
}

bool sim_wait_u32(const uint32_t *p, uint32_t value)
{
	for (int i = 0; i < 5000; i++) {
		if (__atomic_load_n(p, __ATOMIC_SEQ_CST) >= value)
			return true;
		usleep(1000);
	}
	return false;
}
