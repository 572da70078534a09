/*
 * Probes of the 64-bit stage: run one instruction that may fault and report
 * the vector, as guest/cpu.h does in 32-bit mode. Used by the fuzzer
 * (fuzz*.c); stage.c hands every exception to probe64_catch first.
 *
 * Each probe stores the address of the probed instruction, of the one after
 * it and the stack pointer, arms, runs the instruction. The exception handler
 * records vector and error code and returns to the address after it with that
 * stack pointer (a probed CALL may fault inside the callee with its return
 * address still pushed). One CPU only: the boot CPU in long mode.
 */
#ifndef GUEST_PAL64_PROBE64_H
#define GUEST_PAL64_PROBE64_H

#include <stdbool.h>
#include <stdint.h>

#define PROBE_NONE 0xffffffffu

struct probe64_state {
	volatile uint64_t armed;
	volatile uint64_t resume_at;
	volatile uint64_t resume_rsp;
	volatile uint64_t vector; /* PROBE_NONE if nothing was raised */
	volatile uint64_t error;
	volatile uint64_t rip; /* RIP the CPU pushed */
};

extern struct probe64_state probe64;

/* From stage_interrupt: true if a probe was armed (the frame now resumes after it). */
bool probe64_catch(uint64_t vector, uint64_t error, uint64_t *rip, uint64_t *rsp);

#define INLINE_PROBE static inline __attribute__((always_inline))

INLINE_PROBE void probe64_arm(void)
{
	probe64.vector = PROBE_NONE;
	probe64.error = 0;
	probe64.armed = 1;
}

INLINE_PROBE uint32_t probe64_disarm(void)
{
	probe64.armed = 0;
	return (uint32_t)probe64.vector;
}

/* `insn` at label 1, resumption at label 2; RSP saved for the handler. */
#define PROBE64_ASM(insn)                                                                          \
	"movq $2f, %[resume]\n\t"                                                                  \
	"movq %%rsp, %[rsp]\n\t"                                                                   \
	"1: " insn "\n\t"                                                                          \
	"2:"
#define PROBE64_OUT [resume] "=m"(probe64.resume_at), [rsp] "=m"(probe64.resume_rsp)

INLINE_PROBE uint32_t probe64_read64(uint64_t addr, uint64_t *out)
{
	uint64_t v = 0;
	probe64_arm();
	__asm__ __volatile__(PROBE64_ASM("movq (%[p]), %[v]")
	                     : [v] "+r"(v), PROBE64_OUT
	                     : [p] "r"(addr)
	                     : "memory");
	*out = v;
	return probe64_disarm();
}

/* 32 bits: MMIO devices (Bochs's I/O APIC) refuse wider reads as a fatal error. */
INLINE_PROBE uint32_t probe64_read32(uint64_t addr, uint32_t *out)
{
	uint32_t v = 0;
	probe64_arm();
	__asm__ __volatile__(PROBE64_ASM("movl (%[p]), %[v]")
	                     : [v] "+r"(v), PROBE64_OUT
	                     : [p] "r"(addr)
	                     : "memory");
	*out = v;
	return probe64_disarm();
}

INLINE_PROBE uint32_t probe64_write64(uint64_t addr, uint64_t v)
{
	probe64_arm();
	__asm__ __volatile__(PROBE64_ASM("movq %[v], (%[p])")
	                     : PROBE64_OUT
	                     : [p] "r"(addr), [v] "r"(v)
	                     : "memory");
	return probe64_disarm();
}

INLINE_PROBE uint32_t probe64_rdmsr(uint32_t msr, uint64_t *out)
{
	uint32_t lo = 0, hi = 0;
	probe64_arm();
	__asm__ __volatile__(PROBE64_ASM("rdmsr")
	                     : "+a"(lo), "+d"(hi), PROBE64_OUT
	                     : "c"(msr)
	                     : "memory");
	*out = ((uint64_t)hi << 32) | lo;
	return probe64_disarm();
}

INLINE_PROBE uint32_t probe64_wrmsr(uint32_t msr, uint64_t v)
{
	probe64_arm();
	__asm__ __volatile__(PROBE64_ASM("wrmsr")
	                     : PROBE64_OUT
	                     : "c"(msr), "a"((uint32_t)v), "d"((uint32_t)(v >> 32))
	                     : "memory");
	return probe64_disarm();
}

/* VMCALL with all six argument registers in and out. */
INLINE_PROBE uint32_t probe64_vmcall(uint64_t r[6])
{
	probe64_arm();
	__asm__ __volatile__(PROBE64_ASM("vmcall")
	                     : "+a"(r[0]), "+b"(r[1]), "+c"(r[2]), "+d"(r[3]), "+S"(r[4]),
	                       "+D"(r[5]), PROBE64_OUT
	                     :
	                     : "memory", "cc");
	return probe64_disarm();
}

/* Control and debug registers: one probe per register (the number is part of the opcode). */
#define PROBE64_MOV_TO(name, reg)                                                                  \
	INLINE_PROBE uint32_t probe64_write_##name(uint64_t v)                                     \
	{                                                                                          \
		probe64_arm();                                                                     \
		__asm__ __volatile__(PROBE64_ASM("movq %[v], %%" reg)                              \
		                     : PROBE64_OUT                                                 \
		                     : [v] "r"(v)                                                  \
		                     : "memory");                                                  \
		return probe64_disarm();                                                           \
	}                                                                                          \
	INLINE_PROBE uint32_t probe64_read_##name(uint64_t *out)                                   \
	{                                                                                          \
		uint64_t v = 0;                                                                    \
		probe64_arm();                                                                     \
		__asm__ __volatile__(PROBE64_ASM("movq %%" reg ", %[v]")                           \
		                     : [v] "+r"(v), PROBE64_OUT                                    \
		                     :                                                             \
		                     : "memory");                                                  \
		*out = v;                                                                          \
		return probe64_disarm();                                                           \
	}

PROBE64_MOV_TO(cr0, "cr0")
PROBE64_MOV_TO(cr2, "cr2")
PROBE64_MOV_TO(cr3, "cr3")
PROBE64_MOV_TO(cr4, "cr4")
PROBE64_MOV_TO(cr8, "cr8")
PROBE64_MOV_TO(dr0, "db0")
PROBE64_MOV_TO(dr1, "db1")
PROBE64_MOV_TO(dr2, "db2")
PROBE64_MOV_TO(dr3, "db3")
PROBE64_MOV_TO(dr4, "db4")
PROBE64_MOV_TO(dr5, "db5")
PROBE64_MOV_TO(dr6, "db6")
PROBE64_MOV_TO(dr7, "db7")

/*
 * An instruction with at most a 16-byte memory operand %[m], RAX and RCX (VMX
 * instructions, INVPCID, GETSEC, VMFUNC): the text names its operands.
 */
struct probe64_m128 {
	uint64_t q[2];
};

#define PROBE64_MEMOP(name, text)                                                                  \
	INLINE_PROBE uint32_t probe64_##name(uint64_t rax, uint64_t rcx, struct probe64_m128 *m)   \
	{                                                                                          \
		uint64_t rbx = 0, rdx = 0;                                                         \
		probe64_arm();                                                                     \
		__asm__ __volatile__(PROBE64_ASM(text)                                             \
		                     : "+a"(rax), "+b"(rbx), "+c"(rcx), "+d"(rdx), [m] "+m"(*m),   \
		                       PROBE64_OUT                                                 \
		                     :                                                             \
		                     : "memory", "cc");                                            \
		return probe64_disarm();                                                           \
	}

#endif /* GUEST_PAL64_PROBE64_H */
