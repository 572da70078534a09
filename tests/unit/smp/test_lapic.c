/*
 * Local APIC IPIs against the fake's LAPIC: delivery mode, vector, destination
 * and ICR form in xAPIC and x2APIC mode, with the mode read at every call.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "hw/fake/fake_hw.h"
#include "hw/x86_defs.h"
#include "libsmp/lapic.h"

/* ICR bits per SDM Vol. 3A Figure 10-12, spelled out here independently. */
#define DM_NMI      4u
#define DM_INIT     5u
#define DM_STARTUP  6u
#define ICR_LOGICAL (1u << 11)
#define ICR_LEVEL   (1u << 14)
#define ICR_TRIGGER (1u << 15)

static int setup(void **state)
{
	fake_hw_reset();
	return 0;
}

static void set_x2apic(bool on)
{
	uint64_t base = fake_msr_get(MSR_IA32_APIC_BASE);
	fake_msr_set_cpu(fake_get_cpu(), MSR_IA32_APIC_BASE,
	                 on ? base | (1ull << 10) : base & ~(1ull << 10));
}

static void assert_ipi(size_t i, uint32_t dest, uint32_t mode, uint32_t vector, bool x2apic)
{
	struct fake_ipi ipi = fake_ipi_log(i);

	assert_int_equal(ipi.dest, dest);
	assert_int_equal(ipi.delivery_mode, mode);
	assert_int_equal(ipi.vector, vector);
	assert_int_equal(ipi.shorthand, 0);
	assert_int_equal(ipi.x2apic, x2apic);
	assert_int_equal(ipi.src_cpu, fake_get_cpu());
	/* Physical destination, level assert, edge. */
	assert_int_equal(ipi.icr & (ICR_LOGICAL | ICR_LEVEL | ICR_TRIGGER), ICR_LEVEL);
	if (x2apic)
		assert_int_equal(ipi.icr >> 32, dest);
}

static void test_xapic_init_sipi_nmi(void **state)
{
	lapic_send_init(3);
	lapic_send_sipi(2, 0x08);
	lapic_send_nmi(1);
	assert_int_equal(fake_ipi_log_len(), 3);
	assert_ipi(0, 3, DM_INIT, 0, false);
	assert_ipi(1, 2, DM_STARTUP, 0x08, false);
	assert_ipi(2, 1, DM_NMI, 0, false);
	/* xAPIC IPIs are MMIO only: no MSR write reached the ICR MSR. */
	for (size_t i = 0; i < fake_msr_log_len(); i++)
		assert_int_not_equal(fake_msr_log(i).msr, MSR_X2APIC_ICR);
}

static void test_xapic_follows_relocated_base(void **state)
{
	/* IA32_APIC_BASE may move the xAPIC page; the ICR must follow it. */
	uint64_t base = fake_msr_get(MSR_IA32_APIC_BASE);
	fake_msr_set(MSR_IA32_APIC_BASE, (base & 0xfff) | 0xfed00000ull);
	lapic_send_sipi(5, 0x9f);
	assert_int_equal(fake_ipi_log_len(), 1);
	assert_ipi(0, 5, DM_STARTUP, 0x9f, false);
	assert_int_equal(fake_hw.mmio_unknown, 0);
}

static void test_x2apic_init_sipi_nmi_one_msr_write(void **state)
{
	set_x2apic(true);
	size_t msr_writes = fake_msr_log_len();

	lapic_send_init(0x1234);
	lapic_send_sipi(0x300, 0x08);
	lapic_send_nmi(7);
	assert_int_equal(fake_ipi_log_len(), 3);
	assert_ipi(0, 0x1234, DM_INIT, 0, true);
	assert_ipi(1, 0x300, DM_STARTUP, 0x08, true);
	assert_ipi(2, 7, DM_NMI, 0, true);
	/* One 64-bit ICR write per IPI (SDM Vol. 3A 10.12.9). */
	assert_int_equal(fake_msr_log_len() - msr_writes, 3);
	for (size_t i = msr_writes; i < fake_msr_log_len(); i++)
		assert_int_equal(fake_msr_log(i).msr, MSR_X2APIC_ICR);
	assert_int_equal(fake_msr_log(msr_writes).value >> 32, 0x1234);
}

static void test_mode_is_read_at_each_call(void **state)
{
	lapic_send_nmi(1);
	set_x2apic(true); /* the guest switches the shared LAPIC */
	lapic_send_nmi(0x101);
	set_x2apic(false);
	lapic_send_nmi(2);
	assert_int_equal(fake_ipi_log_len(), 3);
	assert_ipi(0, 1, DM_NMI, 0, false);
	assert_ipi(1, 0x101, DM_NMI, 0, true);
	assert_ipi(2, 2, DM_NMI, 0, false);
}

static void test_lapic_id_both_modes(void **state)
{
	fake_set_apic_id(0, 0x2a);
	assert_int_equal(lapic_id(), 0x2a);
	assert_false(lapic_is_x2apic());
	set_x2apic(true);
	fake_set_apic_id(0, 0x12345);
	assert_true(lapic_is_x2apic());
	assert_int_equal(lapic_id(), 0x12345); /* all 32 bits in x2APIC mode */

	fake_set_cpu(3);
	fake_set_apic_id(3, 9);
	assert_int_equal(lapic_id(), 9); /* CPU 3 is still in xAPIC mode */
}

static void test_icr_wait_is_bounded(void **state)
{
	/* The fake's own LAPIC is always idle. To see a stuck delivery status,
	 * take the LAPIC page away (global enable off) and script the ICR word. */
	uint64_t base = fake_msr_get(MSR_IA32_APIC_BASE);
	uint64_t icr = (base & APIC_BASE_ADDR_MASK) + 0x300;

	assert_true(lapic_wait_icr_idle());
	fake_msr_set(MSR_IA32_APIC_BASE, base & ~APIC_BASE_ENABLE);
	fake_mmio_set(icr, 1u << 12);
	uint64_t pauses = fake_cpu(0)->pauses;
	assert_false(lapic_wait_icr_idle()); /* returns: the wait has a bound */
	assert_true(fake_cpu(0)->pauses - pauses >= 1000);

	fake_mmio_set(icr, 0);
	assert_true(lapic_wait_icr_idle());

	/* x2APIC has no delivery status: idle whatever the MMIO word says. */
	fake_mmio_set(icr, 1u << 12);
	fake_msr_set(MSR_IA32_APIC_BASE, base | (1ull << 10));
	assert_true(lapic_wait_icr_idle());
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup(test_xapic_init_sipi_nmi, setup),
	    cmocka_unit_test_setup(test_xapic_follows_relocated_base, setup),
	    cmocka_unit_test_setup(test_x2apic_init_sipi_nmi_one_msr_write, setup),
	    cmocka_unit_test_setup(test_mode_is_read_at_each_call, setup),
	    cmocka_unit_test_setup(test_lapic_id_both_modes, setup),
	    cmocka_unit_test_setup(test_icr_wait_is_bounded, setup),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
