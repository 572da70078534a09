/*
 * TrustVisor over libvmx's real exit dispatch on the fake hardware: a 64-bit
 * user process in a fake guest RAM registers PALs (every validation error),
 * calls one (EPT violation at the entry -> PAL state; sentinel #PF -> outputs
 * and caller state back), and the NMI rule: an NMI that arrives while the PAL
 * runs is held, then injected exactly once after the PAL returns.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <bearssl.h>

#include "apps/trustvisor/tv_internal.h"
#include "hw/hw.h"
#include "libvmx/vmx.h"
#include "tests/unit/trustvisor/fake_platform.h"
#include "tests/unit/trustvisor/tv_env.h"

#define PG 0x1000ull
#define P  1ull
#define RW 2ull
#define US 4ull

/* The process (GVA -> GPA). */
#define CODE_GVA   0x400000ull /* -> 0x200000 */
#define PARAMS_GVA 0x401000ull /* -> 0x201000 */
#define STACK_GVA  0x402000ull /* 2 pages -> 0x202000, 0x203000 */
#define DATA_GVA   0x405000ull /* -> 0x205000 */
#define ALIAS_GVA  0x406000ull /* -> 0x200000, the code page again */
#define HV_GVA     0x407000ull /* -> TVF_HV_LO */
#define HIGH_GVA   0x408000ull /* -> 64 MiB, above RAM */
#define SUP_GVA    0x500000ull /* supervisor page -> 0x311000 */
#define BUF_GVA    0x600000ull /* caller data -> 0x301000 */
#define UNMAPPED   0x700000ull
#define CSTACK_GVA 0x7ff000ull           /* caller stack -> 0x300000 */
#define KERNEL_GVA 0xffff888000000000ull /* -> 0x310000, supervisor */
#define ENTRY      (CODE_GVA + 0x40)
#define IN_GVA     BUF_GVA
#define OUT_GVA    (BUF_GVA + 0x100)
#define DESC_GVA   (BUF_GVA + 0x800)
#define CALLER_RSP (CSTACK_GVA + 0xef8)
#define RET_RIP    0x410123ull

static struct vcpu *v;
static uint64_t cr3_a, cr3_b, next_table;

static void put64(uint64_t gpa, uint64_t x)
{
	memcpy(tvf_ram + gpa, &x, 8);
}

static uint64_t get64(uint64_t gpa)
{
	uint64_t x;
	memcpy(&x, tvf_ram + gpa, 8);
	return x;
}

static void map(uint64_t root, uint64_t gva, uint64_t gpa, uint64_t flags)
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

static void user_mode(uint64_t cr3)
{
	vmcs_set(VMCS_GUEST_CR0.enc, CR0_PE | CR0_PG | CR0_WP);
	vmcs_set(VMCS_GUEST_CR4.enc, CR4_PAE);
	vmcs_set(VMCS_GUEST_IA32_EFER.enc, EFER_LMA | EFER_LME | EFER_NXE);
	vmcs_set(VMCS_GUEST_CS_ACCESS_RIGHTS.enc, 0x20fb); /* L, DPL 3, code */
	vmcs_set(VMCS_GUEST_SS_ACCESS_RIGHTS.enc, 0xf3);   /* DPL 3 */
	vmcs_set(VMCS_GUEST_CR3.enc, cr3);
	vmcs_set(VMCS_GUEST_RFLAGS.enc, 0x202);
}

static const struct tv_pal_desc good_desc = {
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

static int setup(void **state)
{
	(void)state;
	v = env_guest(2, &hv_app);
	tvf_reset();
	memset(tv_pals, 0, sizeof(struct tv_pal) * TV_MAX_PALS);
	memset(tv_call_of(0), 0, sizeof(struct tv_call));
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

static int64_t hypercall(uint32_t fn, uint64_t rbx)
{
	vmcs_set(VMCS_GUEST_RIP.enc, 0x410000);
	v->gpr[GPR_RAX] = fn;
	v->gpr[GPR_RBX] = rbx;
	env_exit(v, &(struct exit_fields){.reason = VMX_EXIT_VMCALL, .instruction_len = 3});
	assert_int_equal(vmcs_get(VMCS_GUEST_RIP.enc), 0x410003);
	return (int64_t)v->gpr[GPR_RAX];
}

static int64_t register_desc(const struct tv_pal_desc *d)
{
	memcpy(tvf_ram + 0x301800, d, sizeof(*d));
	return hypercall(TV_HC_REGISTER, DESC_GVA);
}

static unsigned registered(void)
{
	unsigned n = 0;
	for (unsigned i = 0; i < TV_MAX_PALS; i++)
		n += tv_pals[i].state != TV_PAL_FREE;
	return n;
}

static bool all_pages_visible(void)
{
	for (size_t i = 0; i < TVF_RAM_SIZE / PG; i++)
		if (tvf_view[i] != EPT_RWX)
			return false;
	return true;
}

/* The caller executes `call ENTRY` with (in, 2, out, 1). */
static void call_entry(void)
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
static void pal_returns(uint64_t pal_rax)
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

static void nmi_exit(void)
{
	env_exit(v, &(struct exit_fields){.reason = VMX_EXIT_EXCEPTION_NMI,
	                                  .intr_info = INTR_INFO(2, INTR_TYPE_NMI)});
}

static void assert_caller_restored(int64_t status)
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

/* ---- registration ---- */

static void test_register_hides_pages_and_unregister_scrubs(void **state)
{
	(void)state;
	memset(tvf_ram + 0x205000, 0xa5, PG); /* the PAL's data */
	memset(tvf_ram + 0x200000, 0xc3, PG); /* its code (e.g. the file's page cache) */
	assert_int_equal(register_desc(&good_desc), TV_OK);
	assert_int_equal(registered(), 1);
	assert_int_equal(tvf_syncs, 1);
	uint64_t pal_pages[] = {0x200000, 0x201000, 0x202000, 0x203000, 0x205000};
	for (unsigned i = 0; i < 5; i++)
		assert_int_equal(tvf_view[pal_pages[i] / PG], 0);
	assert_int_equal(tvf_view[0x301000 / PG], EPT_RWX);
	assert_int_equal(tvf_ram[0x205123], 0xa5); /* kept while registered */

	assert_int_equal(register_desc(&good_desc), TV_ERR_EXISTS);
	/* Another process may not unregister it. */
	user_mode(cr3_b);
	assert_int_equal(hypercall(TV_HC_UNREGISTER, ENTRY), TV_ERR_WRONG_PROCESS);
	user_mode(cr3_a);
	assert_int_equal(hypercall(TV_HC_UNREGISTER, ENTRY + 1), TV_ERR_NOT_REGISTERED);
	assert_int_equal(hypercall(TV_HC_UNREGISTER, ENTRY), TV_OK);
	assert_int_equal(registered(), 0);
	assert_true(all_pages_visible());
	for (unsigned i = 0; i < PG; i++) {
		assert_int_equal(tvf_ram[0x205000 + i], 0); /* data scrubbed */
		assert_int_equal(tvf_ram[0x200000 + i], 0xc3); /* code left as it was */
	}
	assert_int_equal(hypercall(TV_HC_UNREGISTER, ENTRY), TV_ERR_NOT_REGISTERED);
	/* A jump to the old entry is now an ordinary access, not TrustVisor's. */
	assert_int_equal(tv_ept_violation(v, 0x200040, EPTQUAL_FETCH), HV_EPT_UNHANDLED);
}

struct bad_case {
	const char *what;
	int64_t expect;
	void (*mutate)(struct tv_pal_desc *d);
};

#define MUT(name, body)                                                                            \
	static void name(struct tv_pal_desc *d)                                                    \
	{                                                                                          \
		body;                                                                              \
	}
MUT(m_unaligned_gva, d->sec[3].gva += 8)
MUT(m_unaligned_size, d->sec[2].size = PG + 16)
MUT(m_zero_size, d->sec[3].size = 0)
MUT(m_overlap, d->sec[3].gva = STACK_GVA + PG)
MUT(m_alias, d->sec[3].gva = ALIAS_GVA)
MUT(m_hv_memory, d->sec[3].gva = HV_GVA)
MUT(m_above_ram, d->sec[3].gva = HIGH_GVA)
MUT(m_huge, d->sec[3].size = 1ull << 40)
MUT(m_too_many_pages, d->sec[2].size = (TV_MAX_PAL_PAGES + 1) * PG)
MUT(m_too_many_sections, d->nsections = TV_MAX_SECTIONS + 1)
MUT(m_wrap, {
	d->sec[3].gva = 0xfffffffffffff000ull;
	d->sec[3].size = 2 * PG;
})
MUT(m_null, d->sec[3].gva = 0)
MUT(m_kernel, d->sec[3].gva = KERNEL_GVA)
MUT(m_supervisor_page, d->sec[3].gva = SUP_GVA)
MUT(m_sentinel, d->sec[3].gva = TV_PAL_SENTINEL)
MUT(m_not_present, d->sec[3].gva = UNMAPPED)
MUT(m_entry_outside_code, d->entry = DATA_GVA)
MUT(m_no_stack, d->sec[2].kind = TV_SEC_DATA)
MUT(m_two_params, d->sec[3].kind = TV_SEC_PARAMS)
MUT(m_bad_kind, d->sec[3].kind = 9)
MUT(m_too_many_words, d->in_words = TV_MAX_WORDS + 1)
MUT(m_version, d->version = 7)

static const struct bad_case bad_cases[] = {
    {"unaligned section address", TV_ERR_ALIGN, m_unaligned_gva},
    {"unaligned section size", TV_ERR_ALIGN, m_unaligned_size},
    {"empty section", TV_ERR_ALIGN, m_zero_size},
    {"overlapping sections", TV_ERR_OVERLAP, m_overlap},
    {"two addresses for one page", TV_ERR_OVERLAP, m_alias},
    {"hypervisor memory", TV_ERR_RANGE, m_hv_memory},
    {"above RAM", TV_ERR_RANGE, m_above_ram},
    {"huge section", TV_ERR_TOO_LARGE, m_huge},
    {"too many pages", TV_ERR_TOO_LARGE, m_too_many_pages},
    {"too many sections", TV_ERR_TOO_LARGE, m_too_many_sections},
    {"wrapping section", TV_ERR_RANGE, m_wrap},
    {"null section", TV_ERR_RANGE, m_null},
    {"kernel address from ring 3", TV_ERR_RANGE, m_kernel},
    {"supervisor page from ring 3", TV_ERR_RANGE, m_supervisor_page},
    {"the sentinel page", TV_ERR_RANGE, m_sentinel},
    {"page not present", TV_ERR_FAULT, m_not_present},
    {"entry outside code", TV_ERR_INVALID, m_entry_outside_code},
    {"no stack", TV_ERR_INVALID, m_no_stack},
    {"two params sections", TV_ERR_INVALID, m_two_params},
    {"unknown kind", TV_ERR_INVALID, m_bad_kind},
    {"too many words", TV_ERR_TOO_LARGE, m_too_many_words},
    {"unknown version", TV_ERR_INVALID, m_version},
};

static void test_register_rejects_bad_descriptors(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(bad_cases) / sizeof(bad_cases[0]); i++) {
		struct tv_pal_desc d = good_desc;
		bad_cases[i].mutate(&d);
		int64_t r = register_desc(&d);
		if (r != bad_cases[i].expect)
			fail_msg("%s: got %lld, expected %lld", bad_cases[i].what, (long long)r,
			         (long long)bad_cases[i].expect);
		assert_int_equal(registered(), 0);
		assert_true(all_pages_visible());
	}
	/* Nothing was left half-registered: the good one still works. */
	assert_int_equal(register_desc(&good_desc), TV_OK);
}

static void test_register_rejects_overlap_with_another_pal(void **state)
{
	(void)state;
	assert_int_equal(register_desc(&good_desc), TV_OK);
	/* Same process, different entry, a section over the first PAL's data. */
	map(cr3_a, 0x420000, 0x220000, P | US);
	map(cr3_a, 0x421000, 0x221000, P | RW | US);
	map(cr3_a, 0x422000, 0x222000, P | RW | US);
	struct tv_pal_desc d = {
	    .version = TV_DESC_VERSION,
	    .nsections = 4,
	    .entry = 0x420000,
	    .in_words = 1,
	    .out_words = 1,
	    .sec = {{0x420000, PG, TV_SEC_CODE, 0},
	            {0x421000, PG, TV_SEC_PARAMS, 0},
	            {0x422000, PG, TV_SEC_STACK, 0},
	            {DATA_GVA, PG, TV_SEC_DATA, 0}},
	};
	assert_int_equal(register_desc(&d), TV_ERR_OVERLAP);
	/* Another process whose page maps the first PAL's physical page. */
	user_mode(cr3_b);
	map(cr3_b, 0x420000, 0x220000, P | US);
	map(cr3_b, 0x421000, 0x221000, P | RW | US);
	map(cr3_b, 0x422000, 0x222000, P | RW | US);
	map(cr3_b, 0x423000, 0x205000, P | RW | US);
	d.sec[3].gva = 0x423000;
	assert_int_equal(register_desc(&d), TV_ERR_OVERLAP);
	d.nsections = 3; /* without it: fine */
	assert_int_equal(register_desc(&d), TV_OK);
	assert_int_equal(registered(), 2);
}

static void test_register_needs_long_mode(void **state)
{
	(void)state;
	vmcs_set(VMCS_GUEST_CS_ACCESS_RIGHTS.enc, 0xc0fb); /* 32-bit code */
	assert_int_equal(register_desc(&good_desc), TV_ERR_UNSUPPORTED);
	assert_int_equal(registered(), 0);
}

/* ---- calls ---- */

static void test_call_round_trip(void **state)
{
	(void)state;
	assert_int_equal(register_desc(&good_desc), TV_OK);
	struct tv_pal *pal = &tv_pals[0];
	call_entry();

	/* PAL state on this CPU. */
	assert_ptr_equal(tv_call_of(0)->pal, pal);
	assert_false(tv_may_take_nmi(v));
	assert_int_equal(vmcs_get(VMCS_GUEST_RIP.enc), ENTRY);
	assert_int_equal(vmcs_get(VMCS_GUEST_RSP.enc), STACK_GVA + 2 * PG - 8);
	assert_int_equal(get64(0x203ff8), TV_PAL_SENTINEL);
	assert_int_equal(vmcs_get(VMCS_GUEST_CR3.enc), pal->pt_root);
	assert_int_equal(vmcs_get(VMCS_EPT_POINTER.enc), pal->eptp);
	assert_int_equal(vmcs_get(VMCS_EXCEPTION_BITMAP.enc), 0xffffffffu);
	assert_int_equal(vmcs_get(VMCS_GUEST_RFLAGS.enc) & (1u << 9), 0); /* IF = 0 */
	assert_true(vmcs_get(VMCS_PIN_BASED_CONTROLS.enc) & PIN_PREEMPTION_TIMER);
	assert_int_equal(vmcs_get(VMCS_PREEMPTION_TIMER_VALUE.enc), 12345);
	assert_int_equal(v->gpr[GPR_RDI], PARAMS_GVA);
	assert_int_equal(v->gpr[GPR_RSI], 2);
	assert_int_equal(v->gpr[GPR_RDX], PARAMS_GVA + 16);
	assert_int_equal(v->gpr[GPR_RCX], 1);
	assert_int_equal(v->gpr[GPR_RBX], 0); /* caller registers cleared */
	assert_int_equal(get64(0x201000), 40);
	assert_int_equal(get64(0x201008), 2);
	assert_int_equal(tvf_invepts, 1);

	/* The PAL computes and returns. */
	put64(0x201010, get64(0x201000) + get64(0x201008));
	pal_returns(7);
	assert_caller_restored(TV_OK);
	assert_int_equal(v->gpr[GPR_RDX], 7);
	assert_int_equal(get64(0x301100), 42);
	assert_int_equal(pal->running_on, -1);
	assert_int_equal(vmcs_get(VMCS_VM_ENTRY_INTR_INFO.enc), 0);
}

static void test_pal_translation_is_private(void **state)
{
	(void)state;
	assert_int_equal(register_desc(&good_desc), TV_OK);
	struct tv_pal *pal = &tv_pals[0];
	/* Each PAL page maps to its GPA with the section's rights; nothing else maps. */
	uint64_t *pml4 = hw_phys_ptr(pal->pt_root);
	uint64_t *pdpt = hw_phys_ptr(pml4[0] & 0x000ffffffffff000ull);
	uint64_t *pd = hw_phys_ptr(pdpt[0] & 0x000ffffffffff000ull);
	uint64_t *pt = hw_phys_ptr(pd[2] & 0x000ffffffffff000ull);
	assert_int_equal(pt[0] & 0x000ffffffffff000ull, 0x200000); /* code */
	assert_int_equal(pt[0] & (P | RW | US), P | US);
	assert_int_equal(pt[0] >> 63, 0);
	assert_int_equal(pt[1] & 0x000ffffffffff000ull, 0x201000); /* params */
	assert_int_equal(pt[1] & (P | RW | US), P | RW | US);
	assert_int_equal(pt[1] >> 63, 1);
	assert_int_equal(pt[6], 0); /* the alias is not the PAL's */
	assert_int_equal(pd[3], 0); /* BUF_GVA: the caller's data is not mapped */
	/* The EPT view: PAL pages with section rights, the caller's page absent. */
	uint64_t *e4 = hw_phys_ptr(pal->eptp & ~0xfffull);
	uint64_t *e3 = hw_phys_ptr(e4[0] & 0x000ffffffffff000ull);
	uint64_t *e2 = hw_phys_ptr(e3[0] & 0x000ffffffffff000ull);
	uint64_t *e1 = hw_phys_ptr(e2[1] & 0x000ffffffffff000ull);
	assert_int_equal(e1[0] & 7, EPT_READ | EPT_EXECUTE);
	assert_int_equal(e1[0] & 0x000ffffffffff000ull, (uint64_t)(uintptr_t)(tvf_ram + 0x200000));
	assert_int_equal(e1[1] & 7, EPT_READ | EPT_WRITE);
	assert_int_equal(e1[4], 0);
	assert_int_equal(pal->eptp & 0xfff, tvf_eptp & 0xfff);
}

static void test_nmi_during_pal_waits_for_its_exit(void **state)
{
	(void)state;
	assert_int_equal(register_desc(&good_desc), TV_OK);
	call_entry();
	uint64_t injected = v->ev.nmis_injected;

	/* Two NMIs while the PAL runs: neither reaches the PAL, no window loop. */
	nmi_exit();
	assert_int_equal(vmcs_get(VMCS_VM_ENTRY_INTR_INFO.enc), 0);
	assert_int_equal(v->ev.nmi_pending, 1);
	assert_false(vmcs_get(VMCS_PRIMARY_PROC_CONTROLS.enc) & PROC_NMI_WINDOW_EXITING);
	nmi_exit();
	assert_int_equal(vmcs_get(VMCS_VM_ENTRY_INTR_INFO.enc), 0);
	assert_int_equal(v->ev.nmis_injected, injected);

	/* PAL exit: the held NMI goes to the caller's context, once. */
	put64(0x201010, 42);
	pal_returns(0);
	assert_caller_restored(TV_OK);
	assert_int_equal(vmcs_get(VMCS_VM_ENTRY_INTR_INFO.enc), INTR_INFO(2, INTR_TYPE_NMI));
	assert_int_equal(v->ev.nmis_injected, injected + 1);
	assert_int_equal(v->ev.nmi_pending, 0);
	env_exit(v, &(struct exit_fields){.reason = VMX_EXIT_CPUID, .instruction_len = 2});
	assert_int_equal(vmcs_get(VMCS_VM_ENTRY_INTR_INFO.enc), 0);
	assert_int_equal(v->ev.nmis_injected, injected + 1);
}

static void test_pal_fault_ends_call(void **state)
{
	(void)state;
	assert_int_equal(register_desc(&good_desc), TV_OK);
	call_entry();
	env_exit(v,
	         &(struct exit_fields){.reason = VMX_EXIT_EXCEPTION_NMI,
	                               .intr_info = INTR_INFO(X86_VEC_GP, INTR_TYPE_HW_EXCEPTION) |
	                                            INTR_INFO_DELIVER_CODE});
	assert_caller_restored(TV_ERR_PAL_FAULT);
	assert_int_equal(vmcs_get(VMCS_VM_ENTRY_INTR_INFO.enc), 0); /* nothing for the caller */
	assert_int_equal(get64(0x301100), 0xdead);                  /* no outputs */

	/* A #PF while the PAL's INT 0x80 was being delivered: not re-injected. */
	call_entry();
	env_exit(v, &(struct exit_fields){
	                .reason = VMX_EXIT_EXCEPTION_NMI,
	                .qualification = 0xffffffff81000000ull,
	                .intr_info =
	                    INTR_INFO(X86_VEC_PF, INTR_TYPE_HW_EXCEPTION) | INTR_INFO_DELIVER_CODE,
	                .idt_info = INTR_INFO(0x80, INTR_TYPE_SW_INTERRUPT),
	                .instruction_len = 2,
	            });
	assert_caller_restored(TV_ERR_PAL_FAULT);
	assert_int_equal(vmcs_get(VMCS_VM_ENTRY_INTR_INFO.enc), 0);

	/* An EPT violation from inside the PAL. */
	call_entry();
	env_exit(v, &(struct exit_fields){.reason = VMX_EXIT_EPT_VIOLATION,
	                                  .qualification = EPTQUAL_READ,
	                                  .gpa = 0x301000});
	assert_caller_restored(TV_ERR_PAL_FAULT);
	/* The PAL still works afterwards. */
	call_entry();
	put64(0x201010, 42);
	pal_returns(0);
	assert_caller_restored(TV_OK);
	assert_int_equal(tv_pals[0].faults, 3);
}

static void test_pal_timeout_ends_call(void **state)
{
	(void)state;
	assert_int_equal(register_desc(&good_desc), TV_OK);
	call_entry();
	tv_timer_expired(v); /* the preemption-timer exit (tv_platform.c) */
	assert_caller_restored(TV_ERR_PAL_TIMEOUT);
	assert_int_equal(get64(0x301100), 0xdead);
}

static void test_call_checks(void **state)
{
	(void)state;
	assert_int_equal(register_desc(&good_desc), TV_OK);
	/* Another process reaching the same page at the same address. */
	user_mode(cr3_b);
	call_entry();
	assert_int_equal((int64_t)v->gpr[GPR_RAX], TV_ERR_WRONG_PROCESS);
	assert_int_equal(vmcs_get(VMCS_GUEST_RIP.enc), RET_RIP);
	assert_null(tv_call_of(0)->pal);
	/* Too many inputs. */
	user_mode(cr3_a);
	put64(0x300000 + (CALLER_RSP & 0xfff), RET_RIP);
	vmcs_set(VMCS_GUEST_RSP.enc, CALLER_RSP);
	vmcs_set(VMCS_GUEST_RIP.enc, ENTRY);
	vmcs_set(VMCS_GUEST_LINEAR_ADDRESS.enc, ENTRY);
	v->gpr[GPR_RSI] = 3;
	v->gpr[GPR_RCX] = 1;
	env_exit(v, &(struct exit_fields){.reason = VMX_EXIT_EPT_VIOLATION,
	                                  .qualification = EPTQUAL_FETCH | EPTQUAL_GLA_VALID,
	                                  .gpa = 0x200040});
	assert_int_equal((int64_t)v->gpr[GPR_RAX], TV_ERR_TOO_LARGE);
	assert_null(tv_call_of(0)->pal);
	/* Hypercalls for the micro-TPM outside a PAL. */
	assert_int_equal(hypercall(TV_HC_GET_RANDOM, 0), TV_ERR_NOT_IN_PAL);
	/* Unknown hypercall: #UD as without a hypervisor. */
	vmcs_set(VMCS_GUEST_RIP.enc, 0x410000);
	v->gpr[GPR_RAX] = 0x1234;
	env_exit(v, &(struct exit_fields){.reason = VMX_EXIT_VMCALL, .instruction_len = 3});
	assert_int_equal(vmcs_get(VMCS_VM_ENTRY_INTR_INFO.enc),
	                 INTR_INFO(X86_VEC_UD, INTR_TYPE_HW_EXCEPTION));
}

static void test_guest_touching_pal_page_scrubs_it(void **state)
{
	(void)state;
	memset(tvf_ram + 0x205000, 0x5a, PG);
	assert_int_equal(register_desc(&good_desc), TV_OK);
	/* The kernel reads the PAL's data page (e.g. reusing the memory). */
	vmcs_set(VMCS_GUEST_RIP.enc, 0xffffffff81001000ull);
	env_exit(v, &(struct exit_fields){.reason = VMX_EXIT_EPT_VIOLATION,
	                                  .qualification = EPTQUAL_READ,
	                                  .gpa = 0x205010});
	assert_int_equal(registered(), 0);
	assert_true(all_pages_visible());
	assert_int_equal(tvf_ram[0x205010], 0);
	assert_int_equal(vmcs_get(VMCS_VM_ENTRY_INTR_INFO.enc), 0); /* the access retries */
}

static void test_utpm_calls_from_inside_the_pal(void **state)
{
	(void)state;
	uint8_t meas[32], zero_then_meas[64], want[32];
	br_sha256_context h;

	assert_int_equal(register_desc(&good_desc), TV_OK);
	for (unsigned i = 0; i < 32; i++)
		meas[i] = (uint8_t)(i + 1);
	memcpy(tvf_ram + 0x205000, meas, 32); /* the PAL's data page */
	call_entry();
	assert_int_equal(hypercall(TV_HC_EXTEND, 3), TV_ERR_INVALID); /* RCX = 0: not PAL memory */
	v->gpr[GPR_RCX] = DATA_GVA;
	assert_int_equal(hypercall(TV_HC_EXTEND, 3), TV_OK);
	v->gpr[GPR_RCX] = DATA_GVA + 64;
	assert_int_equal(hypercall(TV_HC_PCR_READ, 3), TV_OK);
	memset(zero_then_meas, 0, 32);
	memcpy(zero_then_meas + 32, meas, 32);
	br_sha256_init(&h);
	br_sha256_update(&h, zero_then_meas, 64);
	br_sha256_out(&h, want);
	assert_memory_equal(tvf_ram + 0x205040, want, 32);
	v->gpr[GPR_RCX] = DATA_GVA + 64;
	assert_int_equal(hypercall(TV_HC_PCR_READ, 8), TV_ERR_TPM); /* no PCR 8 */
	/* Random bytes into the PAL's data, never into its code. */
	v->gpr[GPR_RCX] = 16;
	assert_int_equal(hypercall(TV_HC_GET_RANDOM, DATA_GVA + 128), TV_OK);
	uint8_t zeros[16] = {0};
	assert_memory_not_equal(tvf_ram + 0x205080, zeros, 16);
	assert_int_equal(hypercall(TV_HC_GET_RANDOM, CODE_GVA), TV_ERR_INVALID);
	/* Registering from inside a PAL is refused; the call still ends normally. */
	assert_int_equal(hypercall(TV_HC_REGISTER, DESC_GVA), TV_ERR_INVALID);
	put64(0x201010, 42);
	pal_returns(0);
	assert_caller_restored(TV_OK);
}

static void test_shutdown_scrubs_every_pal(void **state)
{
	(void)state;
	memset(tvf_ram + 0x205000, 0x77, PG);
	assert_int_equal(register_desc(&good_desc), TV_OK);
	hv_app.shutdown(v);
	assert_int_equal(registered(), 0);
	assert_int_equal(tvf_ram[0x205000], 0);
	assert_true(all_pages_visible());
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup(test_register_hides_pages_and_unregister_scrubs, setup),
	    cmocka_unit_test_setup(test_register_rejects_bad_descriptors, setup),
	    cmocka_unit_test_setup(test_register_rejects_overlap_with_another_pal, setup),
	    cmocka_unit_test_setup(test_register_needs_long_mode, setup),
	    cmocka_unit_test_setup(test_call_round_trip, setup),
	    cmocka_unit_test_setup(test_pal_translation_is_private, setup),
	    cmocka_unit_test_setup(test_nmi_during_pal_waits_for_its_exit, setup),
	    cmocka_unit_test_setup(test_pal_fault_ends_call, setup),
	    cmocka_unit_test_setup(test_pal_timeout_ends_call, setup),
	    cmocka_unit_test_setup(test_call_checks, setup),
	    cmocka_unit_test_setup(test_guest_touching_pal_page_scrubs_it, setup),
	    cmocka_unit_test_setup(test_utpm_calls_from_inside_the_pal, setup),
	    cmocka_unit_test_setup(test_shutdown_scrubs_every_pal, setup),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
