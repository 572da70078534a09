/*
 * AP start-up trampoline: real mode -> 32-bit protected mode -> long mode.
 *
 * A SIPI with vector V starts the AP in real mode at CS = V << 8, IP = 0
 * (SDM Vol. 3A 9.4.4.1, 11.6.1), with CR0 at its INIT value (PE = PG = 0,
 * CD = NW = 1). The code only depends on its load page: it finds the page's
 * linear base from CS and patches its GDT pointer and far-jump targets, so any
 * page below 1 MiB works. It follows SDM Vol. 3A 10.9.1 (switching to protected
 * mode) and 10.8.5 (initializing IA-32e mode), with the same CR3, EFER bits
 * and GDT selectors as the boot CPU (rt/entry.S), then calls the 64-bit C
 * entry with the stack and CPU index from the parameter block.
 */
#include "libsmp/ap_trampoline.h"

#define MSR_EFER 0xC0000080
#define CR0_PE (1 << 0)
#define CR0_NE (1 << 5)
#define CR0_NW (1 << 29)
#define CR0_CD (1 << 30)
#define CR0_PG (1 << 31)
#define CR4_PAE (1 << 5)

/* The boot GDT's selectors (rt/entry.S), so the per-CPU GDT that rt loads
 * later needs no CS reload; 0x18 is only for the 32-bit hop. */
#define SEL_CODE64 0x08
#define SEL_DATA 0x10
#define SEL_CODE32 0x18

/* Offset of a label from the start of the page. */
#define OFF(label) ((label) - ap_trampoline_start)
#define PARAM(field) (OFF(ap_trampoline_params) + (field))

	.section .rodata.ap_trampoline, "a"
	.balign 16
	.globl ap_trampoline_start
ap_trampoline_start:
	.code16
	cli
	cld
	movw %cs, %ax
	movw %ax, %ds
	movzwl %ax, %ebx
	shll $4, %ebx			/* EBX = linear base of the page, kept to the end */

	leal OFF(tramp_gdt)(%ebx), %eax
	movl %eax, OFF(tramp_gdt_ptr) + 2
	leal OFF(pm32)(%ebx), %eax
	movl %eax, OFF(far_pm32)
	leal OFF(lm64)(%ebx), %eax
	movl %eax, OFF(far_lm64)
	lgdtl OFF(tramp_gdt_ptr)

	/* Caches on (INIT leaves CD and NW set), protection on. */
	movl %cr0, %eax
	andl $~(CR0_CD | CR0_NW), %eax
	orl $(CR0_PE | CR0_NE), %eax
	movl %eax, %cr0
	ljmpl *OFF(far_pm32)

	.code32
pm32:
	movl $SEL_DATA, %eax
	movl %eax, %ds
	movl %eax, %es
	movl %eax, %ss
	xorl %eax, %eax
	movl %eax, %fs
	movl %eax, %gs

	movl %cr4, %eax
	orl $CR4_PAE, %eax
	movl %eax, %cr4
	movl PARAM(AP_PARAM_CR3)(%ebx), %eax
	movl %eax, %cr3
	movl $MSR_EFER, %ecx
	rdmsr
	orl PARAM(AP_PARAM_EFER)(%ebx), %eax
	wrmsr
	movl %cr0, %eax
	orl $CR0_PG, %eax
	movl %eax, %cr0
	ljmpl *OFF(far_lm64)(%ebx)

	.code64
lm64:
	movl %ebx, %ebx			/* upper halves are undefined after the switch */
	movl $SEL_DATA, %eax
	movl %eax, %ds
	movl %eax, %es
	movl %eax, %ss
	movq PARAM(AP_PARAM_STACK_TOP)(%rbx), %rsp
	movl PARAM(AP_PARAM_CPU_INDEX)(%rbx), %edi
	movq PARAM(AP_PARAM_ENTRY)(%rbx), %rax
	xorl %ebp, %ebp
	call *%rax			/* smp_ap_entry(cpu_index), never returns */
1:	cli
	hlt
	jmp 1b

	.balign 8
tramp_gdt:
	.quad 0
	.quad 0x00AF9A000000FFFF	/* 0x08: 64-bit code, DPL 0 */
	.quad 0x00CF92000000FFFF	/* 0x10: flat data, DPL 0 */
	.quad 0x00CF9A000000FFFF	/* 0x18: flat 32-bit code, DPL 0 */
tramp_gdt_end:
tramp_gdt_ptr:
	.word tramp_gdt_end - tramp_gdt - 1
	.long 0				/* patched: linear address of tramp_gdt */
	.balign 4
far_pm32:
	.long 0				/* patched: linear address of pm32 */
	.word SEL_CODE32
	.balign 4
far_lm64:
	.long 0				/* patched: linear address of lm64 */
	.word SEL_CODE64

	.balign 8
	.globl ap_trampoline_params
ap_trampoline_params:
	.skip AP_PARAM_SIZE
	.globl ap_trampoline_end
ap_trampoline_end:

	.section .note.GNU-stack, "", @progbits
