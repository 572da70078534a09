/* Test guest: boots, finds out about the machine, runs the cases, powers off. */
#include "guest/acpi.h"
#include "guest/bench/bench.h"
#include "guest/cases.h"
#include "guest/cmdline.h"
#include "guest/console.h"
#include "guest/lapic.h"
#include "guest/memmap.h"
#include "guest/pic.h"
#include "guest/runner.h"
#include "guest/smp.h"
#include "guest/time.h"
#include "guest/trap.h"

#define MULTIBOOT_BOOTLOADER_MAGIC 0x2badb002

static const struct test_case cases[] = {
    {"smp", case_smp},
    {"hv_memory_hidden", case_hv_memory_hidden},
    {"cpuid", case_cpuid},
    {"msr", case_msr},
    {"apic_base_locked", case_apic_base_locked},
    {"idt_exceptions", case_idt_exceptions},
    {"task_switch", case_task_switch},
    {"pit_or_apic_timer", case_timer},
    {"nmi_self", case_nmi_self},
    /* Last: switching to x2APIC mode cannot be undone without disabling the LAPIC. */
    {"x2apic_ipi", case_x2apic_ipi},
};

_Noreturn void guest_main(uint32_t magic, uint32_t mbi_pa);

_Noreturn void guest_main(uint32_t magic, uint32_t mbi_pa)
{
	bench_mark_entry();
	con_init();
	runner_info("start (multiboot magic %x)", magic);
	if (magic == MULTIBOOT_BOOTLOADER_MAGIC) {
		memmap_init(mbi_pa);
		bench_parse_cmdline(mbi_pa);
		nmi_storm_parse_cmdline(mbi_pa);
		pal_parse_cmdline(mbi_pa);
		smp_parse_cmdline(mbi_pa);
		sweep_parse_cmdline(mbi_pa);
		guest_power_off_with_outs = cmdline_has_word(mbi_pa, "outs_poweroff");
		fuzz_parse_cmdline(mbi_pa);
		wpmon_parse_cmdline(mbi_pa);
	}
	memmap_print();

	trap_init();
	pic_init_masked();
	lapic_enable();
	time_init();

	guest_env.hv_region = memmap_classify(HV_REGION_BASE, HV_REGION_SIZE);
	guest_env.bsp_apic_id = lapic_id();
	guest_env.ncpus = acpi_madt_cpus(guest_env.apic_ids, SMP_MAX_CPUS);
	runner_info("hypervisor region %x-%x is %s: %s", HV_REGION_BASE,
	            HV_REGION_BASE + HV_REGION_SIZE, mem_kind_name(guest_env.hv_region),
	            guest_under_hv() ? "under the hypervisor" : "no hypervisor");
	runner_info("MADT lists %u CPUs, boot CPU APIC id %u", guest_env.ncpus,
	            guest_env.bsp_apic_id);

	/*
	 * `bench` on the command line: the workloads of ./hv compare instead of the
	 * cases; `pal`: the TrustVisor PAL cases instead; both: the workloads, then
	 * the PAL cases, one DONE line.
	 */
	if (fuzz_requested())
		runner_run(fuzz_cases, fuzz_case_count);
	if (wpmon_requested())
		runner_run(wpmon_cases, wpmon_case_count);
	if (sweep_requested())
		runner_run(sweep_cases, sweep_case_count);
	if (bench_requested() && pal_requested())
		runner_run_some(bench_cases, bench_case_count);
	else if (bench_requested())
		runner_run(bench_cases, bench_case_count);
	if (pal_reset_requested())
		runner_run(pal_reset_cases, pal_reset_case_count);
	if (pal_requested())
		runner_run(pal_cases, pal_case_count);
	if (nmi_storm_requested())
		runner_run(nmi_storm_cases, nmi_storm_case_count);
	runner_run(cases, sizeof(cases) / sizeof(cases[0]));
}
