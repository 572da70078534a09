/*
 * VM entry and the VM-exit stub (image only).
 *
 * struct vcpu layout (libvmx/vcpu.h, checked by _Static_assert there):
 * gpr[16] at 0 (x86 register order: rax rcx rdx rbx rsp rbp rsi rdi r8..r15;
 * the rsp slot is unused, the guest RSP lives in the VMCS), `launched` at 128,
 * `entry_nmi_count` at 136, `entry_nmis_seen` at 144.
 */
#define GPR(n) ((n) * 8)
#define LAUNCHED 128
#define ENTRY_NMI_COUNT 136
#define ENTRY_NMIS_SEEN 144

	.text

/*
 * _Noreturn void vmx_enter_guest(struct vcpu *v)
 * Loads the guest GPRs and enters with VMLAUNCH (first time) or VMRESUME.
 * Returns only if the instruction fails (SDM 31.2: CF = VMfailInvalid,
 * ZF = VMfailValid), into vmx_entry_failed(v, result), which panics.
 *
 * First, one last look for guest NMIs that reached this CPU in root after the
 * injection point collected them (event.c, vmx_entry_recheck_nmis): else they
 * would wait for the next VM exit, however long the guest runs without one.
 * An NMI from here to the entry instruction included is sent back to
 * vmx_entry_restart by rt (vmx_cpu.c: rt_set_nmi_restart), so the look is
 * made again after it: everything in the range can run twice (it only loads).
 */
	.globl vmx_enter_guest
	.type vmx_enter_guest, @function
vmx_enter_guest:
	push %rdi			/* v, for the failure path */
	.globl vmx_entry_restart
vmx_entry_restart:
	mov (%rsp), %rdi
	mov ENTRY_NMI_COUNT(%rdi), %rax
	mov (%rax), %eax
	cmp ENTRY_NMIS_SEEN(%rdi), %eax
	jne 4f
	cmpb $0, LAUNCHED(%rdi)		/* movs below keep these flags */
	mov GPR(0)(%rdi), %rax
	mov GPR(1)(%rdi), %rcx
	mov GPR(2)(%rdi), %rdx
	mov GPR(3)(%rdi), %rbx
	mov GPR(5)(%rdi), %rbp
	mov GPR(6)(%rdi), %rsi
	mov GPR(8)(%rdi), %r8
	mov GPR(9)(%rdi), %r9
	mov GPR(10)(%rdi), %r10
	mov GPR(11)(%rdi), %r11
	mov GPR(12)(%rdi), %r12
	mov GPR(13)(%rdi), %r13
	mov GPR(14)(%rdi), %r14
	mov GPR(15)(%rdi), %r15
	mov GPR(7)(%rdi), %rdi
	jne 1f
	vmlaunch
	jmp 2f
	.globl vmx_entry_restart_end
vmx_entry_restart_end:			/* the last instruction of the range */
1:	vmresume
2:	mov $1, %esi			/* HW_VMX_FAIL_INVALID (CF) */
	jc 3f
	mov $2, %esi			/* HW_VMX_FAIL_VALID (ZF) */
3:	pop %rdi
	and $-16, %rsp
	call vmx_entry_failed
	ud2
4:	mov %rsp, %rbx			/* callee-saved; the guest RBX is loaded later */
	and $-16, %rsp
	call vmx_entry_recheck_nmis
	mov %rbx, %rsp
	jmp vmx_entry_restart
	.size vmx_enter_guest, . - vmx_enter_guest

/*
 * Host RIP of every VMCS. On entry RSP = host RSP, where vmcs_host.c stored
 * the vcpu pointer; RFLAGS = 2 (interrupts off), so nothing can run between
 * the exit and the save. The host RSP is 16-byte aligned, as the call wants.
 */
	.globl vmx_exit_stub
	.type vmx_exit_stub, @function
vmx_exit_stub:
	push %rax
	mov 8(%rsp), %rax		/* struct vcpu * */
	mov %rcx, GPR(1)(%rax)
	mov %rdx, GPR(2)(%rax)
	mov %rbx, GPR(3)(%rax)
	mov %rbp, GPR(5)(%rax)
	mov %rsi, GPR(6)(%rax)
	mov %rdi, GPR(7)(%rax)
	mov %r8, GPR(8)(%rax)
	mov %r9, GPR(9)(%rax)
	mov %r10, GPR(10)(%rax)
	mov %r11, GPR(11)(%rax)
	mov %r12, GPR(12)(%rax)
	mov %r13, GPR(13)(%rax)
	mov %r14, GPR(14)(%rax)
	mov %r15, GPR(15)(%rax)
	popq GPR(0)(%rax)		/* the guest's RAX */
	mov %rax, %rdi
	call vmx_handle_exit		/* handlers, then the injection point */
	mov (%rsp), %rdi
	jmp vmx_enter_guest
	.size vmx_exit_stub, . - vmx_exit_stub

	.section .note.GNU-stack, "", @progbits
