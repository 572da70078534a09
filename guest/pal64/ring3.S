/*
 * Into ring 3 and back (ring3.h). ring3_enter(regs) saves the callee-saved
 * registers and the data segment selectors, builds an IRETQ frame to the
 * user code segment (SDM Vol. 3A 6.14.3: IRET to a less privileged level pops
 * SS:RSP too) and loads the registers ring 3 gets. ring3_catch (an interrupt
 * or exception taken from ring 3, on the TSS's RSP0 stack) rewrites the frame
 * to return here, to ring3_resume at CPL 0 on the saved stack: the data
 * segment registers, which the IRET to ring 3 nulled (their DPL 0 < CPL 3,
 * 6.14.3 / IRET's pseudocode), get their selectors back; the 32-bit guest
 * needs them when the stage returns.
 */
	.text
	.code64
	.globl ring3_enter
ring3_enter:
	pushq %rbx
	pushq %rbp
	pushq %r12
	pushq %r13
	pushq %r14
	pushq %r15
	movw %ds, %ax
	pushq %rax
	movw %es, %ax
	pushq %rax
	movw %fs, %ax
	pushq %rax
	movw %gs, %ax
	pushq %rax
	movq %rsp, ring3_kernel_rsp(%rip)
	movq %rdi, %r15
	pushq $0x23        /* SS: USER_DS */
	pushq 64(%r15)     /* RSP */
	pushq 72(%r15)     /* RFLAGS */
	pushq $0x2b        /* CS: USER_CS */
	pushq 56(%r15)     /* RIP */
	movq 0(%r15), %rax
	movq 8(%r15), %rbx
	movq 16(%r15), %rcx
	movq 24(%r15), %rdx
	movq 32(%r15), %rsi
	movq 48(%r15), %r8
	movq 40(%r15), %rdi
	xorl %ebp, %ebp
	xorl %r9d, %r9d
	xorl %r10d, %r10d
	xorl %r11d, %r11d
	xorl %r12d, %r12d
	xorl %r13d, %r13d
	xorl %r14d, %r14d
	xorl %r15d, %r15d
	iretq

	.globl ring3_resume
ring3_resume:
	popq %rax
	movw %ax, %gs
	popq %rax
	movw %ax, %fs
	popq %rax
	movw %ax, %es
	popq %rax
	movw %ax, %ds
	popq %r15
	popq %r14
	popq %r13
	popq %r12
	popq %rbp
	popq %rbx
	ret

	.bss
	.p2align 3
	.globl ring3_kernel_rsp
ring3_kernel_rsp:
	.quad 0
