/*
 * What the test_vmx_exits_*.c files share: an instruction exit at a known
 * guest RIP, and the guest state they look at afterwards (RIP, the event
 * the next VM entry injects, the #GP(0) a faulting instruction gets).
 */
#ifndef TESTS_UNIT_VMX_VMX_EXIT_UTIL_H
#define TESTS_UNIT_VMX_VMX_EXIT_UTIL_H

#include <stdint.h>

#include "tests/unit/vmx/test_vmx_env.h"

/* The current CPU's guest RIP. */
uint64_t rip(void);
/* The VM-entry interruption information (what the next entry injects). */
uint32_t injected(void);
/* An instruction exit of `len` bytes at guest RIP 0x1000. */
void instr_exit(struct vcpu *v, uint32_t reason, uint64_t qual, uint32_t len);
/* #GP(0) is injected, RIP stayed at 0x1000 (the instruction faulted) and RF is
 * set in the RFLAGS the injection pushes. */
void assert_gp0_injected(void);

#endif
