/* Time for the test guest: the TSC, calibrated once against PIT channel 2; PIT channel 0. */
#ifndef GUEST_TIME_H
#define GUEST_TIME_H

#include <stdbool.h>
#include <stdint.h>

#define PIT_HZ 1193182u

/* Measures TSC ticks per millisecond over 10 ms of PIT channel 2. */
void time_init(void);
uint32_t time_tsc_per_ms(void);
uint64_t time_deadline_us(uint32_t us);
bool time_passed(uint64_t deadline);
void time_delay_us(uint32_t us);

/* PIT channel 0 as a rate generator (mode 2) with the given divisor, output on IRQ0. */
void pit_start_periodic(uint16_t divisor);
/* PIT channel 0 in one-shot mode with the longest count: effectively quiet. */
void pit_stop(void);

#endif
