/*
 * Exceptions taken in the hypervisor (vectors 0-31, rt/idt_stubs.S).
 *
 * The NMI goes to the handler installed with rt_set_nmi_handler() and resumes;
 * every other exception is a hypervisor bug and panics with a register dump.
 */
#ifndef RT_TRAP_H
#define RT_TRAP_H

#include <stdint.h>

/* The stack frame every stub builds, lowest address first. */
struct rt_trap_frame {
	uint64_t r15, r14, r13, r12, r11, r10, r9, r8;
	uint64_t rbp, rdi, rsi, rdx, rcx, rbx, rax;
	uint64_t vector;
	uint64_t error_code; /* 0 for vectors without one */
	/* Pushed by the CPU (SDM Vol. 3A 6.14.2). */
	uint64_t rip, cs, rflags, rsp, ss;
};

#define RT_VECTOR_NMI 2

/*
 * A code range an NMI must restart: an NMI taken with RIP in [lo, hi] (after
 * the NMI handler ran) returns to `to` instead. libvmx's last look for guest
 * NMIs before VM entry and the entry instruction are such a range: an NMI
 * there would otherwise wait in root for the next VM exit. One range, set once
 * on the boot CPU before NMIs can arrive; the code in it must be restartable.
 */
void rt_set_nmi_restart(uintptr_t lo, uintptr_t hi, uintptr_t to);

/* Called by the stubs. Returns only for an NMI. */
void rt_trap(struct rt_trap_frame *f);

#ifdef HV_NMI_SWEEP
/* NMI sweep images: the RIP the calling CPU's latest root-mode NMI interrupted
 * (from its trap frame); valid inside the installed NMI handler. */
uint64_t rt_nmi_interrupted_rip(void);
#endif

/* "UD" for 6, "GP" for 13, ...; "RSVD" for reserved vectors. */
const char *rt_exception_mnemonic(uint64_t vector);

#endif /* RT_TRAP_H */
