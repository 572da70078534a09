/*
 * PVH loader entry: the multiboot v1 header, the 32-bit entry from GRUB and the
 * jump into the kernel (pvh_enter) in the state Xen's PVH ABI gives a guest
 * (docs/misc/pvh.pandoc in Xen): flat 32-bit protected mode, CR0 = PE | ET,
 * CR4 = 0, paging and interrupts off, EBX = the hvm_start_info.
 */
#define MB_MAGIC 0x1badb002
#define MB_FLAGS 0x00000003 /* bit 0: page-align modules, bit 1: memory info (mmap) */
#define STACK_SIZE 16384

	.section .multiboot, "a"
	.p2align 2
	.long MB_MAGIC
	.long MB_FLAGS
	.long -(MB_MAGIC + MB_FLAGS)

	.text
	.code32
	.globl pvh_start
/* GRUB: protected mode, paging off, EAX = 0x2badb002, EBX = multiboot info; GDT undefined. */
pvh_start:
	cli
	cld
	lgdt gdt_ptr
	ljmp $0x08, $1f
1:	movl $0x10, %ecx
	movw %cx, %ds
	movw %cx, %es
	movw %cx, %fs
	movw %cx, %gs
	movw %cx, %ss
	movl $(stack + STACK_SIZE), %esp
	pushl %ebx
	pushl %eax
	call pvh_main
2:	cli
	hlt
	jmp 2b

/* void pvh_enter(uint32_t entry, uint32_t start_info): does not return. */
	.globl pvh_enter
pvh_enter:
	cli
	movl 4(%esp), %eax
	movl 8(%esp), %ebx
	movl $0x11, %ecx /* PE | ET: paging, WP, caches' CD/NW and the rest clear */
	movl %ecx, %cr0
	xorl %ecx, %ecx
	movl %ecx, %cr4
	pushl $0x2 /* EFLAGS: IF, TF, VM and the rest clear */
	popfl
	jmp *%eax

	.section .rodata
	.p2align 3
gdt:
	.quad 0
	.quad 0x00cf9a000000ffff /* 0x08: flat 32-bit code */
	.quad 0x00cf92000000ffff /* 0x10: flat 32-bit data */
gdt_end:
gdt_ptr:
	.word gdt_end - gdt - 1
	.long gdt

	.bss
	.p2align 4
stack:
	.skip STACK_SIZE
