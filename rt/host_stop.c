/* Host builds only (rt/host_stop.h). */
#include "rt/host_stop.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <cmocka.h>

_Noreturn void rt_host_stop(const char *why)
{
	/* Fails the test, or jumps back into expect_assert_failure(). */
	mock_assert(0, why, __FILE__, __LINE__);
	abort();
}
