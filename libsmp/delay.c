/*
 * TSC delays calibrated against the 8254 PIT.
 *
 * Channel 2 is the one timer whose output software can read (port 0x61 bit 5)
 * without an interrupt, and its gate is port 0x61 bit 0. Mode 0 ("interrupt on
 * terminal count") drives OUT low when the count is written and high when it
 * reaches zero, so the TSC ticks between the write and OUT going high span a
 * known time.
 */
#include "libsmp/delay.h"

#include <stdbool.h>

#include "hw/hw.h"

#define PIT_HZ          1193182u
#define PIT_CH2_DATA    0x42u
#define PIT_COMMAND     0x43u
#define PORT_B          0x61u /* system control port B */
#define PORT_B_CH2_GATE 0x01u
#define PORT_B_SPEAKER  0x02u
#define PORT_B_CH2_OUT  0x20u
/* Channel 2, low byte then high byte, mode 0, binary. */
#define PIT_CH2_ONESHOT 0xb0u

/* 1193 PIT counts: the rate to 0.1%, plenty for the INIT-SIPI-SIPI waits; 10 ms
 * would cost 2M ticks of start-up in Bochs. */
#define CALIBRATE_US 1000u
/* Polls of port 0x61 before deciding the PIT is absent: an I/O read takes about
 * a microsecond on hardware, a few instructions in an emulator. */
#define CALIBRATE_POLLS 10000000u

static uint64_t tsc_per_us;

void delay_calibrate(void)
{
	const uint32_t count = (uint32_t)((uint64_t)PIT_HZ * CALIBRATE_US / 1000000u);
	uint8_t port_b = hw_inb(PORT_B);
	uint64_t start, end;
	uint32_t polls = 0;
	bool fired;

	hw_outb(PORT_B, (uint8_t)((port_b & ~PORT_B_SPEAKER) | PORT_B_CH2_GATE));
	hw_outb(PIT_COMMAND, PIT_CH2_ONESHOT);
	hw_outb(PIT_CH2_DATA, (uint8_t)(count & 0xff));
	hw_outb(PIT_CH2_DATA, (uint8_t)(count >> 8));
	start = hw_rdtsc();
	do {
		end = hw_rdtsc();
		fired = (hw_inb(PORT_B) & PORT_B_CH2_OUT) != 0;
	} while (!fired && ++polls < CALIBRATE_POLLS);
	hw_outb(PORT_B, port_b);

	tsc_per_us = fired && end > start ? (end - start) / CALIBRATE_US : 0;
	if (tsc_per_us == 0)
		tsc_per_us = DELAY_FALLBACK_TSC_PER_US;
}

uint64_t delay_tsc_per_us(void)
{
	if (tsc_per_us == 0)
		delay_calibrate();
	return tsc_per_us;
}

uint64_t delay_us_since(uint64_t tsc_start)
{
	return (hw_rdtsc() - tsc_start) / delay_tsc_per_us();
}

void delay_us(uint64_t us)
{
	uint64_t start = hw_rdtsc();

	while (delay_us_since(start) < us)
		hw_pause();
}
