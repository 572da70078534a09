/*
 * apps/wpmon over libvmx's real exit dispatch on the fake hardware: bad
 * ranges refused with their codes and nothing changed; a protected page
 * read/execute in the guest's view, writable in wpmon's; a move logged and
 * completed in one exit; another write logged and stepped with the monitor
 * trap flag in the writable view, NMIs held during the step and delivered
 * after it; without the flag its range released; INIT ends a step.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "apps/wpmon/wpmon.h"
#include "apps/wpmon/wpmon_hypercall.h"
#include "hw/hw.h"
#include "libvmx/ept.h"
#include "libvmx/guest_memory.h"
#include "libvmx/vmx.h"
#include "tests/unit/vmx/vmx_fixture.h"

#define PROT 0x8000ull /* the protected page */

static unsigned syncs;

/* The image's is a quiesce round (wpmon_sync.c). */
void wpmon_sync_all_cpus(void)
{
	syncs++;
}

static uint8_t ram[64 * 1024] __attribute__((aligned(4096)));
static bool mtf = true;

static void machine(void)
{
	/* EPT capabilities: 4-level walk, WB, 2 MiB pages, INVEPT (SDM A.10). */
	fake_msr_set(0x48C, fake_msr_get(0x48C) | (1ull << 6) | (1ull << 14) | (1ull << 16) |
	                        (1ull << 20) | (1ull << 25) | (1ull << 26));
	if (!mtf) { /* bit 27 not allowed (Bochs 2.7's CPU models) */
		fake_msr_set(MSR_IA32_VMX_PROCBASED_CTLS, 0xf7f9fffe0401e172ull);
		fake_msr_set(MSR_IA32_VMX_TRUE_PROCBASED_CTLS, 0xf7f9fffe04006172ull);
	}
}

static void hooks(void)
{
	vmx_add_before_entry_hook(hv_app.before_entry);
}

/* One CPU in 32-bit protected mode, paging off, guest RAM behind a window. */
static struct vcpu *guest(bool with_mtf)
{
	mtf = with_mtf;
	fixture_setup(1, machine);
	struct vcpu *v = fixture_guest(1, &hv_app, fixture_build_ept(), hooks);
	guest_memory_test_window(ram, sizeof(ram));
	memset(ram, 0, sizeof(ram));
	env_protected_mode();
	vmcs_set(VMCS_GUEST_CS_ACCESS_RIGHTS.enc, 0xc09b);
	vmcs_set(VMCS_GUEST_RFLAGS.enc, RFLAGS_FIXED1);
	syncs = 0;
	return v;
}

static int64_t hc(struct vcpu *v, uint32_t fn, uint64_t a, uint64_t b)
{
	vcpu_gpr_write(v, GPR_RAX, fn);
	vcpu_gpr_write(v, GPR_RBX, a);
	vcpu_gpr_write(v, GPR_RCX, b);
	vmcs_set(VMCS_GUEST_RIP.enc, 0x100);
	struct exit_fields f = {.reason = VMX_EXIT_VMCALL, .instruction_len = 3};
	env_exit(v, &f);
	return (int64_t)vcpu_gpr_read(v, GPR_RAX);
}

static unsigned rwx(uint64_t eptp, uint64_t gpa)
{
	struct ept_mapping m;
	assert_true(ept_lookup(eptp, gpa, &m));
	return m.rwx;
}

/* The guest runs `insn` at 0x1000 and writes `gpa` with it: an EPT violation. */
static void write_exit(struct vcpu *v, const uint8_t *insn, size_t n, uint64_t gpa)
{
	memcpy(&ram[0x1000], insn, n);
	vmcs_set(VMCS_GUEST_RIP.enc, 0x1000);
	vmcs_set(VMCS_GUEST_LINEAR_ADDRESS.enc, gpa);
	struct exit_fields f = {.reason = VMX_EXIT_EPT_VIOLATION,
	                        .qualification = EPTQUAL_WRITE | EPTQUAL_READABLE |
	                                         EPTQUAL_EXECUTABLE | EPTQUAL_GLA_VALID |
	                                         EPTQUAL_GLA_TRANSLATION,
	                        .gpa = gpa};
	env_exit(v, &f);
}

static const uint8_t mov[] = {0xc7, 0x03, 0x78, 0x56, 0x34, 0x12}; /* mov dword [ebx], imm */
static const uint8_t add[] = {0x01, 0x03};                         /* add [ebx], eax */

static void test_bad_ranges_refused_nothing_changed(void **state)
{
	(void)state;
	struct vcpu *v = guest(true);
	uint64_t g = vmx_vcpu_guest_eptp(v);

	assert_int_equal(hc(v, WPMON_HC_PROTECT, PROT, 0), WPMON_ERR_ALIGN);
	assert_int_equal(hc(v, WPMON_HC_PROTECT, PROT + 8, 0x1000), WPMON_ERR_ALIGN);
	assert_int_equal(hc(v, WPMON_HC_PROTECT, PROT, 0x800), WPMON_ERR_ALIGN);
	assert_int_equal(hc(v, WPMON_HC_PROTECT, PROT, WPMON_MAX_RANGE_BYTES + 0x1000),
	                 WPMON_ERR_TOO_LARGE);
	assert_int_equal(hc(v, WPMON_HC_PROTECT, 0x0c000000, 0x1000), WPMON_ERR_RANGE);
	assert_int_equal(hc(v, WPMON_HC_PROTECT, 0x0bfff000, 0x2000), WPMON_ERR_RANGE);
	assert_int_equal(hc(v, WPMON_HC_PROTECT, 0xfee00000, 0x1000), WPMON_ERR_RANGE);
	assert_int_equal(hc(v, WPMON_HC_PROTECT, 0xfffff000, 0x2000), WPMON_ERR_RANGE);
	assert_int_equal(hc(v, WPMON_HC_UNPROTECT, PROT, 0), WPMON_ERR_NOT_FOUND);
	assert_int_equal(hc(v, WPMON_HC_LOG_ENTRY, 0, 0), WPMON_ERR_INVALID);
	assert_int_equal(rwx(g, PROT), EPT_RWX);
	assert_int_equal(rwx(g, 0x0bfff000), EPT_RWX);
	assert_int_equal(syncs, 0);

	/* Ring 3: refused whatever it asks. */
	uint64_t ss = vmcs_get(VMCS_GUEST_SS_ACCESS_RIGHTS.enc);
	vmcs_set(VMCS_GUEST_SS_ACCESS_RIGHTS.enc, ss | (3u << 5));
	assert_int_equal(hc(v, WPMON_HC_PROTECT, PROT, 0x1000), WPMON_ERR_PERM);
	assert_int_equal(hc(v, WPMON_HC_LOG, 0, 0), WPMON_ERR_PERM);
	vmcs_set(VMCS_GUEST_SS_ACCESS_RIGHTS.enc, ss);
	assert_int_equal(rwx(g, PROT), EPT_RWX);

	/* Overlap, and at most WPMON_MAX_RANGES. */
	assert_int_equal(hc(v, WPMON_HC_PROTECT, PROT, 0x2000), WPMON_OK);
	assert_int_equal(hc(v, WPMON_HC_PROTECT, PROT + 0x1000, 0x1000), WPMON_ERR_OVERLAP);
	for (unsigned i = 1; i < WPMON_MAX_RANGES; i++)
		assert_int_equal(hc(v, WPMON_HC_PROTECT, 0x100000 + i * 0x1000, 0x1000), WPMON_OK);
	assert_int_equal(hc(v, WPMON_HC_PROTECT, 0x200000, 0x1000), WPMON_ERR_FULL);
	assert_int_equal(rwx(g, 0x200000), EPT_RWX);

	/* Not a wpmon number: the library's #UD. */
	vcpu_gpr_write(v, GPR_RAX, WPMON_HC_LOG_CLEAR + 1);
	vmcs_set(VMCS_GUEST_RIP.enc, 0x100);
	struct exit_fields f = {.reason = VMX_EXIT_VMCALL, .instruction_len = 3};
	env_exit(v, &f);
	assert_int_equal(vmcs_get(VMCS_VM_ENTRY_INTR_INFO.enc),
	                 INTR_INFO(6, INTR_TYPE_HW_EXCEPTION));
	guest_memory_test_window(NULL, 0);
}

static void test_move_logged_and_completed_in_one_exit(void **state)
{
	(void)state;
	struct vcpu *v = guest(true);
	uint64_t g = vmx_vcpu_guest_eptp(v);

	assert_int_equal(hc(v, WPMON_HC_PROTECT, PROT, 0x1000), WPMON_OK);
	assert_int_equal(syncs, 1);
	assert_int_equal(rwx(g, PROT), EPT_READ | EPT_EXECUTE);
	assert_int_equal(rwx(g, PROT + 0x1000), EPT_RWX);

	write_exit(v, mov, sizeof(mov), PROT + 0x10);
	uint32_t x;
	memcpy(&x, &ram[PROT + 0x10], 4);
	assert_int_equal(x, 0x12345678);
	assert_int_equal(vmx_guest_rip(v), 0x1006);
	assert_false(vmx_single_step_armed(v));
	assert_int_equal(vmx_ept_view_current(v), g);

	assert_int_equal(hc(v, WPMON_HC_LOG, 0, 0), WPMON_OK);
	assert_int_equal(vcpu_gpr_read(v, GPR_RBX), 1);
	assert_int_equal(vcpu_gpr_read(v, GPR_RCX), PROT + 0x10);
	assert_int_equal(vcpu_gpr_read(v, GPR_RDX), 0x1000);
	assert_int_equal(vcpu_gpr_read(v, GPR_RSI), 1);
	assert_int_equal(vcpu_gpr_read(v, GPR_RDI), 0);
	assert_int_equal(hc(v, WPMON_HC_LOG_ENTRY, 0, 0), WPMON_OK);
	assert_int_equal(vcpu_gpr_read(v, GPR_RBX), PROT + 0x10);

	/* Unprotected: writable again, and a write no longer logged. */
	assert_int_equal(hc(v, WPMON_HC_UNPROTECT, PROT, 0), WPMON_OK);
	assert_int_equal(rwx(g, PROT), EPT_RWX);
	write_exit(v, mov, sizeof(mov), PROT + 0x20); /* a stale translation's exit */
	assert_int_equal(vmx_guest_rip(v), 0x1000);   /* retried, not emulated */
	assert_int_equal(hc(v, WPMON_HC_LOG, 0, 0), WPMON_OK);
	assert_int_equal(vcpu_gpr_read(v, GPR_RBX), 1);
	assert_int_equal(hc(v, WPMON_HC_LOG_CLEAR, 0, 0), WPMON_OK);
	assert_int_equal(hc(v, WPMON_HC_LOG, 0, 0), WPMON_OK);
	assert_int_equal(vcpu_gpr_read(v, GPR_RBX), 0);
	guest_memory_test_window(NULL, 0);
}

static void test_other_write_stepped_nmis_held(void **state)
{
	(void)state;
	struct vcpu *v = guest(true);
	uint64_t g = vmx_vcpu_guest_eptp(v);

	assert_int_equal(hc(v, WPMON_HC_PROTECT, PROT, 0x1000), WPMON_OK);
	write_exit(v, add, sizeof(add), PROT + 0x40);
	/* Retried in the writable view, one instruction, NMIs held. */
	assert_int_equal(vmx_guest_rip(v), 0x1000);
	assert_true(vmx_single_step_armed(v));
	uint64_t w = vmx_ept_view_current(v);
	assert_int_not_equal(w, g);
	assert_int_equal(rwx(w, PROT), EPT_RWX);
	assert_false(hv_app.guest_may_take_nmi(v));

	/* An NMI arrives during the step (an NMI exit): held, not injected. */
	struct exit_fields nmi = {.reason = VMX_EXIT_EXCEPTION_NMI,
	                          .intr_info = INTR_INFO(2, INTR_TYPE_NMI)};
	env_exit(v, &nmi);
	assert_int_equal(v->ev.nmi_pending, 1);
	assert_false(vmcs_get(VMCS_VM_ENTRY_INTR_INFO.enc) & INTR_INFO_VALID);
	assert_true(vmx_single_step_armed(v));

	/* The MTF exit: the guest's view back, the NMI injected at this entry. */
	vmcs_set(VMCS_GUEST_RIP.enc, 0x1002);
	struct exit_fields f = {.reason = VMX_EXIT_MONITOR_TRAP_FLAG};
	env_exit(v, &f);
	assert_int_equal(vmx_ept_view_current(v), g);
	assert_false(vmx_single_step_armed(v));
	assert_true(hv_app.guest_may_take_nmi(v));
	assert_int_equal(vmcs_get(VMCS_VM_ENTRY_INTR_INFO.enc), INTR_INFO(2, INTR_TYPE_NMI));
	assert_int_equal(v->ev.nmi_pending, 0);

	assert_int_equal(hc(v, WPMON_HC_LOG, 0, 0), WPMON_OK);
	assert_int_equal(vcpu_gpr_read(v, GPR_RBX), 1);
	assert_int_equal(vcpu_gpr_read(v, GPR_RCX), PROT + 0x40);
	assert_int_equal(vcpu_gpr_read(v, GPR_RDI), 0);
	assert_int_equal(rwx(g, PROT), EPT_READ | EPT_EXECUTE); /* still protected */
	guest_memory_test_window(NULL, 0);
}

static void test_init_ends_a_step(void **state)
{
	(void)state;
	struct vcpu *v = guest(true);
	uint64_t g = vmx_vcpu_guest_eptp(v);

	assert_int_equal(hc(v, WPMON_HC_PROTECT, PROT, 0x1000), WPMON_OK);
	write_exit(v, add, sizeof(add), PROT);
	assert_true(vmx_single_step_armed(v));
	struct exit_fields f = {.reason = VMX_EXIT_INIT};
	env_exit(v, &f);
	assert_false(vmx_single_step_armed(v));
	assert_int_equal(vmx_ept_view_current(v), g);
	assert_true(hv_app.guest_may_take_nmi(v));
	guest_memory_test_window(NULL, 0);
}

static void test_without_mtf_the_range_is_released(void **state)
{
	(void)state;
	struct vcpu *v = guest(false);
	uint64_t g = vmx_vcpu_guest_eptp(v);

	assert_int_equal(hc(v, WPMON_HC_PROTECT, PROT, 0x2000), WPMON_OK);
	/* Moves still complete without the flag. */
	write_exit(v, mov, sizeof(mov), PROT + 0x1000);
	assert_int_equal(vmx_guest_rip(v), 0x1006);
	/* Anything else: logged, the range writable again, the write retried. */
	write_exit(v, add, sizeof(add), PROT + 0x10);
	assert_int_equal(vmx_guest_rip(v), 0x1000);
	assert_false(vmx_single_step_armed(v));
	assert_int_equal(vmx_ept_view_current(v), g);
	assert_int_equal(rwx(g, PROT), EPT_RWX);
	assert_int_equal(rwx(g, PROT + 0x1000), EPT_RWX);
	assert_int_equal(hc(v, WPMON_HC_LOG, 0, 0), WPMON_OK);
	assert_int_equal(vcpu_gpr_read(v, GPR_RBX), 2);
	assert_int_equal(vcpu_gpr_read(v, GPR_RDI), 1);
	assert_int_equal(hc(v, WPMON_HC_UNPROTECT, PROT, 0), WPMON_ERR_NOT_FOUND);
	guest_memory_test_window(NULL, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_bad_ranges_refused_nothing_changed),
	    cmocka_unit_test(test_move_logged_and_completed_in_one_exit),
	    cmocka_unit_test(test_other_write_stepped_nmis_held),
	    cmocka_unit_test(test_init_ends_a_step),
	    cmocka_unit_test(test_without_mtf_the_range_is_released),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
