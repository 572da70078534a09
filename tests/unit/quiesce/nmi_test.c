/*
 * Telling quiesce NMIs from guest NMIs (SIGUSR1 as NMI; see sim.h): an empty
 * slot means the guest's; a quiesce NMI is never passed on, even when it is
 * latched behind NMI blocking and the request was answered by quiesce_poll();
 * NMIs merged in the latch; a lost NMI is re-sent; a silent CPU is reported.
 *
 * In these tests the main thread plays the target CPU 1 and a second thread
 * plays the quiescer, CPU 0.
 */
#include <sched.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <unistd.h>

#include <cmocka.h>

#include "libquiesce/quiesce.h"
#include "tests/unit/quiesce/sim.h"

static uint32_t fn_calls;
static uint32_t quiescer_done;
static uint32_t rounds_to_run;

static void count_fn(void *arg)
{
	(void)arg;
	__atomic_fetch_add(&fn_calls, 1, __ATOMIC_SEQ_CST);
}

static void *quiescer(void *arg)
{
	(void)arg;
	sim_become(0);
	quiesce_cpu_online(0);
	for (uint32_t i = 0; i < rounds_to_run; i++)
		quiesce_run(count_fn, NULL);
	__atomic_store_n(&quiescer_done, 1, __ATOMIC_SEQ_CST);
	return NULL;
}

static pthread_t start_quiescer(uint32_t rounds)
{
	pthread_t t;

	rounds_to_run = rounds;
	quiescer_done = 0;
	pthread_create(&t, NULL, quiescer, NULL);
	return t;
}

static int setup(void **state)
{
	(void)state;
	fn_calls = 0;
	sim_watchdog(30);
	sim_setup(2);
	sim_become(1);
	quiesce_cpu_online(1);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	sim_unblock_nmis();
	sim_stop_all();
	alarm(0);
	return 0;
}

static void stats(uint32_t cpu, struct quiesce_cpu_stats *st)
{
	quiesce_cpu_stats(cpu, st);
}

/* No request pending: the NMI is the guest's, both called directly and raised. */
static void guest_nmi_is_reported_as_guest(void **state)
{
	(void)state;
	struct quiesce_cpu_stats st;

	assert_false(quiesce_handle_nmi(1));
	raise(SIGUSR1); /* delivered to this thread before raise() returns */
	assert_int_equal(sim_load(&sim[1].guest_nmis), 1);
	stats(1, &st);
	assert_int_equal(st.guest_nmis, 2);
	assert_int_equal(st.nmis_consumed, 0);
	assert_int_equal(st.parks, 0);
}

/* An NMI from a round, taken by the handler: consumed, never passed on. */
static void quiesce_nmi_is_consumed(void **state)
{
	(void)state;
	struct quiesce_cpu_stats st;

	pthread_join(start_quiescer(5), NULL);
	assert_int_equal(fn_calls, 5);
	assert_int_equal(sim_load(&sim[1].guest_nmis), 0);
	stats(1, &st);
	assert_int_equal(st.nmis_sent, 5);
	assert_int_equal(st.nmis_consumed, 5);
	assert_int_equal(st.parks, 5);
	assert_int_equal(st.parks_by_poll, 0);
	/* The slot is empty again: the next NMI is the guest's. */
	raise(SIGUSR1);
	assert_int_equal(sim_load(&sim[1].guest_nmis), 1);
}

/*
 * NMIs blocked (after an NMI exit): the quiesce NMI stays latched. The poll
 * before VM entry answers the request; when NMIs unblock, the late NMI is
 * still recognised as a quiesce NMI and not passed to the guest.
 */
static void latched_nmi_answered_by_poll_is_still_consumed(void **state)
{
	(void)state;
	struct quiesce_cpu_stats st;

	sim_block_nmis();
	pthread_t q = start_quiescer(1);

	assert_true(sim_wait_u64(&sim[1].ipis, 1));
	quiesce_poll(1); /* parks until the round is released */
	pthread_join(q, NULL);
	assert_int_equal(fn_calls, 1);
	sim_unblock_nmis(); /* the latched NMI is delivered here */
	assert_int_equal(sim_load(&sim[1].guest_nmis), 0);
	stats(1, &st);
	assert_int_equal(st.parks_by_poll, 1);
	assert_int_equal(st.nmis_consumed, 1);
	assert_int_equal(st.guest_nmis, 0);
}

/*
 * Two rounds while NMIs stay blocked: the second is not sent a second NMI
 * (it would be a second delivery the guest might see); the one latched NMI
 * serves both, and is consumed once.
 */
static void one_nmi_outstanding_serves_later_rounds(void **state)
{
	(void)state;
	struct quiesce_cpu_stats st;

	sim_block_nmis();
	pthread_t q = start_quiescer(2);

	assert_true(sim_wait_u64(&sim[1].ipis, 1));
	while (!__atomic_load_n(&quiescer_done, __ATOMIC_SEQ_CST)) {
		quiesce_poll(1); /* a VM-exit path going round and round */
		sched_yield();
	}
	pthread_join(q, NULL);
	assert_int_equal(fn_calls, 2);
	stats(1, &st);
	assert_int_equal(st.nmis_sent, 1);
	assert_int_equal(st.parks_by_poll, 2);
	sim_unblock_nmis();
	assert_int_equal(sim_load(&sim[1].guest_nmis), 0);
	stats(1, &st);
	assert_int_equal(st.nmis_consumed, 1);
}

/*
 * A guest NMI taken after the request was posted but before the quiesce NMI
 * arrives: it parks us and counts as the quiesce NMI; the quiesce NMI that
 * follows is passed on instead. The guest gets exactly one NMI, a bit later.
 */
static void guest_nmi_before_quiesce_nmi_is_delivered_once(void **state)
{
	(void)state;

	sim_block_nmis(); /* keeps the quiesce NMI latched behind ours */
	pthread_t q = start_quiescer(1);

	assert_true(sim_wait_u64(&sim[1].ipis, 1));
	/* The guest NMI's delivery: what the NMI-exit handler calls. */
	if (!quiesce_handle_nmi(1))
		__atomic_fetch_add(&sim[1].guest_nmis, 1, __ATOMIC_SEQ_CST);
	pthread_join(q, NULL);
	assert_int_equal(fn_calls, 1);
	sim_unblock_nmis(); /* the quiesce NMI arrives */
	assert_int_equal(sim_load(&sim[1].guest_nmis), 1);
}

/*
 * A guest NMI and a quiesce NMI both pending while NMIs are blocked: the latch
 * holds one, so one delivery covers both (bare metal merges the same way).
 * It is consumed as the quiesce NMI: the quiesce NMI is never the guest's,
 * and the guest sees one NMI fewer than were raised, as it would had two of
 * its own NMIs merged.
 */
static void merged_guest_and_quiesce_nmi_count_once(void **state)
{
	(void)state;
	struct quiesce_cpu_stats st;

	sim_block_nmis();
	raise(SIGUSR1); /* the guest's NMI, latched */
	pthread_t q = start_quiescer(1);

	assert_true(sim_wait_u64(&sim[1].ipis, 1));
	quiesce_poll(1);
	pthread_join(q, NULL);
	sim_unblock_nmis(); /* one delivery for both */
	stats(1, &st);
	assert_int_equal(st.nmis_consumed + st.guest_nmis, 1);
	assert_int_equal(st.nmis_consumed, 1);
	assert_int_equal(sim_load(&sim[1].guest_nmis), 0);
}

/* A request posted while we were offline parks but is not an NMI of ours. */
static void request_without_nmi_leaves_guest_nmi_alone(void **state)
{
	(void)state;
	struct quiesce_cpu_stats st;

	quiesce_cpu_offline(1);
	pthread_join(start_quiescer(1), NULL); /* posts to us, sends nothing */
	assert_int_equal(sim_load(&sim[1].ipis), 0);
	raise(SIGUSR1); /* a guest NMI: clears the stale request, still the guest's */
	assert_int_equal(sim_load(&sim[1].guest_nmis), 1);
	stats(1, &st);
	assert_int_equal(st.nmis_consumed, 0);
}

/* An NMI lost on the way (emulator, wait-for-SIPI) is sent again. */
static void lost_nmi_is_resent(void **state)
{
	(void)state;
	struct quiesce_cpu_stats st;

	/*
	 * Long enough that a kick never lands between the delivery of the
	 * resent NMI and its handler's first instruction (which would make a
	 * second delivery, passed to the guest - the cost of a kick).
	 */
	sim_ops.kick_spins = 2000;
	sim[1].drop_next = 1;
	pthread_join(start_quiescer(1), NULL); /* the resent NMI interrupts the join */
	stats(1, &st);
	assert_int_equal(fn_calls, 1);
	/* Dropped, then resent (more kicks merge while the thread is not running). */
	assert_true(st.nmis_sent >= 2);
	assert_int_equal(st.nmis_consumed, 1);
	assert_int_equal(sim_load(&sim[1].guest_nmis), 0);
}

static uint32_t stuck_calls;
static uint32_t stuck_cpu;
static uint64_t stuck_round;

static void record_stuck(uint32_t cpu, uint64_t round)
{
	if (__atomic_load_n(&stuck_calls, __ATOMIC_SEQ_CST) == 0) {
		stuck_cpu = cpu;
		stuck_round = round;
	}
	__atomic_fetch_add(&stuck_calls, 1, __ATOMIC_SEQ_CST);
}

/* A CPU that never answers is reported to the stuck hook, with the round. */
static void silent_cpu_is_reported(void **state)
{
	(void)state;

	sim_ops.stuck = record_stuck;
	sim_ops.stuck_spins = 100;
	stuck_calls = 0;
	sim_block_nmis(); /* and we do not poll: silent */
	pthread_t q = start_quiescer(1);

	assert_true(sim_wait_u32(&stuck_calls, 1));
	assert_int_equal(stuck_cpu, 1);
	assert_int_equal(stuck_round, 1);
	assert_int_equal(fn_calls, 0);
	quiesce_poll(1); /* answer at last; the round completes */
	pthread_join(q, NULL);
	assert_int_equal(fn_calls, 1);
	sim_unblock_nmis();
	assert_int_equal(sim_load(&sim[1].guest_nmis), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(guest_nmi_is_reported_as_guest, setup, teardown),
	    cmocka_unit_test_setup_teardown(quiesce_nmi_is_consumed, setup, teardown),
	    cmocka_unit_test_setup_teardown(latched_nmi_answered_by_poll_is_still_consumed, setup,
	                                    teardown),
	    cmocka_unit_test_setup_teardown(one_nmi_outstanding_serves_later_rounds, setup,
	                                    teardown),
	    cmocka_unit_test_setup_teardown(guest_nmi_before_quiesce_nmi_is_delivered_once, setup,
	                                    teardown),
	    cmocka_unit_test_setup_teardown(merged_guest_and_quiesce_nmi_count_once, setup,
	                                    teardown),
	    cmocka_unit_test_setup_teardown(request_without_nmi_leaves_guest_nmi_alone, setup,
	                                    teardown),
	    cmocka_unit_test_setup_teardown(lost_nmi_is_resent, setup, teardown),
	    cmocka_unit_test_setup_teardown(silent_cpu_is_reported, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
