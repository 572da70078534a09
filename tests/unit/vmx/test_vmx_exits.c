/* libvmx exit handlers: each one's effect on the (fake) guest state. */
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
#include "tests/unit/vmx/test_vmx_env.h"

static uint64_t rip(void)
{
	return vmcs_get(VMCS_GUEST_RIP.enc);
}

static uint32_t injected(void)
{
	return (uint32_t)vmcs_get(VMCS_VM_ENTRY_INTR_INFO.enc);
}

/* An instruction exit of `len` bytes at guest RIP 0x1000. */
static void instr_exit(struct vcpu *v, uint32_t reason, uint64_t qual, uint32_t len)
{
	struct exit_fields f = {.reason = reason, .qualification = qual, .instruction_len = len};
	vmcs_set(VMCS_GUEST_RIP.enc, 0x1000);
	env_exit(v, &f);
}

static void assert_gp0_injected(void)
{
	assert_int_equal(injected(),
	                 INTR_INFO(X86_VEC_GP, INTR_TYPE_HW_EXCEPTION) | INTR_INFO_DELIVER_CODE);
	assert_int_equal(vmcs_get(VMCS_VM_ENTRY_EXCEPTION_ERROR_CODE.enc), 0);
	assert_int_equal(rip(), 0x1000); /* a fault: the instruction did not complete */
}

static void test_cpuid_hides_vmx_only(void **state)
{
	struct vcpu *v = env_guest(1, NULL);
	struct hw_cpuid_regs real,
	    l1 = {0x50654, 0x800,
	          CPUID1_ECX_VMX | CPUID1_ECX_XSAVE | CPUID1_ECX_HYPERVISOR | CPUID1_ECX_X2APIC,
	          0x178bfbff};
	fake_cpuid_set(1, 0, &l1);
	hw_cpuid(1, 0, &real);

	v->gpr[GPR_RAX] = 0xffffffff00000001ull;
	v->gpr[GPR_RCX] = 0;
	instr_exit(v, VMX_EXIT_CPUID, 0, 2);
	assert_int_equal(v->gpr[GPR_RAX], real.eax);
	assert_int_equal(v->gpr[GPR_RBX], real.ebx);
	assert_int_equal(v->gpr[GPR_RDX], real.edx);
	assert_false(v->gpr[GPR_RCX] & CPUID1_ECX_VMX);
	assert_false(v->gpr[GPR_RCX] & CPUID1_ECX_HYPERVISOR);
	/* Everything else as the CPU says (OSXSAVE follows the guest's CR4: clear). */
	assert_int_equal(v->gpr[GPR_RCX],
	                 real.ecx & ~(CPUID1_ECX_VMX | CPUID1_ECX_HYPERVISOR | CPUID1_ECX_OSXSAVE));
	assert_int_equal(rip(), 0x1002);
	assert_int_equal(injected() & INTR_INFO_VALID, 0);

	vmx_cpuid_show_hypervisor(true);
	v->gpr[GPR_RAX] = 1;
	instr_exit(v, VMX_EXIT_CPUID, 0, 2);
	assert_true(v->gpr[GPR_RCX] & CPUID1_ECX_HYPERVISOR);
	assert_false(v->gpr[GPR_RCX] & CPUID1_ECX_VMX);
	vmx_cpuid_show_hypervisor(false);
}

static void test_cpuid_osxsave_follows_guest_cr4(void **state)
{
	struct vcpu *v = env_guest(1, NULL);

	vmcs_set(VMCS_GUEST_CR4.enc, vmcs_get(VMCS_GUEST_CR4.enc) | CR4_OSXSAVE);
	v->gpr[GPR_RAX] = 1;
	instr_exit(v, VMX_EXIT_CPUID, 0, 2);
	assert_true(v->gpr[GPR_RCX] & CPUID1_ECX_OSXSAVE);
}

static void test_rdmsr_feature_control_shows_vmx_locked_off(void **state)
{
	struct vcpu *v = env_guest(1, NULL);

	v->gpr[GPR_RCX] = MSR_IA32_FEATURE_CONTROL;
	v->gpr[GPR_RAX] = v->gpr[GPR_RDX] = 0xdead;
	instr_exit(v, VMX_EXIT_RDMSR, 0, 2);
	uint64_t value = (v->gpr[GPR_RDX] << 32) | v->gpr[GPR_RAX];
	assert_true(value & FEATURE_CONTROL_LOCKED);
	assert_false(value & (FEATURE_CONTROL_VMX_IN_SMX | FEATURE_CONTROL_VMX_OUTSIDE_SMX));
	assert_int_equal(rip(), 0x1002);

	/* Locked: a write faults. */
	env_protected_mode();
	instr_exit(v, VMX_EXIT_WRMSR, 0, 2);
	assert_gp0_injected();
}

static void test_vmx_msrs_and_unknown_msrs_gp(void **state)
{
	struct vcpu *v = env_guest(1, NULL);
	env_protected_mode();

	v->gpr[GPR_RCX] = MSR_IA32_VMX_BASIC;
	instr_exit(v, VMX_EXIT_RDMSR, 0, 2);
	assert_gp0_injected();

	v->gpr[GPR_RCX] = MSR_IA32_VMX_EPT_VPID_CAP;
	uint64_t before = fake_msr_get(MSR_IA32_VMX_EPT_VPID_CAP);
	instr_exit(v, VMX_EXIT_WRMSR, 0, 2);
	assert_gp0_injected();
	assert_int_equal(fake_msr_get(MSR_IA32_VMX_EPT_VPID_CAP), before);

	/* Outside the bitmap's ranges an MSR always exits: no such MSR, #GP. */
	v->gpr[GPR_RCX] = 0x40000000;
	instr_exit(v, VMX_EXIT_RDMSR, 0, 2);
	assert_gp0_injected();
	assert_int_equal(fake_hw.unknown_msr_reads, 0); /* never tried in root mode */
}

static bool lstar_handler(struct vcpu *v, uint32_t msr, bool write, uint64_t *value)
{
	if (!write)
		*value = 0x1122334455667788ull;
	return !write;
}

static void test_app_msr_handler(void **state)
{
	struct vcpu *v = env_guest(1, NULL);
	env_protected_mode();
	assert_int_equal(vmx_intercept_msr(MSR_IA32_LSTAR, lstar_handler), 0);

	v->gpr[GPR_RCX] = MSR_IA32_LSTAR;
	instr_exit(v, VMX_EXIT_RDMSR, 0, 2);
	assert_int_equal(v->gpr[GPR_RAX], 0x55667788);
	assert_int_equal(v->gpr[GPR_RDX], 0x11223344);
	assert_int_equal(rip(), 0x1002);
	instr_exit(v, VMX_EXIT_WRMSR, 0, 2);
	assert_gp0_injected();
}

/* MOV CRn, reg: qualification (SDM 28.2.1 Table 28-3). */
static uint64_t mov_to_cr(unsigned cr, unsigned gpr)
{
	return cr | (CRQUAL_ACCESS_MOV_TO << 4) | (gpr << 8);
}

static void test_cr0_write_keeps_fixed_bits_and_updates_shadow(void **state)
{
	struct vcpu *v = env_guest(1, NULL);

	/* Real mode -> protected mode with NE: the shadow takes the value as written. */
	v->gpr[GPR_RBX] = CR0_PE | CR0_NE | CR0_ET;
	instr_exit(v, VMX_EXIT_CR_ACCESS, mov_to_cr(0, GPR_RBX), 3);
	assert_int_equal(vmcs_get(VMCS_CR0_READ_SHADOW.enc), CR0_PE | CR0_NE | CR0_ET);
	assert_int_equal(vmcs_get(VMCS_GUEST_CR0.enc) & (CR0_PE | CR0_NE), CR0_PE | CR0_NE);
	assert_int_equal(rip(), 0x1003);

	/* Clearing NE: the guest sees it clear, the CPU keeps it (fixed to 1). */
	v->gpr[GPR_RBX] = CR0_PE | CR0_ET;
	instr_exit(v, VMX_EXIT_CR_ACCESS, mov_to_cr(0, GPR_RBX), 3);
	assert_int_equal(vmcs_get(VMCS_CR0_READ_SHADOW.enc), CR0_PE | CR0_ET);
	assert_true(vmcs_get(VMCS_GUEST_CR0.enc) & CR0_NE);

	/* PG without PE: #GP, nothing changes. */
	v->gpr[GPR_RBX] = CR0_PG | CR0_NE;
	instr_exit(v, VMX_EXIT_CR_ACCESS, mov_to_cr(0, GPR_RBX), 3);
	assert_gp0_injected();
	assert_int_equal(vmcs_get(VMCS_CR0_READ_SHADOW.enc), CR0_PE | CR0_ET);
}

static void test_cr0_paging_with_lme_enters_long_mode(void **state)
{
	struct vcpu *v = env_guest(1, NULL);

	vmcs_set(VMCS_GUEST_IA32_EFER.enc, EFER_LME);
	vmcs_set(VMCS_GUEST_CR4.enc, vmcs_get(VMCS_GUEST_CR4.enc) | CR4_PAE);
	vmcs_set(VMCS_CR4_READ_SHADOW.enc, CR4_PAE);
	uint64_t flushes = fake_hw.invvpid_count;
	v->gpr[GPR_RAX] = CR0_PG | CR0_PE | CR0_NE | CR0_ET;
	instr_exit(v, VMX_EXIT_CR_ACCESS, mov_to_cr(0, GPR_RAX), 3);
	assert_true(vmcs_get(VMCS_GUEST_IA32_EFER.enc) & EFER_LMA);
	assert_true(vmcs_get(VMCS_ENTRY_CONTROLS.enc) & ENTRY_IA32E_MODE_GUEST);
	assert_true(vmcs_get(VMCS_GUEST_CR0.enc) & CR0_PG);
	assert_int_equal(fake_hw.invvpid_count, flushes + 1);
	assert_int_equal(fake_hw.last_invvpid_vpid, v->vpid);

	/* And out again when paging goes off. */
	v->gpr[GPR_RAX] = CR0_PE | CR0_NE | CR0_ET;
	instr_exit(v, VMX_EXIT_CR_ACCESS, mov_to_cr(0, GPR_RAX), 3);
	assert_false(vmcs_get(VMCS_GUEST_IA32_EFER.enc) & EFER_LMA);
	assert_false(vmcs_get(VMCS_ENTRY_CONTROLS.enc) & ENTRY_IA32E_MODE_GUEST);
}

static void test_cr4_write_keeps_vmxe_hidden(void **state)
{
	struct vcpu *v = env_guest(1, NULL);

	v->gpr[GPR_R9] = CR4_PAE | CR4_PGE;
	instr_exit(v, VMX_EXIT_CR_ACCESS, mov_to_cr(4, GPR_R9), 3);
	assert_int_equal(vmcs_get(VMCS_CR4_READ_SHADOW.enc), CR4_PAE | CR4_PGE);
	assert_int_equal(vmcs_get(VMCS_GUEST_CR4.enc), CR4_PAE | CR4_PGE | CR4_VMXE);
	assert_int_equal(rip(), 0x1003);

	/* The guest may not set VMXE (it has no VMX). */
	env_protected_mode();
	v->gpr[GPR_R9] = CR4_PAE | CR4_VMXE;
	instr_exit(v, VMX_EXIT_CR_ACCESS, mov_to_cr(4, GPR_R9), 3);
	assert_gp0_injected();
	assert_int_equal(vmcs_get(VMCS_CR4_READ_SHADOW.enc), CR4_PAE | CR4_PGE);
}

static void test_mov_from_cr3_via_rsp(void **state)
{
	struct vcpu *v = env_guest(1, NULL);

	/* Register 4 is RSP, which lives in the VMCS. */
	vmcs_set(VMCS_GUEST_CR3.enc, 0x9000);
	instr_exit(v, VMX_EXIT_CR_ACCESS, 3 | (CRQUAL_ACCESS_MOV_FROM << 4) | (GPR_RSP << 8), 3);
	assert_int_equal(vmcs_get(VMCS_GUEST_RSP.enc), 0x9000);
}

static void test_xsetbv_validates_like_hardware(void **state)
{
	struct vcpu *v = env_guest(1, NULL);
	struct hw_cpuid_regs d = {XCR0_X87 | XCR0_SSE | XCR0_AVX, 0, 0, 0};
	fake_cpuid_set(0xd, 0, &d);
	env_protected_mode();

	const uint64_t bad[] = {0, XCR0_SSE, XCR0_X87 | XCR0_AVX, XCR0_X87 | (1ull << 9)};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		v->gpr[GPR_RCX] = 0;
		v->gpr[GPR_RAX] = (uint32_t)bad[i];
		v->gpr[GPR_RDX] = bad[i] >> 32;
		instr_exit(v, VMX_EXIT_XSETBV, 0, 3);
		assert_gp0_injected();
		assert_int_equal(fake_cpu(0)->xcr0, XCR0_X87);
	}
	/* XCR1+ are not writable. */
	v->gpr[GPR_RCX] = 1;
	v->gpr[GPR_RAX] = XCR0_X87;
	instr_exit(v, VMX_EXIT_XSETBV, 0, 3);
	assert_gp0_injected();

	v->gpr[GPR_RCX] = 0;
	v->gpr[GPR_RAX] = XCR0_X87 | XCR0_SSE | XCR0_AVX;
	v->gpr[GPR_RDX] = 0;
	instr_exit(v, VMX_EXIT_XSETBV, 0, 3);
	assert_int_equal(fake_cpu(0)->xcr0, XCR0_X87 | XCR0_SSE | XCR0_AVX);
	assert_int_equal(rip(), 0x1003);
}

static void test_init_then_sipi_starts_an_ap(void **state)
{
	env_guest(2, NULL);
	fake_set_cpu(1);
	struct vcpu *ap = vmx_vcpu(1);

	/* The guest's SIPI while the AP waits: start at vector << 12. */
	struct exit_fields sipi = {.reason = VMX_EXIT_SIPI, .qualification = 0x9a};
	env_exit(ap, &sipi);
	assert_int_equal(vmcs_get(VMCS_GUEST_CS_SELECTOR.enc), 0x9a00);
	assert_int_equal(vmcs_get(VMCS_GUEST_CS_BASE.enc), 0x9a000);
	assert_int_equal(vmcs_get(VMCS_GUEST_RIP.enc), 0);
	assert_int_equal(vmcs_get(VMCS_GUEST_ACTIVITY_STATE.enc), VMX_ACTIVITY_ACTIVE);

	assert_false(ap->waiting_for_sipi);

	/* The INIT that preceded the SIPI, held while the CPU waited for it, arrives
	 * before the AP ran an instruction: already consumed on bare metal, dropped. */
	struct exit_fields init = {.reason = VMX_EXIT_INIT};
	env_exit(ap, &init);
	assert_int_equal(vmcs_get(VMCS_GUEST_ACTIVITY_STATE.enc), VMX_ACTIVITY_ACTIVE);
	assert_int_equal(vmcs_get(VMCS_GUEST_CS_BASE.enc), 0x9a000);

	/* The AP runs on into long mode ... then the guest sends INIT again. */
	instr_exit(ap, VMX_EXIT_INVD, 0, 2);
	vmcs_set(VMCS_GUEST_CR0.enc, CR0_PG | CR0_PE | CR0_NE);
	vmcs_set(VMCS_GUEST_IA32_EFER.enc, EFER_LME | EFER_LMA);
	vmcs_set(VMCS_ENTRY_CONTROLS.enc,
	         vmcs_get(VMCS_ENTRY_CONTROLS.enc) | ENTRY_IA32E_MODE_GUEST);
	ap->gpr[GPR_R12] = 77;
	env_exit(ap, &init);
	assert_true(ap->waiting_for_sipi);
	assert_int_equal(vmcs_get(VMCS_GUEST_ACTIVITY_STATE.enc), VMX_ACTIVITY_WAIT_SIPI);
	assert_int_equal(vmcs_get(VMCS_GUEST_CS_SELECTOR.enc), 0xf000);
	assert_int_equal(vmcs_get(VMCS_GUEST_RIP.enc), 0xfff0);
	assert_int_equal(vmcs_get(VMCS_CR0_READ_SHADOW.enc), 0x60000010);
	assert_false(vmcs_get(VMCS_GUEST_CR0.enc) & (CR0_PG | CR0_PE));
	assert_int_equal(vmcs_get(VMCS_GUEST_IA32_EFER.enc), 0);
	assert_false(vmcs_get(VMCS_ENTRY_CONTROLS.enc) & ENTRY_IA32E_MODE_GUEST);
	assert_int_equal(ap->gpr[GPR_R12], 0);

	/* A second SIPI after INIT starts it again. */
	sipi.qualification = 0x10;
	env_exit(ap, &sipi);
	assert_int_equal(vmcs_get(VMCS_GUEST_CS_BASE.enc), 0x10000);
	assert_int_equal(vmcs_get(VMCS_GUEST_ACTIVITY_STATE.enc), VMX_ACTIVITY_ACTIVE);
}

static void test_init_on_boot_cpu_runs_reset_vector(void **state)
{
	struct vcpu *v = env_guest(1, NULL);
	struct exit_fields init = {.reason = VMX_EXIT_INIT};

	env_exit(v, &init);
	assert_int_equal(vmcs_get(VMCS_GUEST_ACTIVITY_STATE.enc), VMX_ACTIVITY_ACTIVE);
	assert_int_equal(vmcs_get(VMCS_GUEST_CS_BASE.enc), 0xffff0000ull);
	assert_int_equal(rip(), 0xfff0);
}

static void test_ept_violation_in_hv_region_injects_gp(void **state)
{
	struct vcpu *v = env_guest(1, NULL);
	env_protected_mode();
	vmcs_set(VMCS_GUEST_RIP.enc, 0x2000);
	struct exit_fields f = {.reason = VMX_EXIT_EPT_VIOLATION,
	                        .qualification = EPTQUAL_READ,
	                        .gpa = HV_REGION_BASE + 0x1234};
	env_exit(v, &f);
	assert_int_equal(injected(),
	                 INTR_INFO(X86_VEC_GP, INTR_TYPE_HW_EXCEPTION) | INTR_INFO_DELIVER_CODE);
	assert_int_equal(vmcs_get(VMCS_GUEST_RIP.enc), 0x2000);
	assert_non_null(
	    strstr(env_console(), "hv: guest access to hypervisor memory at GPA 0xc001234"));
}

static void test_ept_violation_elsewhere_panics(void **state)
{
	struct vcpu *v = env_guest(1, NULL);
	struct exit_fields f = {.reason = VMX_EXIT_EPT_VIOLATION, .gpa = 0x100000};

	expect_assert_failure(env_exit(v, &f));
	const char *out = env_console();
	assert_non_null(strstr(out, "EPT violation on CPU 0 at GPA 0x100000"));
	/* The panic hook dumps the VMCS. */
	assert_non_null(strstr(out, "hv: vmcs: exit reason 0x30 (EPT violation)"));
	assert_non_null(strstr(out, "guest RIP"));
	assert_non_null(strstr(out, "interruptibility"));
}

static int ept_calls;
static enum hv_ept_action app_ept(struct vcpu *v, uint64_t gpa, uint64_t q)
{
	ept_calls++;
	return HV_EPT_RETRY;
}

static void test_ept_violation_goes_to_app_first(void **state)
{
	static const struct hv_app app = {.name = "t", .ept_violation = app_ept};
	struct vcpu *v = env_guest(1, &app);
	struct exit_fields f = {.reason = VMX_EXIT_EPT_VIOLATION, .gpa = HV_REGION_BASE};

	ept_calls = 0;
	env_exit(v, &f);
	assert_int_equal(ept_calls, 1);
	assert_int_equal(injected() & INTR_INFO_VALID, 0);
}

static int hypercalls;
static bool app_hypercall(struct vcpu *v)
{
	hypercalls++;
	v->gpr[GPR_RAX] = 42;
	return v->gpr[GPR_RBX] == 1;
}

static void test_vmcall_to_app_or_ud(void **state)
{
	struct vcpu *v = env_guest(1, NULL);

	instr_exit(v, VMX_EXIT_VMCALL, 0, 3);
	assert_int_equal(injected(), INTR_INFO(X86_VEC_UD, INTR_TYPE_HW_EXCEPTION));
	assert_int_equal(rip(), 0x1000);

	static const struct hv_app app = {.name = "t", .hypercall = app_hypercall};
	vmx_set_app(&app);
	hypercalls = 0;
	v->gpr[GPR_RBX] = 1;
	instr_exit(v, VMX_EXIT_VMCALL, 0, 3);
	assert_int_equal(hypercalls, 1);
	assert_int_equal(v->gpr[GPR_RAX], 42);
	assert_int_equal(rip(), 0x1003);
	assert_int_equal(injected() & INTR_INFO_VALID, 0);

	v->gpr[GPR_RBX] = 2; /* the app declines: #UD */
	instr_exit(v, VMX_EXIT_VMCALL, 0, 3);
	assert_int_equal(injected(), INTR_INFO(X86_VEC_UD, INTR_TYPE_HW_EXCEPTION));
}

static void test_vmx_instructions_ud(void **state)
{
	struct vcpu *v = env_guest(1, NULL);

	instr_exit(v, VMX_EXIT_VMXON, 0, 4);
	assert_int_equal(injected(), INTR_INFO(X86_VEC_UD, INTR_TYPE_HW_EXCEPTION));
	instr_exit(v, VMX_EXIT_INVEPT, 0, 5);
	assert_int_equal(injected(), INTR_INFO(X86_VEC_UD, INTR_TYPE_HW_EXCEPTION));
}

static void test_invd_writes_back(void **state)
{
	struct vcpu *v = env_guest(1, NULL);
	uint64_t before = fake_cpu(0)->wbinvds;

	instr_exit(v, VMX_EXIT_INVD, 0, 2);
	assert_int_equal(fake_cpu(0)->wbinvds, before + 1);
	assert_int_equal(rip(), 0x1002);
}

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

static void test_unhandled_exit_panics_with_dump(void **state)
{
	struct vcpu *v = env_guest(1, NULL);
	struct exit_fields f = {.reason = VMX_EXIT_TASK_SWITCH};

	expect_assert_failure(env_exit(v, &f));
	const char *out = env_console();
	assert_non_null(strstr(out, "unhandled VM exit on CPU 0: reason 9 (task switch)"));
	assert_non_null(strstr(out, "hv: vmcs: exit reason 0x9"));
}

static void test_entry_failure_exit_panics(void **state)
{
	struct vcpu *v = env_guest(1, NULL);
	struct exit_fields f = {.reason =
	                            VMX_EXIT_REASON_ENTRY_FAILURE | VMX_EXIT_INVALID_GUEST_STATE,
	                        .qualification = 0};

	expect_assert_failure(env_exit(v, &f));
	assert_non_null(strstr(env_console(), "VM-entry failure on CPU 0: exit reason 33"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_cpuid_hides_vmx_only),
	    cmocka_unit_test(test_cpuid_osxsave_follows_guest_cr4),
	    cmocka_unit_test(test_rdmsr_feature_control_shows_vmx_locked_off),
	    cmocka_unit_test(test_vmx_msrs_and_unknown_msrs_gp),
	    cmocka_unit_test(test_app_msr_handler),
	    cmocka_unit_test(test_cr0_write_keeps_fixed_bits_and_updates_shadow),
	    cmocka_unit_test(test_cr0_paging_with_lme_enters_long_mode),
	    cmocka_unit_test(test_cr4_write_keeps_vmxe_hidden),
	    cmocka_unit_test(test_mov_from_cr3_via_rsp),
	    cmocka_unit_test(test_xsetbv_validates_like_hardware),
	    cmocka_unit_test(test_init_then_sipi_starts_an_ap),
	    cmocka_unit_test(test_init_on_boot_cpu_runs_reset_vector),
	    cmocka_unit_test(test_ept_violation_in_hv_region_injects_gp),
	    cmocka_unit_test(test_ept_violation_elsewhere_panics),
	    cmocka_unit_test(test_ept_violation_goes_to_app_first),
	    cmocka_unit_test(test_vmcall_to_app_or_ud),
	    cmocka_unit_test(test_vmx_instructions_ud),
	    cmocka_unit_test(test_invd_writes_back),
	    cmocka_unit_test(test_io_power_off_port_prints_counters_and_forwards),
	    cmocka_unit_test(test_power_off_bytes_from_several_cpus),
	    cmocka_unit_test(test_io_in_from_watched_port_forwards),
	    cmocka_unit_test(test_exit_counters_by_reason),
	    cmocka_unit_test(test_unhandled_exit_panics_with_dump),
	    cmocka_unit_test(test_entry_failure_exit_panics),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
