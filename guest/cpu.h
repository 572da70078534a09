/*
 * The test guest's only inline assembly: one small wrapper per instruction, plus
 * "probes" that run one instruction that may fault and report the vector.
 *
 * The guest is a 32-bit protected-mode kernel without paging, so physical and
 * linear addresses are the same and MMIO is a plain volatile access.
 *
 * The 64-bit PAL stage (pal64/) compiles console.c, and with it this header, a
 * second time with -m64: the wrappers down to cpu_halt_forever are valid in
 * both modes; the rest (32-bit control registers, IDT, probes) is 32-bit only,
 * and pal64/cpu64.h holds the 64-bit ones.
 */
#ifndef GUEST_CPU_H
#define GUEST_CPU_H

#include <stdint.h>

#include "guest/trap.h"

static inline void outb(uint16_t port, uint8_t v)
{
	__asm__ __volatile__("outb %0, %1" : : "a"(v), "Nd"(port));
}

static inline void outw(uint16_t port, uint16_t v)
{
	__asm__ __volatile__("outw %0, %1" : : "a"(v), "Nd"(port));
}

/* REP OUTSB: n bytes from p to one port (string I/O, SDM Vol. 2B OUTS). */
static inline void outsb_rep(uint16_t port, const void *p, uint32_t n)
{
	__asm__ volatile("cld; rep outsb" : "+S"(p), "+c"(n) : "d"(port) : "memory");
}
static inline uint8_t inb(uint16_t port)
{
	uint8_t v;
	__asm__ __volatile__("inb %1, %0" : "=a"(v) : "Nd"(port));
	return v;
}

struct cpuid_regs {
	uint32_t eax, ebx, ecx, edx;
};

static inline struct cpuid_regs cpuid(uint32_t leaf, uint32_t subleaf)
{
	struct cpuid_regs r;
	__asm__ __volatile__("cpuid"
	                     : "=a"(r.eax), "=b"(r.ebx), "=c"(r.ecx), "=d"(r.edx)
	                     : "a"(leaf), "c"(subleaf));
	return r;
}

static inline uint64_t rdmsr(uint32_t msr)
{
	uint32_t lo, hi;
	__asm__ __volatile__("rdmsr" : "=a"(lo), "=d"(hi) : "c"(msr));
	return ((uint64_t)hi << 32) | lo;
}

static inline void wrmsr(uint32_t msr, uint64_t v)
{
	__asm__ __volatile__("wrmsr"
	                     :
	                     : "c"(msr), "a"((uint32_t)v), "d"((uint32_t)(v >> 32))
	                     : "memory");
}

static inline uint64_t rdtsc(void)
{
	uint32_t lo, hi;
	__asm__ __volatile__("rdtsc" : "=a"(lo), "=d"(hi));
	return ((uint64_t)hi << 32) | lo;
}

#ifndef __x86_64__
/* Control registers, for the bench mode's paging (guest/bench/bench_paging.c). */
static inline uint32_t cpu_read_cr0(void)
{
	uint32_t v;
	__asm__ __volatile__("movl %%cr0, %0" : "=r"(v));
	return v;
}

static inline void cpu_write_cr0(uint32_t v)
{
	__asm__ __volatile__("movl %0, %%cr0" : : "r"(v) : "memory");
}

static inline void cpu_write_cr3(uint32_t v)
{
	__asm__ __volatile__("movl %0, %%cr3" : : "r"(v) : "memory");
}

#endif

static inline void cpu_cli(void)
{
	__asm__ __volatile__("cli" : : : "memory");
}

static inline void cpu_sti(void)
{
	__asm__ __volatile__("sti" : : : "memory");
}

static inline void cpu_pause(void)
{
	__asm__ __volatile__("pause" : : : "memory");
}

/* Exactly 2n instructions (DEC, JNZ), n >= 1: the NMI sweep's delay. */
static inline void cpu_spin_pairs(uint32_t n)
{
	__asm__ __volatile__("1: dec %0\n\t"
	                     "jnz 1b"
	                     : "+r"(n)
	                     :
	                     : "cc");
}

/*
 * Waits until *p == v in a loop of 4 instructions (PAUSE, NOP, CMP, JNE): a
 * loop length that divides Bochs's SMP quantum of 16, so the instruction at
 * which this CPU sees the store repeats from round to round.
 */
static inline void cpu_wait_word(const volatile uint32_t *p, uint32_t v)
{
	__asm__ __volatile__("1: pause\n\t"
	                     "nop\n\t"
	                     "cmpl %1, (%0)\n\t"
	                     "jne 1b"
	                     :
	                     : "r"(p), "r"(v)
	                     : "cc", "memory");
}

static inline _Noreturn void cpu_halt_forever(void)
{
	for (;;)
		__asm__ __volatile__("cli; hlt" : : : "memory");
}

#ifndef __x86_64__
/* A read from a low fixed address (the BDA): in asm so GCC does not flag a "null page" access. */
static inline uint16_t phys_read16(uint32_t pa)
{
	uint16_t v;
	__asm__ __volatile__("movw (%1), %0" : "=r"(v) : "r"(pa) : "memory");
	return v;
}

struct __attribute__((packed)) descriptor_ptr {
	uint16_t limit;
	uint32_t base;
};

static inline void cpu_lidt(const struct descriptor_ptr *p)
{
	__asm__ __volatile__("lidt %0" : : "m"(*p));
}

/*
 * Probes. Each records the address of the instruction that may fault
 * (trap_probe.fault_at) and of the instruction after it (trap_probe.resume_at),
 * arms the probe and runs the instruction. An armed exception handler records
 * vector, error code and the EIP the CPU pushed, and IRETs to resume_at, so the
 * probe returns normally either way. Returns the vector, or TRAP_NONE.
 */
#define PROBE_ASM(insn)                                                                            \
	"movl $1f, %[at]\n\t"                                                                      \
	"movl $2f, %[resume]\n\t"                                                                  \
	"1: " insn "\n\t"                                                                          \
	"2:"
#define PROBE_OUT [at] "=m"(trap_probe.fault_at), [resume] "=m"(trap_probe.resume_at)

static inline uint32_t probe_read32(uint32_t addr, uint32_t *out)
{
	uint32_t v = 0;
	trap_arm();
	__asm__ __volatile__(PROBE_ASM("movl (%[p]), %[v]")
	                     : [v] "+r"(v), PROBE_OUT
	                     : [p] "r"(addr)
	                     : "memory");
	*out = v;
	return trap_disarm();
}

static inline uint32_t probe_write32(uint32_t addr, uint32_t v)
{
	trap_arm();
	__asm__ __volatile__(PROBE_ASM("movl %[v], (%[p])")
	                     : PROBE_OUT
	                     : [p] "r"(addr), [v] "r"(v)
	                     : "memory");
	return trap_disarm();
}

static inline uint32_t probe_rdmsr(uint32_t msr, uint64_t *out)
{
	uint32_t lo = 0, hi = 0;
	trap_arm();
	__asm__ __volatile__(PROBE_ASM("rdmsr")
	                     : "+a"(lo), "+d"(hi), PROBE_OUT
	                     : "c"(msr)
	                     : "memory");
	*out = ((uint64_t)hi << 32) | lo;
	return trap_disarm();
}

static inline uint32_t probe_wrmsr(uint32_t msr, uint64_t v)
{
	trap_arm();
	__asm__ __volatile__(PROBE_ASM("wrmsr")
	                     : PROBE_OUT
	                     : "c"(msr), "a"((uint32_t)v), "d"((uint32_t)(v >> 32))
	                     : "memory");
	return trap_disarm();
}

/* 1 / 0 with DIV: #DE, a fault (EIP = the DIV). */
static inline uint32_t probe_divide_by_zero(void)
{
	uint32_t eax = 1, edx = 0, zero = 0;
	trap_arm();
	__asm__ __volatile__(PROBE_ASM("divl %[z]")
	                     : "+a"(eax), "+d"(edx), PROBE_OUT
	                     : [z] "r"(zero)
	                     : "memory", "cc");
	return trap_disarm();
}

/* INT3: #BP, a trap (EIP = the instruction after INT3). */
static inline uint32_t probe_int3(void)
{
	trap_arm();
	__asm__ __volatile__(PROBE_ASM("int3") : PROBE_OUT : : "memory");
	return trap_disarm();
}

/* UD2: #UD, a fault (EIP = the UD2). */
static inline uint32_t probe_ud2(void)
{
	trap_arm();
	__asm__ __volatile__(PROBE_ASM("ud2") : PROBE_OUT : : "memory");
	return trap_disarm();
}

/* MOV to CR4 of v: #GP(0) for a reserved bit (SDM Vol. 2B MOV CRn). Under a
 * hypervisor the write exits (CR4.VMXE is the hypervisor's), which refuses it. */
static inline uint32_t probe_write_cr4(uint32_t v)
{
	trap_arm();
	__asm__ __volatile__(PROBE_ASM("movl %[v], %%cr4") : PROBE_OUT : [v] "r"(v) : "memory");
	return trap_disarm();
}

/* Task register and CR0.TS, for the task_switch case. */
static inline void cpu_ltr(uint16_t sel)
{
	__asm__ __volatile__("ltr %0" : : "r"(sel) : "memory");
}

static inline uint16_t cpu_str(void)
{
	uint16_t sel;
	__asm__ __volatile__("str %0" : "=r"(sel));
	return sel;
}

static inline void cpu_clts(void)
{
	__asm__ __volatile__("clts" : : : "memory");
}

static inline uint32_t cpu_read_eflags(void)
{
	uint32_t v;
	__asm__ __volatile__("pushfl; popl %0" : "=r"(v));
	return v;
}

/* A far pointer (m16:32) for an indirect far CALL. */
struct __attribute__((packed)) far_ptr {
	uint32_t offset;
	uint16_t sel;
};

/* Far CALL to the TSS `sel`: a task switch; returns when the task IRETs. */
static inline void cpu_call_task(uint16_t sel)
{
	struct far_ptr p = {0, sel};
	__asm__ __volatile__("lcall *%0" : : "m"(p) : "memory", "cc");
}

/* The same as a probe, for a switch that faults. */
static inline uint32_t probe_call_task(uint16_t sel)
{
	struct far_ptr p = {0, sel};
	trap_arm();
	__asm__ __volatile__(PROBE_ASM("lcall *%[p]") : PROBE_OUT : [p] "m"(p) : "memory", "cc");
	return trap_disarm();
}

/* VMCALL with EAX = *eax, EBX = ebx; *eax = EAX after it. #UD when no hypervisor answers. */
static inline uint32_t probe_vmcall_eax(uint32_t *eax, uint32_t ebx)
{
	uint32_t a = *eax, b = ebx, c = 0, d = 0;
	trap_arm();
	__asm__ __volatile__(PROBE_ASM("vmcall")
	                     : "+a"(a), "+b"(b), "+c"(c), "+d"(d), PROBE_OUT
	                     :
	                     : "memory");
	*eax = a;
	return trap_disarm();
}
#endif

#endif
