/* libvmx exit handlers, I/O and exit counters: the power-off port forwarded
 * with the counters printed first, IN from a watched port, counts per reason. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "libvmx/vmx.h"
#include "libvmx/vmx_caps.h"
#include "libvmx/vmx_internal.h"
#include "rt/layout.h"
#include "tests/unit/vmx/vmx_exit_util.h"

static void test_io_power_off_port_prints_counters_and_forwards(void **state)
{
	struct vcpu *v = env_guest(1, NULL);
	const char *word = "Shutdown";

	v->gpr[GPR_RAX] = 0;
	instr_exit(v, VMX_EXIT_CPUID, 0, 2);
	env_console();
	for (const char *c = word; *c; c++) {
		v->gpr[GPR_RAX] = 0xab00 | (uint8_t)*c; /* AL only */
		/* OUT DX, AL: size 1, port 0x8900 in bits 31:16. */
		instr_exit(v, VMX_EXIT_IO_INSTRUCTION, 0 | (0x8900ull << 16), 1);
	}
	uint32_t out[16];
	size_t n = fake_io_collect(0x8900, FAKE_IO_OUT, out, 16);
	assert_int_equal(n, 8);
	for (size_t i = 0; i < n; i++)
		assert_int_equal(out[i], (uint8_t)word[i]);
	const char *printed = env_console();
	assert_non_null(strstr(printed, "hv: cpu 0 exits:"));
	assert_non_null(strstr(printed, " CPUID=1"));
	assert_non_null(strstr(printed, " I/O-instruction=8"));
}

static void test_power_off_bytes_from_several_cpus(void **state)
{
	env_guest(2, NULL);
	const char *word = "Shutdown";

	env_console();
	/* One process per byte, as Linux's init does: the CPUs take turns. */
	for (unsigned i = 0; word[i]; i++) {
		fake_set_cpu(i % 2);
		struct vcpu *v = vmx_vcpu(i % 2);
		v->gpr[GPR_RAX] = (uint8_t)word[i];
		instr_exit(v, VMX_EXIT_IO_INSTRUCTION, 0x8900ull << 16, 1);
	}
	fake_set_cpu(0);
	const char *printed = env_console();
	assert_non_null(strstr(printed, "hv: cpu 0 exits: I/O-instruction=4"));
	assert_non_null(strstr(printed, "hv: cpu 1 exits: I/O-instruction=4"));
}

static void test_io_in_from_watched_port_forwards(void **state)
{
	struct vcpu *v = env_guest(1, NULL);
	uint32_t val = 0x5a;

	fake_io_script(0x8900, &val, 1);
	v->gpr[GPR_RAX] = 0x1234ffffull;
	instr_exit(v, VMX_EXIT_IO_INSTRUCTION, IOQUAL_IN | (0x8900ull << 16), 1);
	assert_int_equal(v->gpr[GPR_RAX], 0x1234ff5aull); /* only AL changes */
}

static void test_exit_counters_by_reason(void **state)
{
	struct vcpu *v = env_guest(2, NULL);

	for (int i = 0; i < 3; i++)
		instr_exit(v, VMX_EXIT_CPUID, 0, 2);
	instr_exit(v, VMX_EXIT_INVD, 0, 2);
	assert_int_equal(v->exit_count[VMX_EXIT_CPUID], 3);
	assert_int_equal(v->exit_count[VMX_EXIT_INVD], 1);
	assert_int_equal(vmx_vcpu(1)->exit_count[VMX_EXIT_CPUID], 0);
	env_console();
	vmx_print_exit_counters();
	assert_string_equal(env_console(), "hv: cpu 0 exits: CPUID=3 INVD=1\n");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_io_power_off_port_prints_counters_and_forwards),
	    cmocka_unit_test(test_power_off_bytes_from_several_cpus),
	    cmocka_unit_test(test_io_in_from_watched_port_forwards),
	    cmocka_unit_test(test_exit_counters_by_reason),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
