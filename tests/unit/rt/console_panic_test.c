/*
 * Console, panic, exception reports and power off, observed through the fake's
 * port log. In host builds a panic or power-off ends in a cmocka assertion,
 * which expect_assert_failure() catches.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "hw/fake/fake_hw.h"
#include "rt/console.h"
#include "rt/cpu_tables.h"
#include "rt/panic.h"
#include "rt/percpu.h"
#include "rt/power.h"
#include "rt/trap.h"
#include "serial_capture.h"

static int hook_calls;
static int nmi_calls;

static void count_hook(void)
{
	hook_calls++;
	hv_printf("hook: extra state\n");
}

static void count_nmi(void)
{
	nmi_calls++;
}

static int setup(void **state)
{
	fake_hw_reset();
	hook_calls = 0;
	nmi_calls = 0;
	rt_set_panic_hook(NULL);
	rt_set_nmi_handler(NULL);
	return 0;
}

static void test_uart_is_programmed_for_115200_8n1(void **state)
{
	console_init();
	uint32_t lcr[4], dll[4], dlm[4];
	assert_int_equal(fake_io_collect(0x3fb, FAKE_IO_OUT, lcr, 4), 2);
	assert_int_equal(lcr[0], 0x80); /* DLAB on for the divisor */
	assert_int_equal(lcr[1], 0x03); /* then 8 data bits, no parity, 1 stop */
	/* Divisor 1 (115200 baud), written while DLAB was set. */
	assert_int_equal(fake_io_collect(0x3f8, FAKE_IO_OUT, dll, 4), 1);
	assert_int_equal(dll[0], 1);
	assert_true(fake_io_collect(0x3f9, FAKE_IO_OUT, dlm, 4) >= 1);
	size_t i_dll = SIZE_MAX, i_lcr8n1 = SIZE_MAX;
	for (size_t i = 0; i < fake_io_log_len(); i++) {
		struct fake_io_entry e = fake_io_log(i);
		if (e.dir == FAKE_IO_OUT && e.port == 0x3f8 && i_dll == SIZE_MAX)
			i_dll = i;
		if (e.dir == FAKE_IO_OUT && e.port == 0x3fb && e.value == 0x03)
			i_lcr8n1 = i;
	}
	assert_true(i_dll < i_lcr8n1);
}

static void test_printf_turns_newline_into_crlf(void **state)
{
	assert_int_equal(hv_printf("hv: %s=%d\nnext\n", "x", 5), 13); /* \r not counted */
	assert_string_equal(serial_text(), "hv: x=5\r\nnext\r\n");
}

static void test_output_waits_for_the_transmitter(void **state)
{
	/* LSR: busy, busy, then transmit-holding-register empty. */
	const uint32_t lsr[] = {0x00, 0x00, 0x20};
	fake_io_script(0x3fd, lsr, 3);
	fake_io_set_default(0x3fd, 0x20);
	hv_printf("A");
	size_t lsr_reads = 0;
	bool data_seen = false;
	for (size_t i = 0; i < fake_io_log_len(); i++) {
		struct fake_io_entry e = fake_io_log(i);
		if (e.port == 0x3fd && e.dir == FAKE_IO_IN)
			lsr_reads++;
		if (e.port == 0x3f8 && e.dir == FAKE_IO_OUT) {
			data_seen = true;
			assert_int_equal(lsr_reads, 3); /* not written before THR empty */
		}
	}
	assert_true(data_seen);
}

/* LSR reads before each data byte of `text` printed with hv_printf: out[i]
 * for the i-th byte written to THR. */
static size_t lsr_reads_per_byte(const char *text, size_t *out, size_t max)
{
	hv_printf("%s", text);
	size_t reads = 0, n = 0;
	for (size_t i = 0; i < fake_io_log_len(); i++) {
		struct fake_io_entry e = fake_io_log(i);
		if (e.port == 0x3fd && e.dir == FAKE_IO_IN)
			reads++;
		if (e.port == 0x3f8 && e.dir == FAKE_IO_OUT && n < max) {
			out[n++] = reads;
			reads = 0;
		}
	}
	return n;
}

static void test_fifo_takes_16_bytes_per_wait(void **state)
{
	/* IIR bits 7:6 set: a 16550A with its FIFOs on. */
	const uint32_t iir = 0xc1;
	fake_io_script(0x3fa, &iir, 1);
	console_init();
	fake_hw_reset(); /* count from here: not the divisor latch's writes */
	fake_io_set_default(0x3fd, 0x20);
	size_t reads[40];
	assert_int_equal(lsr_reads_per_byte("0123456789abcdefghij", reads, 40), 20);
	for (size_t i = 0; i < 20; i++)
		assert_int_equal(reads[i], i == 0 || i == 16 ? 1 : 0);
	/* The next line waits again for an empty FIFO (whatever another writer did
	 * in between), however little of the last burst it used. */
	fake_hw_reset();
	fake_io_set_default(0x3fd, 0x20);
	assert_int_equal(lsr_reads_per_byte("xy", reads, 40), 2);
	assert_int_equal(reads[0], 1);
	assert_int_equal(reads[1], 0);
	/* Once the guest may share the UART: one byte per wait. */
	console_end_bursts();
	fake_hw_reset();
	fake_io_set_default(0x3fd, 0x20);
	assert_int_equal(lsr_reads_per_byte("xyz", reads, 40), 3);
	for (size_t i = 0; i < 3; i++)
		assert_int_equal(reads[i], 1);
}

static void test_no_fifo_one_byte_per_wait(void **state)
{
	const uint32_t iir = 0x01; /* an 8250/16450: no FIFOs */
	fake_io_script(0x3fa, &iir, 1);
	console_init();
	fake_hw_reset(); /* count from here: not the divisor latch's writes */
	fake_io_set_default(0x3fd, 0x20);
	size_t reads[8];
	assert_int_equal(lsr_reads_per_byte("abcd", reads, 8), 4);
	for (size_t i = 0; i < 4; i++)
		assert_int_equal(reads[i], 1);
}

static void test_stuck_uart_does_not_hang(void **state)
{
	fake_io_set_default(0x3fd, 0x00); /* never ready */
	hv_printf("Z");
	assert_string_equal(serial_text(), "Z");
}

static void test_panic_prints_reason_then_hook_output(void **state)
{
	rt_set_panic_hook(count_hook);
	expect_assert_failure(hv_panic("disk %s failed (%d)", "hd0", -5));
	assert_int_equal(hook_calls, 1);
	assert_string_equal(rt_panic_reason(), "disk hd0 failed (-5)");
	const char *out = serial_text();
	const char *panic = strstr(out, "PANIC on CPU 0: disk hd0 failed (-5)\r\n");
	const char *hook = strstr(out, "hook: extra state\r\n");
	assert_non_null(panic);
	assert_non_null(hook);
	assert_true(panic < hook);
}

static void test_panic_names_the_cpu(void **state)
{
	fake_set_cpu(3);
	percpu_init(3, 9);
	expect_assert_failure(hv_panic("on three"));
	assert_non_null(strstr(serial_text(), "PANIC on CPU 3: on three"));
}

static void test_panic_while_holding_the_console_lock(void **state)
{
	/* A fault inside hv_printf: the panicking CPU already holds the lock.
	 * This must print, not deadlock. */
	console_lock();
	expect_assert_failure(hv_panic("nested"));
	assert_non_null(strstr(serial_text(), "PANIC on CPU 0: nested"));
	hv_printf("after\n");
	assert_non_null(strstr(serial_text(), "after\r\n"));
}

static void test_break_lock_frees_a_lock_held_elsewhere(void **state)
{
	console_lock(); /* as if another CPU stopped mid-line */
	console_break_lock();
	hv_printf("through\n");
	assert_non_null(strstr(serial_text(), "through"));
}

static struct rt_trap_frame frame_for(uint64_t vector, uint64_t error_code)
{
	struct rt_trap_frame f;
	memset(&f, 0, sizeof(f));
	f.vector = vector;
	f.error_code = error_code;
	f.rip = 0x0c001234;
	f.cs = 0x08;
	f.rflags = 0x10006;
	f.rsp = 0x0c039ac0;
	f.ss = 0x10;
	f.rax = 0x1111222233334444ULL;
	f.r15 = 0xf15;
	return f;
}

static void test_nmi_calls_the_handler_and_returns(void **state)
{
	struct rt_trap_frame f = frame_for(2, 0);
	rt_trap(&f); /* no handler: ignored */
	rt_set_nmi_handler(count_nmi);
	rt_trap(&f);
	rt_trap(&f);
	assert_int_equal(nmi_calls, 2);
	assert_string_equal(serial_text(), ""); /* an NMI prints nothing */
}

static void test_exception_report(void **state)
{
	rt_set_panic_hook(count_hook);
	fake_cpu(0)->cr2 = 0xdead000;
	struct rt_trap_frame f = frame_for(14, 0x2);
	expect_assert_failure(rt_trap(&f));
	const char *out = serial_text();
	assert_non_null(strstr(
	    out, "PANIC on CPU 0: unexpected exception #PF (vector 14, error code 0x2)\r\n"));
	assert_non_null(strstr(out, "RIP=000000000c001234"));
	assert_non_null(strstr(out, "RSP=000000000c039ac0"));
	assert_non_null(strstr(out, "RAX=1111222233334444"));
	assert_non_null(strstr(out, "R15=0000000000000f15"));
	assert_non_null(strstr(out, "CR2=000000000dead000"));
	assert_int_equal(hook_calls, 1);
}

static void test_exception_mnemonics(void **state)
{
	assert_string_equal(rt_exception_mnemonic(0), "DE");
	assert_string_equal(rt_exception_mnemonic(6), "UD");
	assert_string_equal(rt_exception_mnemonic(8), "DF");
	assert_string_equal(rt_exception_mnemonic(13), "GP");
	assert_string_equal(rt_exception_mnemonic(18), "MC");
	assert_string_equal(rt_exception_mnemonic(15), "RSVD");
	assert_string_equal(rt_exception_mnemonic(200), "RSVD");
	struct rt_trap_frame f = frame_for(6, 0);
	expect_assert_failure(rt_trap(&f));
	assert_non_null(strstr(serial_text(), "#UD (vector 6, error code 0x0)"));
}

static void test_power_off_tells_bochs_and_qemu(void **state)
{
	expect_assert_failure(hv_power_off(3));
	uint32_t bytes[16];
	size_t n = fake_io_collect(0x8900, FAKE_IO_OUT, bytes, 16);
	assert_int_equal(n, 8);
	char text[9];
	for (size_t i = 0; i < 8; i++)
		text[i] = (char)bytes[i];
	text[8] = '\0';
	assert_string_equal(text, "Shutdown");
	assert_int_equal(fake_io_collect(0xf4, FAKE_IO_OUT, bytes, 16), 1);
	assert_int_equal(bytes[0], 3);
	assert_non_null(strstr(serial_text(), "hv: power off (code 3)"));
}

#define T(f) cmocka_unit_test_setup(f, setup)

int main(void)
{
	const struct CMUnitTest tests[] = {
	    T(test_uart_is_programmed_for_115200_8n1),
	    T(test_printf_turns_newline_into_crlf),
	    T(test_output_waits_for_the_transmitter),
	    T(test_stuck_uart_does_not_hang),
	    T(test_fifo_takes_16_bytes_per_wait),
	    T(test_no_fifo_one_byte_per_wait),
	    T(test_panic_prints_reason_then_hook_output),
	    T(test_panic_names_the_cpu),
	    T(test_panic_while_holding_the_console_lock),
	    T(test_break_lock_frees_a_lock_held_elsewhere),
	    T(test_nmi_calls_the_handler_and_returns),
	    T(test_exception_report),
	    T(test_exception_mnemonics),
	    T(test_power_off_tells_bochs_and_qemu),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
