/*
 * Busy-wait delays for the INIT-SIPI-SIPI sequence, on the TSC with its rate
 * measured against the 8254 PIT (channel 2, one-shot). Under Bochs the TSC
 * and the PIT both advance with emulated instructions, so the ratio holds.
 */
#ifndef LIBSMP_DELAY_H
#define LIBSMP_DELAY_H

#include <stdint.h>

/* TSC rate assumed when the PIT does not answer: too high only lengthens delays. */
#define DELAY_FALLBACK_TSC_PER_US 4000u

/* Measures the TSC rate (about 1 ms), again at each call. */
void delay_calibrate(void);
/* TSC ticks per microsecond (calibrating at the first call); never 0. */
uint64_t delay_tsc_per_us(void);
/* Microseconds since `tsc_start` (a hw_rdtsc() value). */
uint64_t delay_us_since(uint64_t tsc_start);
void delay_us(uint64_t us);

#endif /* LIBSMP_DELAY_H */
