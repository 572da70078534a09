/* libvmx/vmx_caps.c: control words from the capability MSRs, and refusals. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "hw/fake/fake_hw.h"
#include "libvmx/vmx.h"
#include "libvmx/vmx_caps.h"

static struct vmx_cap_msrs msrs;

static int setup(void **state)
{
	fake_hw_reset();
	vmx_caps_read(&msrs);
	return 0;
}

/* Every control word: allowed-0 bits set, nothing outside allowed-1. */
static void assert_word_valid(uint64_t cap, uint32_t word)
{
	assert_int_equal(word & (uint32_t)cap, (uint32_t)cap);
	assert_int_equal(word & ~(uint32_t)(cap >> 32), 0);
}

static void test_default_cpu_is_accepted(void **state)
{
	struct vmx_config c;
	char why[256] = "";

	assert_true(vmx_caps_compute(&msrs, &c, why, sizeof(why)));
	assert_int_equal(c.revision_id, (uint32_t)(msrs.basic & 0x7fffffff));
	assert_word_valid(msrs.pin, c.pin);
	assert_word_valid(msrs.proc, c.proc);
	assert_word_valid(msrs.proc2, c.proc2);
	assert_word_valid(msrs.exit, c.exit);
	assert_word_valid(msrs.entry, c.entry);
	assert_true(c.pin & PIN_NMI_EXITING);
	assert_true(c.pin & PIN_VIRTUAL_NMIS);
	assert_false(c.pin & PIN_PREEMPTION_TIMER); /* available, not wanted by default */
	assert_true(c.preemption_timer);
	assert_true(c.proc & PROC_USE_IO_BITMAPS);
	assert_true(c.proc & PROC_USE_MSR_BITMAPS);
	assert_true(c.proc & PROC_ACTIVATE_SECONDARY);
	assert_false(c.proc & PROC_NMI_WINDOW_EXITING); /* only on demand */
	assert_false(c.proc & PROC_HLT_EXITING);
	assert_false(c.proc & PROC_UNCONDITIONAL_IO_EXITING);
	assert_true(c.proc2 & PROC2_ENABLE_EPT);
	assert_true(c.proc2 & PROC2_ENABLE_VPID);
	assert_true(c.proc2 & PROC2_UNRESTRICTED_GUEST);
	/* Optional, on when the CPU has them so the guest sees them work. */
	assert_int_equal(!!(c.proc2 & PROC2_ENABLE_RDTSCP),
	                 !!(msrs.proc2 >> 32 & PROC2_ENABLE_RDTSCP));
	assert_int_equal(!!(c.proc2 & PROC2_ENABLE_XSAVES),
	                 !!(msrs.proc2 >> 32 & PROC2_ENABLE_XSAVES));
	assert_true(c.exit & EXIT_HOST_ADDRESS_SPACE_SIZE);
	assert_true(c.exit & EXIT_LOAD_IA32_EFER);
	assert_true(c.exit & EXIT_SAVE_IA32_PAT);
	assert_true(c.entry & ENTRY_LOAD_IA32_EFER);
	assert_false(c.entry & ENTRY_IA32E_MODE_GUEST);
}

static void test_true_msrs_used_when_basic_bit55(void **state)
{
	/* The fake's TRUE_PROCBASED lets CR3-load/store exiting be 0; the plain MSR forces them. */
	assert_true(msrs.basic & VMX_BASIC_TRUE_CTLS);
	assert_int_equal(msrs.proc, fake_msr_get(MSR_IA32_VMX_TRUE_PROCBASED_CTLS));
	struct vmx_config c;
	char why[256];
	assert_true(vmx_caps_compute(&msrs, &c, why, sizeof(why)));
	assert_false(c.proc & PROC_CR3_LOAD_EXITING);

	fake_msr_set(MSR_IA32_VMX_BASIC, msrs.basic & ~VMX_BASIC_TRUE_CTLS);
	struct vmx_cap_msrs plain;
	vmx_caps_read(&plain);
	assert_int_equal(plain.proc, fake_msr_get(MSR_IA32_VMX_PROCBASED_CTLS));
	assert_true(vmx_caps_compute(&plain, &c, why, sizeof(why)));
	assert_true(c.proc & PROC_CR3_LOAD_EXITING); /* forced by allowed-0 */
}

static void test_each_missing_feature_is_named(void **state)
{
	struct vmx_cap_msrs m;
	const struct {
		size_t offset;
		uint64_t bit;
		const char *name;
	} cases[] = {
	    {offsetof(struct vmx_cap_msrs, pin), (uint64_t)PIN_NMI_EXITING << 32, "NMI exiting"},
	    {offsetof(struct vmx_cap_msrs, pin), (uint64_t)PIN_VIRTUAL_NMIS << 32, "virtual NMIs"},
	    {offsetof(struct vmx_cap_msrs, proc), (uint64_t)PROC_NMI_WINDOW_EXITING << 32,
	     "NMI-window exiting"},
	    {offsetof(struct vmx_cap_msrs, proc), (uint64_t)PROC_USE_IO_BITMAPS << 32,
	     "I/O bitmaps"},
	    {offsetof(struct vmx_cap_msrs, proc), (uint64_t)PROC_USE_MSR_BITMAPS << 32,
	     "MSR bitmaps"},
	    {offsetof(struct vmx_cap_msrs, proc2), (uint64_t)PROC2_ENABLE_EPT << 32, "EPT"},
	    {offsetof(struct vmx_cap_msrs, proc2), (uint64_t)PROC2_UNRESTRICTED_GUEST << 32,
	     "unrestricted guest"},
	    {offsetof(struct vmx_cap_msrs, proc2), (uint64_t)PROC2_ENABLE_VPID << 32, "VPID"},
	    {offsetof(struct vmx_cap_msrs, misc), VMX_MISC_ACTIVITY_WAIT_SIPI,
	     "activity state wait-for-SIPI"},
	    {offsetof(struct vmx_cap_msrs, ept_vpid), VMX_EPT_CAP_WALK_4, "EPT 4-level page walk"},
	    {offsetof(struct vmx_cap_msrs, ept_vpid), VMX_EPT_CAP_MEMTYPE_WB,
	     "EPT write-back memory type"},
	    {offsetof(struct vmx_cap_msrs, ept_vpid), VMX_EPT_CAP_2MB_PAGES, "EPT 2 MiB pages"},
	    {offsetof(struct vmx_cap_msrs, ept_vpid), VMX_EPT_CAP_INVEPT_SINGLE,
	     "INVEPT single-context"},
	    {offsetof(struct vmx_cap_msrs, exit), (uint64_t)EXIT_LOAD_IA32_EFER << 32,
	     "load IA32_EFER on VM exit"},
	    {offsetof(struct vmx_cap_msrs, entry), (uint64_t)ENTRY_LOAD_IA32_PAT << 32,
	     "load IA32_PAT on VM entry"},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct vmx_config c;
		char why[512] = "";
		uint64_t *w;

		m = msrs;
		w = (uint64_t *)((char *)&m + cases[i].offset);
		*w &= ~cases[i].bit;
		assert_false(vmx_caps_compute(&m, &c, why, sizeof(why)));
		assert_non_null(strstr(why, "VMX lacks required features"));
		assert_non_null(strstr(why, cases[i].name));
	}
}

static void test_every_missing_feature_is_named_at_once(void **state)
{
	struct vmx_cap_msrs m = msrs;
	struct vmx_config c;
	char why[512] = "";

	/* No secondary controls: EPT, unrestricted guest and VPID are all gone. */
	m.proc &= ~((uint64_t)PROC_ACTIVATE_SECONDARY << 32);
	m.pin &= ~((uint64_t)PIN_VIRTUAL_NMIS << 32);
	assert_false(vmx_caps_compute(&m, &c, why, sizeof(why)));
	const char *names[] = {"secondary controls", "EPT", "unrestricted guest", "VPID",
	                       "virtual NMIs"};
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		assert_non_null(strstr(why, names[i]));
	assert_null(strstr(why, "NMI exiting"));
}

static void test_no_vmx_in_cpuid(void **state)
{
	struct hw_cpuid_regs l1 = {0x50654, 0, 0, 0};
	char why[512] = "";

	fake_cpuid_set(1, 0, &l1);
	assert_false(vmx_supported(why, sizeof(why)));
	assert_memory_equal(why, "CPUID.1:ECX.VMX[bit 5] = 0",
	                    strlen("CPUID.1:ECX.VMX[bit 5] = 0"));
}

static void test_feature_control_locked_off(void **state)
{
	char why[512] = "";

	fake_msr_set(MSR_IA32_FEATURE_CONTROL, FEATURE_CONTROL_LOCKED);
	assert_false(vmx_supported(why, sizeof(why)));
	assert_non_null(strstr(why, "IA32_FEATURE_CONTROL"));
	assert_non_null(strstr(why, "firmware"));
}

static void test_feature_control_unlocked_is_set_and_locked(void **state)
{
	char why[512] = "";

	fake_msr_set(MSR_IA32_FEATURE_CONTROL, 0);
	assert_true(vmx_supported(why, sizeof(why)));
	uint64_t fc = fake_msr_get(MSR_IA32_FEATURE_CONTROL);
	assert_true(fc & FEATURE_CONTROL_LOCKED);
	assert_true(fc & FEATURE_CONTROL_VMX_OUTSIDE_SMX);
	assert_int_equal(vmx_config()->pin & PIN_NMI_EXITING, PIN_NMI_EXITING);
}

static void test_caps_line(void **state)
{
	char line[256];

	vmx_caps_format(&msrs, line, sizeof(line));
	assert_string_equal(line, "ept=yes unrestricted-guest=yes vpid=yes nmi-exiting=yes "
	                          "virtual-nmis=yes nmi-window=yes preemption-timer=yes");
	struct vmx_cap_msrs m = msrs;
	m.pin &= ~((uint64_t)PIN_PREEMPTION_TIMER << 32);
	m.proc2 &= ~((uint64_t)PROC2_ENABLE_VPID << 32);
	vmx_caps_format(&m, line, sizeof(line));
	assert_string_equal(line, "ept=yes unrestricted-guest=yes vpid=no nmi-exiting=yes "
	                          "virtual-nmis=yes nmi-window=yes preemption-timer=no");
}

static void test_caps_diff_names_the_msr(void **state)
{
	struct vmx_cap_msrs m = msrs;
	char buf[160] = "";

	assert_false(vmx_caps_diff(&m, &msrs, buf, sizeof(buf)));
	m.ept_vpid &= ~VMX_EPT_CAP_2MB_PAGES;
	assert_true(vmx_caps_diff(&m, &msrs, buf, sizeof(buf)));
	assert_non_null(strstr(buf, "IA32_VMX_EPT_VPID_CAP"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup(test_default_cpu_is_accepted, setup),
	    cmocka_unit_test_setup(test_true_msrs_used_when_basic_bit55, setup),
	    cmocka_unit_test_setup(test_each_missing_feature_is_named, setup),
	    cmocka_unit_test_setup(test_every_missing_feature_is_named_at_once, setup),
	    cmocka_unit_test_setup(test_no_vmx_in_cpuid, setup),
	    cmocka_unit_test_setup(test_feature_control_locked_off, setup),
	    cmocka_unit_test_setup(test_feature_control_unlocked_is_set_and_locked, setup),
	    cmocka_unit_test_setup(test_caps_line, setup),
	    cmocka_unit_test_setup(test_caps_diff_names_the_msr, setup),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
