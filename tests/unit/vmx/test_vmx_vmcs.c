/* libvmx: VMXON per CPU and the VMCS a guest starts with (host, controls, guest). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "libvmx/ept.h"
#include "libvmx/vmx.h"
#include "libvmx/vmx_caps.h"
#include "libvmx/vmx_internal.h"
#include "tests/unit/vmx/test_vmx_env.h"

#define EPTP env_eptp()

static void test_vmxon_sets_fixed_bits_and_loads_vmcs(void **state)
{
	env_setup(2);
	for (uint32_t cpu = 0; cpu < 2; cpu++) {
		struct fake_cpu *c = fake_cpu(cpu);
		struct vcpu *v = vmx_vcpu(cpu);
		assert_true(c->vmx_on);
		assert_true(c->cr4 & CR4_VMXE);
		assert_true(c->cr4 & CR4_OSXSAVE); /* the CPU has XSAVE: guest XSETBV runs here */
		assert_int_equal(c->current_vmcs, v->vmcs_pa);
		/* VMXON region and VMCS carry the revision id. */
		assert_int_equal(
		    *(uint32_t *)hw_phys_ptr(c->vmxon_pa),
		    (uint32_t)(fake_msr_get_cpu(cpu, MSR_IA32_VMX_BASIC) & 0x7fffffff));
		assert_int_not_equal(c->vmxon_pa, v->vmcs_pa);
		assert_int_equal(v->vpid, cpu + 1);
		assert_int_equal(v->exit_stack_top % 4096, 0);
	}
}

static void test_vmxon_failure_is_reported(void **state)
{
	env_setup(1);
	fake_set_cpu(1);
	fake_vmx_script_result(FAKE_OP_VMXON, HW_VMX_FAIL_INVALID, 0);
	assert_int_equal(vmx_cpu_init(1), -1);
	assert_non_null(strstr(env_console(), "VMXON on CPU 1 failed: VMfailInvalid"));
	fake_vmx_script_result(FAKE_OP_VMXON, HW_VMX_OK, 0);
	/* No current VMCS yet: a failing VMPTRLD can only be VMfailInvalid (SDM 31.2). */
	fake_vmx_script_result(FAKE_OP_VMPTRLD, HW_VMX_FAIL_VALID, VMXERR_VMPTRLD_WRONG_REVISION);
	assert_int_equal(vmx_cpu_init(1), -1);
	assert_non_null(strstr(env_console(), "VMPTRLD on CPU 1 failed: VMfailInvalid"));
	fake_vmx_script_result(FAKE_OP_VMPTRLD, HW_VMX_OK, 0);
}

static void test_entry_failure_names_the_vm_instruction_error(void **state)
{
	struct vcpu *v = env_guest(1, NULL);

	vmcs_set(VMCS_VM_INSTRUCTION_ERROR.enc, VMXERR_ENTRY_INVALID_CONTROL_FIELD);
	expect_assert_failure(vmx_entry_failed(v, HW_VMX_FAIL_VALID));
	assert_non_null(strstr(env_console(), "VMLAUNCH failed on CPU 0: VM-instruction error 7 "
	                                      "(VM entry with invalid control field(s))"));
	v->launched = 1;
	vmcs_set(VMCS_VM_INSTRUCTION_ERROR.enc, VMXERR_ENTRY_INVALID_HOST_STATE);
	expect_assert_failure(vmx_entry_failed(v, HW_VMX_FAIL_VALID));
	assert_non_null(strstr(env_console(), "VMRESUME failed on CPU 0: VM-instruction error 8 "
	                                      "(VM entry with invalid host-state field(s))"));
}

/* Every VMWRITE/VMREAD/INVEPT failure reaches libvmx's one handler: a panic that
 * names the instruction, the field, the value and the VM-instruction error. */
static void test_failed_vmx_instruction_panics_with_what_failed(void **state)
{
	(void)state;
	env_guest(1, NULL);

	fake_vmx_script_result(FAKE_OP_VMWRITE, HW_VMX_FAIL_VALID,
	                       VMXERR_VMWRITE_READ_ONLY_COMPONENT);
	expect_assert_failure(vmcs_write32(VMCS_PIN_BASED_CONTROLS, 0x16));
	const char *out = env_console();
	assert_non_null(strstr(out,
	                       "PANIC on CPU 0: libvmx: VMWRITE 0x4000 (value 0x16) failed: "
	                       "VM-instruction error 13 (VMWRITE to read-only VMCS component)"));
	/* The panic hook still dumped the VMCS: the current one is intact. */
	assert_non_null(strstr(out, "hv: vmcs: controls pin"));
	fake_vmx_script_result(FAKE_OP_VMWRITE, HW_VMX_OK, 0);

	fake_vmx_script_result(FAKE_OP_VMREAD, HW_VMX_FAIL_INVALID, 0);
	expect_assert_failure(vmcs_read64(VMCS_GUEST_PHYSICAL_ADDRESS));
	assert_non_null(strstr(env_console(), "libvmx: VMREAD 0x2400 (value 0x0) failed: "
	                                      "VMfailInvalid (no current VMCS)"));
	fake_vmx_script_result(FAKE_OP_VMREAD, HW_VMX_OK, 0);

	fake_vmx_script_result(FAKE_OP_INVEPT, HW_VMX_FAIL_VALID,
	                       VMXERR_INVALID_INVEPT_INVVPID_OPERAND);
	expect_assert_failure(ept_invalidate(0x1234005e));
	assert_non_null(strstr(env_console(), "libvmx: INVEPT type 0x1 (value 0x1234005e) failed: "
	                                      "VM-instruction error 28"));
	fake_vmx_script_result(FAKE_OP_INVEPT, HW_VMX_OK, 0);
}

static void test_ap_with_different_caps_panics(void **state)
{
	env_setup(1);
	fake_set_cpu(1);
	fake_msr_set_cpu(1, MSR_IA32_VMX_EPT_VPID_CAP,
	                 fake_msr_get_cpu(1, MSR_IA32_VMX_EPT_VPID_CAP) & ~VMX_EPT_CAP_2MB_PAGES);
	expect_assert_failure(vmx_cpu_init(1));
	const char *out = env_console();
	assert_non_null(strstr(out, "CPU 1 has different VMX capabilities"));
	assert_non_null(strstr(out, "IA32_VMX_EPT_VPID_CAP"));
}

static void test_controls_and_bitmaps(void **state)
{
	struct vcpu *v = env_guest(1, NULL);
	const struct vmx_config *c = vmx_config();

	assert_int_equal(vmcs_get(VMCS_PIN_BASED_CONTROLS.enc), c->pin);
	assert_int_equal(vmcs_get(VMCS_PRIMARY_PROC_CONTROLS.enc), c->proc);
	assert_int_equal(vmcs_get(VMCS_SECONDARY_PROC_CONTROLS.enc), c->proc2);
	assert_int_equal(vmcs_get(VMCS_EXIT_CONTROLS.enc), c->exit);
	assert_int_equal(vmcs_get(VMCS_EPT_POINTER.enc), EPTP);
	assert_int_equal(vmcs_get(VMCS_VPID.enc), 1);
	assert_int_equal(vmcs_get(VMCS_VMCS_LINK_POINTER.enc), ~0ull);
	assert_int_equal(v->eptp, EPTP);

	/* I/O: the Bochs power-off port and the reset ports (guest_reset.c) exit. */
	const uint8_t *io_a = hw_phys_ptr(vmcs_get(VMCS_IO_BITMAP_A.enc));
	const uint8_t *io_b = hw_phys_ptr(vmcs_get(VMCS_IO_BITMAP_B.enc));
	assert_ptr_equal(io_b, io_a + 4096);
	assert_true(io_b[(0x8900 - 0x8000) / 8] & (1u << (0x8900 % 8)));
	for (unsigned p = 0; p < 0x8000; p++) {
		bool reset_port = p == 0x60 || p == 0x64 || p == 0x92 || p == 0xcf9;
		assert_int_equal((io_a[p / 8] >> (p % 8)) & 1u, reset_port);
	}
	/* MSR: IA32_FEATURE_CONTROL and the VMX MSRs exit for reads and writes; EFER does not. */
	const uint8_t *msr = hw_phys_ptr(vmcs_get(VMCS_MSR_BITMAP.enc));
	assert_true(msr[0x3a / 8] & (1u << (0x3a % 8)));
	assert_true(msr[2048 + 0x3a / 8] & (1u << (0x3a % 8)));
	assert_true(msr[0x480 / 8] & 1u);
	assert_false(msr[1024 + 0x80 / 8] & 1u);          /* EFER read */
	assert_false(msr[3072 + 0x80 / 8] & 1u);          /* EFER write */
	assert_false(msr[0x1b / 8] & (1u << (0x1b % 8))); /* APIC base passes through */
}

static bool io_handler(struct vcpu *v, uint16_t port, bool in, unsigned size, uint32_t *value)
{
	return true;
}

static bool msr_handler(struct vcpu *v, uint32_t msr, bool write, uint64_t *value)
{
	return true;
}

static void test_intercept_api_sets_bitmaps(void **state)
{
	env_guest(1, NULL);
	const uint8_t *io = hw_phys_ptr(vmcs_get(VMCS_IO_BITMAP_A.enc));
	const uint8_t *msr = hw_phys_ptr(vmcs_get(VMCS_MSR_BITMAP.enc));

	assert_false(io[0x71 / 8] & (1u << (0x71 % 8)));
	assert_int_equal(vmx_intercept_io(0x71, io_handler), 0);
	assert_true(io[0x71 / 8] & (1u << (0x71 % 8)));
	assert_ptr_equal(vmx_io_handler_for(0x71), io_handler);

	assert_int_equal(vmx_intercept_msr(0xc0000082, msr_handler), 0); /* LSTAR */
	assert_true(msr[1024 + 0x82 / 8] & (1u << (0x82 % 8)));
	assert_true(msr[3072 + 0x82 / 8] & (1u << (0x82 % 8)));
	assert_ptr_equal(vmx_msr_handler_for(0xc0000082), msr_handler);
}

static void test_host_state(void **state)
{
	struct vcpu *v = env_guest(1, NULL);
	struct fake_cpu *c = fake_cpu(0);

	assert_int_equal(vmcs_get(VMCS_HOST_CR0.enc), c->cr0);
	assert_int_equal(vmcs_get(VMCS_HOST_CR3.enc), c->cr3);
	assert_int_equal(vmcs_get(VMCS_HOST_CR4.enc), c->cr4);
	assert_true(c->cr4 & CR4_VMXE);
	assert_int_equal(vmcs_get(VMCS_HOST_CS_SELECTOR.enc), c->cs);
	assert_int_equal(vmcs_get(VMCS_HOST_TR_SELECTOR.enc), 0x18);
	assert_int_equal(vmcs_get(VMCS_HOST_GDTR_BASE.enc), c->gdtr.base);
	assert_int_equal(vmcs_get(VMCS_HOST_IDTR_BASE.enc), c->idtr.base);
	/* TR base decoded from the 16-byte TSS descriptor in the GDT. */
	const uint8_t *d = hw_phys_ptr(c->gdtr.base + 0x18);
	uint64_t base = d[2] | d[3] << 8 | d[4] << 16 | (uint64_t)d[7] << 24 |
	                (uint64_t)(d[8] | d[9] << 8 | d[10] << 16 | (uint32_t)d[11] << 24) << 32;
	assert_int_equal(vmcs_get(VMCS_HOST_TR_BASE.enc), base);
	assert_int_not_equal(base, 0);
	assert_int_equal(vmcs_get(VMCS_HOST_GS_BASE.enc), fake_msr_get(MSR_IA32_GS_BASE));
	assert_int_equal(vmcs_get(VMCS_HOST_IA32_EFER.enc), fake_msr_get(MSR_IA32_EFER));
	assert_int_equal(vmcs_get(VMCS_HOST_IA32_PAT.enc), fake_msr_get(MSR_IA32_PAT));
	assert_int_equal(vmcs_get(VMCS_HOST_RIP.enc), (uint64_t)(uintptr_t)vmx_exit_stub);
	uint64_t rsp = vmcs_get(VMCS_HOST_RSP.enc);
	assert_int_equal(rsp % 16, 0);
	assert_true(rsp < v->exit_stack_top && rsp >= v->exit_stack_top - 64);
	assert_ptr_equal(*(struct vcpu **)hw_phys_ptr(rsp), v);
}

static void test_boot_cpu_real_mode_at_7c00(void **state)
{
	struct vcpu *v = env_guest(1, NULL);

	assert_true(v->boot_cpu);
	assert_int_equal(vmcs_get(VMCS_GUEST_CS_SELECTOR.enc), 0);
	assert_int_equal(vmcs_get(VMCS_GUEST_CS_BASE.enc), 0);
	assert_int_equal(vmcs_get(VMCS_GUEST_RIP.enc), 0x7c00);
	assert_int_equal(v->gpr[GPR_RDX], 0x80);
	assert_int_equal(vmcs_get(VMCS_GUEST_CS_ACCESS_RIGHTS.enc), 0x9b);
	assert_int_equal(vmcs_get(VMCS_GUEST_SS_ACCESS_RIGHTS.enc), 0x93);
	assert_int_equal(vmcs_get(VMCS_GUEST_DS_LIMIT.enc), 0xffff);
	assert_int_equal(vmcs_get(VMCS_GUEST_TR_ACCESS_RIGHTS.enc), 0x8b);
	assert_true(vmcs_get(VMCS_GUEST_LDTR_ACCESS_RIGHTS.enc) & (1u << 16)); /* unusable */
	assert_int_equal(vmcs_get(VMCS_GUEST_ACTIVITY_STATE.enc), VMX_ACTIVITY_ACTIVE);
	assert_int_equal(vmcs_get(VMCS_GUEST_RFLAGS.enc) & ~RFLAGS_FIXED1, 0);
	assert_false(vmcs_get(VMCS_ENTRY_CONTROLS.enc) & ENTRY_IA32E_MODE_GUEST);
	assert_int_equal(vmcs_get(VMCS_GUEST_IA32_EFER.enc), 0);

	/* CR0: the guest sees real mode (PE = PG = 0) without the fixed NE it did not set. */
	uint64_t cr0 = vmcs_get(VMCS_GUEST_CR0.enc), shadow0 = vmcs_get(VMCS_CR0_READ_SHADOW.enc);
	assert_false(cr0 & (CR0_PE | CR0_PG));
	assert_true(cr0 & CR0_NE);
	assert_false(shadow0 & CR0_NE);
	assert_true(vmcs_get(VMCS_CR0_GUEST_HOST_MASK.enc) & CR0_NE);
	assert_false(vmcs_get(VMCS_CR0_GUEST_HOST_MASK.enc) & (CR0_PE | CR0_PG));
	/* CR4.VMXE runs set and is hidden. */
	assert_true(vmcs_get(VMCS_GUEST_CR4.enc) & CR4_VMXE);
	assert_false(vmcs_get(VMCS_CR4_READ_SHADOW.enc) & CR4_VMXE);
	assert_true(vmcs_get(VMCS_CR4_GUEST_HOST_MASK.enc) & CR4_VMXE);
	assert_int_equal(vmcs_get(VMCS_VM_ENTRY_INTR_INFO.enc) & INTR_INFO_VALID, 0);
}

static void test_ap_waits_for_sipi_in_init_state(void **state)
{
	env_guest(2, NULL);
	fake_set_cpu(1);
	struct vcpu *ap = vmx_vcpu(1);
	struct hw_cpuid_regs id;
	hw_cpuid(1, 0, &id);

	assert_false(ap->boot_cpu);
	assert_int_equal(vmcs_get(VMCS_GUEST_ACTIVITY_STATE.enc), VMX_ACTIVITY_WAIT_SIPI);
	assert_int_equal(vmcs_get(VMCS_GUEST_CS_SELECTOR.enc), 0xf000);
	assert_int_equal(vmcs_get(VMCS_GUEST_CS_BASE.enc), 0xffff0000ull);
	assert_int_equal(vmcs_get(VMCS_GUEST_RIP.enc), 0xfff0);
	assert_int_equal(ap->gpr[GPR_RDX], id.eax);
	assert_int_equal(vmcs_get(VMCS_CR0_READ_SHADOW.enc), 0x60000010);
	assert_int_equal(vmcs_get(VMCS_VPID.enc), 2);
	assert_int_equal(vmcs_get(VMCS_GUEST_IA32_PAT.enc), 0x0007040600070406ull);
}

static uint32_t booted_on;
static void app_boot(struct vcpu *v)
{
	booted_on |= 1u << v->cpu;
	/* The VMCS is set up already: the app may adjust it. */
	assert_int_equal(vmcs_get(VMCS_EPT_POINTER.enc), EPTP);
}

static void test_app_boot_called_per_cpu(void **state)
{
	static const struct hv_app app = {
	    .name = "t", .boot = app_boot, .exception_bitmap = 1u << 3};
	booted_on = 0;
	env_guest(2, &app);
	assert_int_equal(booted_on, 3);
	assert_int_equal(vmcs_get(VMCS_EXCEPTION_BITMAP.enc), 1u << 3);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_vmxon_sets_fixed_bits_and_loads_vmcs),
	    cmocka_unit_test(test_vmxon_failure_is_reported),
	    cmocka_unit_test(test_entry_failure_names_the_vm_instruction_error),
	    cmocka_unit_test(test_failed_vmx_instruction_panics_with_what_failed),
	    cmocka_unit_test(test_ap_with_different_caps_panics),
	    cmocka_unit_test(test_controls_and_bitmaps),
	    cmocka_unit_test(test_intercept_api_sets_bitmaps),
	    cmocka_unit_test(test_host_state),
	    cmocka_unit_test(test_boot_cpu_real_mode_at_7c00),
	    cmocka_unit_test(test_ap_waits_for_sipi_in_init_state),
	    cmocka_unit_test(test_app_boot_called_per_cpu),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
