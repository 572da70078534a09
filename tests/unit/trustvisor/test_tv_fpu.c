/*
 * PAL x87/SSE/AVX isolation (tv_fpu.c) over libvmx's real exit dispatch and
 * the fake XSAVE/XRSTOR, which log every call and move a sliver of the state
 * (FCW, MXCSR, the low qword of XMM0; hw/fake/fake_hw.h). On every way out of
 * a PAL (return, fault, EPT violation, timeout) the order must be: XSAVE of
 * the caller -> XRSTOR of an init image (XSTATE_BV = 0) -> the PAL runs ->
 * XRSTOR of the caller's image; the caller's values come back, the PAL's
 * never reach it, and the PAL starts from the init values.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "apps/trustvisor/tv_internal.h"
#include "hw/hw.h"
#include "tests/unit/trustvisor/fake_platform.h"
#include "tests/unit/trustvisor/tv_env.h"

#define PG         0x1000ull
#define PTE        7ull /* present, writable, user */
#define CODE_GVA   0x400000ull
#define PARAMS_GVA 0x401000ull
#define STACK_GVA  0x402000ull
#define DATA_GVA   0x404000ull
#define BUF_GVA    0x600000ull
#define CSTACK_GVA 0x7ff000ull
#define ENTRY      (CODE_GVA + 0x40)
#define CALLER_RSP (CSTACK_GVA + 0xef8)
#define RET_RIP    0x410123ull
#define CR3        0x100000ull

#define CALLER_XMM0 0xc0ffee0123456789ull
#define PAL_XMM0    0x5ec2e75ec2e75ec2ull
#define XSTATE_AVX  (XCR0_X87 | XCR0_SSE | XCR0_AVX)

static struct vcpu *v;
static uint64_t next_table;

static void put64(uint64_t gpa, uint64_t x)
{
	memcpy(tvf_ram + gpa, &x, 8);
}

static void map(uint64_t gva, uint64_t gpa)
{
	uint64_t table = CR3, e;
	for (int level = 4; level > 1; level--) {
		uint64_t slot = table + ((gva >> (12 + 9 * (level - 1))) & 0x1ff) * 8;
		memcpy(&e, tvf_ram + slot, 8);
		if (!(e & 1)) {
			e = next_table | PTE;
			put64(slot, e);
			next_table += PG;
		}
		table = e & 0x000ffffffffff000ull;
	}
	put64(table + ((gva >> 12) & 0x1ff) * 8, gpa | PTE);
}

static int64_t hypercall(uint32_t fn, uint64_t rbx, uint64_t rcx)
{
	vmcs_set(VMCS_GUEST_RIP.enc, 0x410000);
	v->gpr[GPR_RAX] = fn;
	v->gpr[GPR_RBX] = rbx;
	v->gpr[GPR_RCX] = rcx;
	env_exit(v, &(struct exit_fields){.reason = VMX_EXIT_VMCALL, .instruction_len = 3});
	return (int64_t)v->gpr[GPR_RAX];
}

/* A 64-bit user process with one registered PAL; the guest's XCR0 = x87|SSE|AVX. */
static int setup(void **state)
{
	static const struct tv_pal_desc desc = {
	    .version = TV_DESC_VERSION,
	    .nsections = 4,
	    .entry = ENTRY,
	    .in_words = 1,
	    .out_words = 1,
	    .sec = {{CODE_GVA, PG, TV_SEC_CODE, 0},
	            {PARAMS_GVA, PG, TV_SEC_PARAMS, 0},
	            {STACK_GVA, 2 * PG, TV_SEC_STACK, 0},
	            {DATA_GVA, PG, TV_SEC_DATA, 0}},
	};
	(void)state;
	v = env_guest(1, &hv_app);
	tvf_reset();
	memset(tv_pals, 0, sizeof(struct tv_pal) * TV_MAX_PALS);
	memset(tv_call_of(0), 0, sizeof(struct tv_call));
	tv_pal_timer_ticks = 1000;
	next_table = CR3 + PG;
	map(CODE_GVA, 0x200000);
	map(PARAMS_GVA, 0x201000);
	map(STACK_GVA, 0x202000);
	map(STACK_GVA + PG, 0x203000);
	map(DATA_GVA, 0x204000);
	map(BUF_GVA, 0x301000);
	map(CSTACK_GVA, 0x300000);
	vmcs_set(VMCS_GUEST_CR0.enc, CR0_PE | CR0_PG | CR0_WP);
	vmcs_set(VMCS_GUEST_CR4.enc, CR4_PAE | CR4_OSFXSR | CR4_OSXSAVE);
	vmcs_set(VMCS_GUEST_IA32_EFER.enc, EFER_LMA | EFER_LME | EFER_NXE);
	vmcs_set(VMCS_GUEST_CS_ACCESS_RIGHTS.enc, 0x20fb); /* L, DPL 3 */
	vmcs_set(VMCS_GUEST_SS_ACCESS_RIGHTS.enc, 0xf3);
	vmcs_set(VMCS_GUEST_CR3.enc, CR3);
	vmcs_set(VMCS_GUEST_RFLAGS.enc, 0x202);
	memcpy(tvf_ram + 0x301800, &desc, sizeof(desc));
	assert_int_equal(hypercall(TV_HC_REGISTER, BUF_GVA + 0x800, 0), TV_OK);

	/* The caller's extended state, as the guest OS left it in the registers. */
	struct fake_cpu *c = fake_cpu(0);
	assert_true(c->cr4 & CR4_OSXSAVE); /* libvmx turned it on in root mode */
	c->xcr0 = XSTATE_AVX;
	c->xmm0_lo = CALLER_XMM0;
	c->mxcsr = 0x3f80;
	c->fcw = 0x027f;
	c->nxops = 0;
	return 0;
}

/* The caller executes `call ENTRY` (in, 1, out, 1). */
static void call_entry(void)
{
	put64(0x300000 + (CALLER_RSP & 0xfff), RET_RIP);
	vmcs_set(VMCS_GUEST_RSP.enc, CALLER_RSP);
	vmcs_set(VMCS_GUEST_RIP.enc, ENTRY);
	vmcs_set(VMCS_GUEST_LINEAR_ADDRESS.enc, ENTRY);
	v->gpr[GPR_RDI] = BUF_GVA;
	v->gpr[GPR_RSI] = 1;
	v->gpr[GPR_RDX] = BUF_GVA + 0x100;
	v->gpr[GPR_RCX] = 1;
	env_exit(v, &(struct exit_fields){.reason = VMX_EXIT_EPT_VIOLATION,
	                                  .qualification = EPTQUAL_FETCH | EPTQUAL_GLA_VALID |
	                                                   EPTQUAL_GLA_TRANSLATION,
	                                  .gpa = 0x200040});
}

/* Entry done: caller saved, then the init image; the PAL sees init values. */
static const void *assert_entered(uint64_t saved)
{
	struct fake_cpu *c = fake_cpu(0);
	assert_non_null(tv_call_of(0)->pal);
	assert_int_equal(c->nxops, 2);
	assert_false(c->xops[0].restore);
	assert_int_equal(c->xops[0].rfbm, saved);
	assert_int_equal((uintptr_t)c->xops[0].area & 63, 0);
	assert_true(c->xops[1].restore);
	assert_ptr_not_equal(c->xops[1].area, c->xops[0].area);
	assert_int_equal(c->xops[1].rfbm, saved);
	assert_int_equal(c->xops[1].xstate_bv, 0);
	assert_int_equal(c->xmm0_lo, 0);
	assert_int_equal(c->mxcsr, 0x1f80);
	assert_int_equal(c->fcw, 0x037f);
	return c->xops[0].area;
}

/* The PAL leaves its own values in the registers. */
static void pal_dirties_registers(void)
{
	struct fake_cpu *c = fake_cpu(0);
	c->xmm0_lo = PAL_XMM0;
	c->mxcsr = 0x7f80;
	c->fcw = 0x007f;
}

/* Exit done: one more XRSTOR, of the caller's image; the caller's values back. */
static void assert_caller_state_back(const void *area, uint64_t rfbm, uint64_t xcr0)
{
	struct fake_cpu *c = fake_cpu(0);
	assert_null(tv_call_of(0)->pal);
	assert_int_equal(c->nxops, 3);
	assert_true(c->xops[2].restore);
	assert_ptr_equal(c->xops[2].area, area);
	assert_int_equal(c->xops[2].rfbm, rfbm);
	assert_int_equal(c->xmm0_lo, CALLER_XMM0);
	assert_int_equal(c->mxcsr, 0x3f80);
	assert_int_equal(c->fcw, 0x027f);
	assert_int_equal(c->xcr0, xcr0);
	assert_int_equal(c->gp_faults + c->ud_faults + c->nm_faults, 0);
}

static void pal_returns(void)
{
	vmcs_set(VMCS_GUEST_RIP.enc, TV_PAL_SENTINEL);
	env_exit(v, &(struct exit_fields){
	                .reason = VMX_EXIT_EXCEPTION_NMI,
	                .qualification = TV_PAL_SENTINEL,
	                .intr_info =
	                    INTR_INFO(X86_VEC_PF, INTR_TYPE_HW_EXCEPTION) | INTR_INFO_DELIVER_CODE,
	                .intr_error = 0x14,
	            });
}

static void pal_faults(void)
{
	env_exit(v,
	         &(struct exit_fields){.reason = VMX_EXIT_EXCEPTION_NMI,
	                               .intr_info = INTR_INFO(X86_VEC_GP, INTR_TYPE_HW_EXCEPTION) |
	                                            INTR_INFO_DELIVER_CODE});
}

static void pal_leaves_its_view(void)
{
	env_exit(v, &(struct exit_fields){.reason = VMX_EXIT_EPT_VIOLATION,
	                                  .qualification = EPTQUAL_READ,
	                                  .gpa = 0x301000});
}

static void pal_times_out(void)
{
	tv_timer_expired(v); /* the preemption-timer exit (hv_app.preemption_timer) */
}

static void round_trip(void (*end)(void), int64_t status)
{
	call_entry();
	const void *area = assert_entered(XSTATE_AVX);
	pal_dirties_registers();
	end();
	assert_int_equal((int64_t)v->gpr[GPR_RAX], status);
	assert_caller_state_back(area, XSTATE_AVX, XSTATE_AVX);
}

static void test_switch_on_return(void **state)
{
	(void)state;
	round_trip(pal_returns, TV_OK);
}

static void test_switch_on_fault(void **state)
{
	(void)state;
	round_trip(pal_faults, TV_ERR_PAL_FAULT);
}

static void test_switch_on_ept_violation(void **state)
{
	(void)state;
	round_trip(pal_leaves_its_view, TV_ERR_PAL_FAULT);
}

static void test_switch_on_timeout(void **state)
{
	(void)state;
	round_trip(pal_times_out, TV_ERR_PAL_TIMEOUT);
}

/* A guest that never enabled XSAVE (XCR0 = x87) still has XMM registers:
 * XCR0 is widened for the switch and is x87 again while the PAL runs. */
static void test_sse_switched_without_guest_xsave(void **state)
{
	(void)state;
	fake_cpu(0)->xcr0 = XCR0_X87;
	call_entry();
	const void *area = assert_entered(XCR0_X87 | XCR0_SSE);
	assert_int_equal(fake_cpu(0)->xcr0, XCR0_X87);
	pal_dirties_registers();
	pal_returns();
	assert_caller_state_back(area, XCR0_X87 | XCR0_SSE, XCR0_X87);
}

/* A ring-0 PAL's XSETBV (run by libvmx): the caller gets its XCR0 back and the
 * component the PAL enabled is initialised (not in the saved XSTATE_BV). */
static void test_pal_xcr0_change_undone(void **state)
{
	(void)state;
	fake_cpu(0)->xcr0 = XCR0_X87 | XCR0_SSE;
	call_entry();
	const void *area = assert_entered(XCR0_X87 | XCR0_SSE);
	fake_cpu(0)->xcr0 = XSTATE_AVX;
	pal_dirties_registers();
	pal_returns();
	assert_caller_state_back(area, XSTATE_AVX, XCR0_X87 | XCR0_SSE);
	uint64_t bv;
	memcpy(&bv, (const uint8_t *)area + 512, 8);
	assert_int_equal(bv & XCR0_AVX, 0);
}

/* A micro-TPM call from the PAL saves and restores the PAL's state around
 * BearSSL, in its own buffer; the caller's image is left alone. */
static void test_utpm_call_keeps_pal_state(void **state)
{
	(void)state;
	call_entry();
	const void *area = assert_entered(XSTATE_AVX);
	pal_dirties_registers();
	assert_int_equal(hypercall(TV_HC_GET_RANDOM, DATA_GVA, 16), TV_OK);
	struct fake_cpu *c = fake_cpu(0);
	assert_int_equal(c->nxops, 4);
	assert_false(c->xops[2].restore);
	assert_true(c->xops[3].restore);
	assert_ptr_equal(c->xops[3].area, c->xops[2].area);
	assert_ptr_not_equal(c->xops[2].area, area);
	assert_int_equal(c->xops[3].xstate_bv & (XCR0_X87 | XCR0_SSE), XCR0_X87 | XCR0_SSE);
	assert_int_equal(c->xmm0_lo, PAL_XMM0);
	assert_int_equal(c->mxcsr, 0x7f80);
	c->nxops = 2; /* the exit's XRSTOR is then logged third, where checked */
	pal_returns();
	assert_caller_state_back(area, XSTATE_AVX, XSTATE_AVX);
}

/* No XSAVE possible in root mode (CR0.TS set): the call is refused, the PAL
 * never runs with the caller's registers. */
static void test_call_refused_without_switch(void **state)
{
	(void)state;
	fake_cpu(0)->cr0 |= CR0_TS;
	call_entry();
	assert_null(tv_call_of(0)->pal);
	assert_int_equal((int64_t)v->gpr[GPR_RAX], TV_ERR_UNSUPPORTED);
	assert_int_equal(vmcs_get(VMCS_GUEST_RIP.enc), RET_RIP);
	assert_int_equal(fake_cpu(0)->nxops, 0);
	assert_int_equal(fake_cpu(0)->xmm0_lo, CALLER_XMM0);
	fake_cpu(0)->cr0 &= ~CR0_TS;
	round_trip(pal_returns, TV_OK);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup(test_switch_on_return, setup),
	    cmocka_unit_test_setup(test_switch_on_fault, setup),
	    cmocka_unit_test_setup(test_switch_on_ept_violation, setup),
	    cmocka_unit_test_setup(test_switch_on_timeout, setup),
	    cmocka_unit_test_setup(test_sse_switched_without_guest_xsave, setup),
	    cmocka_unit_test_setup(test_pal_xcr0_change_undone, setup),
	    cmocka_unit_test_setup(test_utpm_call_keeps_pal_state, setup),
	    cmocka_unit_test_setup(test_call_refused_without_switch, setup),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
