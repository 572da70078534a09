/*
 * libvmx quirks.c: detection picks Bochs's set and nothing elsewhere, the boot
 * option overrides it, and each workaround runs only while its quirk is on.
 * Its own process: the LAPIC trap is decided once per process, here with
 * init_pending and broadcast_start off.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "libvmx/ept.h"
#include "libvmx/quirks.h"
#include "libvmx/vmx.h"
#include "libvmx/vmx_internal.h"
#include "rt/console.h"
#include "tests/unit/vmx/test_vmx_env.h"

extern uint64_t vmx_fake_nmi_unblocks; /* vmx_entry_fake.c */

static struct vmx_platform_id platform(bool hv, bool madt, const char *oem)
{
	struct vmx_platform_id id = {.hypervisor_bit = hv, .acpi_madt = madt};
	memcpy(id.acpi_oem, oem, 6);
	return id;
}

static void test_detect_bochs_and_nothing_else(void **state)
{
	struct vmx_platform_id bochs = platform(false, true, "BOCHS ");
	assert_int_equal(vmx_quirks_detect(&bochs), VMX_QUIRKS_ALL);
	/* QEMU's firmware has the same OEM ID, but QEMU runs VMX only under KVM. */
	struct vmx_platform_id kvm = platform(true, true, "BOCHS ");
	assert_int_equal(vmx_quirks_detect(&kvm), VMX_QUIRKS_NONE);
	struct vmx_platform_id dell = platform(false, true, "DELL  ");
	assert_int_equal(vmx_quirks_detect(&dell), VMX_QUIRKS_NONE);
	struct vmx_platform_id no_acpi = platform(false, false, "BOCHS ");
	assert_int_equal(vmx_quirks_detect(&no_acpi), VMX_QUIRKS_NONE);
}

static void test_boot_option(void **state)
{
	uint32_t m;
	const uint32_t det = 1u << VMX_QUIRK_SMI_BLOCKING_SAVED;

	assert_true(vmx_quirks_choose(NULL, 0, det, &m));
	assert_int_equal(m, det);
	assert_true(vmx_quirks_choose("auto", 4, det, &m));
	assert_int_equal(m, det);
	assert_true(vmx_quirks_choose("all", 3, det, &m));
	assert_int_equal(m, VMX_QUIRKS_ALL);
	assert_true(vmx_quirks_choose("none", 4, det, &m));
	assert_int_equal(m, VMX_QUIRKS_NONE);
	const char *list = "nmi_blocked,init_pending";
	assert_true(vmx_quirks_choose(list, strlen(list), det, &m));
	assert_int_equal(m, (1u << VMX_QUIRK_NMI_BLOCKED_IN_ROOT) |
	                        (1u << VMX_QUIRK_INIT_STAYS_PENDING));
	/* Unknown words, empty items, a prefix of a name: refused, detection kept. */
	const char *bad[] = {"bochs", "nmi_blocked,", "nmi", "", "init_pending,,smi_blocking"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_false(vmx_quirks_choose(bad[i], strlen(bad[i]), det, &m));
		assert_int_equal(m, det);
	}
	/* Every name in the table is accepted alone. */
	for (unsigned q = 0; q < VMX_QUIRK_COUNT; q++) {
		const struct vmx_quirk_info *info = vmx_quirk_info((enum vmx_quirk)q);
		assert_non_null(info);
		assert_non_null(strstr(info->deviation, "SDM Vol. 3"));
		assert_true(vmx_quirks_choose(info->name, strlen(info->name), 0, &m));
		assert_int_equal(m, 1u << q);
	}
	assert_null(vmx_quirk_info(VMX_QUIRK_COUNT));
}

/* Under another hypervisor (CPUID.1:ECX[31]): not Bochs, without looking at
 * ACPI (the fake machine has no BIOS areas to search). */
static void test_boot_reads_the_machine(void **state)
{
	env_setup(1);
	struct hw_cpuid_regs leaf1 = {.ecx = 1u << 31};
	fake_cpuid_set(1, 0, &leaf1);
	console_notes_set_live(true); /* the line is a start-up note */
	env_console();
	vmx_quirks_boot(NULL);
	assert_int_equal(vmx_quirks_mask(), VMX_QUIRKS_NONE);
	assert_non_null(strstr(env_console(), "hv: quirks: not Bochs (ACPI OEM \"none\", CPUID "
	                                      "hypervisor bit 1): none (detected)\n"));
	vmx_quirks_boot("x=1 vmx_quirks=all y=2");
	assert_int_equal(vmx_quirks_mask(), VMX_QUIRKS_ALL);
	assert_non_null(strstr(env_console(), "hypervisor bit 1): init_pending broadcast_start "
	                                      "nmi_blocked smi_blocking (vmx_quirks=)\n"));
	vmx_quirks_boot("vmx_quirks=smi_blocking,bogus");
	assert_int_equal(vmx_quirks_mask(), VMX_QUIRKS_NONE);
	assert_non_null(strstr(env_console(), "(unknown vmx_quirks= value: detected)"));
	vmx_quirks_boot("vmx_quirks=smi_blocking");
	assert_int_equal(vmx_quirks_mask(), 1u << VMX_QUIRK_SMI_BLOCKING_SAVED);
	vmx_quirks_set(VMX_QUIRKS_ALL);
	console_notes_set_live(false);
}

/* A CPUID exit with "blocking by SMI" set in the guest interruptibility state. */
static uint32_t interruptibility_after_exit(struct vcpu *v)
{
	vmcs_set(VMCS_GUEST_INTERRUPTIBILITY.enc, INTERRUPTIBILITY_SMI | INTERRUPTIBILITY_STI);
	v->gpr[GPR_RAX] = 0;
	struct exit_fields f = {.reason = VMX_EXIT_CPUID, .instruction_len = 2};
	env_exit(v, &f);
	return (uint32_t)vmcs_get(VMCS_GUEST_INTERRUPTIBILITY.enc);
}

static void test_smi_blocking_cleared_only_with_its_quirk(void **state)
{
	struct vcpu *v = env_guest(1, NULL);

	vmx_quirks_set(VMX_QUIRKS_ALL & ~(1u << VMX_QUIRK_SMI_BLOCKING_SAVED));
	assert_true(interruptibility_after_exit(v) & INTERRUPTIBILITY_SMI);
	vmx_quirks_set(1u << VMX_QUIRK_SMI_BLOCKING_SAVED);
	assert_false(interruptibility_after_exit(v) & INTERRUPTIBILITY_SMI);
}

static void test_nmi_iret_only_with_its_quirk(void **state)
{
	struct vcpu *v = env_guest(2, NULL);
	struct exit_fields nmi = {.reason = VMX_EXIT_EXCEPTION_NMI,
	                          .intr_info = INTR_INFO(2, INTR_TYPE_NMI)};

	vmx_quirks_set(VMX_QUIRKS_ALL & ~(1u << VMX_QUIRK_NMI_BLOCKED_IN_ROOT));
	uint64_t before = vmx_fake_nmi_unblocks;
	env_exit(v, &nmi);
	assert_int_equal(vmx_fake_nmi_unblocks, before);
	/* The NMI itself is still the guest's (injected at the next entry). */
	assert_int_equal(vmcs_get(VMCS_VM_ENTRY_INTR_INFO.enc), INTR_INFO(2, INTR_TYPE_NMI));
	fake_set_cpu(1);
	struct exit_fields sipi = {.reason = VMX_EXIT_SIPI, .qualification = 8};
	env_exit(vmx_vcpu(1), &sipi);
	assert_int_equal(vmx_fake_nmi_unblocks, before);

	env_guest(2, NULL);
	vmx_quirks_set(1u << VMX_QUIRK_NMI_BLOCKED_IN_ROOT);
	env_exit(vmx_vcpu(0), &nmi);
	assert_int_equal(vmx_fake_nmi_unblocks, before + 1);
	fake_set_cpu(1);
	env_exit(vmx_vcpu(1), &sipi);
	assert_int_equal(vmx_fake_nmi_unblocks, before + 2);
	fake_set_cpu(0);
}

/* Does a guest WRMSR to the x2APIC ICR exit? (MSR bitmap) */
static bool icr_write_exits(void)
{
	const uint8_t *b = hw_phys_ptr(vmx_msr_bitmap_pa());
	uint32_t bit = MSR_X2APIC_ICR & 0x1fffu;
	return (b[2048 + bit / 8] >> (bit % 8)) & 1;
}

static void quirks_without_trap(void)
{
	vmx_quirks_set(VMX_QUIRKS_ALL & ~((1u << VMX_QUIRK_INIT_STAYS_PENDING) |
	                                  (1u << VMX_QUIRK_BROADCAST_START_IPI)));
}

/* Without init_pending and broadcast_start nothing is trapped: the LAPIC page
 * stays writable, the x2APIC ICR does not exit, and an INIT to a CPU waiting
 * for SIPI goes to the hardware like any IPI. The process's first guest (the
 * trap is set up once per process, when the boot CPU is prepared). */
static void test_no_lapic_trap_without_its_quirks(void **state)
{
	struct vcpu *v = env_guest_booted(3, NULL, quirks_without_trap);
	struct ept_mapping m;

	assert_true(vmx_vcpu(1)->waiting_for_sipi);
	assert_true(ept_lookup(env_eptp(), 0xfee00000, &m));
	assert_true(m.rwx & EPT_WRITE);
	assert_false(icr_write_exits());
	assert_false(vmx_guest_init_dropped(v, APIC_ICR_DM_INIT | APIC_ICR_LEVEL_ASSERT, 1));
	/* An INIT exit sending CPU 1 back to wait-for-SIPI traps nothing either. */
	fake_set_cpu(1);
	struct exit_fields sipi = {.reason = VMX_EXIT_SIPI, .qualification = 8};
	env_exit(vmx_vcpu(1), &sipi);
	struct exit_fields cpuid = {.reason = VMX_EXIT_CPUID, .instruction_len = 2};
	env_exit(vmx_vcpu(1), &cpuid);
	struct exit_fields init = {.reason = VMX_EXIT_INIT};
	env_exit(vmx_vcpu(1), &init);
	assert_true(vmx_vcpu(1)->waiting_for_sipi);
	fake_set_cpu(0);
	assert_true(ept_lookup(env_eptp(), 0xfee00000, &m));
	assert_true(m.rwx & EPT_WRITE);
	assert_false(icr_write_exits());
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_detect_bochs_and_nothing_else),
	    cmocka_unit_test(test_boot_option),
	    cmocka_unit_test(test_boot_reads_the_machine),
	    cmocka_unit_test(test_no_lapic_trap_without_its_quirks),
	    cmocka_unit_test(test_smi_blocking_cleared_only_with_its_quirk),
	    cmocka_unit_test(test_nmi_iret_only_with_its_quirk),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
