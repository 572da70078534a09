/*
 * Fatal errors. A panic prints "PANIC on CPU <n>: <reason>", then whatever the
 * caller and the panic hook add (registers, VMCS fields), then halts that CPU
 * with interrupts off. It never reboots: the log must survive. `./hv run`
 * treats "PANIC" on the console as a failure.
 *
 * In host builds (HV_HOST) the halt becomes a cmocka assertion failure, so a
 * test fails with the panic message, or catches an expected panic with
 * expect_assert_failure().
 */
#ifndef RT_PANIC_H
#define RT_PANIC_H

#include <stdarg.h>

_Noreturn void hv_panic(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/*
 * An invariant the design relies on (docs/design.md section 3), checked in
 * images and host tests alike: a false one panics naming the condition and
 * where. For the hypervisor's own invariants only, never for guest input.
 */
#define HV_ASSERT(cond)                                                                            \
	do {                                                                                       \
		if (__builtin_expect(!(cond), 0))                                                  \
			hv_panic("assertion failed: %s (%s:%d)", #cond, __FILE__, __LINE__);       \
	} while (0)

/* Called once per panicking CPU after the panic line and dump (libvmx prints
 * the current VMCS there). Not called for a panic inside a panic. */
void rt_set_panic_hook(void (*hook)(void));

/*
 * The two halves of hv_panic for reports with more lines (rt/trap.c):
 * rt_panic_begin() takes the console and prints the PANIC line; the caller adds
 * lines with hv_printf_locked(); rt_panic_end() releases the console, runs the
 * hook and halts.
 */
void rt_panic_begin(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
_Noreturn void rt_panic_end(void);

/* The reason of the latest panic ("" if none): for host tests. */
const char *rt_panic_reason(void);

#endif /* RT_PANIC_H */
