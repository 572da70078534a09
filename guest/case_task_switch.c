/*
 * task_switch: hardware task switches (SDM Vol. 3A ch. 8), which always exit
 * under VMX and which the hypervisor emulates (issue 15.1):
 * - a far CALL to a TSS and back with IRET, twice (the second CALL resumes
 *   the task after its IRET): back-link, NT, busy bits, CR0.TS;
 * - a #DF through an IDT task gate: a #DE whose gate is not present raises #NP
 *   while delivering it, two contributory faults make #DF (SDM Vol. 3A 6.15),
 *   whose task gets error code 0 on its own stack;
 * - a CALL to a TSS whose limit is below 0x67: #TS with the TSS selector as
 *   error code, nothing switched (SDM Vol. 3A 8.3);
 * - a CALL to a task whose DS is not present: the switch completes and #NP
 *   (DS selector) is raised in the new task (SDM Vol. 3A 8.3, after the
 *   commit point), through an #NP task gate whose handler task fixes DS and
 *   IRETs back into the task, which then runs and IRETs to the caller. Under
 *   Bochs this fault is raised by the hypervisor's emulation (Bochs exits
 *   before the segment loads; it checks the TSS limit itself, before).
 * Paging is off: TSS, GDT and stacks are at their linear addresses.
 */
#include <stddef.h>

#include "guest/cases.h"
#include "guest/cpu.h"
#include "guest/layout.h"

void *memset(void *dst, int c, size_t n);

/* The 32-bit TSS (SDM Vol. 3A 8.2.1). */
struct __attribute__((packed)) tss32 {
	uint16_t link, r0;
	uint32_t esp0, ss0, esp1, ss1, esp2, ss2;
	uint32_t cr3, eip, eflags;
	uint32_t eax, ecx, edx, ebx, esp, ebp, esi, edi;
	uint32_t es, cs, ss, ds, fs, gs, ldt;
	uint16_t trap, iomap;
};
_Static_assert(sizeof(struct tss32) == 104, "32-bit TSS");

#define EFLAGS_NT (1u << 14)
#define CR0_TS    (1u << 3)
#define TSS_AVAIL 0x9
#define TSS_BUSY  0xb

extern uint64_t gdt[];
void task_call_entry(void);
void task_df_entry(void);
void task_np_entry(void);
/* Called from the task stubs in entry.S. */
void task_call_body(void);
void task_df_body(uint32_t error, uint32_t esp);
void task_np_body(uint32_t error);

static struct tss32 main_tss, call_tss, df_tss, short_tss, npds_tss, np_tss;
static uint8_t call_stack[2048] __attribute__((aligned(16)));
static uint8_t df_stack[2048] __attribute__((aligned(16)));
static uint8_t np_stack[2048] __attribute__((aligned(16)));
#define CALL_STACK_TOP ((uint32_t)(uintptr_t)(call_stack + sizeof(call_stack)))
#define DF_STACK_TOP   ((uint32_t)(uintptr_t)(df_stack + sizeof(df_stack)))
#define NP_STACK_TOP   ((uint32_t)(uintptr_t)(np_stack + sizeof(np_stack)))

static volatile uint32_t call_count, call_link, call_eflags;
static volatile uint32_t df_count, df_error, df_esp, df_link;
static volatile uint32_t np_count, np_error, np_link, np_eip;

void task_call_body(void)
{
	call_count++;
	call_link = call_tss.link;
	call_eflags = cpu_read_eflags();
}

/* The #DF task plays the armed probe: it records the fault and sends the
 * faulting task on past the faulting instruction. */
void task_df_body(uint32_t error, uint32_t esp)
{
	df_count++;
	df_error = error;
	df_esp = esp;
	df_link = df_tss.link;
	trap_probe.vector = VEC_DF;
	trap_probe.error = error;
	trap_probe.eip = main_tss.eip;
	trap_probe.eflags = main_tss.eflags;
	trap_probe.armed = 0;
	main_tss.eip = trap_probe.resume_at;
}

/* The #NP handler task: records the fault and fixes the faulting task's DS,
 * so that the IRET back into it loads a present segment. */
void task_np_body(uint32_t error)
{
	np_count++;
	np_error = error;
	np_link = np_tss.link;
	np_eip = npds_tss.eip;
	npds_tss.ds = GDT_DATA;
}

static void set_tss_desc(uint16_t sel, const struct tss32 *t, uint32_t limit)
{
	uint32_t base = (uint32_t)(uintptr_t)t;
	gdt[sel >> 3] = (limit & 0xffffu) | ((uint64_t)(base & 0xffffffu) << 16) |
	                ((uint64_t)(0x80u | TSS_AVAIL) << 40) |
	                ((uint64_t)((limit >> 16) & 0xfu) << 48) | ((uint64_t)(base >> 24) << 56);
}

static unsigned desc_type(uint16_t sel)
{
	return (unsigned)(gdt[sel >> 3] >> 40) & 0xfu;
}

static void task_init(struct tss32 *t, void (*entry)(void), uint32_t stack_top)
{
	memset(t, 0, sizeof(*t));
	t->eip = (uint32_t)(uintptr_t)entry;
	t->eflags = 0x2; /* interrupts off in the tasks */
	t->esp = stack_top;
	t->cs = GDT_CODE;
	t->ss = t->ds = t->es = t->fs = t->gs = GDT_DATA;
	t->iomap = sizeof(*t); /* no I/O permission bitmap */
}

static void setup(void)
{
	/* The boot CPU's own task: the CPU saves its state here on a switch. */
	if (cpu_str() != GDT_TSS_MAIN) {
		memset(&main_tss, 0, sizeof(main_tss));
		main_tss.iomap = sizeof(main_tss);
		set_tss_desc(GDT_TSS_MAIN, &main_tss, sizeof(main_tss) - 1);
		cpu_ltr(GDT_TSS_MAIN);
	}
	task_init(&call_tss, task_call_entry, CALL_STACK_TOP);
	task_init(&df_tss, task_df_entry, DF_STACK_TOP);
	task_init(&short_tss, task_call_entry, CALL_STACK_TOP);
	set_tss_desc(GDT_TSS_CALL, &call_tss, sizeof(call_tss) - 1);
	set_tss_desc(GDT_TSS_DF, &df_tss, sizeof(df_tss) - 1);
	set_tss_desc(GDT_TSS_SHORT, &short_tss, 0x40);
	/* The DS-not-present task shares the CALL task's code and stack (the
	 * two never run at once). */
	task_init(&npds_tss, task_call_entry, CALL_STACK_TOP);
	npds_tss.ds = GDT_DATA_NP;
	task_init(&np_tss, task_np_entry, NP_STACK_TOP);
	set_tss_desc(GDT_TSS_NPDS, &npds_tss, sizeof(npds_tss) - 1);
	set_tss_desc(GDT_TSS_NP, &np_tss, sizeof(np_tss) - 1);
	/* Flat read/write data, not present (P = 0). */
	gdt[GDT_DATA_NP >> 3] = 0x00cf12000000ffffull;
	call_count = df_count = np_count = 0;
}

/* The state both tasks must be in after the switch back. */
static enum case_result check_back(struct case_ctx *c, const char *what, uint16_t task)
{
	uint32_t cr0 = cpu_read_cr0();
	cpu_clts();
	if (cpu_str() != GDT_TSS_MAIN)
		return case_fail(c, "%s: TR %x after the IRET, expected %x", what, cpu_str(),
		                 GDT_TSS_MAIN);
	if (desc_type(task) != TSS_AVAIL || desc_type(GDT_TSS_MAIN) != TSS_BUSY)
		return case_fail(c, "%s: TSS types %x (task) %x (main), expected 9 and b", what,
		                 desc_type(task), desc_type(GDT_TSS_MAIN));
	if (!(cr0 & CR0_TS))
		return case_fail(c, "%s: CR0.TS clear after task switches (CR0 %08x)", what, cr0);
	return CASE_PASS;
}

static enum case_result call_and_iret(struct case_ctx *c)
{
	for (uint32_t n = 1; n <= 2; n++) {
		uint64_t t0 = rdtsc();
		cpu_call_task(GDT_TSS_CALL);
		uint64_t t1 = rdtsc();
		if (call_count != n)
			return case_fail(c, "CALL %u: the task ran %u times", n, call_count);
		if (call_link != GDT_TSS_MAIN || !(call_eflags & EFLAGS_NT))
			return case_fail(
			    c, "CALL %u: task saw back-link %x, EFLAGS %08x (want %x, NT)", n,
			    call_link, call_eflags, GDT_TSS_MAIN);
		if (check_back(c, "CALL/IRET", GDT_TSS_CALL) != CASE_PASS)
			return CASE_FAIL;
		if (n == 2)
			runner_info("task_switch: CALL to a task and IRET back: %u ticks",
			            (uint32_t)(t1 - t0));
	}
	return CASE_PASS;
}

static enum case_result double_fault_task(struct case_ctx *c)
{
	trap_set_task_gate(VEC_DF, GDT_TSS_DF);
	trap_set_gate_absent(VEC_DE);
	uint32_t vec = probe_divide_by_zero();
	trap_reset_gate(VEC_DE);
	trap_reset_gate(VEC_DF);
	if (vec != VEC_DF || df_count != 1)
		return case_fail(c, "#DE with its gate absent: vector %u, #DF task ran %u times",
		                 vec, df_count);
	if (df_error != 0 || df_esp != DF_STACK_TOP)
		return case_fail(c, "#DF task: error %x, ESP %08x after popping it (want 0, %08x)",
		                 df_error, df_esp, DF_STACK_TOP);
	if (df_link != GDT_TSS_MAIN)
		return case_fail(c, "#DF task: back-link %x, expected %x", df_link, GDT_TSS_MAIN);
	if (trap_probe.eip != trap_probe.fault_at)
		return case_fail(c, "#DF: saved EIP %08x, expected the DIV at %08x", trap_probe.eip,
		                 trap_probe.fault_at);
	return check_back(c, "#DF task gate", GDT_TSS_DF);
}

static enum case_result short_limit(struct case_ctx *c)
{
	uint32_t vec = probe_call_task(GDT_TSS_SHORT);
	if (vec != VEC_TS || trap_probe.error != GDT_TSS_SHORT)
		return case_fail(c,
		                 "CALL to a TSS with limit 0x40: vector %u error %x, expected "
		                 "#TS(%x)",
		                 vec, trap_probe.error, GDT_TSS_SHORT);
	if (trap_probe.eip != trap_probe.fault_at)
		return case_fail(c, "#TS: EIP %08x, expected the CALL at %08x", trap_probe.eip,
		                 trap_probe.fault_at);
	if (cpu_str() != GDT_TSS_MAIN || desc_type(GDT_TSS_SHORT) != TSS_AVAIL || call_count != 2)
		return case_fail(c, "#TS: the switch happened anyway (TR %x, type %x)", cpu_str(),
		                 desc_type(GDT_TSS_SHORT));
	return CASE_PASS;
}

static enum case_result fault_in_new_task(struct case_ctx *c)
{
	uint32_t calls = call_count;

	trap_set_task_gate(VEC_NP, GDT_TSS_NP);
	cpu_call_task(GDT_TSS_NPDS);
	trap_reset_gate(VEC_NP);
	if (np_count != 1 || np_error != GDT_DATA_NP)
		return case_fail(
		    c, "task with DS absent: #NP task ran %u times, error %x (want 1, %x)",
		    np_count, np_error, GDT_DATA_NP);
	if (np_link != GDT_TSS_NPDS || np_eip != (uint32_t)(uintptr_t)task_call_entry)
		return case_fail(
		    c, "#NP in the new task: back-link %x, its EIP %08x (want %x, %08x)", np_link,
		    np_eip, GDT_TSS_NPDS, (uint32_t)(uintptr_t)task_call_entry);
	if (call_count != calls + 1)
		return case_fail(c, "the task did not run after its DS was fixed (%u runs)",
		                 call_count - calls);
	if (desc_type(GDT_TSS_NP) != TSS_AVAIL)
		return case_fail(c, "#NP handler task still busy (type %x)", desc_type(GDT_TSS_NP));
	return check_back(c, "task with DS absent", GDT_TSS_NPDS);
}

enum case_result case_task_switch(struct case_ctx *c)
{
	setup();
	if (call_and_iret(c) != CASE_PASS || double_fault_task(c) != CASE_PASS ||
	    short_limit(c) != CASE_PASS)
		return CASE_FAIL;
	return fault_in_new_task(c);
}
