#include "guest/time.h"

#include "guest/cpu.h"
#include "guest/runner.h"

#define PIT_CH0             0x40
#define PIT_CH2             0x42
#define PIT_CMD             0x43
#define PORT_B              0x61 /* bit 0: channel 2 gate, bit 1: speaker, bit 5: channel 2 output */
#define CAL_MS              10
#define FALLBACK_TSC_PER_MS 1000000u

static uint32_t tsc_per_ms = FALLBACK_TSC_PER_MS;

void time_init(void)
{
	uint16_t count = (uint16_t)(PIT_HZ * CAL_MS / 1000);

	/* Channel 2, lobyte/hibyte, mode 0 (interrupt on terminal count): OUT2 rises after count.
	 */
	outb(PORT_B, (uint8_t)((inb(PORT_B) & ~0x02) & ~0x01)); /* gate low, speaker off */
	outb(PIT_CMD, 0xb0);
	outb(PIT_CH2, (uint8_t)count);
	outb(PIT_CH2, (uint8_t)(count >> 8));
	outb(PORT_B, (uint8_t)(inb(PORT_B) | 0x01)); /* gate high: start counting */
	uint64_t t0 = rdtsc();
	uint32_t polls = 0;
	while (!(inb(PORT_B) & 0x20)) {
		if (++polls > 50000000u) {
			runner_info("PIT channel 2 never fired: assuming %u TSC ticks per ms",
			            FALLBACK_TSC_PER_MS);
			return;
		}
	}
	uint32_t ticks = (uint32_t)(rdtsc() - t0);
	outb(PORT_B, (uint8_t)(inb(PORT_B) & ~0x01));
	tsc_per_ms = ticks / CAL_MS ? ticks / CAL_MS : 1;
	runner_info("TSC: %u ticks per ms (calibrated on PIT channel 2)", tsc_per_ms);
}

uint32_t time_tsc_per_ms(void)
{
	return tsc_per_ms;
}

uint64_t time_deadline_us(uint32_t us)
{
	/* No 64-bit division: that would need libgcc. */
	uint32_t per_us = tsc_per_ms / 1000 ? tsc_per_ms / 1000 : 1;
	uint64_t ticks = (uint64_t)(us / 1000) * tsc_per_ms + (uint64_t)(us % 1000) * per_us;
	return rdtsc() + ticks;
}

bool time_passed(uint64_t deadline)
{
	return rdtsc() >= deadline;
}

void time_delay_us(uint32_t us)
{
	uint64_t end = time_deadline_us(us);
	while (!time_passed(end))
		cpu_pause();
}

void pit_start_periodic(uint16_t divisor)
{
	outb(PIT_CMD, 0x34); /* channel 0, lobyte/hibyte, mode 2 */
	outb(PIT_CH0, (uint8_t)divisor);
	outb(PIT_CH0, (uint8_t)(divisor >> 8));
}

void pit_stop(void)
{
	outb(PIT_CMD, 0x30); /* channel 0, lobyte/hibyte, mode 0: one terminal count, then quiet */
	outb(PIT_CH0, 0xff);
	outb(PIT_CH0, 0xff);
}
