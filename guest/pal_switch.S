/*
 * uint32_t pal64_switch(uint32_t pml4, uint32_t efer_set, uint32_t entry, uint32_t arg)
 *
 * From the guest's 32-bit protected mode (paging off) into 64-bit mode, a call
 * of the PAL stage's entry(arg) there, and back (pal_stage.c). The caller has
 * identity-mapped this code, its stack and the stage in the 4-level tables at
 * pml4. NMIs must not arrive between here and the stage's own IDT load, nor on
 * the way back until trap_load(): the IDT formats differ.
 */
#include "guest/layout.h"

#define CR0_PG    0x80000000
#define CR4_PAE   0x00000020
#define MSR_EFER  0xc0000080
#define EFER_LME  0x00000100

	.text
	.code32
	.globl pal64_switch
pal64_switch:
	pushl %ebp
	pushl %ebx
	pushl %esi
	pushl %edi
	movl 24(%esp), %esi /* EFER bits: LME, and NXE when the CPU has it */
	movl 28(%esp), %ebp /* 64-bit entry */
	movl 32(%esp), %ebx /* its argument */

	/*
	 * Activating IA-32e mode, SDM Vol. 3A 10.8.5: paging is off; set CR4.PAE,
	 * load CR3 with the PML4, set IA32_EFER.LME, then set CR0.PG, which sets
	 * EFER.LMA: the CPU is in compatibility mode (CS is still a 32-bit
	 * segment) and this page must be identity mapped, as it is.
	 */
	movl %cr4, %eax
	orl $CR4_PAE, %eax
	movl %eax, %cr4
	movl 20(%esp), %eax
	movl %eax, %cr3
	movl $MSR_EFER, %ecx
	rdmsr
	orl %esi, %eax
	wrmsr
	movl %cr0, %eax
	orl $CR0_PG, %eax
	movl %eax, %cr0
	/* A far jump to a code segment with L=1 enters 64-bit mode (9.8.5 step 6). */
	ljmp $GDT_CODE64, $1f

	.code64
1:	/* Upper halves are undefined after the switch (SDM Vol. 1 3.4.1.1): zero-extend. */
	movl %esp, %esp
	movl %ebx, %edi
	movl %ebp, %eax
	pushq %rsi /* caller-saved in the 64-bit ABI */
	call *%rax
	popq %rsi
	/*
	 * Leaving IA-32e mode, SDM Vol. 3A 10.8.5.4: back to compatibility mode by
	 * a far return to the 32-bit code segment, then clear CR0.PG (LMA goes to
	 * 0; this page is identity mapped), then EFER.LME.
	 */
	pushq $GDT_CODE
	movl $2f, %ecx /* (an i386 object has no sign-extended 32-bit relocation for pushq) */
	pushq %rcx
	lretq

	.code32
2:	movl %eax, %edi
	movl %cr0, %eax
	andl $~CR0_PG, %eax
	movl %eax, %cr0
	movl $MSR_EFER, %ecx
	rdmsr
	notl %esi
	andl %esi, %eax
	wrmsr
	movl %cr4, %eax
	andl $~CR4_PAE, %eax
	movl %eax, %cr4
	xorl %eax, %eax
	movl %eax, %cr3
	movl %edi, %eax
	popl %edi
	popl %esi
	popl %ebx
	popl %ebp
	ret
