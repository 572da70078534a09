/*
 * Quiesce rounds with simulated CPUs (threads, SIGUSR1 as NMI; see sim.h):
 * everyone parks, the function runs once while they are parked, everyone
 * resumes; two CPUs quiescing at once; offline CPUs; nesting; a parked CPU
 * holding a lock.
 */
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "libquiesce/quiesce.h"
#include "tests/unit/quiesce/sim.h"

static uint32_t ncpus;
static uint32_t fn_calls;
static uint32_t fn_saw_motion; /* rounds where some parked CPU still ran */

/*
 * The round function: every other CPU must be stopped. Their guest loops bump
 * `work` continuously, so a CPU that was not parked shows up as a change over
 * a few milliseconds.
 */
static void check_everyone_parked(void *arg)
{
	(void)arg;
	uint64_t before[SIM_MAX_CPUS];

	__atomic_fetch_add(&fn_calls, 1, __ATOMIC_SEQ_CST);
	for (uint32_t i = 1; i < ncpus; i++)
		before[i] = sim_load(&sim[i].work);
	usleep(3000);
	for (uint32_t i = 1; i < ncpus; i++) {
		if (sim_load(&sim[i].work) != before[i])
			__atomic_fetch_add(&fn_saw_motion, 1, __ATOMIC_SEQ_CST);
	}
}

static int setup(void **state)
{
	(void)state;
	fn_calls = 0;
	fn_saw_motion = 0;
	sim_watchdog(40);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	sim_stop_all();
	alarm(0);
	return 0;
}

static void run_rounds(uint32_t cpus, uint32_t rounds)
{
	ncpus = cpus;
	sim_setup(cpus);
	quiesce_cpu_online(0);
	for (uint32_t i = 1; i < cpus; i++) {
		sim_start(i);
		assert_true(sim_wait_u64(&sim[i].work, 1));
	}
	for (uint32_t r = 0; r < rounds; r++) {
		quiesce_run(check_everyone_parked, NULL);
		/* Released: every CPU runs again before the next round. */
		for (uint32_t i = 1; i < cpus; i++) {
			uint64_t w = sim_load(&sim[i].work);
			assert_true(sim_wait_u64(&sim[i].work, w + 1));
		}
	}
	assert_int_equal(fn_calls, rounds);
	assert_int_equal(fn_saw_motion, 0);
	assert_int_equal(quiesce_rounds(), rounds);
	for (uint32_t i = 1; i < cpus; i++) {
		struct quiesce_cpu_stats st;

		quiesce_cpu_stats(i, &st);
		/* One NMI per round, each consumed as quiesce, none passed on. */
		assert_int_equal(st.nmis_sent, rounds);
		assert_int_equal(sim_load(&sim[i].ipis), rounds);
		assert_int_equal(st.nmis_consumed, rounds);
		assert_int_equal(quiesce_nmis_consumed(i), rounds);
		assert_int_equal(st.parks, rounds);
		assert_int_equal(st.guest_nmis, 0);
		assert_int_equal(sim_load(&sim[i].guest_nmis), 0);
	}
}

static void one_cpu_runs_fn_without_nmis(void **state)
{
	(void)state;
	run_rounds(1, 3);
	assert_int_equal(sim_load(&sim[0].ipis), 0);
}

static void two_cpus(void **state)
{
	(void)state;
	run_rounds(2, 10);
}

static void four_cpus(void **state)
{
	(void)state;
	run_rounds(4, 10);
}

/* The quiescer itself is never sent an NMI nor parked. */
static void quiescer_is_not_a_target(void **state)
{
	(void)state;
	run_rounds(3, 2);
	struct quiesce_cpu_stats st;

	quiesce_cpu_stats(0, &st);
	assert_int_equal(st.nmis_sent, 0);
	assert_int_equal(st.parks, 0);
}

/* ---- several quiescers at once ---- */

static uint32_t in_fn;
static uint32_t overlaps;

static void exclusive_fn(void *arg)
{
	(void)arg;
	if (__atomic_fetch_add(&in_fn, 1, __ATOMIC_SEQ_CST) != 0)
		__atomic_fetch_add(&overlaps, 1, __ATOMIC_SEQ_CST);
	__atomic_fetch_add(&fn_calls, 1, __ATOMIC_SEQ_CST);
	sched_yield();
	__atomic_fetch_sub(&in_fn, 1, __ATOMIC_SEQ_CST);
}

static void all_quiesce(uint32_t cpus, uint32_t rounds_each, bool nmis_blocked)
{
	sim_setup(cpus);
	in_fn = 0;
	overlaps = 0;
	for (uint32_t i = 1; i < cpus; i++) {
		sim[i].quiesce_rounds = rounds_each;
		sim[i].round_fn = exclusive_fn;
		/*
		 * With NMIs blocked, only polls answer requests: the one in each
		 * guest loop (a VM entry) and the one in quiesce_begin's wait for
		 * the lock. Without the latter, A waits for B's lock while B waits
		 * for A's ack, and the watchdog fires.
		 */
		sim[i].poll_in_loop = nmis_blocked;
	}
	if (nmis_blocked)
		sim_block_nmis(); /* inherited by the threads started below */
	for (uint32_t i = 1; i < cpus; i++)
		sim_start(i);
	uint64_t expected = (uint64_t)rounds_each * (cpus - 1);

	assert_true(sim_wait_u32(&fn_calls, (uint32_t)expected));
	sim_stop_all();
	assert_int_equal(fn_calls, expected);
	assert_int_equal(quiesce_rounds(), expected);
	assert_int_equal(overlaps, 0);
	if (nmis_blocked)
		sim_unblock_nmis();
	/* Every quiesce NMI was consumed as such; the guest saw none of them. */
	for (uint32_t i = 1; i < cpus; i++) {
		struct quiesce_cpu_stats st;

		quiesce_cpu_stats(i, &st);
		assert_int_equal(sim_load(&sim[i].guest_nmis), 0);
		assert_int_equal(st.guest_nmis, 0);
		/* Late NMIs included: each one sent was consumed exactly once. */
		assert_int_equal(st.nmis_consumed, st.nmis_sent);
		assert_true(st.parks > 0);
	}
}

static void two_cpus_quiesce_at_once(void **state)
{
	(void)state;
	all_quiesce(3, 100, false);
}

static void three_cpus_quiesce_at_once(void **state)
{
	(void)state;
	all_quiesce(4, 60, false);
}

static void concurrent_quiescers_answer_by_polling(void **state)
{
	(void)state;
	all_quiesce(3, 100, true);
}

/*
 * The deadlock the lock wait must avoid, forced: B calls quiesce_begin() just
 * after A took the lock and before A posts B's request, with NMIs blocked on
 * B. A then waits for B's ack while B waits for A's lock, unless B answers by
 * polling while it waits.
 */
static uint32_t b_go, b_done, b_triggered, b_online;

static void count_fn(void *arg)
{
	(void)arg;
	__atomic_fetch_add(&fn_calls, 1, __ATOMIC_SEQ_CST);
}

static void *cpu_b(void *arg)
{
	(void)arg;
	sim_become(2);
	sim_block_nmis();
	quiesce_cpu_online(2);
	__atomic_store_n(&b_online, 1, __ATOMIC_SEQ_CST);
	while (!__atomic_load_n(&b_go, __ATOMIC_SEQ_CST))
		sched_yield();
	quiesce_run(count_fn, NULL);
	__atomic_store_n(&b_done, 1, __ATOMIC_SEQ_CST);
	sim_unblock_nmis();
	quiesce_cpu_offline(2);
	return NULL;
}

/* A posts in CPU order: at CPU 1, let B start and wait until B spins. */
static void send_nmi_then_let_b_in(uint32_t cpu)
{
	sim_send_nmi(cpu);
	if (cpu == 1 && !b_triggered) {
		b_triggered = 1;
		__atomic_store_n(&b_go, 1, __ATOMIC_SEQ_CST);
		assert_true(sim_wait_u64(&sim[2].relaxes, 1));
	}
}

static void *cpu_a(void *arg)
{
	(void)arg;
	sim_become(0);
	quiesce_cpu_online(0);
	quiesce_run(count_fn, NULL);
	quiesce_cpu_offline(0);
	return NULL;
}

static void waiting_for_the_lock_answers_the_holder(void **state)
{
	(void)state;
	pthread_t a, b;

	sim_setup(3);
	b_go = b_done = b_triggered = b_online = 0;
	sim_ops.send_nmi = send_nmi_then_let_b_in;
	sim_start(1); /* C: an ordinary target */
	assert_true(sim_wait_u64(&sim[1].work, 1));
	pthread_create(&b, NULL, cpu_b, NULL);
	assert_true(sim_wait_u32(&b_online, 1));
	pthread_create(&a, NULL, cpu_a, NULL);
	pthread_join(a, NULL);
	pthread_join(b, NULL);
	assert_int_equal(b_done, 1);
	assert_int_equal(fn_calls, 2);
	assert_int_equal(quiesce_rounds(), 2);
	struct quiesce_cpu_stats st;

	quiesce_cpu_stats(2, &st);
	assert_int_equal(st.parks_by_poll, 1); /* from the lock wait */
}

/* ---- offline CPUs ---- */

static uint32_t release_fn;
static uint32_t fn_started;

static void wait_for_release_fn(void *arg)
{
	(void)arg;
	__atomic_store_n(&fn_started, 1, __ATOMIC_SEQ_CST);
	while (!__atomic_load_n(&release_fn, __ATOMIC_SEQ_CST))
		usleep(500);
	__atomic_fetch_add(&fn_calls, 1, __ATOMIC_SEQ_CST);
}

static void *quiesce_from_cpu1(void *arg)
{
	(void)arg;
	sim_become(1);
	quiesce_cpu_online(1);
	quiesce_run(wait_for_release_fn, NULL);
	return NULL;
}

/* A CPU in wait-for-SIPI (offline) is not waited for and gets no NMI. */
static void offline_cpu_is_skipped(void **state)
{
	(void)state;
	ncpus = 3;
	sim_setup(3);
	sim_start(1); /* CPU 2 never comes online */
	assert_true(sim_wait_u64(&sim[1].work, 1));
	quiesce_run(check_everyone_parked, NULL);
	assert_int_equal(quiesce_rounds(), 1);
	assert_int_equal(sim_load(&sim[2].ipis), 0);
	assert_int_equal(sim_load(&sim[1].ipis), 1);
}

static void *release_fn_later(void *arg)
{
	(void)arg;
	usleep(30000);
	__atomic_store_n(&release_fn, 1, __ATOMIC_SEQ_CST);
	return NULL;
}

static uint64_t now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

/* Coming online during a round parks at once, until the round ends. */
static void cpu_coming_online_mid_round_parks(void **state)
{
	(void)state;
	pthread_t q, r;

	sim_setup(3);
	release_fn = 0;
	fn_started = 0;
	pthread_create(&q, NULL, quiesce_from_cpu1, NULL);
	assert_true(sim_wait_u32(&fn_started, 1));
	sim_become(2);
	uint64_t t0 = now_us();

	pthread_create(&r, NULL, release_fn_later, NULL);
	quiesce_cpu_online(2); /* returns only after the round is released */
	assert_int_equal(__atomic_load_n(&fn_calls, __ATOMIC_SEQ_CST), 1);
	assert_true(now_us() - t0 >= 20000);
	pthread_join(q, NULL);
	pthread_join(r, NULL);
	struct quiesce_cpu_stats st;

	quiesce_cpu_stats(2, &st);
	assert_int_equal(st.parks_by_poll, 1);
	assert_int_equal(st.nmis_sent, 0);
	sim_become(0);
}

/* Going offline while a quiescer waits for us answers it first. */
static void cpu_going_offline_answers_pending_request(void **state)
{
	(void)state;
	pthread_t q;

	sim_setup(3);
	release_fn = 1;
	sim_become(2);
	sim_block_nmis(); /* the NMI cannot reach us: only the poll can */
	quiesce_cpu_online(2);
	pthread_create(&q, NULL, quiesce_from_cpu1, NULL);
	assert_true(sim_wait_u64(&sim[2].ipis, 1));
	quiesce_cpu_offline(2);
	pthread_join(q, NULL);
	assert_int_equal(fn_calls, 1);
	sim_unblock_nmis(); /* the late NMI is recognised as quiesce */
	struct quiesce_cpu_stats st;

	quiesce_cpu_stats(2, &st);
	assert_int_equal(st.parks_by_poll, 1);
	assert_int_equal(st.nmis_consumed, 1);
	assert_int_equal(sim_load(&sim[2].guest_nmis), 0);
	sim_become(0);
}

/* ---- nesting and locks ---- */

static void nested_begin_is_one_round(void **state)
{
	(void)state;
	ncpus = 2;
	sim_setup(2);
	sim_start(1);
	assert_true(sim_wait_u64(&sim[1].work, 1));
	quiesce_begin();
	quiesce_run(check_everyone_parked, NULL);
	check_everyone_parked(NULL); /* still parked after the inner end */
	quiesce_end();
	assert_int_equal(fn_saw_motion, 0);
	assert_int_equal(quiesce_rounds(), 1);
	assert_int_equal(sim_load(&sim[1].ipis), 1);
}

/*
 * The console-lock rule: a CPU can park while holding a lock (an NMI inside
 * hv_printf). The round itself takes no lock it could hold, so it completes;
 * inside it the lock stays taken (so the round function must not wait for
 * it); after quiesce_end() the holder finishes and the lock is free again.
 */
static uint32_t fake_console_lock;
static uint32_t holder_inside;
static uint32_t fn_saw_lock_taken;

static void *hold_lock_until_nmi(void *arg)
{
	(void)arg;
	sim_become(1);
	quiesce_cpu_online(1);
	__atomic_store_n(&fake_console_lock, 1, __ATOMIC_SEQ_CST);
	__atomic_store_n(&holder_inside, 1, __ATOMIC_SEQ_CST);
	/* "Printing": until the NMI has come and gone. */
	while (quiesce_nmis_consumed(1) == 0)
		sched_yield();
	__atomic_store_n(&fake_console_lock, 0, __ATOMIC_SEQ_CST);
	return NULL;
}

static void try_lock_fn(void *arg)
{
	(void)arg;
	uint32_t expected = 0;

	if (!__atomic_compare_exchange_n(&fake_console_lock, &expected, 1, false, __ATOMIC_SEQ_CST,
	                                 __ATOMIC_SEQ_CST))
		fn_saw_lock_taken = 1;
	else
		__atomic_store_n(&fake_console_lock, 0, __ATOMIC_SEQ_CST);
}

static void round_completes_while_parked_cpu_holds_a_lock(void **state)
{
	(void)state;
	pthread_t h;

	sim_setup(2);
	fake_console_lock = 0;
	holder_inside = 0;
	fn_saw_lock_taken = 0;
	pthread_create(&h, NULL, hold_lock_until_nmi, NULL);
	assert_true(sim_wait_u32(&holder_inside, 1));
	quiesce_run(try_lock_fn, NULL);
	assert_int_equal(fn_saw_lock_taken, 1);
	pthread_join(h, NULL);
	assert_int_equal(fake_console_lock, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(one_cpu_runs_fn_without_nmis, setup, teardown),
	    cmocka_unit_test_setup_teardown(two_cpus, setup, teardown),
	    cmocka_unit_test_setup_teardown(four_cpus, setup, teardown),
	    cmocka_unit_test_setup_teardown(quiescer_is_not_a_target, setup, teardown),
	    cmocka_unit_test_setup_teardown(two_cpus_quiesce_at_once, setup, teardown),
	    cmocka_unit_test_setup_teardown(three_cpus_quiesce_at_once, setup, teardown),
	    cmocka_unit_test_setup_teardown(concurrent_quiescers_answer_by_polling, setup,
	                                    teardown),
	    cmocka_unit_test_setup_teardown(waiting_for_the_lock_answers_the_holder, setup,
	                                    teardown),
	    cmocka_unit_test_setup_teardown(offline_cpu_is_skipped, setup, teardown),
	    cmocka_unit_test_setup_teardown(cpu_coming_online_mid_round_parks, setup, teardown),
	    cmocka_unit_test_setup_teardown(cpu_going_offline_answers_pending_request, setup,
	                                    teardown),
	    cmocka_unit_test_setup_teardown(nested_begin_is_one_round, setup, teardown),
	    cmocka_unit_test_setup_teardown(round_completes_while_parked_cpu_holds_a_lock, setup,
	                                    teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
