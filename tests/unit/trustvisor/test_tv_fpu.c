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
#include "tests/unit/trustvisor/tv_proc.h"

#define CALLER_XMM0 0xc0ffee0123456789ull
#define PAL_XMM0    0x5ec2e75ec2e75ec2ull
#define XSTATE_AVX  (XCR0_X87 | XCR0_SSE | XCR0_AVX)

/* tv_proc's process with its PAL registered; the guest's XCR0 = x87|SSE|AVX. */
static int setup_fpu(void **state)
{
	setup(state);
	tv_pal_timer_ticks = 1000;
	vmcs_set(VMCS_GUEST_CR4.enc, CR4_PAE | CR4_OSFXSR | CR4_OSXSAVE);
	assert_int_equal(register_desc(&good_desc), TV_OK);

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
	round_trip(pal_returns_0, TV_OK);
}

static void test_switch_on_fault(void **state)
{
	(void)state;
	round_trip(pal_gp_faults, TV_ERR_PAL_FAULT);
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
	pal_returns(0);
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
	pal_returns(0);
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
	v->gpr[GPR_RCX] = 16;
	assert_int_equal(hypercall(TV_HC_GET_RANDOM, DATA_GVA), TV_OK);
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
	pal_returns(0);
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
	round_trip(pal_returns_0, TV_OK);
}

/* PKRU (XSAVE component 9): with the guest's CR4.PKE = 1 it is live whatever
 * XCR0 says, and here XCR0 lacks it. The OS's keys (all but key 0 denied, so
 * the PAL would fault on its own pages, or learn the OS's value) must not
 * reach the PAL, which starts with PKRU = 0; the PAL's never reaches the OS. */
#define OS_PKRU  0x55555554u
#define PAL_PKRU 0x12345678u
static void pkru_capable_cpu(bool xsave_managed)
{
	struct hw_cpuid_regs l0, ld = {XSTATE_AVX | (xsave_managed ? XCR0_PKRU : 0), 0, 0xa88, 0};
	hw_cpuid(0, 0, &l0);
	l0.eax = 0xd;
	fake_cpuid_set(0, 0, &l0);
	fake_cpuid_set(0xd, 0, &ld);
	vmcs_set(VMCS_GUEST_CR4.enc, CR4_PAE | CR4_OSFXSR | CR4_OSXSAVE | CR4_PKE);
	fake_cpu(0)->pkru = OS_PKRU;
}

static void test_pkru_switched_with_pke(void **state)
{
	(void)state;
	struct fake_cpu *c = fake_cpu(0);
	pkru_capable_cpu(true);
	call_entry();
	const void *area = assert_entered(XSTATE_AVX | XCR0_PKRU);
	assert_int_equal(c->pkru, 0);
	assert_int_equal(c->xcr0, XSTATE_AVX); /* the guest's XCR0 while the PAL runs */
	pal_dirties_registers();
	c->pkru = PAL_PKRU;
	pal_returns(0);
	assert_caller_state_back(area, XSTATE_AVX | XCR0_PKRU, XSTATE_AVX);
	assert_int_equal(c->pkru, OS_PKRU);
}

/* CR4.PKE = 1 on a CPU whose PKRU XSAVE cannot manage: no call rather than a
 * PAL running under the OS's keys. */
static void test_pkru_unswitchable_refused(void **state)
{
	(void)state;
	pkru_capable_cpu(false);
	call_entry();
	assert_null(tv_call_of(0)->pal);
	assert_int_equal((int64_t)v->gpr[GPR_RAX], TV_ERR_UNSUPPORTED);
	assert_int_equal(fake_cpu(0)->pkru, OS_PKRU);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup(test_switch_on_return, setup_fpu),
	    cmocka_unit_test_setup(test_switch_on_fault, setup_fpu),
	    cmocka_unit_test_setup(test_switch_on_ept_violation, setup_fpu),
	    cmocka_unit_test_setup(test_switch_on_timeout, setup_fpu),
	    cmocka_unit_test_setup(test_sse_switched_without_guest_xsave, setup_fpu),
	    cmocka_unit_test_setup(test_pal_xcr0_change_undone, setup_fpu),
	    cmocka_unit_test_setup(test_utpm_call_keeps_pal_state, setup_fpu),
	    cmocka_unit_test_setup(test_call_refused_without_switch, setup_fpu),
	    cmocka_unit_test_setup(test_pkru_switched_with_pke, setup_fpu),
	    cmocka_unit_test_setup(test_pkru_unswitchable_refused, setup_fpu),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
