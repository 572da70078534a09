/*
 * A PAL's life cut short by the OS (tv_lifecycle.c), as attacks: CPU 1 runs a
 * PAL while CPU 0 shuts down or triple-faults (the PAL's pages must not go
 * back to the OS, nor its tables be freed, while CPU 1 is still in it); an
 * INIT to the CPU that runs a PAL; a machine check inside a PAL.
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

#define SECRET     0x5ec2e75ec2e7ull
#define CALLER_XMM 0xca11e2ull

static struct tv_pal *pal_a(void)
{
	for (unsigned i = 0; i < TV_MAX_PALS; i++)
		if (tv_pals[i].state != TV_PAL_FREE)
			return &tv_pals[i];
	return NULL;
}

/* The tv_proc.h helpers act on `v` and the current CPU: switch both. */
static void on_cpu(uint32_t cpu)
{
	fake_set_cpu(cpu);
	v = vmx_vcpu(cpu);
}

/* CPU 1: process A calls the PAL, which then fills its registers and XMM0
 * with a secret. Returns with CPU 0 current. */
static struct tv_pal *pal_running_on_cpu1(void)
{
	memset(tvf_ram + 0x205000, 0x77, PG); /* the PAL's data */
	assert_int_equal(register_desc(&good_desc), TV_OK);
	struct tv_pal *pal = pal_a();
	on_cpu(1);
	user_mode(cr3_a);
	fake_cpu(1)->xmm0_lo = CALLER_XMM;
	call_entry();
	assert_ptr_equal(tv_call_of(1)->pal, pal);
	assert_int_equal(pal->running_on, 1);
	assert_int_equal(vmcs_get(VMCS_EPT_POINTER.enc), pal->eptp);
	for (unsigned r = 0; r < GPR_COUNT; r++)
		v->gpr[r] = SECRET;
	fake_cpu(1)->xmm0_lo = SECRET;
	on_cpu(0);
	return pal;
}

/* What CPU 1 looked like when the first PAL page went back to the OS. */
static struct {
	bool taken;
	uint64_t eptp, cr3, pin;
	uint32_t bitmap;
	bool secret_in_gprs, secret_in_xmm, pal_on_cpu1;
} at_give_back;
static uint64_t pal_eptp;

static void snapshot_cpu1(uint64_t gpa_page, unsigned rwx)
{
	(void)gpa_page;
	if (rwx == 0 || at_give_back.taken)
		return; /* only giving access back */
	struct vcpu *c1 = vmx_vcpu(1);
	at_give_back.taken = true;
	at_give_back.eptp = fake_vmcs_get(c1->vmcs_pa, VMCS_EPT_POINTER.enc);
	at_give_back.cr3 = fake_vmcs_get(c1->vmcs_pa, VMCS_GUEST_CR3.enc);
	at_give_back.pin = fake_vmcs_get(c1->vmcs_pa, VMCS_PIN_BASED_CONTROLS.enc);
	at_give_back.bitmap = (uint32_t)fake_vmcs_get(c1->vmcs_pa, VMCS_EXCEPTION_BITMAP.enc);
	at_give_back.secret_in_gprs = false;
	for (unsigned r = 0; r < GPR_COUNT; r++)
		at_give_back.secret_in_gprs |= c1->gpr[r] == SECRET;
	at_give_back.secret_in_xmm = fake_cpu(1)->xmm0_lo == SECRET;
	at_give_back.pal_on_cpu1 = tv_call_of(1)->pal != NULL;
}

static bool quiesce_signal(void)
{
	return true; /* every NMI here is the quiesce round's */
}

/* CPU 1 takes the quiesce round's NMI exit and goes back towards the guest
 * (its before-entry hooks), as in the image once the round ends. */
static void cpu1_takes_the_round(void)
{
	uint32_t cur = fake_get_cpu();
	vmx_set_nmi_filter(quiesce_signal);
	on_cpu(1);
	env_exit(v, &(struct exit_fields){.reason = VMX_EXIT_EXCEPTION_NMI,
	                                  .intr_info = INTR_INFO(2, INTR_TYPE_NMI)});
	on_cpu(cur);
	vmx_set_nmi_filter(NULL);
}

static unsigned pauses;

/* The other interleaving: CPU 1 is slow, CPU 0 waits (tv_relax) meanwhile. */
static void cpu1_late(void *arg)
{
	(void)arg;
	if (pauses++ == 3)
		cpu1_takes_the_round();
}

/* The PAL's CPU had left it before any page went back; afterwards the PAL is
 * gone (scrubbed) and CPU 1's caller was resumed and got `cpu1_status`. */
static void assert_torn_down_in_order(int64_t cpu1_status)
{
	assert_true(at_give_back.taken);
	assert_false(at_give_back.pal_on_cpu1);
	assert_int_not_equal(at_give_back.eptp, pal_eptp);
	assert_int_equal(at_give_back.eptp, tvf_eptp);
	assert_int_equal(at_give_back.cr3, cr3_a);
	assert_int_equal(at_give_back.bitmap, 0);
	assert_int_equal(at_give_back.pin & PIN_PREEMPTION_TIMER, 0);
	assert_false(at_give_back.secret_in_gprs);
	assert_false(at_give_back.secret_in_xmm);

	assert_int_equal(registered(), 0);
	assert_true(all_pages_visible());
	assert_int_equal(tvf_ram[0x205000], 0);
	on_cpu(1);
	assert_int_equal((int64_t)v->gpr[GPR_RAX], cpu1_status);
	assert_int_equal(v->gpr[GPR_RBX], 0xb0b); /* the caller's own registers */
	assert_int_equal(vmcs_get(VMCS_GUEST_RIP.enc), RET_RIP);
	assert_int_equal(vmcs_get(VMCS_GUEST_RSP.enc), CALLER_RSP + 8);
	assert_int_equal(fake_cpu(1)->xmm0_lo, CALLER_XMM);
	assert_true(tv_may_take_nmi(v));
	on_cpu(0);
}

static int setup_lifecycle(void **state)
{
	setup(state);
	memset(&at_give_back, 0, sizeof(at_give_back));
	pauses = 0;
	tvf_view_set_hook = snapshot_cpu1;
	return 0;
}

static int teardown_lifecycle(void **state)
{
	(void)state;
	fake_set_pause_hook(NULL, NULL);
	on_cpu(0);
	return 0;
}

static void test_shutdown_takes_cpu1_out_of_its_pal_first(void **state)
{
	(void)state;
	pal_eptp = pal_running_on_cpu1()->eptp;
	tvf_sync_hook = cpu1_takes_the_round;
	user_mode(cr3_b); /* CPU 0: another process powers off */
	hv_app.shutdown(v);
	assert_torn_down_in_order(TV_ERR_NOT_REGISTERED);
	assert_int_equal(tvf_syncs, 2); /* registration's round, then the teardown's */
}

static void test_shutdown_waits_for_a_slow_pal_cpu(void **state)
{
	(void)state;
	pal_eptp = pal_running_on_cpu1()->eptp;
	fake_set_pause_hook(cpu1_late, NULL);
	hv_app.shutdown(v);
	assert_torn_down_in_order(TV_ERR_NOT_REGISTERED);
	assert_true(pauses >= 4); /* CPU 0 waited for CPU 1 */
}

static void test_triple_fault_on_cpu0_takes_cpu1_out_first(void **state)
{
	(void)state;
	pal_eptp = pal_running_on_cpu1()->eptp;
	tvf_sync_hook = cpu1_takes_the_round;
	/* The OS on CPU 0 triple-faults: the run ends (hv_power_off), after the
	 * teardown. */
	expect_assert_failure(env_exit(v, &(struct exit_fields){.reason = VMX_EXIT_TRIPLE_FAULT}));
	assert_torn_down_in_order(TV_ERR_NOT_REGISTERED);
}

static void test_shutdown_from_inside_the_pal_cpu(void **state)
{
	(void)state;
	/* The power-off reached from CPU 1 itself, inside its PAL (e.g. a ring-0
	 * PAL writing the power-off port): it leaves the PAL, no wait. */
	pal_eptp = pal_running_on_cpu1()->eptp;
	on_cpu(1);
	hv_app.shutdown(v);
	on_cpu(0);
	assert_torn_down_in_order(TV_ERR_NOT_REGISTERED);
	assert_int_equal(tvf_syncs, 1); /* no round: nobody else ran a PAL */
}

static int64_t recall_status;

/* CPU 1 leaves the PAL in the round, then its process calls it again at
 * once, before CPU 0 has scrubbed it: refused, the PAL is not entered. */
static void cpu1_leaves_then_calls_again(void)
{
	cpu1_takes_the_round();
	on_cpu(1);
	call_entry();
	recall_status = (int64_t)v->gpr[GPR_RAX];
	at_give_back.pal_on_cpu1 = tv_call_of(1)->pal != NULL;
	on_cpu(0);
}

static void test_no_call_enters_a_pal_being_torn_down(void **state)
{
	(void)state;
	pal_eptp = pal_running_on_cpu1()->eptp;
	tvf_sync_hook = cpu1_leaves_then_calls_again;
	hv_app.shutdown(v);
	assert_int_equal(recall_status, TV_ERR_BUSY);
	assert_torn_down_in_order(TV_ERR_BUSY);
}

/* INIT to CPU 1 while its PAL runs: the call ends first, the PAL is
 * unregistered and scrubbed, then the CPU takes the INIT in the OS view. */
static void test_init_ends_the_pal_call_and_scrubs_it(void **state)
{
	(void)state;
	struct tv_pal *pal = pal_running_on_cpu1();
	uint64_t eptp = pal->eptp, pt_root = pal->pt_root;
	tvf_view_set_hook = NULL;

	on_cpu(1);
	env_exit(v, &(struct exit_fields){.reason = VMX_EXIT_INIT});
	/* The OS view: its EPTP and exception bitmap, no PAL CR3 or timer. */
	assert_int_equal(vmcs_get(VMCS_EPT_POINTER.enc), tvf_eptp);
	assert_int_not_equal(vmcs_get(VMCS_EPT_POINTER.enc), eptp);
	assert_int_equal(vmcs_get(VMCS_EXCEPTION_BITMAP.enc), 0);
	assert_int_not_equal(vmcs_get(VMCS_GUEST_CR3.enc), pt_root);
	assert_int_equal(vmcs_get(VMCS_PIN_BASED_CONTROLS.enc) & PIN_PREEMPTION_TIMER, 0);
	/* ... in the INIT state (an AP waits for SIPI), nothing of the PAL's. */
	assert_int_equal(vmcs_get(VMCS_GUEST_ACTIVITY_STATE.enc), VMX_ACTIVITY_WAIT_SIPI);
	assert_int_equal(vmcs_get(VMCS_GUEST_RIP.enc), 0xfff0);
	for (unsigned r = 0; r < GPR_COUNT; r++)
		assert_int_not_equal(v->gpr[r], SECRET);
	assert_int_equal(fake_cpu(1)->xmm0_lo, CALLER_XMM);
	assert_null(tv_call_of(1)->pal);
	assert_true(tv_may_take_nmi(v));
	/* The PAL: unregistered, its data scrubbed, its pages the OS's again. */
	assert_int_equal(registered(), 0);
	assert_int_equal(tvf_ram[0x205000], 0);
	assert_true(all_pages_visible());
	assert_non_null(strstr(env_console(), "scrubbed and unregistered"));

	/* The SIPI restarts the CPU in the OS's view, and it runs on. */
	env_exit(v, &(struct exit_fields){.reason = VMX_EXIT_SIPI, .qualification = 0x9a});
	assert_int_equal(vmcs_get(VMCS_GUEST_CS_BASE.enc), 0x9a000);
	assert_int_equal(vmcs_get(VMCS_EPT_POINTER.enc), tvf_eptp);
	on_cpu(0);
	/* Process A registers again: a fresh PAL. */
	user_mode(cr3_a);
	assert_int_equal(register_desc(&good_desc), TV_OK);
}

/* An INIT that lands on a PAL a teardown is taking down: the teardown keeps it. */
static void cpu1_gets_init_instead(void)
{
	uint32_t cur = fake_get_cpu();
	on_cpu(1);
	env_exit(v, &(struct exit_fields){.reason = VMX_EXIT_INIT});
	on_cpu(cur);
}

static void test_init_during_teardown(void **state)
{
	(void)state;
	pal_eptp = pal_running_on_cpu1()->eptp;
	tvf_sync_hook = cpu1_gets_init_instead;
	hv_app.shutdown(v);
	assert_true(at_give_back.taken);
	assert_false(at_give_back.pal_on_cpu1);
	assert_int_equal(at_give_back.eptp, tvf_eptp);
	assert_false(at_give_back.secret_in_gprs);
	assert_false(at_give_back.secret_in_xmm);
	assert_int_equal(registered(), 0);
	assert_int_equal(tvf_ram[0x205000], 0);
	assert_non_null(strstr(env_console(), "left to the teardown"));
}

/* #MC inside a PAL: the call ends (PAL fault) and the OS gets the #MC. */
static void test_machine_check_in_pal_reaches_the_os(void **state)
{
	(void)state;
	assert_int_equal(register_desc(&good_desc), TV_OK);
	call_entry();
	assert_non_null(tv_call_of(0)->pal);
	v->gpr[GPR_RBX] = SECRET;
	fake_cpu(0)->xmm0_lo = SECRET;
	env_exit(v, &(struct exit_fields){
	                .reason = VMX_EXIT_EXCEPTION_NMI,
	                .intr_info = INTR_INFO(X86_VEC_MC, INTR_TYPE_HW_EXCEPTION),
	            });
	assert_caller_restored(TV_ERR_PAL_FAULT);
	assert_int_not_equal(fake_cpu(0)->xmm0_lo, SECRET);
	/* Injected on this entry, in the OS's view, at the caller's return address. */
	assert_int_equal(vmcs_get(VMCS_VM_ENTRY_INTR_INFO.enc),
	                 INTR_INFO(X86_VEC_MC, INTR_TYPE_HW_EXCEPTION));
	/* The PAL stays registered for its owner, ready for the next call. */
	assert_int_equal(registered(), 1);
	assert_int_equal(pal_a()->state, TV_PAL_READY);
	assert_int_equal(pal_a()->running_on, -1);
	assert_int_equal(pal_a()->faults, 1);
	call_entry();
	pal_outputs_42();
	assert_int_equal(get64(0x301100), 42);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_shutdown_takes_cpu1_out_of_its_pal_first,
	                                    setup_lifecycle, teardown_lifecycle),
	    cmocka_unit_test_setup_teardown(test_shutdown_waits_for_a_slow_pal_cpu, setup_lifecycle,
	                                    teardown_lifecycle),
	    cmocka_unit_test_setup_teardown(test_triple_fault_on_cpu0_takes_cpu1_out_first,
	                                    setup_lifecycle, teardown_lifecycle),
	    cmocka_unit_test_setup_teardown(test_shutdown_from_inside_the_pal_cpu, setup_lifecycle,
	                                    teardown_lifecycle),
	    cmocka_unit_test_setup_teardown(test_no_call_enters_a_pal_being_torn_down,
	                                    setup_lifecycle, teardown_lifecycle),
	    cmocka_unit_test_setup_teardown(test_init_ends_the_pal_call_and_scrubs_it,
	                                    setup_lifecycle, teardown_lifecycle),
	    cmocka_unit_test_setup_teardown(test_init_during_teardown, setup_lifecycle,
	                                    teardown_lifecycle),
	    cmocka_unit_test_setup_teardown(test_machine_check_in_pal_reaches_the_os,
	                                    setup_lifecycle, teardown_lifecycle),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
