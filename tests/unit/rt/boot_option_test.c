/* boot_option: NAME=VALUE words on the hypervisor's command line. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "rt/boot_option.h"

static void test_finds_whole_words_only(void **state)
{
	(void)state;
	size_t len = 99;
	const char *v = boot_option("xtv_dma=warn tv_dma2=x tv_dma=require", "tv_dma", &len);
	assert_non_null(v);
	assert_int_equal(len, 7);
	assert_true(boot_option_is(v, len, "require"));
	assert_false(boot_option_is(v, len, "requir"));
	assert_null(boot_option("xtv_dma=warn tv_dma2=x", "tv_dma", &len));
	assert_null(boot_option("tv_dma", "tv_dma", &len)); /* no '=' */
	assert_null(boot_option(NULL, "tv_dma", &len));
	assert_null(boot_option("", "tv_dma", &len));
}

static void test_last_word_wins_and_value_may_be_empty(void **state)
{
	(void)state;
	size_t len = 99;
	const char *v = boot_option("a=1 a=22 b=3", "a", &len);
	assert_int_equal(len, 2);
	assert_true(boot_option_is(v, len, "22"));
	v = boot_option("a= b=3", "a", &len);
	assert_non_null(v);
	assert_int_equal(len, 0);
}

static void test_numbers(void **state)
{
	(void)state;
	uint64_t n = 7;
	assert_true(boot_option_u64("16777216", 8, &n));
	assert_int_equal(n, 16777216);
	assert_true(boot_option_u64("0x1000000 rest", 9, &n));
	assert_int_equal(n, 0x1000000);
	assert_true(boot_option_u64("18446744073709551615", 20, &n));
	assert_true(n == UINT64_MAX);
	n = 7;
	assert_false(boot_option_u64("18446744073709551616", 20, &n)); /* 2^64 */
	assert_false(boot_option_u64("12a", 3, &n));
	assert_false(boot_option_u64("0x", 2, &n));
	assert_false(boot_option_u64("", 0, &n));
	assert_false(boot_option_u64("-1", 2, &n));
	assert_int_equal(n, 7); /* untouched on failure */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_finds_whole_words_only),
	    cmocka_unit_test(test_last_word_wins_and_value_may_be_empty),
	    cmocka_unit_test(test_numbers),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
