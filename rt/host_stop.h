/*
 * Host builds only: where a panic or power-off ends. The image halts the CPU;
 * a host test cannot, so it fails the running cmocka test with `why` (or lets
 * expect_assert_failure() catch it).
 */
#ifndef RT_HOST_STOP_H
#define RT_HOST_STOP_H

_Noreturn void rt_host_stop(const char *why);

#endif /* RT_HOST_STOP_H */
