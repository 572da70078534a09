/*
 * The PAL stage's image header, entry and interrupt stubs (64-bit code).
 *
 * pal64_start(struct pal64_shared *) is called by the 32-bit guest's
 * pal64_switch in 64-bit mode on the guest's stack. It keeps that stack pointer,
 * runs stage_main on the stage's own stack and returns its result.
 * stage_abort(result) returns the same way from anywhere (an exception handler
 * that ends the case): nothing on the stage stack is needed afterwards.
 */
#include "guest/layout.h"
#include "guest/pal64/pal64_abi.h"

#define STACK64_SIZE 16384

	.section .pal64_header, "a"
pal64_header:
	.long PAL64_MAGIC
	.long pal64_start
	.long __pal64_mem_end
	.long pal64_header

	.section .text.entry, "ax"
	.code64
	.globl pal64_start
pal64_start:
	cmpl $PAL64_CASE_FUZZ_AP_ID, (%rdi) /* case_id: the other CPU's entries */
	jae ap_start
	pushq %rbx
	pushq %rbp
	pushq %r12
	pushq %r13
	pushq %r14
	pushq %r15
	movq %rsp, entry_rsp(%rip)
	leaq stack64_top(%rip), %rsp
	call stage_main
	.globl stage_return
stage_return:
	movq entry_rsp(%rip), %rsp
	popq %r15
	popq %r14
	popq %r13
	popq %r12
	popq %rbp
	popq %rbx
	ret

/* The other CPU's entries (PAL64_CASE_FUZZ_AP and later): the same, on its own stack. */
ap_start:
	pushq %rbx
	pushq %rbp
	pushq %r12
	pushq %r13
	pushq %r14
	pushq %r15
	movq %rsp, ap_entry_rsp(%rip)
	leaq ap_stack_top(%rip), %rsp
	call stage_ap_main
	movq ap_entry_rsp(%rip), %rsp
	popq %r15
	popq %r14
	popq %r13
	popq %r12
	popq %rbp
	popq %rbx
	ret

	.globl stage_abort
stage_abort:
	movl %edi, %eax
	jmp stage_return

/*
 * Interrupt stubs, 16 bytes apart (stage.c computes their addresses). The CPU
 * pushes an error code for vectors 8, 10-14, 17, 21, 29, 30 (SDM Vol. 3A 6.13);
 * the others get a 0 so every frame looks alike. In 64-bit mode the CPU always
 * pushes SS:RSP and aligns RSP to 16 first (6.14.2), so after the vector and
 * 15 registers the call below runs on a 16-byte aligned stack.
 */
	.altmacro
.macro isr64_stub vec
	.p2align 4
	.if (\vec == 8) || ((\vec >= 10) && (\vec <= 14)) || (\vec == 17) || (\vec == 21) || (\vec == 29) || (\vec == 30)
	.else
	pushq $0
	.endif
	pushq $\vec
	jmp isr64_common
.endm

	.p2align 4
	.globl isr64_stubs
isr64_stubs:
	.set vec, 0
	.rept 256
	isr64_stub %vec
	.set vec, vec + 1
	.endr

isr64_common:
	pushq %rax
	pushq %rbx
	pushq %rcx
	pushq %rdx
	pushq %rsi
	pushq %rdi
	pushq %rbp
	pushq %r8
	pushq %r9
	pushq %r10
	pushq %r11
	pushq %r12
	pushq %r13
	pushq %r14
	pushq %r15
	cld
	movq %rsp, %rdi
	call stage_interrupt
	popq %r15
	popq %r14
	popq %r13
	popq %r12
	popq %r11
	popq %r10
	popq %r9
	popq %r8
	popq %rbp
	popq %rdi
	popq %rsi
	popq %rdx
	popq %rcx
	popq %rbx
	popq %rax
	addq $16, %rsp /* vector, error code */
	iretq

	.bss
	.p2align 4
entry_rsp:
	.quad 0
ap_entry_rsp:
	.quad 0
	.p2align 12
stack64:
	.skip STACK64_SIZE
stack64_top:
	.p2align 12
ap_stack:
	.skip STACK64_SIZE
ap_stack_top:
