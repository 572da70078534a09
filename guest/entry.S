/*
 * Test guest entry stubs: multiboot v1 header and 32-bit entry, the GDT, the 256
 * interrupt stubs, and the real-mode AP trampoline (copied to TRAMP_BASE).
 */
#include "guest/layout.h"

#define MB_MAGIC 0x1badb002
#define MB_FLAGS 0x00000003 /* bit 0: page-align modules, bit 1: give memory info (mmap) */

	.section .multiboot, "a"
	.p2align 2
	.long MB_MAGIC
	.long MB_FLAGS
	.long -(MB_MAGIC + MB_FLAGS)

	.text
	.code32
	.globl guest_start
/* GRUB: protected mode, paging off, EAX = 0x2badb002, EBX = multiboot info; GDT undefined. */
guest_start:
	cli
	cld
	lgdt gdt_ptr
	ljmp $GDT_CODE, $1f
1:	movl $GDT_DATA, %ecx
	movw %cx, %ds
	movw %cx, %es
	movw %cx, %fs
	movw %cx, %gs
	movw %cx, %ss
	movl $(bsp_stack + BSP_STACK_SIZE), %esp
	pushl %ebx
	pushl %eax
	call guest_main
2:	cli
	hlt
	jmp 2b

/*
 * Interrupt stubs, ISR_STUB_SIZE bytes apart so trap.c computes their addresses.
 * Vectors where the CPU pushes an error code (SDM Vol. 3A 6.13): 8, 10-14, 17, 21, 29, 30.
 */
	.altmacro
.macro isr_stub vec
	.p2align 4
	.if (\vec == 8) || ((\vec >= 10) && (\vec <= 14)) || (\vec == 17) || (\vec == 21) || (\vec == 29) || (\vec == 30)
	.else
	pushl $0
	.endif
	pushl $\vec
	jmp isr_common
.endm

	.p2align 4
	.globl isr_stubs
isr_stubs:
	.set vec, 0
	.rept 256
	isr_stub %vec
	.set vec, vec + 1
	.endr

isr_common:
	pushal
	cld
	pushl %esp
	call guest_interrupt
	addl $4, %esp
	popal
	addl $8, %esp /* vector, error code */
	iret

/*
 * Tasks of the task_switch case (case_task_switch.c). Each runs in its own TSS,
 * entered by a task switch with NT set, and goes back to the task that
 * switched to it with IRET (SDM Vol. 3A 8.4). The next switch into the task
 * resumes after that IRET: hence the loops.
 */
	.globl task_call_entry, task_df_entry
task_call_entry:
	call task_call_body
	iret
	jmp task_call_entry

/* Entered through the #NP task gate, with the error code on the stack. */
	.globl task_np_entry
task_np_entry:
	call task_np_body /* (error): the error code is its argument */
	addl $4, %esp
	iret
	jmp task_np_entry

/* Entered through the #DF task gate, with the error code on the stack (SDM Vol. 3A 6.12.2). */
task_df_entry:
	popl %eax
	pushl %esp  /* task_df_body(error, ESP after the pop) */
	pushl %eax
	call task_df_body
	addl $8, %esp
	iret
	jmp task_df_entry

	.data
	.p2align 3
	.globl gdt
gdt:
	.quad 0
	.quad 0x00cf9a000000ffff /* 0x08: code, base 0, limit 4 GiB, 32-bit */
	.quad 0x00cf92000000ffff /* 0x10: data, base 0, limit 4 GiB */
	.quad 0x00af9a000000ffff /* 0x18: code, 64-bit (L=1, D=0): the PAL stage, SDM Vol. 3A 5.2.1 */
	.quad 0, 0, 0, 0, 0, 0, 0 /* 0x20-0x50: task_switch case (layout.h GDT_TSS_*), set at run time */
gdt_end:
gdt_ptr:
	.word gdt_end - gdt - 1
	.long gdt

/*
 * AP trampoline (SDM Vol. 3A 9.4.4, MP initialization): the SIPI starts the AP in
 * real mode at CS:IP = (TRAMP_BASE >> 4):0. It loads the guest GDT, enters
 * protected mode, takes a stack slot and calls ap_main(slot). Position-dependent
 * code: every address inside it is computed for the copy at TRAMP_BASE.
 */
#define T(label) (TRAMP_BASE + ((label) - tramp_start))

	.section .rodata
	.globl tramp_start, tramp_end
	.code16
tramp_start:
	cli
	cld
	xorw %ax, %ax
	movw %ax, %ds
	lgdtl T(tramp_gdt_ptr)
	movl %cr0, %eax
	orl $1, %eax /* CR0.PE */
	movl %eax, %cr0
	ljmpl $GDT_CODE, $T(tramp_pm)

	.code32
tramp_pm:
	movl $GDT_DATA, %ecx
	movw %cx, %ds
	movw %cx, %es
	movw %cx, %fs
	movw %cx, %gs
	movw %cx, %ss
	/* slot = 1 + ap_started++ ; stack = ap_stacks + slot * AP_STACK_SIZE (top of slot - 1) */
	movl $1, %eax
	lock xaddl %eax, ap_started
	incl %eax
	cmpl $SMP_MAX_CPUS, %eax /* no stack for this one: park it */
	jae 1f
	movl %eax, %ebx
	shll $AP_STACK_SHIFT, %eax
	addl $ap_stacks, %eax
	movl %eax, %esp
	pushl %ebx
	movl $ap_main, %eax
	call *%eax
1:	cli
	hlt
	jmp 1b

	.p2align 2
tramp_gdt_ptr:
	.word gdt_end - gdt - 1
	.long gdt
tramp_end:
