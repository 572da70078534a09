/* The user process of tv_proc.h. */
#include "tests/unit/trustvisor/tv_proc.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>

#include "apps/trustvisor/tv_internal.h"
#include "hw/hw.h"
#include "libvmx/vmx.h"
#include "tests/unit/trustvisor/fake_platform.h"
#include "tests/unit/trustvisor/tv_env.h"

struct vcpu *v;
uint64_t cr3_a, cr3_b;
static uint64_t next_table;

void put64(uint64_t gpa, uint64_t x)
{
	memcpy(tvf_ram + gpa, &x, 8);
}

uint64_t get64(uint64_t gpa)
{
	uint64_t x;
	memcpy(&x, tvf_ram + gpa, 8);
	return x;
}

void map(uint64_t root, uint64_t gva, uint64_t gpa, uint64_t flags)
{
	uint64_t table = root;
	for (int level = 4; level > 1; level--) {
		uint64_t slot = table + ((gva >> (12 + 9 * (level - 1))) & 0x1ff) * 8;
		if (!(get64(slot) & P)) {
			put64(slot, next_table | P | RW | US);
			next_table += PG;
		}
		table = get64(slot) & 0x000ffffffffff000ull;
	}
	put64(table + ((gva >> 12) & 0x1ff) * 8, gpa | flags);
}

void cpl_mode(uint64_t cr3, unsigned cpl)
{
	vmcs_set(VMCS_GUEST_CR0.enc, CR0_PE | CR0_PG | CR0_WP);
	vmcs_set(VMCS_GUEST_CR4.enc, CR4_PAE);
	vmcs_set(VMCS_GUEST_IA32_EFER.enc, EFER_LMA | EFER_LME | EFER_NXE);
	vmcs_set(VMCS_GUEST_CS_ACCESS_RIGHTS.enc, 0x209b | (cpl << 5)); /* L, DPL cpl, code */
	vmcs_set(VMCS_GUEST_SS_ACCESS_RIGHTS.enc, 0x93 | (cpl << 5));   /* DPL cpl */
	vmcs_set(VMCS_GUEST_CR3.enc, cr3);
	vmcs_set(VMCS_GUEST_RFLAGS.enc, 0x202);
}

void user_mode(uint64_t cr3)
{
	cpl_mode(cr3, 3);
}

const struct tv_pal_desc good_desc = {
    .version = TV_DESC_VERSION,
    .nsections = 4,
    .entry = ENTRY,
    .in_words = 2,
    .out_words = 1,
    .sec = {{CODE_GVA, PG, TV_SEC_CODE, 0},
            {PARAMS_GVA, PG, TV_SEC_PARAMS, 0},
            {STACK_GVA, 2 * PG, TV_SEC_STACK, 0},
            {DATA_GVA, PG, TV_SEC_DATA, 0}},
};

int setup(void **state)
{
	(void)state;
	v = env_guest(2, &hv_app);
	tvf_reset();
	memset(tv_pals, 0, sizeof(struct tv_pal) * TV_MAX_PALS);
	memset(tv_call_of(0), 0, sizeof(struct tv_call));
	memset(tv_call_of(1), 0, sizeof(struct tv_call));
	tv_pal_timer_ticks = 12345;
	next_table = 0x100000;
	cr3_a = next_table;
	cr3_b = next_table + PG;
	next_table += 2 * PG;
	for (uint64_t root = cr3_a; root <= cr3_b; root += PG) {
		map(root, BUF_GVA, 0x301000, P | RW | US);
		map(root, CSTACK_GVA, 0x300000, P | RW | US);
	}
	map(cr3_a, CODE_GVA, 0x200000, P | US);
	map(cr3_a, PARAMS_GVA, 0x201000, P | RW | US);
	map(cr3_a, STACK_GVA, 0x202000, P | RW | US);
	map(cr3_a, STACK_GVA + PG, 0x203000, P | RW | US);
	map(cr3_a, DATA_GVA, 0x205000, P | RW | US);
	map(cr3_a, ALIAS_GVA, 0x200000, P | US);
	map(cr3_a, HV_GVA, TVF_HV_LO, P | RW | US);
	map(cr3_a, HIGH_GVA, 64u << 20, P | RW | US);
	map(cr3_a, SUP_GVA, 0x311000, P | RW);
	map(cr3_a, KERNEL_GVA, 0x310000, P | RW);
	user_mode(cr3_a);
	return 0;
}

int64_t hypercall(uint32_t fn, uint64_t rbx)
{
	vmcs_set(VMCS_GUEST_RIP.enc, 0x410000);
	v->gpr[GPR_RAX] = fn;
	v->gpr[GPR_RBX] = rbx;
	env_exit(v, &(struct exit_fields){.reason = VMX_EXIT_VMCALL, .instruction_len = 3});
	assert_int_equal(vmcs_get(VMCS_GUEST_RIP.enc), 0x410003);
	return (int64_t)v->gpr[GPR_RAX];
}

int64_t register_desc(const struct tv_pal_desc *d)
{
	memcpy(tvf_ram + 0x301800, d, sizeof(*d));
	return hypercall(TV_HC_REGISTER, DESC_GVA);
}

unsigned registered(void)
{
	unsigned n = 0;
	for (unsigned i = 0; i < TV_MAX_PALS; i++)
		n += tv_pals[i].state != TV_PAL_FREE;
	return n;
}

bool all_pages_visible(void)
{
	for (size_t i = 0; i < TVF_RAM_SIZE / PG; i++)
		if (tvf_view[i] != EPT_RWX)
			return false;
	return true;
}

/* The caller executes `call ENTRY` with (in, 2, out, 1). */
void call_entry(void)
{
	put64(0x300000 + (CALLER_RSP & 0xfff), RET_RIP);
	put64(0x301000, 40);
	put64(0x301008, 2);
	put64(0x301100, 0xdead);
	vmcs_set(VMCS_GUEST_RSP.enc, CALLER_RSP);
	vmcs_set(VMCS_GUEST_RIP.enc, ENTRY);
	vmcs_set(VMCS_GUEST_LINEAR_ADDRESS.enc, ENTRY);
	v->gpr[GPR_RDI] = IN_GVA;
	v->gpr[GPR_RSI] = 2;
	v->gpr[GPR_RDX] = OUT_GVA;
	v->gpr[GPR_RCX] = 1;
	v->gpr[GPR_RBX] = 0xb0b;
	v->gpr[GPR_R12] = 0x1212;
	env_exit(v, &(struct exit_fields){.reason = VMX_EXIT_EPT_VIOLATION,
	                                  .qualification = EPTQUAL_FETCH | EPTQUAL_GLA_VALID |
	                                                   EPTQUAL_GLA_TRANSLATION,
	                                  .gpa = 0x200040});
}

/* The PAL's `ret` reaches the sentinel: #PF at it. */
void pal_returns(uint64_t pal_rax)
{
	v->gpr[GPR_RAX] = pal_rax;
	v->gpr[GPR_RBX] = 0x5ec2e7; /* PAL registers must not reach the caller */
	vmcs_set(VMCS_GUEST_RIP.enc, TV_PAL_SENTINEL);
	env_exit(v, &(struct exit_fields){
	                .reason = VMX_EXIT_EXCEPTION_NMI,
	                .qualification = TV_PAL_SENTINEL,
	                .intr_info =
	                    INTR_INFO(X86_VEC_PF, INTR_TYPE_HW_EXCEPTION) | INTR_INFO_DELIVER_CODE,
	                .intr_error = 0x14,
	            });
}

void pal_returns_0(void)
{
	pal_returns(0);
}

void pal_gp_faults(void)
{
	env_exit(v,
	         &(struct exit_fields){.reason = VMX_EXIT_EXCEPTION_NMI,
	                               .intr_info = INTR_INFO(X86_VEC_GP, INTR_TYPE_HW_EXCEPTION) |
	                                            INTR_INFO_DELIVER_CODE});
}

void pal_timer_exit(void)
{
	env_exit(v, &(struct exit_fields){.reason = VMX_EXIT_PREEMPTION_TIMER});
}

void assert_caller_restored(int64_t status)
{
	assert_int_equal((int64_t)v->gpr[GPR_RAX], status);
	assert_int_equal(vmcs_get(VMCS_GUEST_RIP.enc), RET_RIP);
	assert_int_equal(vmcs_get(VMCS_GUEST_RSP.enc), CALLER_RSP + 8);
	assert_int_equal(vmcs_get(VMCS_GUEST_CR3.enc), cr3_a);
	assert_int_equal(vmcs_get(VMCS_EPT_POINTER.enc), tvf_eptp);
	assert_int_equal(vmcs_get(VMCS_EXCEPTION_BITMAP.enc), 0);
	assert_int_equal(vmcs_get(VMCS_GUEST_RFLAGS.enc), 0x202);
	assert_int_equal(vmcs_get(VMCS_PIN_BASED_CONTROLS.enc) & PIN_PREEMPTION_TIMER, 0);
	assert_int_equal(v->gpr[GPR_RBX], 0xb0b);
	assert_int_equal(v->gpr[GPR_R12], 0x1212);
	assert_true(tv_may_take_nmi(v));
	assert_null(tv_call_of(0)->pal);
}

void pal_outputs_42(void)
{
	put64(0x201010, 42);
	pal_returns(0);
	assert_caller_restored(TV_OK);
}
