/*
 * A 64-bit user process for the TrustVisor host tests (tv_env.h's machine):
 * its page tables in the fake guest RAM, a PAL descriptor over its pages,
 * hypercalls, and the two halves of a PAL call (the caller's `call ENTRY`
 * and the PAL's `ret` to the sentinel). Shared by the test_tv_*.c files that
 * register and call PALs, so each tests one concept over the same process.
 *
 * The process (GVA -> GPA):
 *   CODE 0x400000 -> 0x200000, PARAMS 0x401000 -> 0x201000,
 *   STACK 0x402000 (2 pages) -> 0x202000, DATA 0x405000 -> 0x205000,
 *   ALIAS -> the code page again, HV -> hypervisor memory, HIGH -> above RAM,
 *   SUP/KERNEL -> supervisor pages, BUF (caller's data) -> 0x301000,
 *   CSTACK (caller's stack) -> 0x300000. cr3_b is another process that maps
 *   only BUF and CSTACK.
 */
#ifndef TESTS_UNIT_TRUSTVISOR_TV_PROC_H
#define TESTS_UNIT_TRUSTVISOR_TV_PROC_H

#include <stdbool.h>
#include <stdint.h>

#include "apps/trustvisor/tv_hypercall.h"
#include "libvmx/vcpu.h"

#define PG 0x1000ull
#define P  1ull
#define RW 2ull
#define US 4ull

#define CODE_GVA   0x400000ull /* -> 0x200000 */
#define PARAMS_GVA 0x401000ull /* -> 0x201000 */
#define STACK_GVA  0x402000ull /* 2 pages -> 0x202000, 0x203000 */
#define DATA_GVA   0x405000ull /* -> 0x205000 */
#define ALIAS_GVA  0x406000ull /* -> 0x200000, the code page again */
#define HV_GVA     0x407000ull /* -> TVF_HV_LO */
#define HIGH_GVA   0x408000ull /* -> 64 MiB, above RAM */
#define SUP_GVA    0x500000ull /* supervisor page -> 0x311000 */
#define BUF_GVA    0x600000ull /* caller data -> 0x301000 */
#define UNMAPPED   0x700000ull
#define CSTACK_GVA 0x7ff000ull           /* caller stack -> 0x300000 */
#define KERNEL_GVA 0xffff888000000000ull /* -> 0x310000, supervisor */
#define ENTRY      (CODE_GVA + 0x40)
#define IN_GVA     BUF_GVA
#define OUT_GVA    (BUF_GVA + 0x100)
#define DESC_GVA   (BUF_GVA + 0x800)
#define CALLER_RSP (CSTACK_GVA + 0xef8)
#define RET_RIP    0x410123ull

extern struct vcpu *v;
extern uint64_t cr3_a, cr3_b;
/* The PAL over CODE, PARAMS, STACK and DATA: in_words 2, out_words 1. */
extern const struct tv_pal_desc good_desc;

void put64(uint64_t gpa, uint64_t x);
uint64_t get64(uint64_t gpa);
/* Maps gva -> gpa with flags in the 4-level tables at root (tables allocated on demand). */
void map(uint64_t root, uint64_t gva, uint64_t gpa, uint64_t flags);
/* The current CPU runs ring cpl (0 or 3), 64-bit, paging with cr3. */
void cpl_mode(uint64_t cr3, unsigned cpl);
/* cpl_mode(cr3, 3). */
void user_mode(uint64_t cr3);

/* cmocka setup: a fresh machine (2 CPUs), no PALs, process A current. */
int setup(void **state);

/* VMCALL fn with RBX = rbx (other registers as the test left them); RAX after. */
int64_t hypercall(uint32_t fn, uint64_t rbx);
/* TV_HC_REGISTER of d (copied to DESC_GVA). */
int64_t register_desc(const struct tv_pal_desc *d);
unsigned registered(void);
/* No page hidden from the guest view. */
bool all_pages_visible(void);

/* The caller executes `call ENTRY` with (in = {40, 2}, 2, out, 1). */
void call_entry(void);
/* The PAL's `ret` reaches the sentinel with RAX = pal_rax: #PF at it. */
void pal_returns(uint64_t pal_rax);
/* pal_returns(0), for the tests that take a PAL's ending as a function. */
void pal_returns_0(void);
/* The PAL raises #GP(0): the exception exit (every exception exits in a PAL). */
void pal_gp_faults(void);
/* The preemption-timer exit (basic reason 52) as libvmx dispatches it: in a
 * PAL, its time budget ran out. */
void pal_timer_exit(void);
/* The call has ended with `status` and the caller's state is back. */
void assert_caller_restored(int64_t status);
/* The PAL writes 42 to its output word and returns 0: the call ends TV_OK,
 * the caller's state back (the caller then finds 42 at get64(0x301100)). */
void pal_outputs_42(void);

#endif
