/* One event path by hand over event_paths.h's harness. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <cmocka.h>

#include "tests/unit/vmx/event_paths.h"

/*
 * One path by hand: two guest NMIs while CPU 0 is in root for one exit. Bare
 * metal delivers both (the second is latched while the first is handled).
 */
static void test_two_guest_nmis_in_one_exit(void **state)
{
	(void)state;
	setup_machine();
	static const enum ev seq[LEN] = {E_NMI_ROOT, E_NMI_ROOT, E_ENTRY,
	                                 E_WINDOW,   E_ENTRY,    E_ENTRY};
	for (int i = 0; i < LEN; i++)
		cur_seq[i] = seq[i];
	start_path();
	for (int i = 0; i < LEN; i++) {
		event(seq[i]);
		if (getenv("EVENT_TRACE"))
			print_path();
		check_step();
	}
	finish_path();
	assert_int_equal(m.delivered, 2);
}

/* A cmocka failure inside a coroutine longjmps across stacks: name the path. */
static int teardown(void **state)
{
	(void)state;
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_teardown(test_two_guest_nmis_in_one_exit, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
