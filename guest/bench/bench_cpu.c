/*
 * CPU-bound workload: bitwise CRC-32 (IEEE 802.3, reflected, polynomial
 * 0xEDB88320) over a 4 KiB buffer, many rounds. Everything stays in registers
 * and L1; no exits are expected, so on hardware passthrough should match bare.
 */
#include "guest/bench/bench.h"
#include "guest/cpu.h"
#include "guest/runner.h"

#define BUF_SIZE 4096
#define ROUNDS   512 /* 2 MiB of input: about 150 M instructions */

static uint8_t buf[BUF_SIZE];

static uint32_t crc32_update(uint32_t crc, const uint8_t *p, uint32_t n)
{
	crc = ~crc;
	while (n--) {
		crc ^= *p++;
		for (int k = 0; k < 8; k++)
			crc = (crc >> 1) ^ (0xedb88320u & (0u - (crc & 1)));
	}
	return ~crc;
}

enum case_result bench_cpu(struct case_ctx *c)
{
	static const uint8_t check[] = "123456789";
	uint32_t crc = crc32_update(0, check, 9);
	if (crc != 0xcbf43926u)
		return case_fail(c, "CRC-32 of \"123456789\" is %x, expected cbf43926", crc);

	uint32_t x = 12345;
	for (uint32_t i = 0; i < BUF_SIZE; i++) {
		x = x * 1103515245u + 12345u; /* LCG: fixed, reproducible contents */
		buf[i] = (uint8_t)(x >> 16);
	}
	crc = 0;
	uint64_t t0 = rdtsc();
	for (uint32_t r = 0; r < ROUNDS; r++)
		crc = crc32_update(crc, buf, BUF_SIZE);
	uint64_t t1 = rdtsc();
	runner_info("bench cpu_crc32: %u rounds of %u bytes, crc %08x", ROUNDS, BUF_SIZE, crc);
	bench_report("cpu_crc32", t1 - t0);
	return CASE_PASS;
}
