/*
 * Start-up notes (rt/console.h hv_note): the details of a start-up kept in
 * memory and printed once, at power-off or panic, unless the hypervisor's
 * command line asks for them at once (hv_verbose=1).
 *
 * Why: at 115200 baud a byte leaves the UART every ~87 us, and the hypervisor
 * waits for each one. The ~400 bytes of detail lines cost ~35 ms of start-up
 * on any machine (7M of the 11.7M ticks the hypervisor's start-up took on
 * Bochs, docs/results.md), paid before the guest's first instruction.
 */
#include <stdbool.h>
#include <stddef.h>

#include "rt/console.h"
#include "rt/format.h"
#include "rt/spinlock.h"

/* Two CPUs' worth of a typical start-up (~400 bytes on 2 CPUs) many times over. */
#define NOTES_SIZE 4096
/* How long console_notes_flush waits for the lock (as console_lock_for_panic). */
#define FLUSH_LOCK_SPINS 10000000

static char notes[NOTES_SIZE];
static size_t used;
static size_t dropped;
static bool live;
static bool flushed; /* under notes_lock */
static struct spinlock notes_lock = SPINLOCK_INIT;

void console_notes_set_live(bool on)
{
	live = on;
}

int hv_vnote(const char *fmt, va_list ap)
{
	if (live)
		return hv_vprintf(fmt, ap);

	char line[256];
	int n = hv_vsnprintf(line, sizeof(line), fmt, ap);
	size_t len = n < 0 ? 0 : (size_t)n;
	if (len >= sizeof(line))
		len = sizeof(line) - 1; /* the line was cut: keep what fits */

	spin_lock(&notes_lock);
	bool after_flush = flushed;
	if (!after_flush) {
		if (used + len <= sizeof(notes)) {
			for (size_t i = 0; i < len; i++)
				notes[used + i] = line[i];
			used += len;
		} else {
			dropped += len;
		}
	}
	spin_unlock(&notes_lock);
	/* Once the notes are out, a late one goes straight to the console. */
	if (after_flush)
		hv_printf("%s", line);
	return n;
}

int hv_note(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = hv_vnote(fmt, ap);
	va_end(ap);
	return n;
}

void console_notes_flush(void)
{
	/*
	 * Bounded wait: on a panic or power-off path the holder may be a CPU that
	 * was stopped while adding a note; print what is there rather than hang.
	 */
	bool held = false;
	for (int i = 0; i < FLUSH_LOCK_SPINS && !held; i++)
		held = spin_trylock(&notes_lock);
	bool first = !flushed;
	flushed = true;
	size_t n = used, lost = dropped;
	if (held)
		spin_unlock(&notes_lock);
	if (!first)
		return;
	if (n > 0)
		hv_printf("%.*s", (int)n, notes);
	if (lost > 0)
		hv_printf("hv: %zu bytes of start-up notes did not fit and were dropped\n", lost);
}

#ifdef HV_HOST
void console_notes_reset(void)
{
	used = 0;
	dropped = 0;
	live = false;
	flushed = false;
}
#endif
