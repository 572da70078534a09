/*
 * Start-up notes (rt/console_notes.c): kept out of the UART until power-off or
 * panic, in order and once; printed at once when live (hv_verbose=1).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "hw/fake/fake_hw.h"
#include "rt/console.h"
#include "rt/panic.h"
#include "rt/power.h"
#include "serial_capture.h"

static int setup(void **state)
{
	(void)state;
	fake_hw_reset();
	console_notes_reset();
	rt_set_panic_hook(NULL);
	return 0;
}

static void test_notes_wait_for_power_off(void **state)
{
	(void)state;
	hv_note("hv: memory: %u KiB free\n", 15888u);
	hv_printf("hv: starting\n");
	hv_note("hv: cpu %u online\n", 1u);
	/* Only the plain line has reached the UART. */
	assert_null(strstr(serial_text(), "memory"));
	assert_non_null(strstr(serial_text(), "hv: starting"));

	expect_assert_failure(hv_power_off(0));
	const char *out = serial_text();
	const char *mem = strstr(out, "hv: memory: 15888 KiB free\r\n");
	const char *cpu = strstr(out, "hv: cpu 1 online\r\n");
	const char *off = strstr(out, "hv: power off (code 0)");
	assert_non_null(mem);
	assert_non_null(cpu);
	assert_non_null(off);
	/* In the order they were noted, before the power-off line. */
	assert_true(mem < cpu && cpu < off);
}

static void test_notes_print_once_and_late_notes_go_straight_out(void **state)
{
	(void)state;
	hv_note("hv: vmx: ept=yes\n");
	console_notes_flush();
	console_notes_flush();
	const char *out = serial_text();
	const char *first = strstr(out, "hv: vmx: ept=yes");
	assert_non_null(first);
	assert_null(strstr(first + 1, "hv: vmx: ept=yes"));
	hv_note("hv: late %d\n", 7);
	assert_non_null(strstr(serial_text(), "hv: late 7\r\n"));
}

static void test_live_notes_print_at_once(void **state)
{
	(void)state;
	console_notes_set_live(true);
	hv_note("hv: smp: %u CPUs\n", 2u);
	assert_non_null(strstr(serial_text(), "hv: smp: 2 CPUs\r\n"));
	/* Nothing was kept, so a flush prints nothing more. */
	size_t before = strlen(serial_text());
	console_notes_flush();
	assert_int_equal(strlen(serial_text()), before);
}

static void test_panic_prints_the_notes_after_the_reason(void **state)
{
	(void)state;
	hv_note("hv: BIOS hook: INT 15h\n");
	expect_assert_failure(hv_panic("broken %s", "invariant"));
	const char *out = serial_text();
	const char *why = strstr(out, "broken invariant");
	const char *note = strstr(out, "hv: BIOS hook: INT 15h");
	assert_non_null(why);
	assert_non_null(note);
	assert_true(why < note);
}

static void test_overflow_is_counted_not_written_past_the_buffer(void **state)
{
	(void)state;
	char line[201];
	memset(line, 'x', 199);
	line[199] = '\n';
	line[200] = '\0';
	/* 4096 bytes hold 20 lines of 200; the rest is dropped and reported. */
	for (int i = 0; i < 25; i++)
		hv_note("%s", line);
	console_notes_flush();
	assert_non_null(strstr(serial_text(), "hv: 1000 bytes of start-up notes did not fit"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup(test_notes_wait_for_power_off, setup),
	    cmocka_unit_test_setup(test_notes_print_once_and_late_notes_go_straight_out, setup),
	    cmocka_unit_test_setup(test_live_notes_print_at_once, setup),
	    cmocka_unit_test_setup(test_panic_prints_the_notes_after_the_reason, setup),
	    cmocka_unit_test_setup(test_overflow_is_counted_not_written_past_the_buffer, setup),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
