/*
 * Descriptor tables as the CPU would read them: decode the GDT, TSS and IDT
 * that cpu_tables_init() loaded (the fake records LGDT/LIDT/LTR).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "hw/fake/fake_hw.h"
#include "rt/cpu_tables.h"
#include "rt/layout.h"

extern const uint64_t rt_idt_stubs[32];

static uint64_t gdt_entry(uint64_t base, unsigned slot)
{
	uint64_t e;
	memcpy(&e, (const void *)(uintptr_t)(base + 8 * slot), 8);
	return e;
}

/* Base of the 16-byte TSS descriptor at GDT slot 3 (SDM Vol. 3A 8.2.3). */
static uint64_t tss_desc_base(uint64_t gdt)
{
	uint64_t lo = gdt_entry(gdt, 3), hi = gdt_entry(gdt, 4);
	return ((lo >> 16) & 0xFFFFFF) | ((lo >> 56) << 24) | (hi << 32);
}

static uint64_t tss_ist(uint64_t tss, unsigned n)
{
	uint64_t v;
	memcpy(&v, (const void *)(uintptr_t)(tss + 36 + 8 * (n - 1)), 8);
	return v;
}

struct gate {
	uint64_t offset;
	uint16_t selector;
	uint8_t ist, type_attr;
};

static struct gate idt_gate(uint64_t idt, unsigned v)
{
	const uint8_t *g = (const uint8_t *)(uintptr_t)(idt + 16 * v);
	uint16_t lo, sel, mid;
	uint32_t hi;
	memcpy(&lo, g, 2);
	memcpy(&sel, g + 2, 2);
	memcpy(&mid, g + 6, 2);
	memcpy(&hi, g + 8, 4);
	return (struct gate){.offset = lo | ((uint64_t)mid << 16) | ((uint64_t)hi << 32),
	                     .selector = sel,
	                     .ist = g[4] & 7,
	                     .type_attr = g[5]};
}

static int setup(void **state)
{
	fake_hw_reset();
	return 0;
}

static void test_gdt_and_tss_are_loaded(void **state)
{
	fake_set_cpu(1);
	cpu_tables_init(1);
	struct fake_cpu *c = fake_cpu(1);
	assert_int_equal(c->gdtr.base, cpu_tables_gdt_base(1));
	assert_int_equal(c->gdtr.limit, 5 * 8 - 1);
	assert_int_equal(c->tr, RT_SEL_TSS);

	uint64_t gdt = c->gdtr.base;
	assert_int_equal(gdt_entry(gdt, 0), 0);
	uint64_t code = gdt_entry(gdt, RT_SEL_CODE64 / 8);
	assert_true(code & (1ULL << 53));            /* L: 64-bit code */
	assert_true(code & (1ULL << 47));            /* present */
	assert_int_equal((code >> 40) & 0x18, 0x18); /* code segment, not system */
	uint64_t data = gdt_entry(gdt, RT_SEL_DATA / 8);
	assert_int_equal((data >> 40) & 0x1A, 0x12); /* writable data */

	uint64_t tss_lo = gdt_entry(gdt, 3);
	assert_int_equal((tss_lo >> 40) & 0xF, 0x9); /* available 64-bit TSS */
	assert_true(tss_lo & (1ULL << 47));
	assert_int_equal(tss_lo & 0xFFFF, 103); /* limit: 104-byte TSS */
	assert_int_equal(tss_desc_base(gdt), cpu_tables_tss_base(1));
}

static void test_ist_stacks_are_per_cpu_and_distinct(void **state)
{
	uint64_t seen[2][3];
	for (uint32_t cpu = 0; cpu < 2; cpu++) {
		fake_set_cpu(cpu);
		cpu_tables_init(cpu);
		uint64_t tss = cpu_tables_tss_base(cpu);
		uint16_t iomap;
		memcpy(&iomap, (const void *)(uintptr_t)(tss + 102), 2);
		assert_int_equal(iomap, 104); /* no I/O bitmap */
		for (unsigned n = 1; n <= 3; n++) {
			seen[cpu][n - 1] = tss_ist(tss, n);
			assert_int_not_equal(seen[cpu][n - 1], 0);
			assert_int_equal(seen[cpu][n - 1] % 16, 0);
		}
		assert_int_equal(tss_ist(tss, 4), 0);
	}
	for (unsigned i = 0; i < 6; i++) {
		for (unsigned j = i + 1; j < 6; j++) {
			uint64_t a = seen[i / 3][i % 3], b = seen[j / 3][j % 3];
			uint64_t d = a > b ? a - b : b - a;
			assert_true(d >= HV_IST_STACK_SIZE); /* stacks do not overlap */
		}
	}
	assert_int_not_equal(cpu_tables_gdt_base(0), cpu_tables_gdt_base(1));
}

static void test_idt_points_at_the_stubs_with_ists(void **state)
{
	cpu_tables_init(0);
	struct fake_cpu *c = fake_cpu(0);
	assert_int_equal(c->idtr.base, cpu_tables_idt_base());
	assert_int_equal(c->idtr.limit, 32 * 16 - 1);
	for (unsigned v = 0; v < 32; v++) {
		struct gate g = idt_gate(c->idtr.base, v);
		assert_int_equal(g.offset, rt_idt_stubs[v]);
		assert_int_equal(g.selector, RT_SEL_CODE64);
		assert_int_equal(g.type_attr, 0x8E); /* present interrupt gate, DPL 0 */
		unsigned want_ist = v == 2    ? RT_IST_NMI
		                    : v == 8  ? RT_IST_DF
		                    : v == 18 ? RT_IST_MC
		                              : 0;
		assert_int_equal(g.ist, want_ist);
	}
}

static void test_reinit_rewrites_the_busy_tss_descriptor(void **state)
{
	cpu_tables_init(2);
	uint64_t gdt = cpu_tables_gdt_base(2);
	/* LTR marks the descriptor busy (type 0xB); a later init on the same CPU
	 * must make it available again or its LTR would fault. */
	uint64_t lo = gdt_entry(gdt, 3) | (0x2ULL << 40);
	memcpy((void *)(uintptr_t)(gdt + 24), &lo, 8);
	cpu_tables_init(2);
	assert_int_equal((gdt_entry(gdt, 3) >> 40) & 0xF, 0x9);
}

static void test_out_of_range_cpu_is_ignored(void **state)
{
	cpu_tables_init(HV_MAX_CPUS);
	assert_int_equal(fake_cpu(0)->tr, 0);
	assert_int_equal(cpu_tables_gdt_base(HV_MAX_CPUS), 0);
	assert_int_equal(cpu_tables_tss_base(HV_MAX_CPUS), 0);
}

#define T(f) cmocka_unit_test_setup(f, setup)

int main(void)
{
	const struct CMUnitTest tests[] = {
	    T(test_gdt_and_tss_are_loaded),
	    T(test_ist_stacks_are_per_cpu_and_distinct),
	    T(test_idt_points_at_the_stubs_with_ists),
	    T(test_reinit_rewrites_the_busy_tss_descriptor),
	    T(test_out_of_range_cpu_is_ignored),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
