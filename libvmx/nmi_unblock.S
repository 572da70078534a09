/*
 * void vmx_unblock_nmis(void): end NMI blocking in root mode with an IRET to
 * the next instruction.
 *
 * A VM exit caused by an NMI leaves NMIs blocked (SDM Vol. 3C 28.1; Vol. 3A
 * 6.7.1: blocking lasts until the next IRET). Hardware with "virtual NMIs"
 * also unblocks them at VM entry (SDM Vol. 3C 27.7.1), but Bochs 2.7 does not:
 * without an IRET in root, a CPU that took one NMI exit never takes another.
 * So, while quirk nmi_blocked is on (libvmx/quirks.c, docs/libvmx.md
 * "Emulator quirks"), the NMI-exit and SIPI-exit handlers IRET to themselves.
 * Interrupts stay off (RFLAGS is pushed as it is, IF=0 in root).
 * Clobbers RAX and RDX (caller-saved).
 */
	.text
	.code64
	.globl vmx_unblock_nmis
	.type vmx_unblock_nmis, @function
vmx_unblock_nmis:
	movq %rsp, %rdx
	xorl %eax, %eax
	movw %ss, %ax
	pushq %rax              /* SS */
	pushq %rdx              /* RSP: back to the return address */
	pushfq                  /* RFLAGS */
	movw %cs, %ax
	pushq %rax              /* CS */
	leaq 1f(%rip), %rax
	pushq %rax              /* RIP */
	iretq
1:
	ret
	.size vmx_unblock_nmis, . - vmx_unblock_nmis
	.section .note.GNU-stack, "", @progbits
