/* The task-switch tests' machine (task_switch_env.h). */
#include "tests/unit/vmx/task_switch_env.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "libvmx/ept.h"
#include "libvmx/guest_memory.h"
#include "libvmx/vmx.h"

uint8_t ts_ram[64 * 1024] __attribute__((aligned(4096)));

uint64_t desc(uint32_t base, uint32_t limit, uint8_t access, uint8_t flags)
{
	return (limit & 0xffffu) | ((uint64_t)(base & 0xffffffu) << 16) | ((uint64_t)access << 40) |
	       ((uint64_t)((limit >> 16) & 0xfu) << 48) | ((uint64_t)(flags & 0xf0u) << 48) |
	       ((uint64_t)(base >> 24) << 56);
}

void put64(uint32_t a, uint64_t v)
{
	memcpy(&ts_ram[a], &v, 8);
}
uint64_t get64(uint32_t a)
{
	uint64_t v;
	memcpy(&v, &ts_ram[a], 8);
	return v;
}
void put32(uint32_t a, uint32_t v)
{
	memcpy(&ts_ram[a], &v, 4);
}
uint32_t get32(uint32_t a)
{
	uint32_t v;
	memcpy(&v, &ts_ram[a], 4);
	return v;
}
unsigned gdt_type(unsigned sel)
{
	return (unsigned)(get64(GDT + sel) >> 40) & 0x1f;
}

static void set_seg(vmcs_field16_t sel, vmcs_fieldnat_t base, vmcs_field32_t limit,
                    vmcs_field32_t ar, uint16_t s, uint32_t b, uint32_t l, uint32_t a)
{
	vmcs_set(sel.enc, s);
	vmcs_set(base.enc, b);
	vmcs_set(limit.enc, l);
	vmcs_set(ar.enc, a);
}
#define SEG(n, s, b, l, a)                                                                         \
	set_seg(VMCS_GUEST_##n##_SELECTOR, VMCS_GUEST_##n##_BASE, VMCS_GUEST_##n##_LIMIT,          \
	        VMCS_GUEST_##n##_ACCESS_RIGHTS, s, b, l, a)

/* The task TSS_TASK describes: runs at TASK_EIP on its own stack. */
static void task_tss(uint32_t at)
{
	memset(&ts_ram[at], 0, 0x68);
	put32(at + T_EIP, TASK_EIP);
	put32(at + T_EFLAGS, 0x2);
	for (unsigned i = 0; i < 8; i++)
		put32(at + T_EAX + 4 * i, 0x7a500000u + i);
	put32(at + T_ESP, STACK_TOP);
	put32(at + T_ES, SEL_DATA);
	put32(at + T_CS, SEL_CODE);
	put32(at + T_SS, SEL_DATA);
	put32(at + T_DS, SEL_DATA);
}

struct vcpu *guest(void)
{
	struct vcpu *v = env_guest(1, NULL);
	guest_memory_test_window(ts_ram, sizeof(ts_ram));
	memset(ts_ram, 0, sizeof(ts_ram));
	env_protected_mode();

	put64(GDT + SEL_CODE, desc(0, 0xfffff, 0x9b, 0xc0));
	put64(GDT + SEL_DATA, desc(0, 0xfffff, 0x93, 0xc0));
	put64(GDT + SEL_MAIN, desc(TSS_MAIN, 0x67, 0x8b, 0));
	put64(GDT + SEL_TASK, desc(TSS_TASK, 0x67, 0x89, 0));
	put64(GDT + SEL_SHORT, desc(TSS_OTHER, 0x40, 0x89, 0));
	put64(GDT + SEL_ABSENT, desc(TSS_OTHER, 0x67, 0x09, 0));
	put64(GDT + SEL_BUSY, desc(TSS_OTHER, 0x67, 0x8b, 0));
	put64(GDT + SEL_DATA_NP, desc(0, 0xfffff, 0x13, 0xc0));
	put64(GDT + SEL_TSS16, desc(TSS_OTHER, 0x2b, 0x81, 0));
	put64(GDT + SEL_LDT, desc(0x4000, 0xf, 0x82, 0));
	put64(GDT + SEL_CODE_RO, desc(0, 0xfffff, 0x91, 0xc0));
	task_tss(TSS_TASK);
	task_tss(TSS_OTHER);

	vmcs_set(VMCS_GUEST_GDTR_BASE.enc, GDT);
	vmcs_set(VMCS_GUEST_GDTR_LIMIT.enc, GDT_LIMIT);
	SEG(CS, SEL_CODE, 0, 0xffffffff, 0xc09b);
	SEG(SS, SEL_DATA, 0, 0xffffffff, 0xc093);
	SEG(DS, SEL_DATA, 0, 0xffffffff, 0xc093);
	SEG(ES, SEL_DATA, 0, 0xffffffff, 0xc093);
	SEG(FS, 0, 0, 0, 0x10000);
	SEG(GS, 0, 0, 0, 0x10000);
	SEG(LDTR, 0, 0, 0, 0x10000);
	SEG(TR, SEL_MAIN, TSS_MAIN, 0x67, 0x8b);
	vmcs_set(VMCS_GUEST_RIP.enc, 0x1000);
	vmcs_set(VMCS_GUEST_RSP.enc, 0x9000);
	vmcs_set(VMCS_GUEST_RFLAGS.enc, 0x202);
	for (unsigned i = 0; i < 16; i++)
		if (i != GPR_RSP)
			v->gpr[i] = 0x11110000u + i;
	env_console();
	return v;
}

int done(void **state)
{
	(void)state;
	assert_int_equal(ept_set_page_access(env_eptp(), TSS_TASK & ~0xfffu, 0x1000,
	                                     EPT_READ | EPT_WRITE | EPT_EXECUTE),
	                 0);
	guest_memory_test_window(NULL, 0);
	return 0;
}

void ts_exit(struct vcpu *v, unsigned src, uint16_t sel, uint32_t len, uint32_t idt,
             uint32_t idt_error)
{
	struct exit_fields f = {.reason = VMX_EXIT_TASK_SWITCH,
	                        .qualification = ((uint64_t)src << 30) | sel,
	                        .instruction_len = len,
	                        .idt_info = idt,
	                        .idt_error = idt_error};
	env_exit(v, &f);
}

void assert_fault(uint8_t vec, uint32_t error)
{
	assert_int_equal(injected(),
	                 INTR_INFO(vec, INTR_TYPE_HW_EXCEPTION) | INTR_INFO_DELIVER_CODE);
	assert_int_equal(vmcs_get(VMCS_VM_ENTRY_EXCEPTION_ERROR_CODE.enc), error);
	if (vec != X86_VEC_DF) /* an abort: RF as it was */
		assert_true(vmcs_get(VMCS_GUEST_RFLAGS.enc) & RFLAGS_RF);
}

/* A fault before the commit point: nothing changed, the instruction faults. */
void assert_untouched(const struct vcpu *v)
{
	assert_int_equal(rip(), 0x1000);
	assert_int_equal(vmcs_get(VMCS_GUEST_TR_SELECTOR.enc), SEL_MAIN);
	assert_int_equal(v->gpr[GPR_RAX], 0x11110000u);
	assert_int_equal(get32(TSS_MAIN + T_EIP), 0);
	assert_int_equal(gdt_type(SEL_MAIN), 0x0b);
	assert_false(vmcs_get(VMCS_GUEST_CR0.enc) & CR0_TS);
}

/* The new task runs: its registers, TR, CR0.TS. */
void assert_in_task(const struct vcpu *v, uint16_t sel, uint32_t base)
{
	assert_int_equal(rip(), TASK_EIP);
	assert_int_equal(v->gpr[GPR_RAX], 0x7a500000u);
	assert_int_equal(v->gpr[GPR_RDI], 0x7a500007u);
	assert_int_equal(vmcs_get(VMCS_GUEST_TR_SELECTOR.enc), sel);
	assert_int_equal(vmcs_get(VMCS_GUEST_TR_BASE.enc), base);
	assert_int_equal(vmcs_get(VMCS_GUEST_TR_ACCESS_RIGHTS.enc), 0x8b);
	assert_int_equal(gdt_type(sel), 0x0b);
	assert_true(vmcs_get(VMCS_GUEST_CR0.enc) & CR0_TS);
	assert_true(vmcs_get(VMCS_CR0_READ_SHADOW.enc) & CR0_TS);
	assert_int_equal(vmcs_get(VMCS_GUEST_CS_SELECTOR.enc), SEL_CODE);
	assert_int_equal(vmcs_get(VMCS_GUEST_SS_ACCESS_RIGHTS.enc), 0xc093);
	assert_true(vmcs_get(VMCS_GUEST_FS_ACCESS_RIGHTS.enc) & 0x10000); /* null: unusable */
}
