/*
 * CPU discovery (ACPI MADT) and AP start-up by INIT-SIPI-SIPI.
 *
 * SDM Vol. 3A 9.4.4.1 ("Typical BSP Initialization Sequence"): INIT, wait
 * 10 ms, SIPI, wait 200 us, SIPI; the 10 ms are skipped on Intel family 6
 * (init_delay_us()). APs start one at a time because they share
 * the trampoline page and its parameter block; the BSP moves on only when the
 * AP has said it is alive, which it does after it stopped reading the page.
 */
#include "libsmp/smp.h"

#include "hw/hw.h"
#include "hw/x86_defs.h"
#include "libsmp/ap_trampoline.h"
#include "libsmp/delay.h"
#include "libsmp/lapic.h"
#include "libsmp/madt.h"
#include "libsmp/phys.h"
#include "rt/boot.h"
#include "rt/console.h"
#include "rt/layout.h"
#include "rt/panic.h"
#include "rt/percpu.h"
#include "rt/string.h"

#define INIT_DELAY_US       10000u
#define SIPI_DELAY_US       200u
#define AP_ALIVE_TIMEOUT_US 1000000u

/* Index 0 is the BSP once smp_discover() succeeded. Written only by the BSP
 * before any AP starts; read-only afterwards. */
static struct smp_cpu_list cpus;
static void (*ap_main_fn)(uint32_t cpu_index);
/* Set (release) by each AP once it no longer needs the trampoline page. */
static uint32_t ap_alive[HV_MAX_CPUS];
/* The guest's bytes under the trampoline, put back after the last AP. */
static uint8_t saved_page[HV_PAGE_SIZE];

uint32_t smp_cpu_count(void)
{
	return cpus.count;
}

uint32_t smp_apic_id(uint32_t cpu_index)
{
	return cpu_index < cpus.count ? cpus.apic_id[cpu_index] : UINT32_MAX;
}

static void print_cpus(void)
{
	char line[32 + HV_MAX_CPUS * 11];
	int n = hv_snprintf(line, sizeof(line), "hv: smp: %u CPUs (apic ids:", cpus.count);

	for (uint32_t i = 0; i < cpus.count && n > 0 && (size_t)n < sizeof(line); i++)
		n += hv_snprintf(line + n, sizeof(line) - (size_t)n, " %u", cpus.apic_id[i]);
	hv_note("%s)\n", line);
}

int smp_discover(void)
{
	uint32_t bsp = lapic_id();
	uint32_t at = 0;
	int err = madt_find_cpus(&cpus);

	if (err != MADT_OK) {
		hv_printf("hv: smp: ACPI %s at 0x%llx: %s\n", cpus.error_table,
		          (unsigned long long)cpus.error_pa, madt_strerror(err));
		cpus.count = 0;
		return err;
	}
	while (at < cpus.count && cpus.apic_id[at] != bsp)
		at++;
	if (at == cpus.count) {
		hv_printf(
		    "hv: smp: the boot CPU (apic id %u) is not among the %u CPUs in the MADT\n",
		    bsp, cpus.count);
		cpus.count = 0;
		return -1;
	}
	/* The BSP becomes index 0; the others keep their MADT order. */
	memmove(&cpus.apic_id[1], &cpus.apic_id[0], at * sizeof(cpus.apic_id[0]));
	cpus.apic_id[0] = bsp;
	print_cpus();
	if (cpus.dropped != 0)
		hv_printf("hv: smp: %u more CPUs ignored (HV_MAX_CPUS is %u)\n", cpus.dropped,
		          (unsigned)HV_MAX_CPUS);
	return (int)cpus.count;
}

_Noreturn void smp_ap_entry(uint32_t cpu_index)
{
	uint32_t apic_id = cpus.apic_id[cpu_index];

	rt_ap_init(cpu_index, apic_id);
	if (lapic_id() != apic_id)
		hv_panic("CPU %u has apic id %u, but the MADT entry started was %u", cpu_index,
		         lapic_id(), apic_id);
	__atomic_store_n(&ap_alive[cpu_index], 1, __ATOMIC_RELEASE);
	ap_main_fn(cpu_index);
	hv_panic("ap_main returned on CPU %u", cpu_index);
}

static bool send_and_wait(uint32_t cpu, const char *what)
{
	if (lapic_wait_icr_idle())
		return true;
	hv_printf("hv: smp: cpu %u (apic id %u): %s IPI still pending in the ICR\n", cpu,
	          cpus.apic_id[cpu], what);
	return false;
}

/*
 * The wait between INIT and the first SIPI. The 10 ms of SDM Vol. 3A 9.4.4.1
 * are the conservative figure for every processor; Linux has skipped them on
 * Intel family 6 (P6 to today's cores) for years (arch/x86/kernel/smpboot.c,
 * smp_quirk_init_udelay), and so does this. 10 ms are 2M ticks of start-up
 * per AP in Bochs.
 * Family: CPUID.1:EAX[11:8] (SDM Vol. 2A, CPUID, Figure 3-6).
 */
static uint32_t init_delay_us(void)
{
	struct hw_cpuid_regs r;

	hw_cpuid(0, 0, &r);
	bool intel = r.ebx == 0x756e6547 && r.edx == 0x49656e69 && r.ecx == 0x6c65746e;
	hw_cpuid(1, 0, &r);
	return intel && ((r.eax >> 8) & 0xf) == 6 ? 0 : INIT_DELAY_US;
}

static bool ap_is_alive(uint32_t cpu)
{
	return __atomic_load_n(&ap_alive[cpu], __ATOMIC_ACQUIRE) != 0;
}

static int start_ap(uint32_t cpu, struct ap_tramp_params *params, uint32_t init_us)
{
	uint32_t apic_id = cpus.apic_id[cpu];
	uint64_t start;

	/* rt owns the per-CPU stacks; percpu.stack_top already names this one. */
	params->stack_top = rt_cpu_stack_top(cpu);
	params->cpu_index = cpu;
	__atomic_store_n(&ap_alive[cpu], 0, __ATOMIC_RELEASE);

	lapic_send_init(apic_id);
	if (!send_and_wait(cpu, "INIT"))
		return -1;
	delay_us(init_us);
	lapic_send_sipi(apic_id, AP_TRAMPOLINE_SIPI_VECTOR);
	if (!send_and_wait(cpu, "SIPI"))
		return -1;
	delay_us(SIPI_DELAY_US);
	/* The second SIPI is ignored by an AP that already left wait-for-SIPI. */
	lapic_send_sipi(apic_id, AP_TRAMPOLINE_SIPI_VECTOR);
	if (!send_and_wait(cpu, "SIPI"))
		return -1;

	start = hw_rdtsc();
	while (!ap_is_alive(cpu)) {
		if (delay_us_since(start) >= AP_ALIVE_TIMEOUT_US) {
			hv_printf("hv: smp: cpu %u (apic id %u) did not start: no sign of life "
			          "1 s after INIT-SIPI-SIPI\n",
			          cpu, apic_id);
			return -1;
		}
		hw_pause();
	}
	hv_note("hv: cpu %u (apic id %u) online\n", cpu, apic_id);
	return 0;
}

int smp_start_aps(void (*ap_main)(uint32_t cpu_index))
{
	const struct ap_trampoline_code *code = ap_trampoline_code();
	uint8_t *page = smp_phys(AP_TRAMPOLINE_PA, HV_PAGE_SIZE);
	struct ap_tramp_params *params;
	int rc = 0;

	if (cpus.count == 0) {
		hv_printf("hv: smp: smp_start_aps() before a successful smp_discover()\n");
		return -1;
	}
	if (cpus.count == 1)
		return 0;
	if (page == NULL || code->size > HV_PAGE_SIZE) {
		hv_printf("hv: smp: cannot use the trampoline page at 0x%x\n", AP_TRAMPOLINE_PA);
		return -1;
	}
	params = (struct ap_tramp_params *)(page + code->params_offset);
	ap_main_fn = ap_main;
	(void)delay_tsc_per_us(); /* calibrate now, not inside the first delay */

	memcpy(saved_page, page, sizeof(saved_page));
	memcpy(page, code->bytes, code->size);
	params->cr3 = hw_read_cr3();
	params->efer = (uint32_t)(hw_rdmsr(MSR_IA32_EFER) & (EFER_LME | EFER_NXE)) | EFER_LME;
	params->entry = (uint64_t)(uintptr_t)smp_ap_entry;

	uint32_t init_us = init_delay_us();
	for (uint32_t cpu = 1; cpu < cpus.count && rc == 0; cpu++)
		rc = start_ap(cpu, params, init_us);

	/* After a failure a late AP might still run the trampoline: leave it. */
	if (rc == 0)
		memcpy(page, saved_page, sizeof(saved_page));
	return rc;
}
