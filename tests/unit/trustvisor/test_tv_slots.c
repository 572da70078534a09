/*
 * PAL slots under attack (issue 10 point 5):
 * - the slot race: between the recognition of a PAL's entry and the claim of
 *   the PAL, another CPU unregisters it and registers another PAL into the
 *   same slot; the call must not enter that other PAL;
 * - slot exhaustion: one process registers as many PALs as it can; it gets
 *   TV_ERR_QUOTA after TV_MAX_PALS_PER_OWNER, and another process can still
 *   register.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "apps/trustvisor/tv_internal.h"
#include "hw/hw.h"
#include "libvmx/vmx.h"
#include "tests/unit/trustvisor/fake_platform.h"
#include "tests/unit/trustvisor/tv_env.h"
#include "tests/unit/trustvisor/tv_proc.h"

#define OTHER_ENTRY (CODE_GVA + 0x80)

/* Same pages as good_desc, another entry point: what the slot is reused for. */
static struct tv_pal_desc other_desc(void)
{
	struct tv_pal_desc d = good_desc;
	d.entry = OTHER_ENTRY;
	return d;
}

/*
 * CPU 1, in the same process, at the worst moment: unregisters the PAL being
 * called on CPU 0 and registers another one, which lands in the same slot.
 */
static void swap_pal_on_cpu1(void)
{
	struct vcpu *v1 = vmx_vcpu(1);
	struct tv_pal_desc d = other_desc();

	fake_set_cpu(1);
	user_mode(cr3_a);
	assert_int_equal(tv_unregister(v1, ENTRY), TV_OK);
	memcpy(tvf_ram + (DESC_GVA - BUF_GVA) + 0x301000, &d, sizeof(d));
	assert_int_equal(tv_register(v1, DESC_GVA), TV_OK);
	fake_set_cpu(0);
}

static void test_slot_reused_during_call(void **state)
{
	(void)state;
	assert_int_equal(register_desc(&good_desc), TV_OK);
	uint32_t first_id = tv_pals[0].id;

	tvf_page_hook = swap_pal_on_cpu1; /* fires at the caller's stack read */
	call_entry();
	assert_null(tvf_page_hook);
	/* The slot holds the other PAL now... */
	assert_int_equal(tv_pals[0].state, TV_PAL_READY);
	assert_int_equal(tv_pals[0].desc.entry, OTHER_ENTRY);
	assert_int_not_equal(tv_pals[0].id, first_id);
	/* ...and the call did not enter it: refused, the caller back as it was. */
	assert_int_equal(tv_pals[0].running_on, -1);
	assert_int_equal(tv_pals[0].calls, 0);
	assert_int_equal((int64_t)v->gpr[GPR_RAX], TV_ERR_NOT_REGISTERED);
	assert_int_equal(vmcs_get(VMCS_GUEST_RIP.enc), RET_RIP);
	assert_int_equal(vmcs_get(VMCS_GUEST_RSP.enc), CALLER_RSP + 8);
	assert_int_equal(vmcs_get(VMCS_GUEST_CR3.enc), cr3_a);
	assert_int_equal(vmcs_get(VMCS_EPT_POINTER.enc), tvf_eptp);
	assert_null(tv_call_of(0)->pal);
	assert_true(tv_may_take_nmi(v));
}

/* Destroyed and not reused: the same clean refusal, not TV_ERR_BUSY. */
static void unregister_on_cpu1(void)
{
	fake_set_cpu(1);
	user_mode(cr3_a);
	assert_int_equal(tv_unregister(vmx_vcpu(1), ENTRY), TV_OK);
	fake_set_cpu(0);
}

static void test_slot_freed_during_call(void **state)
{
	(void)state;
	assert_int_equal(register_desc(&good_desc), TV_OK);
	tvf_page_hook = unregister_on_cpu1;
	call_entry();
	assert_int_equal((int64_t)v->gpr[GPR_RAX], TV_ERR_NOT_REGISTERED);
	assert_int_equal(vmcs_get(VMCS_GUEST_RIP.enc), RET_RIP);
	assert_null(tv_call_of(0)->pal);
	assert_int_equal(registered(), 0);
}

/* A 3-page PAL (code, params, stack) at `gva` in `root`, on pages from `gpa`. */
static struct tv_pal_desc small_pal(uint64_t root, uint64_t gva, uint64_t gpa)
{
	for (uint64_t i = 0; i < 3; i++)
		map(root, gva + i * PG, gpa + i * PG, P | RW | US);
	struct tv_pal_desc d = {
	    .version = TV_DESC_VERSION,
	    .nsections = 3,
	    .entry = gva + 0x10,
	    .in_words = 1,
	    .out_words = 1,
	    .sec = {{gva, PG, TV_SEC_CODE, 0},
	            {gva + PG, PG, TV_SEC_PARAMS, 0},
	            {gva + 2 * PG, PG, TV_SEC_STACK, 0}},
	};
	return d;
}

#define PAL_GVA(i) (0x800000ull + (uint64_t)(i)*0x10000)
#define PAL_GPA(i) (0x400000ull + (uint64_t)(i)*0x10000)

static void test_one_process_cannot_take_every_slot(void **state)
{
	(void)state;
	unsigned ok = 0, quota = 0;

	/* Process A tries to take all TV_MAX_PALS slots. */
	for (unsigned i = 0; i < TV_MAX_PALS; i++) {
		struct tv_pal_desc d = small_pal(cr3_a, PAL_GVA(i), PAL_GPA(i));
		int64_t rc = register_desc(&d);
		if (rc == TV_OK)
			ok++;
		else {
			assert_int_equal(rc, TV_ERR_QUOTA);
			quota++;
			/* Refused before anything was taken from the guest. */
			assert_int_equal(tvf_view[PAL_GPA(i) / PG], EPT_RWX);
		}
	}
	assert_int_equal(ok, TV_MAX_PALS_PER_OWNER);
	assert_int_equal(quota, TV_MAX_PALS - TV_MAX_PALS_PER_OWNER);
	assert_int_equal(registered(), TV_MAX_PALS_PER_OWNER);

	/* Process B still gets its PALs. */
	user_mode(cr3_b);
	struct tv_pal_desc b = small_pal(cr3_b, PAL_GVA(0), 0x500000);
	assert_int_equal(register_desc(&b), TV_OK);
	assert_int_equal(registered(), TV_MAX_PALS_PER_OWNER + 1);

	/* A's quota counts what it holds now: one unregistered, one more fits. */
	user_mode(cr3_a);
	assert_int_equal(hypercall(TV_HC_UNREGISTER, PAL_GVA(0) + 0x10), TV_OK);
	struct tv_pal_desc again = small_pal(cr3_a, PAL_GVA(5), PAL_GPA(5));
	assert_int_equal(register_desc(&again), TV_OK);
	struct tv_pal_desc more = small_pal(cr3_a, PAL_GVA(6), PAL_GPA(6));
	assert_int_equal(register_desc(&more), TV_ERR_QUOTA);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup(test_slot_reused_during_call, setup),
	    cmocka_unit_test_setup(test_slot_freed_during_call, setup),
	    cmocka_unit_test_setup(test_one_process_cannot_take_every_slot, setup),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
