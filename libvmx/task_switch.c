/*
 * Hardware task switches (SDM Vol. 3A ch. 8 "Task Management"), emulated: a
 * task switch always exits under VMX (SDM Vol. 3C 26.4.2 "Treatment of Task
 * Switches"), after the CPU checked only the gate and, for CALL/JMP, the TSS
 * descriptor's DPL and busy bit. The exit qualification gives the new TSS's selector and the
 * source (SDM Vol. 3C 28.2.1, Table "Exit Qualification for Task Switches"):
 * CALL, IRET (the back-link), JMP, or an IDT task gate, when the IDT-vectoring
 * information names the event being delivered (SDM Vol. 3C 28.2.4).
 *
 * The steps are those of SDM Vol. 3A 8.3 "Task Switching", 32-bit TSS only:
 * checks on the new TSS (faults with the guest state untouched), then the
 * commit (old state saved, busy bits, back-link and NT, TR), then the new
 * state (CR3, LDTR, segments), whose faults are taken in the new task. What
 * is not emulated (16-bit TSS, a switch into virtual-8086 mode, a #PF on the
 * TSS, GDT or stack) stops the guest with a report: never a panic.
 */
#include "libvmx/task_switch.h"
#include "hw/hw.h"
#include "libvmx/vmx_internal.h"

/* Exit qualification bits 31:30. */
enum ts_source { SRC_CALL = 0, SRC_IRET = 1, SRC_JMP = 2, SRC_GATE = 3 };

/* The 32-bit TSS (SDM Vol. 3A 8.2.1, Figure "32-Bit Task-State Segment"). */
#define TSS_LINK      0x00
#define TSS_CR3       0x1c
#define TSS_EIP       0x20
#define TSS_DYNAMIC   0x20 /* EIP .. GS: what a switch saves */
#define TSS_SREGS     0x48 /* ES, CS, SS, DS, FS, GS: one dword each */
#define TSS_LDT       0x60
#define TSS_MIN_LIMIT 0x67
#define TSS32_AVAIL   0x09 /* descriptor type with S = 0 */
#define TSS32_BUSY    0x0b
#define TSS16_AVAIL   0x01
#define TSS16_BUSY    0x03

struct tss32 {
	uint32_t eip, eflags;
	uint32_t gpr[8]; /* EAX, ECX, EDX, EBX, ESP, EBP, ESI, EDI */
	uint32_t sreg[6];
};
_Static_assert(sizeof(struct tss32) == TSS_LDT - TSS_DYNAMIC, "TSS EIP..GS");

/* What a switch reads from the new TSS: CR3 .. the LDT selector, in one read
 * (each access walks the guest's paging and the EPT view). */
struct tss32_in {
	uint32_t cr3;
	struct tss32 next;
	uint16_t ldt;
} __attribute__((packed));
_Static_assert(sizeof(struct tss32_in) == TSS_LDT + 2 - TSS_CR3, "TSS CR3..LDT");

/* RFLAGS bits that can be 1 outside 64-bit mode; bit 1 is always 1 (SDM Vol.
 * 3A 2.3): the reserved ones VM entry would refuse (SDM Vol. 3C 27.3.1.4). */
#define EFLAGS_LOADABLE 0x3f7fd5u
#define DR7_LOCAL       0x155ull /* L0-L3 and LE: cleared by task switches (17.2.4) */

struct ts_switch {
	struct ts_ctx c;
	enum ts_source src;
	uint16_t sel; /* new TSS */
	bool by_event;
	uint32_t event; /* IDT-vectoring information */
	uint64_t old_desc, new_desc;
	struct ts_seg tr;
	struct tss32_in in; /* the new TSS */
};

static const char *const source_name[4] = {"CALL", "IRET", "JMP", "IDT task gate"};

static _Noreturn void unsupported(struct ts_switch *s, const char *what)
{
	vmx_guest_stop(s->c.v, "task switch (%s to TSS selector 0x%x): %s is not emulated",
	               source_name[s->src], s->sel, what);
}

/* The event-delivery type the switch stands in for, if any. */
static bool event_is(const struct ts_switch *s, uint32_t type)
{
	return s->by_event && INTR_INFO_TYPE(s->event) == type;
}

/* The EIP saved for the old task: past the instruction that switched, the
 * instruction itself for a fault, where it stood for an interrupt or NMI
 * (SDM Vol. 3A 6.5; KVM handle_task_switch() does the same). */
static uint32_t return_eip(const struct ts_switch *s)
{
	uint64_t rip = vmcs_readnat(VMCS_GUEST_RIP);
	if (s->by_event && (INTR_INFO_TYPE(s->event) == INTR_TYPE_EXTERNAL ||
	                    INTR_INFO_TYPE(s->event) == INTR_TYPE_NMI ||
	                    INTR_INFO_TYPE(s->event) == INTR_TYPE_HW_EXCEPTION))
		return (uint32_t)rip;
	return (uint32_t)(rip + s->c.v->exit.instruction_len);
}

/* Steps 1-5 of SDM 8.3: nothing in the guest changes if one fails. */
static bool check_new_tss(struct ts_switch *s)
{
	struct ts_ctx *c = &s->c;
	/* A TSS named wrongly is #GP(selector) for CALL/JMP/gates, #TS(selector)
	 * for IRET's back-link (SDM Vol. 2A IRET, Vol. 2A CALL "TASK-STATE-SEGMENT"). */
	uint8_t wrong = s->src == SRC_IRET ? X86_VEC_TS : X86_VEC_GP;

	if ((s->sel & 4) || !ts_desc_read(c, s->sel, &s->new_desc))
		return c->status == TS_OK ? ts_fault(c, wrong, s->sel) : false;
	unsigned type = DESC_TYPE(s->new_desc);
	if (type == TSS16_AVAIL || type == TSS16_BUSY)
		unsupported(s, "a 16-bit TSS");
	if (type != TSS32_AVAIL && type != TSS32_BUSY)
		return ts_fault(c, wrong, s->sel);
	/* IRET returns to a busy task; everything else needs an available one. */
	if ((type == TSS32_BUSY) != (s->src == SRC_IRET))
		return ts_fault(c, wrong, s->sel);
	if (!(s->new_desc & DESC_P))
		return ts_fault(c, X86_VEC_NP, s->sel);
	if (ts_desc_limit(s->new_desc) < TSS_MIN_LIMIT)
		return ts_fault(c, X86_VEC_TS, s->sel);

	uint64_t base = ts_desc_base(s->new_desc);
	if (!ts_read(c, base + TSS_CR3, &s->in, sizeof(s->in)))
		return false;
	if (s->in.next.eflags & RFLAGS_VM)
		unsupported(s, "a switch to a virtual-8086 task");
	return true;
}

/* The current task's TSS: a busy 32-bit TSS that holds what is saved
 * (EIP .. GS, offsets 0x20-0x5f; Bochs checks the same limit). */
static bool check_old_tss(struct ts_switch *s)
{
	ts_seg_get(TS_TR, &s->tr);
	unsigned type = s->tr.ar & 0xfu;
	if (type == TSS16_BUSY)
		unsupported(s, "a switch from a 16-bit TSS");
	if (type != TSS32_BUSY || s->tr.limit < TSS_LDT - 1)
		return ts_fault(&s->c, X86_VEC_TS, s->tr.sel);
	if (s->src == SRC_JMP || s->src == SRC_IRET) {
		/* Its busy bit is cleared: the descriptor must be readable. */
		if ((s->tr.sel & 4) || !ts_desc_read(&s->c, s->tr.sel, &s->old_desc))
			return s->c.status == TS_OK ? ts_fault(&s->c, X86_VEC_TS, s->tr.sel)
			                            : false;
	}
	return true;
}

/* Steps 6-11: the old task saved, busy bits and link, TR. */
static bool commit(struct ts_switch *s)
{
	struct ts_ctx *c = &s->c;
	struct vcpu *v = c->v;
	struct tss32 old;
	uint64_t old_base = s->tr.base;
	uint64_t new_base = ts_desc_base(s->new_desc);

	if ((s->src == SRC_JMP || s->src == SRC_IRET) &&
	    !ts_desc_write(c, s->tr.sel, s->old_desc & ~DESC_TSS_BUSY))
		return false;

	old.eip = return_eip(s);
	uint32_t eflags = (uint32_t)vmcs_readnat(VMCS_GUEST_RFLAGS);
	if (s->src == SRC_IRET)
		eflags &= ~(uint32_t)RFLAGS_NT;
	/* A fault saves RF = 1, as it would push it (SDM Vol. 3A 17.3.1.1). */
	if (event_is(s, INTR_TYPE_HW_EXCEPTION) &&
	    vmx_exception_is_fault((uint8_t)INTR_INFO_VECTOR(s->event)))
		eflags |= (uint32_t)RFLAGS_RF;
	old.eflags = eflags;
	for (unsigned i = 0; i < 8; i++)
		old.gpr[i] = (uint32_t)vcpu_gpr_read(v, i);
	/* Selectors are 16-bit fields: the reserved upper halves keep what the
	 * guest left there, as the CPU's word writes would. */
	if (!ts_read(c, old_base + TSS_SREGS, old.sreg, sizeof(old.sreg)))
		return false;
	for (unsigned i = 0; i < 6; i++)
		old.sreg[i] = (old.sreg[i] & 0xffff0000u) | ts_sel_get((enum ts_sreg)i);
	if (!ts_write(c, old_base + TSS_DYNAMIC, &old, sizeof(old)))
		return false;

	/* CALL and events nest: back-link to the old task, NT in the new one. */
	if (s->src == SRC_CALL || s->src == SRC_GATE) {
		uint16_t link = s->tr.sel;
		if (!ts_write(c, new_base + TSS_LINK, &link, sizeof(link)))
			return false;
		s->in.next.eflags |= (uint32_t)RFLAGS_NT;
	}
	if (s->src != SRC_IRET && !ts_desc_write(c, s->sel, s->new_desc | DESC_TSS_BUSY))
		return false;

	struct ts_seg tr = {.sel = s->sel,
	                    .base = new_base,
	                    .limit = ts_desc_limit(s->new_desc),
	                    .ar = ts_desc_ar(s->new_desc | DESC_TSS_BUSY)};
	ts_seg_set(TS_TR, &tr);
	return true;
}

/* Step 12 on: the new task's registers; faults from here are the new task's. */
static bool load_new_task(struct ts_switch *s)
{
	struct ts_ctx *c = &s->c;
	struct vcpu *v = c->v;

	/* CR0.TS: the FPU state is the old task's until the new one uses it (SDM
	 * Vol. 3A 2.5). Set in the guest's view and in the CR0 it runs with. */
	vmcs_writenat(VMCS_GUEST_CR0, vmcs_readnat(VMCS_GUEST_CR0) | CR0_TS);
	vmcs_writenat(VMCS_CR0_READ_SHADOW, vmcs_readnat(VMCS_CR0_READ_SHADOW) | CR0_TS);
	vmcs_writenat(VMCS_GUEST_DR7, vmcs_readnat(VMCS_GUEST_DR7) & ~DR7_LOCAL);

	vmcs_writenat(VMCS_GUEST_RIP, s->in.next.eip);
	vmcs_writenat(VMCS_GUEST_RFLAGS, (s->in.next.eflags & EFLAGS_LOADABLE) | RFLAGS_FIXED1);
	for (unsigned i = 0; i < 8; i++)
		vcpu_gpr_write(v, i, s->in.next.gpr[i]);
	/* The switching instruction completed: STI / MOV-SS blocking ends. The
	 * new task runs: a CPU woken from HLT by the event is active, which VM
	 * entry also needs if the new EFLAGS has TF (SDM Vol. 3C 27.3.1.5). */
	uint32_t intr = vmcs_read32(VMCS_GUEST_INTERRUPTIBILITY);
	vmcs_write32(VMCS_GUEST_INTERRUPTIBILITY,
	             intr & ~(INTERRUPTIBILITY_STI | INTERRUPTIBILITY_MOV_SS));
	vmcs_write32(VMCS_GUEST_ACTIVITY_STATE, VMX_ACTIVITY_ACTIVE);

	/* CR3 only with paging on (Bochs and the SDM's PDBR note agree). */
	if (vmcs_readnat(VMCS_GUEST_CR0) & CR0_PG) {
		uint64_t denied = 0;
		switch (vmx_guest_load_cr3(v, s->in.cr3, &denied)) {
		case VMX_CR3_LOADED:
			break;
		case VMX_CR3_GP:
			return ts_fault(c, X86_VEC_GP, 0);
		case VMX_CR3_DENIED:
			c->status = TS_DENIED;
			c->denied_gpa = denied;
			c->denied_write = false;
			return false;
		}
	}

	uint16_t sel[TS_SREG_COUNT] = {0};
	for (unsigned i = 0; i < 6; i++)
		sel[i] = (uint16_t)s->in.next.sreg[i];
	sel[TS_LDTR] = s->in.ldt;
	if (!ts_load_segments(c, sel))
		return false;
	if (s->in.next.eip > vmcs_read32(VMCS_GUEST_CS_LIMIT))
		return ts_fault(c, X86_VEC_GP, 0);
	return true;
}

/* An exception's error code goes on the new task's stack (SDM Vol. 3A 6.12.2). */
static bool push_error_code(struct ts_switch *s, uint32_t error)
{
	struct ts_seg ss;
	ts_seg_get(TS_SS, &ss);
	bool big = (ss.ar >> 14) & 1u;
	uint32_t sp = (uint32_t)vmcs_readnat(VMCS_GUEST_RSP);
	uint32_t top = big ? sp - 4 : (uint16_t)(sp - 4);
	/* Expand-up: the dword within the limit; expand-down: above it. */
	bool ok = (ss.ar & 4u) ? top > ss.limit && top <= (big ? 0xfffffffcu : 0xfffcu)
	                       : top <= ss.limit && ss.limit - top >= 3;
	if (!ok)
		return ts_fault(&s->c, X86_VEC_SS, 0);
	if (!ts_write(&s->c, (ss.base + top) & 0xffffffffull, &error, sizeof(error)))
		return false;
	vmcs_writenat(VMCS_GUEST_RSP, big ? top : (sp & 0xffff0000u) | top);
	return true;
}

/* A step failed: the fault, the refused access or a clean stop. */
static void failed(struct ts_switch *s)
{
	struct ts_ctx *c = &s->c;

	switch (c->status) {
	case TS_OK:
		return;
	case TS_FAULT:
		/* Combined with the event being delivered (#DF, or a triple fault
		 * after #DF), as the CPU would, which also drops its re-injection;
		 * any other event is lost in the fault, as on hardware. */
		vmx_queue_exception(c->v, c->fault_vector, true, c->fault_error);
		vmx_event_delivered(c->v);
		return;
	case TS_DENIED:
		vmx_guest_access_denied(c->v, c->denied_gpa,
		                        c->denied_write ? EPTQUAL_WRITE : EPTQUAL_READ);
		return;
	case TS_PAGE_FAULT:
		vmx_guest_stop(c->v,
		               "task switch (%s to TSS selector 0x%x): a #PF at linear 0x%llx is "
		               "not emulated",
		               source_name[s->src], s->sel, (unsigned long long)c->fault_la);
	}
}

void vmx_exit_task_switch(struct vcpu *v)
{
	uint64_t q = v->exit.qualification;
	struct ts_switch s = {
	    .c = {.v = v},
	    .src = (enum ts_source)((q >> 30) & 3u),
	    .sel = (uint16_t)q,
	    .event = v->exit.idt_vectoring_info,
	};

	s.by_event = s.src == SRC_GATE && (s.event & INTR_INFO_VALID);
	/* EXT (SDM Vol. 3A 6.13): the switch delivers an event from outside the
	 * program - an interrupt, NMI, exception or INT1 - not INT n/INT3/INTO. */
	if (s.by_event && !event_is(&s, INTR_TYPE_SW_INTERRUPT) &&
	    !event_is(&s, INTR_TYPE_SW_EXCEPTION))
		s.c.ext = 1;
	if (!(vmcs_readnat(VMCS_GUEST_CR0) & CR0_PE) ||
	    (vmcs_read64(VMCS_GUEST_IA32_EFER) & EFER_LMA) ||
	    (vmcs_readnat(VMCS_GUEST_RFLAGS) & RFLAGS_VM))
		unsupported(&s, "a switch outside 32-bit protected mode");

	if (!check_new_tss(&s) || !check_old_tss(&s) || !commit(&s)) {
		failed(&s);
		return;
	}
	/* An NMI blocks further NMIs until the next IRET, which unblocks them,
	 * a task-switching one too (SDM Vol. 3A 6.7.1): an NMI handler task
	 * returns with IRET. */
	uint32_t intr = vmcs_read32(VMCS_GUEST_INTERRUPTIBILITY);
	if (event_is(&s, INTR_TYPE_NMI))
		vmcs_write32(VMCS_GUEST_INTERRUPTIBILITY, intr | INTERRUPTIBILITY_NMI);
	else if (s.src == SRC_IRET)
		vmcs_write32(VMCS_GUEST_INTERRUPTIBILITY, intr & ~INTERRUPTIBILITY_NMI);
	if (!load_new_task(&s) ||
	    (event_is(&s, INTR_TYPE_HW_EXCEPTION) && (s.event & INTR_INFO_DELIVER_CODE) &&
	     !push_error_code(&s, v->exit.idt_vectoring_error)))
		failed(&s); /* a fault combines with the event, as during its delivery */
	/* The event has been delivered, by this switch: not again. */
	if (s.by_event)
		vmx_event_delivered(v);
}
