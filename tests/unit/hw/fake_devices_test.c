/* The fake's devices: local APIC (ID register, IPIs via xAPIC MMIO and x2APIC
 * MSR), MMIO registers, port I/O log and scripted input, GS-relative reads. */
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

static void test_apic_id_register_follows_current_cpu(void **state)
{
	fake_set_apic_id(2, 7);
	fake_set_cpu(2);
	assert_int_equal(hw_mmio_read32(APIC_DEFAULT_BASE + APIC_REG_ID) >> 24, 7);
	fake_set_cpu(1);
	assert_int_equal(hw_mmio_read32(APIC_DEFAULT_BASE + APIC_REG_ID) >> 24, 1);
	fake_set_cpu(0);
}

static void test_ipi_through_xapic_icr(void **state)
{
	fake_set_cpu(1);
	hw_mmio_write32(APIC_DEFAULT_BASE + APIC_REG_ICR_HIGH, 3u << APIC_ICR_XAPIC_DEST_SHIFT);
	assert_int_equal(fake_ipi_count(), 0); /* the high word alone sends nothing */
	hw_mmio_write32(APIC_DEFAULT_BASE + APIC_REG_ICR_LOW,
	                APIC_ICR_DM_NMI | APIC_ICR_LEVEL_ASSERT);
	hw_mmio_write32(APIC_DEFAULT_BASE + APIC_REG_ICR_LOW, APIC_ICR_DM_STARTUP | 0x9a);
	fake_set_cpu(0);

	assert_int_equal(fake_ipi_count(), 2);
	struct fake_ipi nmi = fake_ipi_log(0), sipi = fake_ipi_log(1);
	assert_int_equal(nmi.src_cpu, 1);
	assert_int_equal(nmi.dest, 3);
	assert_int_equal(nmi.delivery_mode, 4);
	assert_false(nmi.x2apic);
	assert_int_equal(sipi.delivery_mode, 6);
	assert_int_equal(sipi.vector, 0x9a);
	assert_int_equal(sipi.dest, 3);
	/* The ICR reads back idle, so a delivery-status poll terminates. */
	fake_set_cpu(1);
	assert_int_equal(
	    hw_mmio_read32(APIC_DEFAULT_BASE + APIC_REG_ICR_LOW) & APIC_ICR_DELIVERY_PENDING, 0);
	fake_set_cpu(0);
}

static void test_ipi_shorthand_recorded(void **state)
{
	hw_mmio_write32(APIC_DEFAULT_BASE + APIC_REG_ICR_LOW,
	                APIC_ICR_DM_NMI | APIC_ICR_SHORTHAND_OTHERS);
	assert_int_equal(fake_ipi_log_len(), 1);
	assert_int_equal(fake_ipi_log(0).shorthand, 3);
	fake_ipi_clear();
	assert_int_equal(fake_ipi_log_len(), 0);
	assert_int_equal(fake_ipi_count(), 1);
}

static void test_apic_follows_apic_base_msr(void **state)
{
	const uint64_t moved = 0xfed00000;

	hw_wrmsr(MSR_IA32_APIC_BASE, moved | APIC_BASE_ENABLE | APIC_BASE_BSP);
	assert_int_equal(hw_mmio_read32(moved + APIC_REG_ID), 0);
	assert_int_equal(hw_mmio_read32(moved + APIC_REG_VERSION) & 0xff, 0x14);
	assert_int_equal(fake_hw.mmio_unknown, 0);
	/* The old page is nothing now. */
	hw_mmio_write32(APIC_DEFAULT_BASE + APIC_REG_ICR_LOW, APIC_ICR_DM_INIT);
	assert_int_equal(fake_ipi_count(), 0);
	assert_int_equal(fake_hw.mmio_unknown, 1);
	assert_int_equal(fake_hw.last_unknown_mmio, APIC_DEFAULT_BASE + APIC_REG_ICR_LOW);
}

static void test_ipi_through_x2apic_msr(void **state)
{
	fake_set_apic_id(0, 0x20);
	hw_wrmsr(MSR_IA32_APIC_BASE, hw_rdmsr(MSR_IA32_APIC_BASE) | APIC_BASE_X2APIC);
	assert_int_equal(hw_rdmsr(MSR_X2APIC_ID), 0x20); /* full 32-bit id, not shifted */
	hw_wrmsr(MSR_X2APIC_ICR, (0x105ull << 32) | APIC_ICR_DM_NMI);
	assert_int_equal(fake_ipi_count(), 1);
	struct fake_ipi ipi = fake_ipi_log(0);
	assert_true(ipi.x2apic);
	assert_int_equal(ipi.dest, 0x105);
	assert_int_equal(ipi.delivery_mode, 4);
	assert_int_equal(ipi.src_cpu, 0);
	assert_int_equal(hw_rdmsr(MSR_X2APIC_ICR), (0x105ull << 32) | APIC_ICR_DM_NMI);
	/* In x2APIC mode the MMIO page does not reach the APIC. */
	hw_mmio_write32(APIC_DEFAULT_BASE + APIC_REG_ICR_LOW, APIC_ICR_DM_NMI);
	assert_int_equal(fake_ipi_count(), 1);
	assert_int_equal(fake_hw.mmio_unknown, 1);
	/* EOI through its MSR is counted. */
	hw_wrmsr(MSR_X2APIC_EOI, 0);
	assert_int_equal(fake_cpu(0)->eois, 1);
}

static void test_x2apic_msrs_fault_in_xapic_mode(void **state)
{
	assert_int_equal(hw_rdmsr(MSR_X2APIC_ID), 0);
	hw_wrmsr(MSR_X2APIC_ICR, APIC_ICR_DM_NMI);
	assert_int_equal(fake_ipi_count(), 0);
	assert_int_equal(fake_hw.unknown_msr_reads, 1);
	assert_int_equal(fake_hw.unknown_msr_writes, 1);
	assert_int_equal(fake_hw.last_unknown_msr, MSR_X2APIC_ICR);
	assert_int_equal(fake_cpu(0)->gp_faults, 2);
}

static void test_mmio_registers(void **state)
{
	const uint64_t ioapic = 0xfec00000;

	fake_mmio_set(ioapic, 0);
	fake_mmio_set(ioapic + 0x10, 0x00170011);
	assert_int_equal(hw_mmio_read32(ioapic + 0x10), 0x00170011);
	hw_mmio_write32(ioapic, 1);
	assert_int_equal(fake_mmio_get(ioapic), 1);
	assert_int_equal(hw_mmio_read32(0xfeb00000), 0xffffffffu);
	assert_int_equal(fake_hw.mmio_unknown, 1);
	assert_int_equal(fake_hw.last_unknown_mmio, 0xfeb00000);
}

static void test_port_log_and_scripted_input(void **state)
{
	static const uint32_t lsr[] = {0x00, 0x20};
	uint32_t out[8];

	fake_io_script(0x3fd, lsr, 2);
	fake_io_set_default(0x3fd, 0x60);
	assert_int_equal(hw_inb(0x3fd), 0x00);
	assert_int_equal(hw_inb(0x3fd), 0x20);
	assert_int_equal(hw_inb(0x3fd), 0x60);
	hw_outb(0x3f8, 'h');
	hw_outb(0x3f8, 'i');
	hw_outw(0x8900, 0x5253);
	fake_set_cpu(1);
	hw_outl(0xcf8, 0x80000000u);
	fake_set_cpu(0);

	assert_int_equal(fake_io_log_len(), 7);
	struct fake_io_entry e = fake_io_log(6);
	assert_int_equal(e.port, 0xcf8);
	assert_int_equal(e.size, 4);
	assert_int_equal(e.dir, FAKE_IO_OUT);
	assert_int_equal(e.value, 0x80000000u);
	assert_int_equal(e.cpu, 1);
	e = fake_io_log(0);
	assert_int_equal(e.dir, FAKE_IO_IN);
	assert_int_equal(e.port, 0x3fd);

	assert_int_equal(fake_io_collect(0x3f8, FAKE_IO_OUT, out, 8), 2);
	assert_int_equal(out[0], 'h');
	assert_int_equal(out[1], 'i');
	assert_int_equal(fake_io_collect(0x3fd, FAKE_IO_IN, out, 1), 3); /* counts beyond max */
	assert_int_equal(out[0], 0);
}

static void test_unclaimed_ports_read_all_ones(void **state)
{
	assert_int_equal(hw_inb(0x80), 0xff);
	assert_int_equal(hw_inw(0x80), 0xffff);
	assert_int_equal(hw_inl(0x80), 0xffffffffu);
	/* A scripted value wider than the access is cut to its size. */
	fake_io_set_default(0x71, 0x1234);
	assert_int_equal(hw_inb(0x71), 0x34);
}

static void test_port_log_keeps_the_newest(void **state)
{
	for (uint32_t i = 0; i < FAKE_IO_LOG_SIZE + 10; i++)
		hw_outl(0xf4, i);
	assert_int_equal(fake_io_log_len(), FAKE_IO_LOG_SIZE);
	assert_int_equal(fake_io_log(0).value, 10);
	assert_int_equal(fake_io_log(FAKE_IO_LOG_SIZE - 1).value, FAKE_IO_LOG_SIZE + 9);
}

struct fake_percpu {
	void *self;
	uint64_t cpu_index;
	uint64_t marker;
};

static void test_gs_reads_use_gs_base_of_current_cpu(void **state)
{
	struct fake_percpu pc[2] = {{&pc[0], 0, 0xaaaa}, {&pc[1], 1, 0xbbbb}};

	assert_int_equal(hw_read_gs_qword(0), 0);
	assert_int_equal(fake_hw.gs_reads_without_base, 1);

	hw_wrmsr(MSR_IA32_GS_BASE, hw_ptr_phys(&pc[0]));
	fake_set_cpu(1);
	hw_wrmsr(MSR_IA32_GS_BASE, hw_ptr_phys(&pc[1]));
	assert_int_equal(hw_read_gs_qword(offsetof(struct fake_percpu, cpu_index)), 1);
	assert_int_equal(hw_read_gs_qword(offsetof(struct fake_percpu, marker)), 0xbbbb);
	fake_set_cpu(0);
	assert_int_equal(hw_read_gs_qword(offsetof(struct fake_percpu, cpu_index)), 0);
	assert_int_equal(hw_read_gs_qword(0), hw_ptr_phys(&pc[0]));
	assert_int_equal(fake_hw.gs_reads_without_base, 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup(test_apic_id_register_follows_current_cpu, setup),
	    cmocka_unit_test_setup(test_ipi_through_xapic_icr, setup),
	    cmocka_unit_test_setup(test_ipi_shorthand_recorded, setup),
	    cmocka_unit_test_setup(test_apic_follows_apic_base_msr, setup),
	    cmocka_unit_test_setup(test_ipi_through_x2apic_msr, setup),
	    cmocka_unit_test_setup(test_x2apic_msrs_fault_in_xapic_mode, setup),
	    cmocka_unit_test_setup(test_mmio_registers, setup),
	    cmocka_unit_test_setup(test_port_log_and_scripted_input, setup),
	    cmocka_unit_test_setup(test_unclaimed_ports_read_all_ones, setup),
	    cmocka_unit_test_setup(test_port_log_keeps_the_newest, setup),
	    cmocka_unit_test_setup(test_gs_reads_use_gs_base_of_current_cpu, setup),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
