/* What the code under test wrote to COM1, as a string (from the fake's I/O log). */
#ifndef TESTS_UNIT_RT_SERIAL_CAPTURE_H
#define TESTS_UNIT_RT_SERIAL_CAPTURE_H

#include <stddef.h>
#include <stdint.h>

#include "hw/fake/fake_hw.h"

static inline const char *serial_text(void)
{
	static char text[FAKE_IO_LOG_SIZE + 1];
	static uint32_t bytes[FAKE_IO_LOG_SIZE];
	size_t n = fake_io_collect(0x3f8, FAKE_IO_OUT, bytes, FAKE_IO_LOG_SIZE);
	if (n > FAKE_IO_LOG_SIZE)
		n = FAKE_IO_LOG_SIZE;
	for (size_t i = 0; i < n; i++)
		text[i] = (char)bytes[i];
	text[n] = '\0';
	return text;
}

#endif
