/* The fake's CPUs: MSR tables (defaults, unknown MSRs, per-CPU values, log),
 * CPUID, control registers, counters, hooks, and per-thread current CPU. */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "hw/fake/fake_hw.h"

static int setup(void **state)
{
	fake_hw_reset();
	return 0;
}

static void test_default_vmx_capabilities_are_consistent(void **state)
{
	uint64_t basic = hw_rdmsr(MSR_IA32_VMX_BASIC);
	static const uint32_t ctls[] = {
	    MSR_IA32_VMX_PINBASED_CTLS,      MSR_IA32_VMX_PROCBASED_CTLS,
	    MSR_IA32_VMX_EXIT_CTLS,          MSR_IA32_VMX_ENTRY_CTLS,
	    MSR_IA32_VMX_TRUE_PINBASED_CTLS, MSR_IA32_VMX_TRUE_PROCBASED_CTLS,
	    MSR_IA32_VMX_TRUE_EXIT_CTLS,     MSR_IA32_VMX_TRUE_ENTRY_CTLS,
	    MSR_IA32_VMX_PROCBASED_CTLS2,
	};

	assert_int_not_equal(basic & VMX_BASIC_REVISION_MASK, 0);
	assert_int_equal(VMX_BASIC_REGION_SIZE(basic), 4096);
	assert_true(basic & VMX_BASIC_TRUE_CTLS);
	/* Every bit that must be 1 may be 1 (SDM Vol. 3D A.3). */
	for (size_t i = 0; i < sizeof(ctls) / sizeof(ctls[0]); i++) {
		uint64_t v = hw_rdmsr(ctls[i]);
		uint32_t must1 = (uint32_t)v, may1 = (uint32_t)(v >> 32);
		assert_int_equal(must1 & ~may1, 0);
	}
	/* What libvmx needs on Bochs' model is allowed. */
	assert_true((hw_rdmsr(MSR_IA32_VMX_PINBASED_CTLS) >> 32) & PIN_VIRTUAL_NMIS);
	assert_true((hw_rdmsr(MSR_IA32_VMX_PROCBASED_CTLS) >> 32) & PROC_NMI_WINDOW_EXITING);
	assert_true((hw_rdmsr(MSR_IA32_VMX_PROCBASED_CTLS2) >> 32) & PROC2_UNRESTRICTED_GUEST);
	/* The current CR0/CR4 (with VMXE) satisfy the fixed bits. */
	uint64_t cr4 = hw_read_cr4() | CR4_VMXE;
	assert_int_equal(cr4 & hw_rdmsr(MSR_IA32_VMX_CR4_FIXED0),
	                 hw_rdmsr(MSR_IA32_VMX_CR4_FIXED0));
	assert_int_equal(hw_read_cr0() & hw_rdmsr(MSR_IA32_VMX_CR0_FIXED0),
	                 hw_rdmsr(MSR_IA32_VMX_CR0_FIXED0));
	assert_int_equal(fake_hw.unknown_msr_reads, 0);
}

static void test_unknown_msr_is_recorded(void **state)
{
	assert_false(fake_msr_defined(0, 0x12345));
	assert_int_equal(hw_rdmsr(0x12345), 0);
	assert_int_equal(fake_hw.unknown_msr_reads, 1);
	assert_int_equal(fake_hw.last_unknown_msr, 0x12345);
	hw_wrmsr(0x6789, 42);
	assert_int_equal(fake_hw.unknown_msr_writes, 1);
	assert_int_equal(fake_hw.last_unknown_msr, 0x6789);
	assert_int_equal(fake_hw.last_unknown_msr_value, 42);
	assert_false(fake_msr_defined(0, 0x6789)); /* the write did not create it */
	assert_int_equal(fake_cpu(0)->gp_faults, 2);
	assert_int_equal(fake_msr_log_len(), 0);

	fake_msr_undefine(0, MSR_IA32_PAT);
	assert_int_equal(hw_rdmsr(MSR_IA32_PAT), 0);
	assert_int_equal(fake_hw.unknown_msr_reads, 2);
}

static void test_msrs_are_per_cpu(void **state)
{
	fake_msr_set(0x10000, 5); /* defined on every CPU */
	hw_wrmsr(0x10000, 6);
	fake_set_cpu(3);
	assert_int_equal(hw_rdmsr(0x10000), 5);
	hw_wrmsr(MSR_IA32_EFER, 0);
	fake_set_cpu(0);
	assert_int_equal(hw_rdmsr(0x10000), 6);
	assert_int_not_equal(hw_rdmsr(MSR_IA32_EFER), 0);
	assert_int_equal(fake_msr_get_cpu(3, MSR_IA32_EFER), 0);
	/* Only CPU 0 is the BSP. */
	assert_true(fake_msr_get_cpu(0, MSR_IA32_APIC_BASE) & APIC_BASE_BSP);
	assert_false(fake_msr_get_cpu(1, MSR_IA32_APIC_BASE) & APIC_BASE_BSP);

	assert_int_equal(fake_msr_log_len(), 2);
	struct fake_msr_write w = fake_msr_log(1);
	assert_int_equal(w.cpu, 3);
	assert_int_equal(w.msr, MSR_IA32_EFER);
	assert_int_equal(w.value, 0);
}

static void test_cpuid_table_and_apic_id(void **state)
{
	struct hw_cpuid_regs r, set = {1, 2, 3, 4};

	fake_cpuid_set(0x40000000, 0, &set);
	hw_cpuid(0x40000000, 0, &r);
	assert_memory_equal(&r, &set, sizeof(r));
	hw_cpuid(0x40000000, 1, &r); /* another subleaf is not defined */
	assert_int_equal(r.eax | r.ebx | r.ecx | r.edx, 0);

	fake_set_apic_id(4, 9);
	fake_set_cpu(4);
	hw_cpuid(1, 0, &r);
	assert_int_equal(r.ebx >> 24, 9);
	assert_true(r.ecx & CPUID1_ECX_VMX);
	hw_cpuid(0xb, 0, &r);
	assert_int_equal(r.edx, 9);
	fake_set_cpu(0);
	hw_cpuid(1, 0, &r);
	assert_int_equal(r.ebx >> 24, 0);
}

static void test_control_registers_and_xcr0(void **state)
{
	hw_write_cr3(0x1000);
	hw_write_cr2(0xdead);
	fake_set_cpu(1);
	assert_int_equal(hw_read_cr3(), 0);
	fake_set_cpu(0);
	assert_int_equal(hw_read_cr3(), 0x1000);
	assert_int_equal(hw_read_cr2(), 0xdead);

	/* XSETBV/XGETBV need CR4.OSXSAVE, and XCR0.x87 may not be cleared. */
	hw_xsetbv(0, XCR0_X87 | XCR0_SSE);
	assert_int_equal(fake_cpu(0)->gp_faults, 1);
	hw_write_cr4(hw_read_cr4() | CR4_OSXSAVE);
	hw_xsetbv(0, XCR0_X87 | XCR0_SSE);
	assert_int_equal(hw_xgetbv(0), XCR0_X87 | XCR0_SSE);
	hw_xsetbv(0, XCR0_SSE);
	assert_int_equal(fake_cpu(0)->gp_faults, 2);
	assert_int_equal(hw_xgetbv(0), XCR0_X87 | XCR0_SSE);
}

static void test_interrupt_flag_and_counters(void **state)
{
	assert_false(hw_read_rflags() & RFLAGS_IF);
	hw_sti();
	assert_true(hw_read_rflags() & RFLAGS_IF);
	hw_cli();
	assert_false(hw_read_rflags() & RFLAGS_IF);
	hw_halt(); /* returns: the fake never blocks */
	hw_halt();
	hw_pause();
	hw_wbinvd();
	hw_invlpg(0x7000);
	assert_int_equal(fake_cpu(0)->halts, 2);
	assert_int_equal(fake_cpu(0)->pauses, 1);
	assert_int_equal(fake_cpu(0)->wbinvds, 1);
	assert_int_equal(fake_cpu(0)->last_invlpg, 0x7000);
	assert_int_equal(fake_cpu(1)->halts, 0);
}

static void test_tsc_advances(void **state)
{
	fake_tsc_set(100, 7);
	uint64_t a = hw_rdtsc(), b = hw_rdtsc();
	assert_int_equal(a, 100);
	assert_int_equal(b, 107);
}

static void test_descriptor_tables_round_trip(void **state)
{
	struct hw_desc_ptr g = {0x37, 0x123000}, got;

	hw_lgdt(&g);
	hw_ltr(0x28);
	hw_sgdt(&got);
	assert_int_equal(got.limit, 0x37);
	assert_int_equal(got.base, 0x123000);
	assert_int_equal(hw_str(), 0x28);
	assert_int_equal(hw_read_cs(), 0x08);
}

/* A pause hook plays "the other CPU": it sets a flag the spinning code waits for. */
struct spin {
	volatile int flag;
	int calls;
};

static void release_after_three(void *arg)
{
	struct spin *s = arg;
	uint32_t me = fake_get_cpu();

	if (++s->calls == 3) {
		fake_set_cpu(1);
		hw_wrmsr(MSR_IA32_TSC_AUX, 1); /* the other CPU does something visible */
		fake_set_cpu(me);
		s->flag = 1;
	}
}

static void test_pause_hook_lets_a_spin_loop_end(void **state)
{
	struct spin s = {0, 0};

	fake_set_pause_hook(release_after_three, &s);
	while (!s.flag)
		hw_pause();
	assert_int_equal(s.calls, 3);
	assert_int_equal(fake_cpu(0)->pauses, 3);
	assert_int_equal(fake_msr_get_cpu(1, MSR_IA32_TSC_AUX), 1);
	assert_int_equal(fake_get_cpu(), 0);
}

static void *thread_cpu(void *arg)
{
	uint32_t cpu = (uint32_t)(uintptr_t)arg;

	fake_set_cpu(cpu);
	for (int i = 0; i < 1000; i++)
		hw_wrmsr(MSR_IA32_TSC_AUX, hw_rdmsr(MSR_IA32_TSC_AUX) + cpu);
	return NULL;
}

static void test_current_cpu_is_per_thread(void **state)
{
	pthread_t t[3];

	for (uintptr_t i = 0; i < 3; i++)
		assert_int_equal(pthread_create(&t[i], NULL, thread_cpu, (void *)(i + 1)), 0);
	for (int i = 0; i < 3; i++)
		pthread_join(t[i], NULL);
	for (uint32_t cpu = 1; cpu <= 3; cpu++)
		assert_int_equal(fake_msr_get_cpu(cpu, MSR_IA32_TSC_AUX), 1000 * cpu);
	assert_int_equal(fake_msr_get_cpu(0, MSR_IA32_TSC_AUX), 0);
	assert_int_equal(fake_get_cpu(), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup(test_default_vmx_capabilities_are_consistent, setup),
	    cmocka_unit_test_setup(test_unknown_msr_is_recorded, setup),
	    cmocka_unit_test_setup(test_msrs_are_per_cpu, setup),
	    cmocka_unit_test_setup(test_cpuid_table_and_apic_id, setup),
	    cmocka_unit_test_setup(test_control_registers_and_xcr0, setup),
	    cmocka_unit_test_setup(test_interrupt_flag_and_counters, setup),
	    cmocka_unit_test_setup(test_tsc_advances, setup),
	    cmocka_unit_test_setup(test_descriptor_tables_round_trip, setup),
	    cmocka_unit_test_setup(test_pause_hook_lets_a_spin_loop_end, setup),
	    cmocka_unit_test_setup(test_current_cpu_is_per_thread, setup),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
