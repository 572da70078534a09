/*
 * libvmx guest_reset.c: every I/O write that resets the machine (0xCF9, the
 * 8042's pulse and output port, port 0x92, the FADT reset register) runs the
 * app's shutdown hook, which scrubs, before the request reaches the hardware.
 * Without it the reset left PAL data and the micro-TPM keys in DRAM for the
 * next boot to read.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "libvmx/vmx.h"
#include "libvmx/vmx_internal.h"
#include "tests/unit/vmx/vmx_exit_util.h"

/* ---- the decision, alone ---- */

static bool resets(struct vmx_reset_state *st, uint16_t port, unsigned size, uint32_t value)
{
	return vmx_reset_request(st, port, size, value) != NULL;
}

static void test_reset_control_register(void **state)
{
	(void)state;
	struct vmx_reset_state st = {0};

	assert_true(resets(&st, 0xcf9, 1, 0x06));  /* hard reset */
	assert_true(resets(&st, 0xcf9, 1, 0x04));  /* soft reset */
	assert_true(resets(&st, 0xcf9, 1, 0x0e));  /* full reset */
	assert_false(resets(&st, 0xcf9, 1, 0x02)); /* only selects the kind */
	/* A word at 0xCF8 covers 0xCF9: judged by the byte it writes there. */
	assert_true(resets(&st, 0xcf8, 2, 0x0600));
	/* A dword at 0xCF8 is the PCI configuration address, whatever its bits. */
	assert_false(resets(&st, 0xcf8, 4, 0x80000604));
}

static void test_keyboard_controller(void **state)
{
	(void)state;
	struct vmx_reset_state st = {0};

	assert_true(resets(&st, 0x64, 1, 0xfe));  /* pulse bit 0 */
	assert_true(resets(&st, 0x64, 1, 0xf0));  /* pulses bits 0-3 */
	assert_false(resets(&st, 0x64, 1, 0xff)); /* pulses nothing */
	assert_false(resets(&st, 0x64, 1, 0xad)); /* disable keyboard */
	/* D1h, then the output port with bit 0 (reset line, active low) clear. */
	assert_false(resets(&st, 0x60, 1, 0x00)); /* data without D1h: keyboard data */
	assert_false(resets(&st, 0x64, 1, 0xd1));
	assert_true(resets(&st, 0x60, 1, 0xdc));
	/* D1h then a byte that keeps the line high (A20 on): no reset, state ends. */
	assert_false(resets(&st, 0x64, 1, 0xd1));
	assert_false(resets(&st, 0x60, 1, 0xdf));
	assert_false(resets(&st, 0x60, 1, 0x00));
	/* Another command between D1h and the data cancels it. */
	assert_false(resets(&st, 0x64, 1, 0xd1));
	assert_false(resets(&st, 0x64, 1, 0xae));
	assert_false(resets(&st, 0x60, 1, 0x00));
}

static void test_system_control_port_a(void **state)
{
	(void)state;
	struct vmx_reset_state st = {.sysctl_a = 0x02};

	assert_false(resets(&st, 0x92, 1, 0x02)); /* A20 only */
	assert_true(resets(&st, 0x92, 1, 0x03));  /* bit 0 from 0 to 1 */
	st.sysctl_a = 0x03;                       /* already 1: no edge, no reset */
	assert_false(resets(&st, 0x92, 1, 0x03));
}

static void test_acpi_reset_register(void **state)
{
	(void)state;
	struct vmx_reset_state st = {.acpi_watched = true, .acpi_port = 0xb2, .acpi_value = 0x77};

	assert_true(resets(&st, 0xb2, 1, 0x77));
	assert_false(resets(&st, 0xb2, 1, 0x76));
	st.acpi_watched = false;
	assert_false(resets(&st, 0xb2, 1, 0x77));
}

static void test_acpi_sleep_enable(void **state)
{
	(void)state;
	struct vmx_reset_state st = {.pm1_port = {0xb004, 0}};

	assert_non_null(vmx_sleep_request(&st, 0xb004, 2, 0x3400)); /* S5 | SLP_EN */
	assert_non_null(vmx_sleep_request(&st, 0xb005, 1, 0x20));   /* the high byte alone */
	assert_null(vmx_sleep_request(&st, 0xb004, 2, 0x1400));     /* SLP_TYP only */
	assert_null(vmx_sleep_request(&st, 0xb000, 2, 0x2000));     /* PM1 status, not control */
	st.pm1_port[0] = 0;
	assert_null(vmx_sleep_request(&st, 0xb004, 2, 0x3400));
}

/* ---- through the exit handler ---- */

static size_t cf9_writes_at_scrub;
static unsigned scrubs;

static size_t writes_to(uint16_t port)
{
	uint32_t vals[64];
	return fake_io_collect(port, FAKE_IO_OUT, vals, 64);
}

static void scrub(struct vcpu *v)
{
	(void)v;
	scrubs++;
	cf9_writes_at_scrub = writes_to(0xcf9);
}

static const struct hv_app scrubbing_app = {.name = "scrubbing", .shutdown = scrub};

static void out_exit(struct vcpu *v, uint16_t port, uint32_t value)
{
	v->gpr[GPR_RAX] = value;
	/* OUT DX, AL: size 1 (bits 2:0 = 0), port in bits 31:16. */
	instr_exit(v, VMX_EXIT_IO_INSTRUCTION, (uint64_t)port << 16, 1);
}

/* An ACPI soft power-off (S5) through PM1a control: the app scrubs, then the
 * write goes to the hardware and the instruction completes. */
static void test_acpi_power_off_scrubs_first(void **state)
{
	(void)state;
	struct vcpu *v = env_guest(1, &scrubbing_app);
	vmx_guest_reset_watch_pm1(0xb004, 0);
	scrubs = 0;
	size_t before = writes_to(0xb004);

	v->gpr[GPR_RAX] = 0x3400;
	/* OUT DX, AX: size 2 (bits 2:0 = 1). */
	instr_exit(v, VMX_EXIT_IO_INSTRUCTION, 1 | (0xb004ull << 16), 1);
	assert_int_equal(scrubs, 1);
	assert_int_equal(writes_to(0xb004), before + 1);
	assert_int_equal(rip(), 0x1001);
	assert_non_null(strstr(env_console(), "guest sleep or power-off request"));
	vmx_guest_reset_watch_pm1(0, 0);
}

static void test_reset_ports_exit(void **state)
{
	(void)state;
	env_guest(1, &scrubbing_app);
	const uint8_t *a = hw_phys_ptr(vmx_io_bitmap_pa(0));
	const uint16_t ports[] = {0x60, 0x64, 0x92, 0xcf9};
	for (size_t i = 0; i < sizeof(ports) / sizeof(ports[0]); i++)
		assert_true(a[ports[i] / 8] & (1u << (ports[i] % 8)));
}

/* The attack: reset through 0xCF9. The app scrubs before any byte reaches the
 * reset register, then the guest's own write is made. */
static void test_cf9_reset_scrubs_first(void **state)
{
	(void)state;
	struct vcpu *v = env_guest(1, &scrubbing_app);
	scrubs = 0;
	size_t before = writes_to(0xcf9);

	expect_assert_failure(out_exit(v, 0xcf9, 0x06));
	assert_int_equal(scrubs, 1);
	assert_int_equal(cf9_writes_at_scrub, before);
	uint32_t vals[64];
	size_t n = fake_io_collect(0xcf9, FAKE_IO_OUT, vals, 64);
	assert_true(n > before);
	assert_int_equal(vals[before], 0x06); /* the guest's request, replayed */
	const char *printed = env_console();
	assert_non_null(strstr(printed, "guest reset request (port 0xCF9 (reset control))"));
	/* The fake ignores resets: the hypervisor says so and powers off. */
	assert_non_null(strstr(printed, "the machine did not reset"));
}

static void test_keyboard_reset_scrubs_first(void **state)
{
	(void)state;
	struct vcpu *v = env_guest(1, &scrubbing_app);
	scrubs = 0;

	expect_assert_failure(out_exit(v, 0x64, 0xfe));
	assert_int_equal(scrubs, 1);
	assert_non_null(strstr(env_console(), "keyboard controller pulse"));
}

static void test_port_92_reset_scrubs_first(void **state)
{
	(void)state;
	struct vcpu *v = env_guest(1, &scrubbing_app);
	fake_io_set_default(0x92, 0x02);
	scrubs = 0;

	expect_assert_failure(out_exit(v, 0x92, 0x03));
	assert_int_equal(scrubs, 1);
	assert_non_null(strstr(env_console(), "port 0x92 bit 0"));
}

/* Writes that do not reset are forwarded as before, with no scrub. */
static void test_other_writes_forwarded(void **state)
{
	(void)state;
	struct vcpu *v = env_guest(1, &scrubbing_app);
	fake_io_set_default(0x92, 0x02);
	scrubs = 0;
	size_t cf9 = writes_to(0xcf9), p92 = writes_to(0x92), p64 = writes_to(0x64);

	out_exit(v, 0xcf9, 0x02);
	assert_int_equal(rip(), 0x1001);
	out_exit(v, 0x92, 0x02);
	out_exit(v, 0x64, 0xae);
	assert_int_equal(scrubs, 0);
	assert_int_equal(writes_to(0xcf9), cf9 + 1);
	assert_int_equal(writes_to(0x92), p92 + 1);
	assert_int_equal(writes_to(0x64), p64 + 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_reset_control_register),
	    cmocka_unit_test(test_keyboard_controller),
	    cmocka_unit_test(test_system_control_port_a),
	    cmocka_unit_test(test_acpi_reset_register),
	    cmocka_unit_test(test_acpi_sleep_enable),
	    cmocka_unit_test(test_acpi_power_off_scrubs_first),
	    cmocka_unit_test(test_reset_ports_exit),
	    cmocka_unit_test(test_cf9_reset_scrubs_first),
	    cmocka_unit_test(test_keyboard_reset_scrubs_first),
	    cmocka_unit_test(test_port_92_reset_scrubs_first),
	    cmocka_unit_test(test_other_writes_forwarded),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
