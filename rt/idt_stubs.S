/*
 * Exception entry stubs for vectors 0-31 (rt/cpu_tables.c installs them).
 *
 * Every stub leaves the same frame, struct rt_trap_frame (rt/trap.h): the CPU
 * pushes SS, RSP, RFLAGS, CS, RIP and, for some vectors, an error code (Intel
 * SDM Vol. 3A 6.14.2); stubs of vectors without one push a 0 so
 * the layout is uniform; then the vector and all general-purpose registers.
 * rt_trap() returns only for an NMI, which then resumes with IRETQ (and IRET
 * is what ends the CPU's NMI blocking, SDM Vol. 3A 6.7.1).
 */

/* Vectors for which the CPU pushes an error code (SDM Vol. 3A Table 6-1). */
#define HAS_ERR(v) ((v) == 8 || ((v) >= 10 && (v) <= 14) || (v) == 17 || (v) == 21 || \
		    (v) == 29 || (v) == 30)

	.text
	.macro trap_stub vec
	.align 16
trap_stub_\vec:
	.if HAS_ERR(\vec) == 0
	pushq $0
	.endif
	pushq $\vec
	jmp trap_common
	.endm

	.irp v, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31
	trap_stub \v
	.endr

trap_common:
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
	movq %rsp, %rdi		/* struct rt_trap_frame * */
	movq %rsp, %rbx		/* callee-saved: survives the call */
	andq $-16, %rsp		/* SysV ABI: 16-byte aligned at the call */
	cld
	call rt_trap
	movq %rbx, %rsp
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
	addq $16, %rsp		/* vector and error code */
	iretq

	/* Entry points by vector, read by cpu_tables_init(). */
	.section .rodata
	.align 8
	.globl rt_idt_stubs
rt_idt_stubs:
	.irp v, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31
	.quad trap_stub_\v
	.endr

	.section .note.GNU-stack, "", @progbits
