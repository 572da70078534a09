/*
 * Serial console on COM1 (0x3f8, 115200 8N1) and hv_printf.
 *
 * One lock serialises output; hv_printf holds it for its whole output, so lines
 * from different CPUs never interleave. Lines the hypervisor prints start with
 * "hv: " (docs/design.md section 8); "\n" goes out as "\r\n".
 */
#ifndef RT_CONSOLE_H
#define RT_CONSOLE_H

#include <stdarg.h>
#include <stdbool.h>

#include "rt/format.h"

#define CONSOLE_COM1 0x3f8

/* Programs the UART (no interrupts, FIFO on). */
void console_init(void);
/*
 * From here on one byte per wait for an empty transmitter, not a FIFO's worth:
 * for when a guest may write the same UART (called before the first VM entry).
 */
void console_end_bursts(void);
/* Waits (bounded) until the UART has sent every byte written so far. */
void console_drain(void);

int hv_printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
int hv_vprintf(const char *fmt, va_list ap);

/*
 * Start-up detail lines (memory, VMX features, CPUs, hooks): kept in memory and
 * printed once, by console_notes_flush() (at power-off and panic), so that the
 * guest does not wait for them at ~87 us a byte; printed at once after
 * console_notes_set_live(true) (the hv_verbose=1 boot option) or after the
 * flush. Warnings and anything a user must see at start-up use hv_printf.
 */
int hv_note(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
int hv_vnote(const char *fmt, va_list ap);
void console_notes_set_live(bool on);
void console_notes_flush(void);
#ifdef HV_HOST
void console_notes_reset(void);
#endif

/*
 * Releases the console lock whoever holds it: for panic and quiesce, so that a
 * CPU stopped while printing cannot block every other CPU's output.
 */
void console_break_lock(void);

/*
 * For multi-line reports that must stay together (panic, register dumps):
 * console_lock(), any number of hv_printf_locked(), console_unlock().
 * console_lock_for_panic() takes the lock even from a CPU that already holds it
 * (a fault inside hv_printf) or from one stopped while holding it (after a
 * bounded wait).
 */
void console_lock(void);
void console_lock_for_panic(void);
void console_unlock(void);
int hv_printf_locked(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
int hv_vprintf_locked(const char *fmt, va_list ap);

#endif /* RT_CONSOLE_H */
