/*
 * The PAL stage's 64-bit inline assembly (the wrappers valid in both modes,
 * port I/O, RDTSC, PAUSE, come from guest/cpu.h). Everything here is
 * always_inline: PAL code (pal_code.c) uses some of it and must not call out
 * of its own page.
 */
#ifndef GUEST_PAL64_CPU64_H
#define GUEST_PAL64_CPU64_H

#include <stdint.h>

#include "guest/cpu.h"

#define INLINE64 static inline __attribute__((always_inline))

struct __attribute__((packed)) descriptor_ptr64 {
	uint16_t limit;
	uint64_t base;
};

INLINE64 void cpu64_lidt(const struct descriptor_ptr64 *p)
{
	__asm__ __volatile__("lidt %0" : : "m"(*p));
}

INLINE64 uint64_t cpu64_read_cr2(void)
{
	uint64_t v;
	__asm__ __volatile__("movq %%cr2, %0" : "=r"(v));
	return v;
}

INLINE64 uint64_t cpu64_read_cr3(void)
{
	uint64_t v;
	__asm__ __volatile__("movq %%cr3, %0" : "=r"(v));
	return v;
}

INLINE64 uint64_t cpu64_rdtsc(void)
{
	uint32_t lo, hi;
	__asm__ __volatile__("rdtsc" : "=a"(lo), "=d"(hi));
	return ((uint64_t)hi << 32) | lo;
}

/* VMCALL: RAX = function, RBX, RCX, RDX, RSI, RDI in and out (a hypervisor may set any). */
struct vmcall_regs {
	uint64_t rax, rbx, rcx, rdx, rsi, rdi;
};

INLINE64 void cpu64_vmcall(struct vmcall_regs *r)
{
	__asm__ __volatile__("vmcall"
	                     : "+a"(r->rax), "+b"(r->rbx), "+c"(r->rcx), "+d"(r->rdx), "+S"(r->rsi),
	                       "+D"(r->rdi)
	                     :
	                     : "memory", "cc");
}

/*
 * Calls entry(in, nin, out, nout) as the TrustVisor PAL ABI says (RDI, RSI,
 * RDX, RCX). Under TrustVisor a registered PAL returns RAX = status and RDX =
 * the PAL's RAX; an unregistered one is a plain function: RAX = its result.
 * Every register a System V call may change is an output here. No red zone to
 * skip: the stage is built with -mno-red-zone. *ret_rip receives the return
 * address before the call: where an NMI TrustVisor held during the PAL lands.
 */
INLINE64 uint64_t cpu64_pal_call(uint64_t entry, const uint64_t *in, uint64_t nin, uint64_t *out,
                                 uint64_t nout, uint64_t *rdx_out, volatile uint64_t *ret_rip)
{
	register uint64_t rdi __asm__("rdi") = (uint64_t)(uintptr_t)in;
	register uint64_t rsi __asm__("rsi") = nin;
	register uint64_t rdx __asm__("rdx") = (uint64_t)(uintptr_t)out;
	register uint64_t rcx __asm__("rcx") = nout;
	register uint64_t r8 __asm__("r8");
	register uint64_t r9 __asm__("r9");
	register uint64_t r10 __asm__("r10");
	register uint64_t r11 __asm__("r11");
	uint64_t rax;

	__asm__ __volatile__("leaq 1f(%%rip), %%rax\n\t"
	                     "movq %%rax, %[ret]\n\t"
	                     "call *%[entry]\n"
	                     "1:"
	                     : "=&a"(rax), "+r"(rdi), "+r"(rsi), "+r"(rdx), "+r"(rcx), "=r"(r8),
	                       "=r"(r9), "=r"(r10), "=r"(r11), [ret] "=m"(*ret_rip)
	                     : [entry] "m"(entry)
	                     : "memory", "cc");
	*rdx_out = rdx;
	return rax;
}

/*
 * Exactly `n` one-byte NOPs (n <= 15), after a fixed LEA, SUB and JMP: the
 * NMI sweep shifts the boot CPU's operation by one instruction per step.
 */
INLINE64 void cpu64_nops(uint64_t n)
{
	__asm__ __volatile__("leaq 2f(%%rip), %%rax\n\t"
	                     "subq %0, %%rax\n\t"
	                     "jmp *%%rax\n\t"
	                     ".fill 15, 1, 0x90\n"
	                     "2:"
	                     :
	                     : "r"(n)
	                     : "rax", "memory");
}

/* OUT DX, AL. */
INLINE64 void cpu64_outb(uint16_t port, uint8_t value)
{
	__asm__ volatile("outb %0, %1" : : "a"(value), "Nd"(port));
}

/* Bochs's magic breakpoint (`magic_break: enabled=1`): the debugger stops here.
 * Elsewhere, a no-op. */
INLINE64 void cpu64_magic_break(void)
{
	__asm__ volatile("xchg %%bx, %%bx" : : : "memory");
}

INLINE64 void cpu64_pause(void)
{
	__asm__ __volatile__("pause" : : : "memory");
}

#endif /* GUEST_PAL64_CPU64_H */
