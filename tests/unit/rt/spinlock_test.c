/* Spinlocks: trylock semantics, and mutual exclusion between host threads. */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "rt/spinlock.h"

static void test_trylock(void **state)
{
	struct spinlock l = SPINLOCK_INIT;
	assert_true(spin_trylock(&l));
	assert_false(spin_trylock(&l));
	spin_unlock(&l);
	assert_true(spin_trylock(&l));
	spin_unlock(&l);
	spin_lock(&l);
	assert_false(spin_trylock(&l));
	spin_unlock(&l);
	assert_int_equal(l.locked, 0);
}

#define ROUNDS 200000

static struct spinlock shared = SPINLOCK_INIT;
static volatile uint64_t counter;

static void *hammer(void *arg)
{
	for (int i = 0; i < ROUNDS; i++) {
		spin_lock(&shared);
		/* A non-atomic read-modify-write: lost updates if exclusion fails. */
		uint64_t v = counter;
		counter = v + 1;
		spin_unlock(&shared);
	}
	return NULL;
}

static void test_mutual_exclusion(void **state)
{
	pthread_t t[4];
	for (int i = 0; i < 4; i++)
		assert_int_equal(pthread_create(&t[i], NULL, hammer, NULL), 0);
	for (int i = 0; i < 4; i++)
		pthread_join(t[i], NULL);
	assert_int_equal(counter, 4 * ROUNDS);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_trylock),
	    cmocka_unit_test(test_mutual_exclusion),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
