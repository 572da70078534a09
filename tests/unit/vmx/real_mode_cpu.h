/*
 * A 16-bit real-mode interpreter for the INT 15h hook's stub, over
 * bios_lowmem.h's memory: only the instructions the stub may contain
 * (anything else fails the test), its VMCALL answered the way bios_hook.h
 * tells the VM-exit handler to.
 */
#ifndef TESTS_UNIT_VMX_REAL_MODE_CPU_H
#define TESTS_UNIT_VMX_REAL_MODE_CPU_H

#include <stdbool.h>
#include <stdint.h>

struct cpu16 {
	uint32_t eax, ebx, ecx, edx, edi;
	uint16_t sp, bp, cs, ip, ss, es, flags;
	uint64_t eptp;
	/* where execution left the stub */
	bool far_jumped;
	uint16_t far_cs, far_ip;
	int vmcalls;
};

/* The caller's INT 15h: returns with the caller's CS:IP restored (or a far jump). */
#define CALLER_CS 0x1000u
#define CALLER_IP 0x0123u
void int15(struct cpu16 *c);

/* A caller with these registers, EDX = 'SMAP', its stack at 2000:FFF0, IF set. */
struct cpu16 caller(uint32_t eax, uint32_t ebx, uint32_t ecx, uint16_t es, uint16_t di);

#endif
