/*
 * smp_discover and smp_start_aps against the fake hardware.
 *
 * The "other CPUs" are simulated from the fake's pause hook: while the BSP
 * spins in a delay or waits for an AP, the hook reads the IPI log and, when a
 * responsive CPU gets its SIPI, runs what the trampoline would: it reads the
 * parameter block in the trampoline page and calls the 64-bit entry on that
 * fake CPU. The AP's ap_main records what it saw and jumps back to the hook.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "hw/fake/fake_hw.h"
#include "hw/x86_defs.h"
#include "rt/console.h"
#include "libsmp/ap_trampoline.h"
#include "libsmp/delay.h"
#include "libsmp/smp.h"
#include "rt/boot.h"
#include "rt/layout.h"
#include "rt/percpu.h"
#include "tests/unit/smp/lowmem.h"

#define PORT_B     0x61
#define COM1_DATA  0x3f8
#define BSP_CR3    0x5000ull
#define DM_INIT    5u
#define DM_STARTUP 6u
#define MAX_LOG    64
/* Port 0x61 reads of the PIT calibration before channel 2's OUT goes high. */
#define PIT_POLLS 59

/*
 * rt_ap_init is in rt/boot.c, which only images build (it names hv_main). If
 * rt's host variant gains it, that definition wins over this weak stand-in.
 */
__attribute__((weak)) void rt_ap_init(uint32_t cpu_index, uint32_t apic_id)
{
	percpu_init(cpu_index, apic_id);
}

struct ap_seen {
	uint32_t fake_cpu;
	struct ap_tramp_params params;
	bool code_copied;     /* trampoline bytes in the page when the AP started */
	uint32_t main_index;  /* ap_main's argument */
	uint32_t this_cpu;    /* this_cpu_index() inside ap_main */
	uint32_t percpu_apic; /* percpu apic id recorded by rt_ap_init */
};

static struct {
	bool responsive[FAKE_MAX_CPUS];
	size_t seen;
	uint64_t tsc_seen[MAX_LOG];
	struct ap_seen ap[FAKE_MAX_CPUS];
	size_t started;
	bool in_ap;
	jmp_buf ap_return;
} sim;

static uint8_t *tramp_page(void)
{
	return lowmem + AP_TRAMPOLINE_PA;
}

static void test_ap_main(uint32_t cpu_index)
{
	struct ap_seen *a = &sim.ap[sim.started - 1];

	a->main_index = cpu_index;
	a->this_cpu = this_cpu_index();
	a->percpu_apic = percpu_of(cpu_index)->apic_id;
	longjmp(sim.ap_return, 1);
}

static void run_ap(uint32_t fake_cpu)
{
	const struct ap_trampoline_code *code = ap_trampoline_code();
	struct ap_seen *a = &sim.ap[sim.started++];
	uint32_t bsp = fake_get_cpu();

	a->fake_cpu = fake_cpu;
	memcpy(&a->params, tramp_page() + code->params_offset, sizeof(a->params));
	a->code_copied = memcmp(tramp_page(), code->bytes, code->params_offset) == 0;
	fake_set_cpu(fake_cpu);
	sim.in_ap = true;
	if (setjmp(sim.ap_return) == 0)
		((void (*)(uint32_t))(uintptr_t)a->params.entry)(a->params.cpu_index);
	sim.in_ap = false;
	fake_set_cpu(bsp);
}

static void pause_hook(void *arg)
{
	if (sim.in_ap)
		return;
	while (sim.seen < fake_ipi_log_len() && sim.seen < MAX_LOG) {
		struct fake_ipi ipi = fake_ipi_log(sim.seen);
		sim.tsc_seen[sim.seen++] = hw_rdtsc();
		if (ipi.delivery_mode != DM_STARTUP)
			continue;
		/* A real AP starts at the first SIPI and ignores the second. */
		for (uint32_t c = 0; c < FAKE_MAX_CPUS; c++) {
			bool running = false;
			for (size_t i = 0; i < sim.started; i++)
				running |= sim.ap[i].fake_cpu == c;
			if (fake_cpu(c)->apic_id == ipi.dest && sim.responsive[c] && !running)
				run_ap(c);
		}
	}
}

/* Fake CPU i gets APIC id ids[i] and answers SIPIs; the MADT lists them all. */
static void machine(const uint8_t *ids, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		fake_set_apic_id((uint32_t)i, ids[i]);
		sim.responsive[i] = true;
	}
	acpi_put_machine(ids, n);
}

static int setup(void **state)
{
	/* Port 0x61 at calibration: the saved value, PIT_POLLS x "OUT low", then high. */
	uint32_t port_b[PIT_POLLS + 2] = {0};

	fake_hw_reset();
	lowmem_reset();
	/* libsmp's lines are start-up notes: print them as they come (hv_verbose=1). */
	console_notes_reset();
	console_notes_set_live(true);
	memset(&sim, 0, sizeof(sim));
	port_b[PIT_POLLS + 1] = 0x20;
	fake_io_script(PORT_B, port_b, PIT_POLLS + 2);
	fake_io_set_default(PORT_B, 0);
	delay_calibrate();
	fake_cpu(0)->cr3 = BSP_CR3;
	fake_set_pause_hook(pause_hook, NULL);
	return 0;
}

static int teardown(void **state)
{
	fake_set_pause_hook(NULL, NULL);
	return 0;
}

/* Everything the console printed since the last reset of the fake. */
static const char *console(void)
{
	static uint32_t raw[FAKE_IO_LOG_SIZE];
	static char text[FAKE_IO_LOG_SIZE + 1];
	size_t n = fake_io_collect(COM1_DATA, FAKE_IO_OUT, raw, FAKE_IO_LOG_SIZE), len = 0;

	for (size_t i = 0; i < n; i++) {
		if (raw[i] != '\r') /* the UART gets CR LF */
			text[len++] = (char)raw[i];
	}
	text[len] = '\0';
	return text;
}

static void assert_printed(const char *line)
{
	if (strstr(console(), line) == NULL)
		fail_msg("console lacks \"%s\"; it has:\n%s", line, console());
}

static void assert_ipi(size_t i, uint32_t dest, uint32_t mode, uint32_t vector)
{
	struct fake_ipi ipi = fake_ipi_log(i);

	assert_int_equal(ipi.src_cpu, 0);
	assert_int_equal(ipi.dest, dest);
	assert_int_equal(ipi.delivery_mode, mode);
	assert_int_equal(ipi.vector, vector);
}

static void test_discover_puts_bsp_first(void **state)
{
	const uint8_t ids[] = {0, 1, 2, 3};

	machine(ids, 4);
	fake_set_apic_id(0, 2); /* the BSP is the MADT's third entry */
	fake_set_apic_id(2, 0);
	assert_int_equal(smp_discover(), 4);
	assert_int_equal(smp_cpu_count(), 4);
	assert_int_equal(smp_apic_id(0), 2);
	assert_int_equal(smp_apic_id(1), 0);
	assert_int_equal(smp_apic_id(2), 1);
	assert_int_equal(smp_apic_id(3), 3);
	assert_int_equal(smp_apic_id(4), UINT32_MAX);
	assert_printed("hv: smp: 4 CPUs (apic ids: 2 0 1 3)\n");
}

static void test_discover_without_bsp_fails(void **state)
{
	const uint8_t ids[] = {4, 5};

	acpi_put_machine(ids, 2);
	assert_true(smp_discover() < 0);
	assert_int_equal(smp_cpu_count(), 0);
	assert_printed("the boot CPU (apic id 0) is not among the 2 CPUs in the MADT");
}

static void test_discover_reports_bad_table(void **state)
{
	const uint8_t ids[] = {0, 1};
	char want[96];

	acpi_put_machine(ids, 2);
	lowmem[MADT_PA + 50] ^= 1;
	assert_true(smp_discover() < 0);
	assert_int_equal(smp_cpu_count(), 0);
	snprintf(want, sizeof(want), "hv: smp: ACPI MADT at 0x%x: table checksum is wrong",
	         MADT_PA);
	assert_printed(want);
}

static void test_start_before_discover_fails(void **state)
{
	assert_true(smp_discover() < 0); /* no ACPI tables at all */
	assert_int_equal(smp_start_aps(test_ap_main), -1);
	assert_int_equal(fake_ipi_count(), 0);
}

static void test_single_cpu_sends_nothing(void **state)
{
	const uint8_t ids[] = {0};

	machine(ids, 1);
	memset(tramp_page(), 0x5a, HV_PAGE_SIZE);
	assert_int_equal(smp_discover(), 1);
	assert_int_equal(smp_start_aps(test_ap_main), 0);
	assert_int_equal(fake_ipi_count(), 0);
	assert_int_equal(tramp_page()[0], 0x5a);
}

static void check_ap(size_t i, uint32_t cpu_index, uint32_t fake_cpu, uint32_t apic_id)
{
	const struct ap_seen *a = &sim.ap[i];

	assert_int_equal(a->fake_cpu, fake_cpu);
	assert_true(a->code_copied);
	assert_int_equal(a->params.cpu_index, cpu_index);
	assert_int_equal(a->params.cr3, BSP_CR3);
	assert_int_equal(a->params.stack_top, rt_cpu_stack_top(cpu_index));
	assert_int_equal(a->params.efer & (EFER_LME | EFER_NXE), EFER_LME | EFER_NXE);
	assert_int_equal(a->main_index, cpu_index);
	assert_int_equal(a->this_cpu, cpu_index);
	assert_int_equal(a->percpu_apic, apic_id);
}

static void test_start_aps_init_sipi_sipi_one_at_a_time(void **state)
{
	const uint8_t ids[] = {0, 1, 2, 3};
	const uint64_t per_us = delay_tsc_per_us();
	uint8_t guest_bytes[HV_PAGE_SIZE];

	machine(ids, 4);
	for (size_t i = 0; i < sizeof(guest_bytes); i++)
		guest_bytes[i] = (uint8_t)(i * 7 + 1);
	memcpy(tramp_page(), guest_bytes, sizeof(guest_bytes));
	assert_int_equal(smp_discover(), 4);
	assert_int_equal(smp_start_aps(test_ap_main), 0);

	/* Per AP, in CPU order: INIT, SIPI 0x08, SIPI 0x08; the next AP only after. */
	assert_int_equal(fake_ipi_log_len(), 9);
	for (uint32_t ap = 0; ap < 3; ap++) {
		assert_ipi(3 * ap, ap + 1, DM_INIT, 0);
		assert_ipi(3 * ap + 1, ap + 1, DM_STARTUP, 0x08);
		assert_ipi(3 * ap + 2, ap + 1, DM_STARTUP, 0x08);
		/* INIT -> SIPI -> 200 us -> SIPI: the fake is Intel family 6, which needs no
		 * 10 ms after INIT (libsmp/smp.c init_delay_us). */
		assert_true(sim.tsc_seen[3 * ap + 1] - sim.tsc_seen[3 * ap] < 200 * per_us);
		assert_true(sim.tsc_seen[3 * ap + 2] - sim.tsc_seen[3 * ap + 1] >= 200 * per_us);
	}
	assert_int_equal(sim.started, 3);
	for (uint32_t ap = 0; ap < 3; ap++)
		check_ap(ap, ap + 1, ap + 1, ap + 1);
	assert_printed("hv: cpu 1 (apic id 1) online\n");
	assert_printed("hv: cpu 2 (apic id 2) online\n");
	assert_printed("hv: cpu 3 (apic id 3) online\n");
	/* The guest's page is given back. */
	assert_memory_equal(tramp_page(), guest_bytes, sizeof(guest_bytes));
}

/* Any other processor waits the 10 ms of SDM Vol. 3A 8.4.4.1 after INIT. */
static void test_start_aps_waits_10ms_after_init_unless_intel_family_6(void **state)
{
	static const struct {
		uint32_t vendor[3]; /* EBX, EDX, ECX of CPUID leaf 0 */
		uint32_t eax1;      /* CPUID.1:EAX */
	} cpus[] = {
	    {{0x756e6547, 0x49656e69, 0x6c65746e}, 0x00000f29}, /* GenuineIntel family 15 */
	    {{0x68747541, 0x69746e65, 0x444d4163}, 0x00000f50}, /* AuthenticAMD family 15 */
	};
	const uint8_t ids[] = {0, 1};

	for (size_t i = 0; i < sizeof(cpus) / sizeof(cpus[0]); i++) {
		setup(state);
		const uint64_t per_us = delay_tsc_per_us();
		struct hw_cpuid_regs l0 = {0xb, cpus[i].vendor[0], cpus[i].vendor[2],
		                           cpus[i].vendor[1]};
		struct hw_cpuid_regs l1 = {cpus[i].eax1, 0x800, 0, 0};
		fake_cpuid_set(0, 0, &l0);
		fake_cpuid_set(1, 0, &l1);
		machine(ids, 2);
		assert_int_equal(smp_discover(), 2);
		assert_int_equal(smp_start_aps(test_ap_main), 0);
		assert_int_equal(fake_ipi_log_len(), 3);
		assert_ipi(0, 1, DM_INIT, 0);
		assert_true(sim.tsc_seen[1] - sim.tsc_seen[0] >= 10000 * per_us);
		assert_true(sim.tsc_seen[2] - sim.tsc_seen[1] >= 200 * per_us);
		teardown(state);
	}
}

static void test_start_aps_x2apic(void **state)
{
	struct madt_body m;
	const uint64_t tables[] = {MADT_PA};
	const uint32_t ids[] = {0x10, 0x200, 0x301};

	/* Every CPU in x2APIC mode, IDs past 8 bits: type 9 entries only. */
	madt_begin(&m);
	for (uint32_t i = 0; i < 3; i++) {
		madt_add_x2apic(&m, ids[i], 1, i);
		fake_set_apic_id(i, ids[i]);
		fake_msr_set_cpu(i, MSR_IA32_APIC_BASE,
		                 fake_msr_get_cpu(i, MSR_IA32_APIC_BASE) | APIC_BASE_X2APIC);
		sim.responsive[i] = true;
	}
	madt_put(MADT_PA, &m);
	acpi_put_xsdt(XSDT_PA, tables, 1);
	acpi_put_rsdp(RSDP_PA, 2, 0, XSDT_PA);

	assert_int_equal(smp_discover(), 3);
	assert_printed("hv: smp: 3 CPUs (apic ids: 16 512 769)\n");
	assert_int_equal(smp_start_aps(test_ap_main), 0);
	assert_int_equal(fake_ipi_log_len(), 6);
	for (uint32_t ap = 0; ap < 2; ap++) {
		for (uint32_t k = 0; k < 3; k++)
			assert_true(fake_ipi_log(3 * ap + k).x2apic);
		assert_ipi(3 * ap, ids[ap + 1], DM_INIT, 0);
		assert_ipi(3 * ap + 1, ids[ap + 1], DM_STARTUP, 0x08);
		assert_ipi(3 * ap + 2, ids[ap + 1], DM_STARTUP, 0x08);
		check_ap(ap, ap + 1, ap + 1, ids[ap + 1]);
	}
	assert_printed("hv: cpu 2 (apic id 769) online\n");
}

static void test_silent_ap_is_named_and_stops_bring_up(void **state)
{
	const uint8_t ids[] = {0, 1, 2, 3};
	const uint64_t per_us = delay_tsc_per_us();

	machine(ids, 4);
	sim.responsive[2] = false;
	assert_int_equal(smp_discover(), 4);
	assert_int_equal(smp_start_aps(test_ap_main), -1);

	/* CPU 1 started; CPU 2 got its INIT-SIPI-SIPI; CPU 3 was never touched. */
	assert_int_equal(sim.started, 1);
	assert_int_equal(fake_ipi_log_len(), 6);
	assert_ipi(3, 2, DM_INIT, 0);
	assert_ipi(5, 2, DM_STARTUP, 0x08);
	assert_printed("hv: cpu 1 (apic id 1) online\n");
	assert_printed("hv: smp: cpu 2 (apic id 2) did not start");
	assert_null(strstr(console(), "cpu 2 (apic id 2) online"));
	/* It waited about a second of TSC time after the last SIPI. */
	assert_true(hw_rdtsc() - sim.tsc_seen[5] >= 999000 * per_us);
	/* A late AP may still run the trampoline: the page is left in place. */
	assert_memory_equal(tramp_page(), ap_trampoline_code()->bytes,
	                    ap_trampoline_code()->params_offset);
}

static void test_delay_calibration_programs_pit_channel_2(void **state)
{
	uint32_t out[8];

	/* setup() calibrated with PIT_POLLS reads of port 0x61 before OUT went high,
	 * and each hw_rdtsc of the fake advances 1000 ticks: about (PIT_POLLS + 1)
	 * reads over 1 ms. */
	uint64_t per_us = delay_tsc_per_us();
	assert_true(per_us >= PIT_POLLS * 1000 / 1000);
	assert_true(per_us <= (PIT_POLLS + 2) * 1000 / 1000);

	assert_int_equal(fake_io_collect(0x43, FAKE_IO_OUT, out, 8), 1);
	assert_int_equal(out[0], 0xb0); /* channel 2, lo/hi byte, mode 0 */
	assert_int_equal(fake_io_collect(0x42, FAKE_IO_OUT, out, 8), 2);
	assert_int_equal(out[0] | out[1] << 8, 1193); /* 1 ms of 1.193182 MHz */
	/* Port B: gate on and speaker off during the count, then restored. */
	assert_int_equal(fake_io_collect(PORT_B, FAKE_IO_OUT, out, 8), 2);
	assert_int_equal(out[0] & 3, 1);
	assert_int_equal(out[1], 0);

	/* A delay lasts at least what it asked for. */
	uint64_t t0 = hw_rdtsc();
	delay_us(500);
	assert_true(hw_rdtsc() - t0 >= 500 * per_us);
}

static void test_delay_falls_back_without_pit(void **state)
{
	/* OUT never goes high (no PIT): calibration gives up and assumes 4 GHz. */
	fake_io_set_default(PORT_B, 0);
	fake_tsc_set(0, 1);
	delay_calibrate();
	assert_int_equal(delay_tsc_per_us(), DELAY_FALLBACK_TSC_PER_US);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_discover_puts_bsp_first, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_discover_without_bsp_fails, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_discover_reports_bad_table, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_start_before_discover_fails, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_single_cpu_sends_nothing, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_start_aps_init_sipi_sipi_one_at_a_time, setup,
	                                    teardown),
	    cmocka_unit_test_setup_teardown(test_start_aps_x2apic, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_silent_ap_is_named_and_stops_bring_up, setup,
	                                    teardown),
	    cmocka_unit_test_setup_teardown(
	        test_start_aps_waits_10ms_after_init_unless_intel_family_6, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_delay_calibration_programs_pit_channel_2, setup,
	                                    teardown),
	    cmocka_unit_test_setup_teardown(test_delay_falls_back_without_pit, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
