/*
 * Multiboot v1 entry: GRUB's 32-bit protected mode -> 64-bit long mode -> C.
 *
 * State on entry (Multiboot 0.6.96 section 3.2): EAX = 0x2BADB002, EBX = the
 * physical address of the multiboot information, flat 32-bit CS/DS, paging off,
 * interrupts off, and a GDTR that may be invalid - so no segment register is
 * loaded before our own GDT is.
 *
 * Long-mode activation follows Intel SDM Vol. 3A 10.8.5 ("Initializing IA-32e
 * Mode"): CR4.PAE, CR3 = PML4, EFER.LME, then CR0.PG, then a far jump into a
 * 64-bit code segment.
 */
#include "rt/layout.h"

#define MB_HEADER_MAGIC 0x1BADB002
/* Bit 0: page-align modules; bit 1: pass the memory map; bit 16: the address
 * fields below are valid (the "a.out kludge"), so the loader needs no ELF64
 * support - QEMU's -kernel refuses ELF64 multiboot images without it. */
#define MB_HEADER_FLAGS 0x00010003

#define MSR_EFER 0xC0000080
#define EFER_LME (1 << 8)
#define EFER_NXE (1 << 11)
#define CR0_PE (1 << 0)
#define CR0_NE (1 << 5)
#define CR0_NW (1 << 29)
#define CR0_CD (1 << 30)
#define CR0_PG (1 << 31)
#define CR4_PAE (1 << 5)

/* Paging-structure entry bits (SDM Vol. 3A 4.5). */
#define PTE_P 0x001
#define PTE_RW 0x002
#define PTE_PWT 0x008
#define PTE_PCD 0x010
#define PTE_PS 0x080
/* 2 MiB pages from 0xFE000000 up (LAPIC 0xFEE00000, IOAPIC 0xFEC00000) are
 * mapped uncached: PD index 0xFE000000 >> 21. */
#define PD_FIRST_UNCACHED 2032
#define PD_ENTRIES_4G 2048

#define SEL_CODE64 0x08
#define SEL_DATA 0x10

	.section .multiboot, "a"
	.align 4
mb_header:
	.long MB_HEADER_MAGIC
	.long MB_HEADER_FLAGS
	.long -(MB_HEADER_MAGIC + MB_HEADER_FLAGS)
	.long mb_header		/* header_addr */
	.long hv_image_start	/* load_addr */
	.long hv_load_end	/* load_end_addr */
	.long bss_end		/* bss_end_addr */
	.long rt_entry32	/* entry_addr */

	.section .text.entry, "ax"
	.code32
	.globl rt_entry32
rt_entry32:
	cli
	cld
	/* The multiboot magic waits in ESI and the info address in EBX until
	 * .bss is zeroed (REP STOS uses EAX, ECX, EDI). */
	movl %eax, %esi

	/* Zero .bss first: the page tables and the boot stack live in it. */
	movl $bss_start, %edi
	movl $bss_end, %ecx
	subl %edi, %ecx
	shrl $2, %ecx
	xorl %eax, %eax
	rep stosl
	/* From here on: magic in EDI, info address in ESI (the argument
	 * registers of rt_bsp_main); CPUID below clobbers EBX. */
	movl %esi, %edi
	movl %ebx, %esi

	/* The boot CPU runs on CPU 0's hypervisor stack for life. */
	movl $(rt_cpu_stacks + HV_STACK_SIZE), %esp

	/* Long mode is CPUID.80000001H:EDX[29]. */
	movl $0x80000000, %eax
	cpuid
	cmpl $0x80000001, %eax
	jb no_long_mode
	movl $0x80000001, %eax
	cpuid
	btl $29, %edx
	jnc no_long_mode
	/* EDX[20] (execute-disable) decides whether EFER.NXE may be set. */
	movl %edx, %ebp

	/* PML4[0] -> PDPT; PDPT[0..3] -> four page directories of 2 MiB pages. */
	movl $(hv_pdpt + PTE_P + PTE_RW), hv_pml4
	movl $(hv_pd + PTE_P + PTE_RW), hv_pdpt
	movl $(hv_pd + 0x1000 + PTE_P + PTE_RW), hv_pdpt + 8
	movl $(hv_pd + 0x2000 + PTE_P + PTE_RW), hv_pdpt + 16
	movl $(hv_pd + 0x3000 + PTE_P + PTE_RW), hv_pdpt + 24
	xorl %ecx, %ecx
1:	movl %ecx, %eax
	shll $21, %eax
	orl $(PTE_P + PTE_RW + PTE_PS), %eax
	cmpl $PD_FIRST_UNCACHED, %ecx
	jb 2f
	orl $(PTE_PCD + PTE_PWT), %eax
2:	movl %eax, hv_pd(, %ecx, 8)	/* high dword stays 0 (zeroed bss) */
	incl %ecx
	cmpl $PD_ENTRIES_4G, %ecx
	jb 1b

	movl %cr4, %eax
	orl $CR4_PAE, %eax
	movl %eax, %cr4
	movl $hv_pml4, %eax
	movl %eax, %cr3

	movl $MSR_EFER, %ecx
	rdmsr
	orl $EFER_LME, %eax
	btl $20, %ebp
	jnc 3f
	orl $EFER_NXE, %eax
3:	wrmsr

	lgdt boot_gdt_ptr
	/* Caches on (CD = NW = 0, SDM Vol. 3A 12.5.1, Table 12-5): some BIOSes,
	 * Bochs's among them, hand over with both set. NE: native x87 error
	 * reporting, also a VMX fixed-1 bit (SDM Vol. 3D A.7). */
	movl %cr0, %eax
	andl $~(CR0_CD + CR0_NW), %eax
	orl $(CR0_PE + CR0_NE + CR0_PG), %eax
	movl %eax, %cr0
	ljmp $SEL_CODE64, $entry64

no_long_mode:
	/* No console yet: write straight to COM1's transmit register. */
	movl $no_long_mode_msg, %ecx
	movw $0x3f8, %dx
4:	movb (%ecx), %al
	testb %al, %al
	jz 5f
	outb %al, %dx
	incl %ecx
	jmp 4b
5:	cli
	hlt
	jmp 5b

	.code64
entry64:
	movl $SEL_DATA, %eax
	movl %eax, %ds
	movl %eax, %es
	movl %eax, %ss
	xorl %eax, %eax
	movl %eax, %fs
	movl %eax, %gs
	movq $(rt_cpu_stacks + HV_STACK_SIZE), %rsp
	xorl %ebp, %ebp
	/* rt_bsp_main(uint32_t magic, uint32_t mbi_pa): EDI, ESI as set above;
	 * the 32-bit moves clear the upper halves. */
	movl %edi, %edi
	movl %esi, %esi
	call rt_bsp_main
6:	cli
	hlt
	jmp 6b

	.section .rodata
no_long_mode_msg:
	.asciz "PANIC on CPU 0: this CPU has no 64-bit long mode; cannot start the hypervisor\r\n"

	/* Boot GDT: the same selectors as the per-CPU GDTs (rt/cpu_tables.h), so
	 * cpu_tables_init() need not reload CS. */
	.align 16
boot_gdt:
	.quad 0
	.quad 0x00AF9A000000FFFF	/* 0x08: 64-bit code, DPL 0 */
	.quad 0x00CF92000000FFFF	/* 0x10: data, DPL 0 */
boot_gdt_end:
boot_gdt_ptr:
	.word boot_gdt_end - boot_gdt - 1
	.long boot_gdt

	/* Identity map of 0..4 GiB; APs (libsmp's trampoline) load the same CR3. */
	.section .bss
	.align 4096
	.globl hv_pml4
hv_pml4:
	.skip 4096
hv_pdpt:
	.skip 4096
hv_pd:
	.skip 4 * 4096

	.section .note.GNU-stack, "", @progbits
