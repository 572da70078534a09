/* Per-CPU data through IA32_GS_BASE, on the fake's CPUs. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "hw/fake/fake_hw.h"
#include "rt/layout.h"
#include "rt/percpu.h"

static int setup(void **state)
{
	fake_hw_reset();
	return 0;
}

/* Runs first: nothing has called percpu_init yet in this process. */
static void test_cpu_index_before_any_init_is_zero_without_gs(void **state)
{
	assert_int_equal(rt_cpu_index(), 0);
	assert_int_equal(fake_hw.gs_reads_without_base, 0);
}

static void test_init_points_gs_base_at_the_cpu(void **state)
{
	fake_set_cpu(3);
	percpu_init(3, 0x17);
	struct percpu *p = percpu_of(3);
	assert_non_null(p);
	assert_int_equal(fake_msr_get_cpu(3, MSR_IA32_GS_BASE), (uint64_t)(uintptr_t)p);
	assert_ptr_equal(p->self, p);
	assert_int_equal(p->cpu_index, 3);
	assert_int_equal(p->apic_id, 0x17);
	assert_int_equal(p->stack_top, rt_cpu_stack_top(3));
	assert_int_equal(this_cpu_index(), 3);
	assert_int_equal(rt_cpu_index(), 3);
}

static void test_each_cpu_sees_its_own_index(void **state)
{
	for (uint32_t cpu = 0; cpu < 4; cpu++) {
		fake_set_cpu(cpu);
		percpu_init(cpu, 100 + cpu);
	}
	for (uint32_t cpu = 4; cpu-- > 0;) {
		fake_set_cpu(cpu);
		assert_int_equal(this_cpu_index(), cpu);
		assert_int_equal(percpu_of(this_cpu_index())->apic_id, 100 + cpu);
	}
}

static void test_index_does_not_depend_on_the_apic_id(void **state)
{
	/* The GS read must return cpu_index, not the apic_id next to it. */
	fake_set_cpu(1);
	percpu_init(1, 0xFFFFFFFFu);
	assert_int_equal(this_cpu_index(), 1);
}

static void test_stacks_are_separate_and_aligned(void **state)
{
	for (uint32_t i = 0; i < HV_MAX_CPUS; i++) {
		uint64_t top = rt_cpu_stack_top(i);
		assert_int_not_equal(top, 0);
		assert_int_equal(top % 16, 0);
		if (i > 0) {
			uint64_t prev = rt_cpu_stack_top(i - 1);
			uint64_t gap = top > prev ? top - prev : prev - top;
			assert_true(gap >= HV_STACK_SIZE);
		}
	}
}

static void test_out_of_range(void **state)
{
	assert_null(percpu_of(HV_MAX_CPUS));
	assert_int_equal(rt_cpu_stack_top(HV_MAX_CPUS), 0);
	uint64_t before = fake_msr_get(MSR_IA32_GS_BASE);
	percpu_init(HV_MAX_CPUS, 0);
	assert_int_equal(fake_msr_get(MSR_IA32_GS_BASE), before);
}

#define T(f) cmocka_unit_test_setup(f, setup)

int main(void)
{
	const struct CMUnitTest tests[] = {
	    T(test_cpu_index_before_any_init_is_zero_without_gs),
	    T(test_init_points_gs_base_at_the_cpu),
	    T(test_each_cpu_sees_its_own_index),
	    T(test_index_does_not_depend_on_the_apic_id),
	    T(test_stacks_are_separate_and_aligned),
	    T(test_out_of_range),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
