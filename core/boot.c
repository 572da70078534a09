/*
 * The boot sequence of every hypervisor image.
 *
 * rt/ brings the boot CPU to 64-bit C and calls hv_main(); libsmp starts the
 * other CPUs, each of which calls hv_ap_main(). Every CPU enters VMX root, then
 * waits until the boot CPU has built the guest's memory view (E820 map, EPT,
 * the INT 15h hook, the MBR at 0x7c00), and then enters the guest: the boot CPU
 * in real mode at 0000:7C00 like a BIOS boot, the others in wait-for-SIPI until
 * the guest starts them itself (docs/design.md section 4).
 */
#include "core/boot.h"

#include "core/debug_hypercall.h"
#include "core/dma_protection.h"
#include "core/quiesce_wiring.h"
#include "libquiesce/quiesce.h"
#include "libsmp/smp.h"
#include "libvmx/bios_hook.h"
#include "libvmx/e820.h"
#include "libvmx/ept.h"
#include "libvmx/guest_memory.h"
#include "libvmx/quirks.h"
#include "libvmx/vmx.h"
#include "libvmx/vmx_app.h"
#include "rt/acpi_fadt.h"
#include "rt/acpi_find.h"
#include "rt/boot.h"
#include "rt/boot_phase.h"
#include "rt/console.h"
#include "rt/multiboot.h"
#include "rt/panic.h"
#include "rt/power.h"
#include "rt/string.h"

/* Shared between the boot CPU and the APs; written before the release below. */
static struct e820_map guest_map;
static uint64_t guest_eptp;

/* Counts APs that finished VMXON; the boot CPU waits for all of them. */
static uint32_t aps_in_vmx_root;
/* Set (release) by the boot CPU once guest memory is ready. */
static uint32_t guest_memory_ready;

/*
 * The guest's ACPI sleep, soft power-off and FADT reset requests scrub first,
 * like the chipset's reset ports (libvmx/guest_reset.c, docs/design.md 6.1).
 */
static void watch_acpi_power(void)
{
	struct acpi_fadt_power p;
	uint64_t pa;
	uint32_t len;

	if (!acpi_find_table("FACP", &pa, &len) || !acpi_fadt_power(hw_phys_ptr(pa), len, &p)) {
		hv_printf("hv: no ACPI FADT: the guest's ACPI sleep requests are not watched\n");
		return;
	}
	vmx_guest_reset_watch_pm1(p.pm1a_cnt, p.pm1b_cnt);
	if (p.reset_io)
		vmx_guest_reset_watch_port(p.reset_port, p.reset_value);
	hv_note("hv: ACPI power control watched: PM1a 0x%x, PM1b 0x%x, reset register %s\n",
	          p.pm1a_cnt, p.pm1b_cnt, p.reset_io ? "an I/O port" : "none or not I/O");
}

const struct mb_module *boot_find_module(const struct mb_info *mbi, const char *name)
{
	for (uint32_t i = 0; i < mbi->module_count; i++) {
		if (strcmp(mbi->modules[i].string, name) == 0)
			return &mbi->modules[i];
	}
	return NULL;
}

static void wait_for_aps(uint32_t expected)
{
	while (__atomic_load_n(&aps_in_vmx_root, __ATOMIC_ACQUIRE) < expected)
		hw_pause();
}

void hv_main(const struct mb_info *mbi)
{
	char why[192];

	hv_printf("hv: %s hypervisor (hvkit) starting on CPU 0\n", hv_app.name);
	dma_protection_boot(mbi);
	if (!vmx_supported(why, sizeof(why))) {
		hv_printf("VMX unsupported: %s\n", why);
		hv_printf("hv: stopping: this image needs Intel VT-x (see README: QEMU needs KVM "
		          "with nested VMX; Bochs has it)\n");
		hv_power_off(HV_POWER_NO_VMX);
	}
	vmx_print_caps();
	/* Which emulator workarounds run (libvmx/quirks.c): before the first VMXON. */
	vmx_quirks_boot(rt_boot_info()->cmdline);
	vmx_set_app(&hv_app);
	if (vmx_cpu_init(0) != 0)
		hv_panic("VMXON failed on the boot CPU");
	boot_phase("vmx");

	if (smp_discover() <= 0)
		hv_panic("no CPUs found in the ACPI MADT");
	uint32_t cpus = smp_cpu_count();
	quiesce_wiring_install(cpus, rt_boot_info()->cmdline);
	/* After libquiesce's hook (libvmx runs them in registration order). */
	if (hv_app.before_entry)
		vmx_add_before_entry_hook(hv_app.before_entry);
	debug_hypercall_install();
	watch_acpi_power();
	quiesce_cpu_online(0);
	boot_phase("platform");
	if (smp_start_aps(hv_ap_main) != 0)
		hv_panic("not every CPU in the MADT could be started");
	wait_for_aps(cpus - 1);
	hv_printf("hv: %u CPUs in VMX root\n", cpus);
	boot_phase("aps");

	const struct mb_module *mbr = boot_find_module(mbi, "mbr");
	if (mbr == NULL) {
		hv_printf("hv: no guest disk (GRUB loaded no MBR module from (hd0)): stopping\n");
		hv_power_off(HV_POWER_OK);
	}
	if (mbr->end - mbr->start < 512)
		hv_panic("MBR module is %u bytes, expected 512", (unsigned)(mbr->end - mbr->start));

	if (e820_build_guest_map(mbi, &guest_map) != 0)
		hv_panic("cannot build the guest E820 map");
	if (bios_hook_install(&guest_map) != 0)
		hv_panic("cannot install the INT 15h hook");
	boot_phase("memmap");
	guest_eptp = ept_build(&guest_map);
	if (guest_eptp == 0)
		hv_panic("cannot build the EPT (out of hypervisor memory?)");
	dma_protection_hide_units(guest_eptp);
	boot_phase("ept");
	if (guest_load_mbr(hw_phys_ptr(mbr->start)) != 0) {
		/* Bad input, not a hypervisor fault: say so and stop like a BIOS would. */
		hv_printf("hv: the guest disk is not bootable (no 0x55AA signature): stopping\n");
		hv_power_off(HV_POWER_NO_GUEST);
	}

	__atomic_store_n(&guest_memory_ready, 1, __ATOMIC_RELEASE);
	hv_printf("hv: starting the guest at 0000:7C00 on CPU 0\n");
	/* The guest may write the UART too from its first instruction (rt/console.c). */
	console_end_bursts();
	boot_phase("launch");
	vmx_launch_guest(0, true, guest_eptp);
}

void hv_ap_main(uint32_t cpu)
{
	if (vmx_cpu_init(cpu) != 0)
		hv_panic("VMXON failed");
	quiesce_cpu_online(cpu);
	__atomic_add_fetch(&aps_in_vmx_root, 1, __ATOMIC_RELEASE);
	while (__atomic_load_n(&guest_memory_ready, __ATOMIC_ACQUIRE) == 0)
		hw_pause();
	vmx_launch_guest(cpu, false, guest_eptp);
}
