/*
 * The machine of the task-switch tests (test_vmx_task_switch*.c): one CPU in
 * 32-bit protected mode with a GDT of TSS, code and data descriptors in a
 * 64 KiB guest-memory window, TR a busy TSS, and the checks they share.
 */
#ifndef TESTS_UNIT_VMX_TASK_SWITCH_ENV_H
#define TESTS_UNIT_VMX_TASK_SWITCH_ENV_H

#include <stdint.h>

#include "tests/unit/vmx/vmx_exit_util.h"

/* Guest-physical 0 .. 64 KiB. */
extern uint8_t ts_ram[64 * 1024];

#define GDT       0x1000u
#define TSS_MAIN  0x2000u /* the current task (TR) */
#define TSS_TASK  0x2100u
#define TSS_OTHER 0x2200u
#define STACK_TOP 0x8000u
#define TASK_EIP  0x3000u

/* GDT selectors. */
#define SEL_CODE    0x08
#define SEL_DATA    0x10
#define SEL_MAIN    0x18
#define SEL_TASK    0x20
#define SEL_SHORT   0x28 /* TSS with limit 0x40 */
#define SEL_ABSENT  0x30 /* TSS not present */
#define SEL_BUSY    0x38 /* TSS already busy */
#define SEL_DATA_NP 0x40 /* data segment, not present */
#define SEL_TSS16   0x48 /* 16-bit TSS */
#define SEL_LDT     0x50
#define SEL_CODE_RO 0x58 /* data segment where CS is expected */
#define GDT_LIMIT   0x5f

/* TSS offsets (SDM Vol. 3A Figure "32-Bit Task-State Segment"). */
#define T_LINK   0x00
#define T_CR3    0x1c
#define T_EIP    0x20
#define T_EFLAGS 0x24
#define T_EAX    0x28
#define T_ESP    0x38
#define T_EDI    0x44
#define T_ES     0x48
#define T_CS     0x4c
#define T_SS     0x50
#define T_DS     0x54
#define T_LDT    0x60

enum { SRC_CALL, SRC_IRET, SRC_JMP, SRC_GATE };

uint64_t desc(uint32_t base, uint32_t limit, uint8_t access, uint8_t flags);
void put64(uint32_t a, uint64_t v);
uint64_t get64(uint32_t a);
void put32(uint32_t a, uint32_t v);
uint32_t get32(uint32_t a);
/* Type (with S) of the GDT descriptor of sel. */
unsigned gdt_type(unsigned sel);
/* One CPU, 32-bit protected mode, the GDT above, TR the busy TSS_MAIN; the
 * guest at RIP 0x1000 with EAX..EDI = 0x11110000 + n, TSS_TASK and TSS_OTHER
 * describing a task at TASK_EIP on a stack at STACK_TOP. */
struct vcpu *guest(void);
/* Teardown: the EPT page a test hid visible again, the window closed. */
int done(void **state);
/* A task-switch exit: source, new TSS selector, instruction length, IDT-vectoring info. */
void ts_exit(struct vcpu *v, unsigned src, uint16_t sel, uint32_t len, uint32_t idt,
             uint32_t idt_error);
/* The next entry injects vec(error) (and RF is set for a fault). */
void assert_fault(uint8_t vec, uint32_t error);
/* A fault before the commit point: nothing changed, the instruction faults. */
void assert_untouched(const struct vcpu *v);
/* The new task runs: its registers, TR, CR0.TS. */
void assert_in_task(const struct vcpu *v, uint16_t sel, uint32_t base);

#endif
