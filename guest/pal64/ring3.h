/*
 * Ring 3 for the fuzzer (fuzz64.h, issue 11 point 5): a GDT with user code and
 * data segments and a 64-bit TSS whose RSP0 is a kernel stack of its own, the
 * U bit on the fuzz arena's 2-MiB page (and the tables above it), and a second
 * address space (a copy of the PML4: another CR3, so another TrustVisor owner).
 *
 * ring3_run() enters ring 3 at a stub on the arena's user code page with the
 * registers given, and comes back when the stub ends (INT 0x81, the one gate of
 * DPL 3) or anything faults there: the vector, or PROBE_NONE for the INT 0x81.
 * The kernel side (the stage's IDT, stack, console) stays supervisor-only.
 */
#ifndef GUEST_PAL64_RING3_H
#define GUEST_PAL64_RING3_H

#include <stdbool.h>
#include <stdint.h>

#define RING3_DONE_VEC 0x81u
#define USER_DS        0x23u /* GDT index 4, RPL 3 */
#define USER_CS        0x2bu /* GDT index 5, RPL 3 */
#define TSS_SEL        0x30u /* GDT index 6 (16 bytes) */

/* Offsets used by ring3.S. */
struct ring3_regs {
	uint64_t rax, rbx, rcx, rdx, rsi, rdi, r8; /* in and out */
	uint64_t rip, rsp, rflags;                 /* in: where ring 3 starts */
	uint64_t vector, error, fault_rip;         /* out */
};

/* The frame stage.c's interrupt stubs build (isr64_common, entry64.S). */
struct frame64 {
	uint64_t r15, r14, r13, r12, r11, r10, r9, r8, rbp, rdi, rsi, rdx, rcx, rbx, rax;
	uint64_t vector, error;
	uint64_t rip, cs, rflags, rsp, ss;
};

/* Loads the GDT and TSS, sets the U bits; false if the CPU cannot (then no ring 3). */
bool ring3_setup(void);
/* The 32-bit guest's GDT back (before the stage returns). */
void ring3_teardown(void);
/* The kernel's CR3 and the other address space's. */
uint64_t ring3_kernel_cr3(void);
uint64_t ring3_other_cr3(void);
/* Runs ring 3 in address space cr3 (the kernel's or the other) until its stub ends. */
uint32_t ring3_run(struct ring3_regs *r, uint64_t cr3);
/* From stage_interrupt: true if the interrupt ended a ring-3 run (frame now returns to it). */
bool ring3_catch(struct frame64 *f);

/* ring3.S */
void ring3_enter(struct ring3_regs *r);
extern const char ring3_resume[];
extern uint64_t ring3_kernel_rsp;

#endif /* GUEST_PAL64_RING3_H */
