/*
 * hv_snprintf against the C library's snprintf: for every conversion the two
 * share, the output and the return value must be identical. %p and the
 * truncation rules are checked on their own.
 */
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "rt/format.h"

/* Some cases are deliberately odd formats ('0' with '-', unknown conversions):
 * the point is that both implementations agree on them anyway. */
#pragma GCC diagnostic ignored "-Wformat"

/* Formats with both implementations and compares text and return value. */
#define SAME_AS_LIBC(...)                                                                          \
	do {                                                                                       \
		char want[256], got[256];                                                          \
		int want_n = snprintf(want, sizeof(want), __VA_ARGS__);                            \
		int got_n = hv_snprintf(got, sizeof(got), __VA_ARGS__);                            \
		assert_string_equal(got, want);                                                    \
		assert_int_equal(got_n, want_n);                                                   \
	} while (0)

static void test_plain_text_and_percent(void **state)
{
	SAME_AS_LIBC("hello");
	SAME_AS_LIBC("100%% sure");
	SAME_AS_LIBC("%c%c%c", 'a', 'b', 'c');
	SAME_AS_LIBC("[%3c|%-3c]", 'x', 'y');
}

static void test_signed_decimal(void **state)
{
	SAME_AS_LIBC("%d %i", 0, 42);
	SAME_AS_LIBC("%d", -1);
	SAME_AS_LIBC("%d %d", INT_MIN, INT_MAX);
	SAME_AS_LIBC("%ld", LONG_MIN);
	SAME_AS_LIBC("%lld %lld", LLONG_MIN, LLONG_MAX);
	SAME_AS_LIBC("%hd %hhd", (short)-300, (signed char)-5);
	SAME_AS_LIBC("%+d %+d % d % d", 7, -7, 7, -7);
}

static void test_widths_and_padding(void **state)
{
	SAME_AS_LIBC("[%5d]", 42);
	SAME_AS_LIBC("[%-5d]", 42);
	SAME_AS_LIBC("[%05d]", 42);
	SAME_AS_LIBC("[%05d]", -42);
	SAME_AS_LIBC("[%-05d]", -42); /* '-' overrides '0' */
	SAME_AS_LIBC("[%2d]", 12345); /* width smaller than the number */
	SAME_AS_LIBC("[%08x]", 0xbeefu);
	SAME_AS_LIBC("[%*d|%-*d]", 6, 3, 6, 3);
	SAME_AS_LIBC("[%*d]", -6, 3); /* negative '*' width = left-justify */
	SAME_AS_LIBC("[%.3d|%8.3d|%-8.3d]", 7, -7, 7);
	SAME_AS_LIBC("[%08.3d]", 5); /* precision disables '0' */
	SAME_AS_LIBC("[%.0d|%.0x|%5.0u]", 0, 0u, 0u);
}

static void test_unsigned_and_hex(void **state)
{
	SAME_AS_LIBC("%u %u", 0u, UINT_MAX);
	SAME_AS_LIBC("%x %X", 0xabcdefu, 0xabcdefu);
	SAME_AS_LIBC("%llx", 0xdeadbeefcafebabeULL);
	SAME_AS_LIBC("%016llx", 0x1234ULL);
	SAME_AS_LIBC("%lX", 0xFFFFFFFFFFFFFFFFUL);
	SAME_AS_LIBC("%llu", 18446744073709551615ULL);
	SAME_AS_LIBC("%zu %zx", (size_t)SIZE_MAX, (size_t)4096);
	SAME_AS_LIBC("%hhu %hu", (unsigned char)300, (unsigned short)70000);
	SAME_AS_LIBC("%#x %#X %#x", 255u, 255u, 0u);
	/* A 32-bit %x must not pick up a 64-bit argument's upper half. */
	SAME_AS_LIBC("%x %llx", 0xffffffffu, 0x100000000ULL);
}

static void test_strings(void **state)
{
	SAME_AS_LIBC("[%s]", "abc");
	SAME_AS_LIBC("[%8s|%-8s]", "abc", "abc");
	SAME_AS_LIBC("[%.2s]", "abcdef");
	SAME_AS_LIBC("[%6.2s|%-6.2s]", "abcdef", "abcdef");
	SAME_AS_LIBC("[%.*s]", 3, "abcdef");
	SAME_AS_LIBC("[%.10s]", "abc"); /* precision beyond the string */
	SAME_AS_LIBC("%s=%d, %s=%#llx", "a", 1, "b", 0x10ULL);
}

static void test_precision_stops_reading_the_string(void **state)
{
	/* No NUL within the precision: must not read past it. */
	char unterminated[3] = {'x', 'y', 'z'};
	char buf[16];
	assert_int_equal(hv_snprintf(buf, sizeof(buf), "%.3s", unterminated), 3);
	assert_string_equal(buf, "xyz");
}

static void test_null_string(void **state)
{
	char buf[32];
	const char *volatile nothing = NULL; /* hidden from the compiler's own checks */
	hv_snprintf(buf, sizeof(buf), "%s", nothing);
	assert_string_equal(buf, "(null)");
}

static void test_pointer_is_0x_and_16_digits(void **state)
{
	char buf[64];
	assert_int_equal(hv_snprintf(buf, sizeof(buf), "%p", (void *)(uintptr_t)0x1234), 18);
	assert_string_equal(buf, "0x0000000000001234");
	hv_snprintf(buf, sizeof(buf), "%p", NULL);
	assert_string_equal(buf, "0x0000000000000000");
	hv_snprintf(buf, sizeof(buf), "%p", (void *)(uintptr_t)0xffff800000001000ULL);
	assert_string_equal(buf, "0xffff800000001000");
	hv_snprintf(buf, sizeof(buf), "[%20p]", (void *)(uintptr_t)1);
	assert_string_equal(buf, "[  0x0000000000000001]");
}

static void test_truncation_returns_full_length(void **state)
{
	char buf[8];
	memset(buf, '#', sizeof(buf));
	assert_int_equal(hv_snprintf(buf, 5, "hello world"), 11);
	assert_string_equal(buf, "hell");
	/* Nothing written past n. */
	assert_int_equal(buf[5], '#');
	assert_int_equal(buf[7], '#');

	assert_int_equal(hv_snprintf(buf, 1, "%d", 12345), 5);
	assert_string_equal(buf, "");

	/* Exactly fitting: n-1 characters plus the NUL. */
	assert_int_equal(hv_snprintf(buf, 4, "abc"), 3);
	assert_string_equal(buf, "abc");
}

static void test_size_zero_writes_nothing(void **state)
{
	char buf[4] = {'#', '#', '#', '#'};
	assert_int_equal(hv_snprintf(NULL, 0, "%s-%d", "abc", 42), 6);
	assert_int_equal(hv_snprintf(buf, 0, "abc"), 3);
	assert_int_equal(buf[0], '#');
}

static void test_unknown_and_cut_short_conversions(void **state)
{
	char buf[32];
	assert_int_equal(hv_snprintf(buf, sizeof(buf), "a%qb"), 4);
	assert_string_equal(buf, "a%qb");
	assert_int_equal(hv_snprintf(buf, sizeof(buf), "50%"), 3);
	assert_string_equal(buf, "50%");
	hv_snprintf(buf, sizeof(buf), "x%-5");
	assert_string_equal(buf, "x%-5");
}

struct collect {
	char text[64];
	size_t len;
};

static void collect_put(char c, void *ctx)
{
	struct collect *col = ctx;
	if (col->len + 1 < sizeof(col->text))
		col->text[col->len++] = c;
}

static int vformat_wrapper(struct collect *col, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = hv_vformat(collect_put, col, fmt, ap);
	va_end(ap);
	return n;
}

static void test_vformat_sink_sees_every_character(void **state)
{
	struct collect col = {{0}, 0};
	assert_int_equal(vformat_wrapper(&col, "%s:%04x", "cpu", 0x2a), 8);
	assert_int_equal(col.len, 8);
	assert_memory_equal(col.text, "cpu:002a", 8);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_plain_text_and_percent),
	    cmocka_unit_test(test_signed_decimal),
	    cmocka_unit_test(test_widths_and_padding),
	    cmocka_unit_test(test_unsigned_and_hex),
	    cmocka_unit_test(test_strings),
	    cmocka_unit_test(test_precision_stops_reading_the_string),
	    cmocka_unit_test(test_null_string),
	    cmocka_unit_test(test_pointer_is_0x_and_16_digits),
	    cmocka_unit_test(test_truncation_returns_full_length),
	    cmocka_unit_test(test_size_zero_writes_nothing),
	    cmocka_unit_test(test_unknown_and_cut_short_conversions),
	    cmocka_unit_test(test_vformat_sink_sees_every_character),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
