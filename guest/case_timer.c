/*
 * pit_or_apic_timer: interrupts reach the guest. A one-shot LAPIC timer interrupt
 * and the PIT's IRQ0 through the 8259 (ExtINT on LINT0, the BIOS's virtual-wire
 * mode) must each reach the guest's handler before a deadline.
 */
#include "guest/cases.h"
#include "guest/cpu.h"
#include "guest/lapic.h"
#include "guest/pic.h"
#include "guest/time.h"
#include "guest/trap.h"

#define DEADLINE_US  200000
#define PIT_DIVISOR  11932 /* 10 ms */
#define LAPIC_COUNT  10000
#define LAPIC_DIV_16 0x3

static volatile uint32_t lapic_ticks, pit_ticks;

static void on_lapic_timer(struct trap_frame *f)
{
	(void)f;
	lapic_ticks++;
	lapic_eoi();
}

static void on_pit(struct trap_frame *f)
{
	(void)f;
	pit_ticks++;
	pic_eoi(0);
}

static void wait_for(volatile uint32_t *counter)
{
	uint64_t end = time_deadline_us(DEADLINE_US);
	cpu_sti();
	while (*counter == 0 && !time_passed(end))
		cpu_pause();
	cpu_cli();
}

enum case_result case_timer(struct case_ctx *c)
{
	lapic_ticks = pit_ticks = 0;

	trap_set_handler(VEC_LAPIC_TIMER, on_lapic_timer);
	lapic_write(LAPIC_TIMER_DIV, LAPIC_DIV_16);
	lapic_write(LAPIC_LVT_TIMER, VEC_LAPIC_TIMER); /* one-shot, unmasked */
	lapic_write(LAPIC_TIMER_INIT, LAPIC_COUNT);
	wait_for(&lapic_ticks);
	lapic_write(LAPIC_LVT_TIMER, LVT_MASKED | VEC_LAPIC_TIMER);
	lapic_write(LAPIC_TIMER_INIT, 0);

	uint32_t lint0 = lapic_read(LAPIC_LVT_LINT0);
	if ((lint0 & LVT_MASKED) || (lint0 & 0x700) != LVT_EXTINT) {
		runner_info("LINT0 was %x: setting it to ExtINT", lint0);
		lapic_write(LAPIC_LVT_LINT0, LVT_EXTINT);
	}
	trap_set_handler(VEC_PIC_BASE + 0, on_pit);
	pit_start_periodic(PIT_DIVISOR);
	pic_unmask(0);
	wait_for(&pit_ticks);
	pic_mask_all();
	pit_stop();

	runner_info("LAPIC timer interrupts %u, PIT IRQ0 interrupts %u", lapic_ticks, pit_ticks);
	if (!lapic_ticks && !pit_ticks)
		return case_fail(c, "neither LAPIC timer nor PIT IRQ0 interrupt within %u ms",
		                 DEADLINE_US / 1000);
	if (!lapic_ticks)
		return case_fail(c, "no LAPIC timer interrupt within %u ms", DEADLINE_US / 1000);
	if (!pit_ticks)
		return case_fail(c, "no PIT IRQ0 interrupt within %u ms", DEADLINE_US / 1000);
	return CASE_PASS;
}
