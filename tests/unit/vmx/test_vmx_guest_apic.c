/*
 * libvmx guest_apic.c + insn_decode.c + guest_linear.c: the guest's INIT IPIs are
 * dropped when every target waits for SIPI, everything else reaches the LAPIC.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "libvmx/ept.h"
#include "libvmx/guest_memory.h"
#include "libvmx/vmx.h"
#include "libvmx/vmx_internal.h"
#include "tests/unit/vmx/test_vmx_env.h"

/* ---- the decoder ---- */

static void check(const uint8_t *b, size_t n, unsigned mode, unsigned len, unsigned reg,
                  unsigned size)
{
	struct mmio_access st;
	assert_true(mmio_decode_store(b, n, mode, &st));
	assert_int_equal(st.len, len);
	assert_int_equal(st.size, size);
	if (!st.imm)
		assert_int_equal(st.reg, reg);
}

static void test_decode_stores(void **state)
{
	/* Trailing bytes belong to the next instruction: the length must stop before them. */
	const uint8_t moffs32[] = {0xa3, 0x10, 0x03, 0xe0, 0xfe, 0x8b, 0x45};
	check(moffs32, sizeof(moffs32), 32, 5, 0, 4);
	const uint8_t moffs64[] = {0xa3, 0, 3, 0xe0, 0xfe, 0, 0, 0, 0, 0x90};
	check(moffs64, sizeof(moffs64), 64, 9, 0, 4);
	const uint8_t moffs64_67[] = {0x67, 0xa3, 0, 3, 0xe0, 0xfe, 0x90};
	check(moffs64_67, sizeof(moffs64_67), 64, 6, 0, 4);
	const uint8_t disp32[] = {0x89, 0x15, 0x00, 0x03, 0xe0, 0xfe, 0x90};
	check(disp32, sizeof(disp32), 32, 6, 2, 4);
	/* Linux: movl %eax, fixmap address (SIB, no base, disp32). */
	const uint8_t sib_abs[] = {0x89, 0x04, 0x25, 0xb0, 0xc0, 0x5f, 0xff, 0x90};
	check(sib_abs, sizeof(sib_abs), 64, 7, 0, 4);
	const uint8_t rex_r_rip[] = {0x44, 0x89, 0x0d, 0x10, 0, 0, 0, 0x90};
	check(rex_r_rip, sizeof(rex_r_rip), 64, 7, 9, 4);
	const uint8_t disp8[] = {0x89, 0x50, 0x10, 0x90};
	check(disp8, sizeof(disp8), 32, 3, 2, 4);
	const uint8_t seg_prefix[] = {0x3e, 0x89, 0x08, 0x90};
	check(seg_prefix, sizeof(seg_prefix), 32, 3, 1, 4);
	const uint8_t real16[] = {0x66, 0x89, 0x16, 0x00, 0x03, 0x90};
	check(real16, sizeof(real16), 16, 5, 2, 4);
	const uint8_t xchg[] = {0x87, 0x07, 0x90};
	struct mmio_access st;
	assert_true(mmio_decode_store(xchg, sizeof(xchg), 64, &st));
	assert_true(st.xchg);
	assert_int_equal(st.len, 2);

	const uint8_t imm[] = {0xc7, 0x80, 0x00, 0x03, 0, 0, 0x00, 0x45, 0, 0, 0x90};
	assert_true(mmio_decode_store(imm, sizeof(imm), 64, &st));
	assert_true(st.imm);
	assert_int_equal(st.len, 10);
	assert_int_equal(st.imm_value, 0x4500);

	const uint8_t load[] = {0x8b, 0x05, 0, 0, 0, 0};
	assert_false(mmio_decode_store(load, sizeof(load), 64, &st));
	const uint8_t regreg[] = {0x89, 0xc0};
	assert_false(mmio_decode_store(regreg, sizeof(regreg), 64, &st));
	const uint8_t truncated[] = {0x89, 0x15, 0x00};
	assert_false(mmio_decode_store(truncated, sizeof(truncated), 32, &st));
}

/* ---- emulation ---- */

static uint8_t guest_ram[64 * 1024] __attribute__((aligned(4096)));

/* Three CPUs: a test may start CPU 1 and CPU 2 still waits for SIPI, so the
 * LAPIC page stays trapped (it is given back, for the process, once none waits:
 * the last test). */
static struct vcpu *protected_guest(void)
{
	struct vcpu *v = env_guest(3, NULL);
	guest_memory_test_window(guest_ram, sizeof(guest_ram));
	memset(guest_ram, 0x90, sizeof(guest_ram));
	env_protected_mode();
	vmcs_set(VMCS_GUEST_CS_ACCESS_RIGHTS.enc, 0xc09b); /* 32-bit code */
	return v;
}

/* `mov [0xfee00000 + off], edx` at guest 0x1000, with EDX = value: the EPT violation. */
static void store_edx(struct vcpu *v, uint32_t off, uint32_t value)
{
	const uint8_t insn[] = {0x89, 0x15, (uint8_t)off, (uint8_t)(0xe0 | (off >> 8)), 0xe0, 0xfe};
	memcpy(&guest_ram[0x1000], insn, sizeof(insn));
	vmcs_set(VMCS_GUEST_RIP.enc, 0x1000);
	v->gpr[GPR_RDX] = value;
	struct exit_fields f = {.reason = VMX_EXIT_EPT_VIOLATION,
	                        .qualification = EPTQUAL_WRITE | EPTQUAL_GLA_VALID,
	                        .gpa = 0xfee00000ull + off};
	env_exit(v, &f);
	assert_int_equal(vmcs_get(VMCS_GUEST_RIP.enc), 0x1006);
	assert_int_equal(vmcs_get(VMCS_VM_ENTRY_INTR_INFO.enc) & INTR_INFO_VALID, 0);
}

static void test_lapic_page_is_read_only_in_ept(void **state)
{
	protected_guest();
	struct ept_mapping m;

	assert_true(ept_lookup(env_eptp(), 0xfee00000, &m));
	assert_true(m.rwx & EPT_READ);
	assert_false(m.rwx & EPT_WRITE);
	/* Its neighbour (IOAPIC range, other MMIO) is untouched. */
	assert_true(ept_lookup(env_eptp(), 0xfec00000, &m));
	assert_true(m.rwx & EPT_WRITE);
	/* The x2APIC ICR exits for writes. */
	const uint8_t *msr = hw_phys_ptr(vmcs_get(VMCS_MSR_BITMAP.enc));
	assert_true(msr[2048 + 0x830 / 8] & (1u << (0x830 % 8)));
	guest_memory_test_window(NULL, 0);
}

static void test_init_to_waiting_ap_is_dropped_sipi_forwarded(void **state)
{
	struct vcpu *v = protected_guest();
	assert_true(vmx_vcpu(1)->waiting_for_sipi);
	size_t ipis = fake_ipi_count();

	store_edx(v, APIC_REG_ICR_HIGH, 1u << 24);
	assert_int_equal(fake_cpu(0)->apic_regs[APIC_REG_ICR_HIGH / 16], 1u << 24);
	store_edx(v, APIC_REG_ICR_LOW,
	          APIC_ICR_DM_INIT | APIC_ICR_LEVEL_ASSERT | APIC_ICR_TRIGGER_LEVEL);
	assert_int_equal(fake_ipi_count(), ipis); /* dropped */
	store_edx(v, APIC_REG_ICR_LOW, APIC_ICR_DM_STARTUP | 0x08);
	assert_int_equal(fake_ipi_count(), ipis + 1);
	struct fake_ipi ipi = fake_ipi_log(fake_ipi_log_len() - 1);
	assert_int_equal(ipi.delivery_mode, 6);
	assert_int_equal(ipi.vector, 8);
	assert_int_equal(ipi.dest, 1);
	/* Any other register write goes to the LAPIC as written. */
	store_edx(v, APIC_REG_TPR, 0x20);
	assert_int_equal(fake_cpu(0)->apic_regs[APIC_REG_TPR / 16], 0x20);
	guest_memory_test_window(NULL, 0);
}

static void test_init_to_running_cpu_is_forwarded(void **state)
{
	struct vcpu *v = protected_guest();
	fake_set_cpu(1);
	struct exit_fields sipi = {.reason = VMX_EXIT_SIPI, .qualification = 8};
	env_exit(vmx_vcpu(1), &sipi);
	fake_set_cpu(0);
	assert_false(vmx_vcpu(1)->waiting_for_sipi);
	size_t ipis = fake_ipi_count();

	store_edx(v, APIC_REG_ICR_HIGH, 1u << 24);
	store_edx(v, APIC_REG_ICR_LOW, APIC_ICR_DM_INIT | APIC_ICR_LEVEL_ASSERT);
	assert_int_equal(fake_ipi_count(), ipis + 1);
	assert_int_equal(fake_ipi_log(fake_ipi_log_len() - 1).delivery_mode, 5);
	/* A broadcast INIT includes the running CPU: sent to it, by its APIC id;
	 * CPU 2, waiting for SIPI, is left alone (an INIT there is a no-op). */
	store_edx(v, APIC_REG_ICR_LOW, APIC_ICR_DM_INIT | APIC_ICR_SHORTHAND_OTHERS);
	assert_int_equal(fake_ipi_count(), ipis + 2);
	struct fake_ipi ipi = fake_ipi_log(fake_ipi_log_len() - 1);
	assert_int_equal(ipi.delivery_mode, 5);
	assert_int_equal(ipi.shorthand, 0);
	assert_int_equal(ipi.dest, 1);
	guest_memory_test_window(NULL, 0);
}

/* A start-up IPI by shorthand reaches every target, one targeted IPI each
 * (issue 15.3: Bochs delivered a broadcast SIPI to one waiting AP only). */
static void test_start_ipis_by_shorthand_go_one_per_cpu(void **state)
{
	struct vcpu *v = protected_guest(); /* 3 CPUs: 1 and 2 wait for SIPI */
	size_t ipis = fake_ipi_count(), log = fake_ipi_log_len();

	store_edx(v, APIC_REG_ICR_HIGH, 7u << 24); /* ignored with a shorthand */
	store_edx(v, APIC_REG_ICR_LOW,
	          APIC_ICR_DM_INIT | APIC_ICR_LEVEL_ASSERT | APIC_ICR_SHORTHAND_OTHERS);
	assert_int_equal(fake_ipi_count(), ipis); /* every target waits: dropped */
	store_edx(v, APIC_REG_ICR_LOW, APIC_ICR_DM_STARTUP | APIC_ICR_SHORTHAND_OTHERS | 0x08);
	assert_int_equal(fake_ipi_count(), ipis + 2);
	for (uint32_t i = 0; i < 2; i++) {
		struct fake_ipi ipi = fake_ipi_log(log + i);
		assert_int_equal(ipi.delivery_mode, 6);
		assert_int_equal(ipi.vector, 8);
		assert_int_equal(ipi.shorthand, 0);
		assert_int_equal(ipi.dest, i + 1);
	}
	/* The guest reads back the destination it wrote. */
	assert_int_equal(fake_cpu(0)->apic_regs[APIC_REG_ICR_HIGH / 16], 7u << 24);
	/* "All including self": the sender too. */
	store_edx(v, APIC_REG_ICR_LOW, APIC_ICR_DM_STARTUP | APIC_ICR_SHORTHAND_ALL | 0x09);
	assert_int_equal(fake_ipi_count(), ipis + 5);
	assert_int_equal(fake_ipi_log(log + 2).dest, 0);
	/* Other IPIs by shorthand go out as written. */
	store_edx(v, APIC_REG_ICR_LOW, APIC_ICR_DM_FIXED | APIC_ICR_SHORTHAND_OTHERS | 0x40);
	assert_int_equal(fake_ipi_count(), ipis + 6);
	assert_int_equal(fake_ipi_log(fake_ipi_log_len() - 1).shorthand, 3);
	guest_memory_test_window(NULL, 0);
}

static void test_xchg_returns_old_register(void **state)
{
	struct vcpu *v = protected_guest();
	const uint8_t insn[] = {0x87, 0x05, 0x80, 0x00, 0xe0, 0xfe}; /* xchg [0xfee00080], eax */

	fake_cpu(0)->apic_regs[APIC_REG_TPR / 16] = 0x10;
	memcpy(&guest_ram[0x1000], insn, sizeof(insn));
	vmcs_set(VMCS_GUEST_RIP.enc, 0x1000);
	v->gpr[GPR_RAX] = 0xffffffff00000030ull;
	struct exit_fields f = {
	    .reason = VMX_EXIT_EPT_VIOLATION, .qualification = EPTQUAL_WRITE, .gpa = 0xfee00080};
	env_exit(v, &f);
	assert_int_equal(fake_cpu(0)->apic_regs[APIC_REG_TPR / 16], 0x30);
	assert_int_equal(v->gpr[GPR_RAX], 0x10); /* 32-bit result zero-extends */
	assert_int_equal(vmcs_get(VMCS_GUEST_RIP.enc), 0x1006);
	guest_memory_test_window(NULL, 0);
}

static void test_store_through_guest_paging(void **state)
{
	struct vcpu *v = protected_guest();
	/* 32-bit paging: linear 0x400000 -> physical 0x2000 (PDE at 0x3000, PT at 0x4000). */
	uint32_t *pd = (uint32_t *)&guest_ram[0x3000], *pt = (uint32_t *)&guest_ram[0x4000];
	pd[1] = 0x4000 | 1;
	pt[0] = 0x2000 | 1;
	const uint8_t insn[] = {0xa3, 0x80, 0x00, 0xe0, 0xfe}; /* mov [0xfee00080], eax */
	memcpy(&guest_ram[0x2000], insn, sizeof(insn));
	vmcs_set(VMCS_GUEST_CR0.enc, vmcs_get(VMCS_GUEST_CR0.enc) | CR0_PG);
	vmcs_set(VMCS_GUEST_CR3.enc, 0x3000);
	vmcs_set(VMCS_GUEST_RIP.enc, 0x400000);
	v->gpr[GPR_RAX] = 0x40;
	struct exit_fields f = {
	    .reason = VMX_EXIT_EPT_VIOLATION, .qualification = EPTQUAL_WRITE, .gpa = 0xfee00080};
	env_exit(v, &f);
	assert_int_equal(fake_cpu(0)->apic_regs[APIC_REG_TPR / 16], 0x40);
	assert_int_equal(vmcs_get(VMCS_GUEST_RIP.enc), 0x400005);
	guest_memory_test_window(NULL, 0);
}

/* PAE: the walk starts at the PDPTEs in the VMCS (what the CPU used), not at
 * the PDPT in memory, which here is empty. */
static void test_store_through_pae_paging(void **state)
{
	struct vcpu *v = protected_guest();
	/* Linear 0x400000 -> physical 0x2000: PD at 0x3000 (entry 2), PT at 0x4000. */
	uint64_t *pd = (uint64_t *)&guest_ram[0x3000], *pt = (uint64_t *)&guest_ram[0x4000];
	memset(&guest_ram[0x5000], 0, 32);
	pd[2] = 0x4000 | 1;
	pt[0] = 0x2000 | 1;
	const uint8_t insn[] = {0xa3, 0x80, 0x00, 0xe0, 0xfe}; /* mov [0xfee00080], eax */
	memcpy(&guest_ram[0x2000], insn, sizeof(insn));
	vmcs_set(VMCS_GUEST_CR0.enc, vmcs_get(VMCS_GUEST_CR0.enc) | CR0_PG);
	vmcs_set(VMCS_GUEST_CR4.enc, vmcs_get(VMCS_GUEST_CR4.enc) | CR4_PAE);
	vmcs_set(VMCS_GUEST_CR3.enc, 0x5000);
	vmcs_set(VMCS_GUEST_PDPTE0.enc, 0x3000 | 1);
	vmcs_set(VMCS_GUEST_RIP.enc, 0x400000);
	v->gpr[GPR_RAX] = 0x50;
	struct exit_fields f = {
	    .reason = VMX_EXIT_EPT_VIOLATION, .qualification = EPTQUAL_WRITE, .gpa = 0xfee00080};
	env_exit(v, &f);
	assert_int_equal(fake_cpu(0)->apic_regs[APIC_REG_TPR / 16], 0x50);
	assert_int_equal(vmcs_get(VMCS_GUEST_RIP.enc), 0x400005);
	guest_memory_test_window(NULL, 0);
}

static void test_undecodable_store_stops_guest_cleanly(void **state)
{
	struct vcpu *v = protected_guest();
	const uint8_t insn[] = {0x0f, 0x0b}; /* ud2 */

	memcpy(&guest_ram[0x1000], insn, sizeof(insn));
	vmcs_set(VMCS_GUEST_RIP.enc, 0x1000);
	struct exit_fields f = {
	    .reason = VMX_EXIT_EPT_VIOLATION, .qualification = EPTQUAL_WRITE, .gpa = 0xfee00300};
	env_console();
	expect_assert_failure(env_exit(v, &f));
	const char *out = env_console();
	assert_non_null(strstr(out, "hv: guest stopped on CPU 0: store to LAPIC offset 0x300 at "
	                            "RIP 0x1000 by an instruction that is not emulated"));
	assert_non_null(strstr(out, "hv: power off (code 4)"));
	assert_null(strstr(out, "PANIC"));
	guest_memory_test_window(NULL, 0);
}

/* Narrower than 32 bits or not 16-byte aligned: undefined (SDM Vol. 3A 11.4.1),
 * dropped; the instruction completes. */
static void test_byte_and_misaligned_stores_are_dropped(void **state)
{
	struct vcpu *v = protected_guest();
	const uint8_t byte_store[] = {0x88, 0x15, 0x80,
	                              0x00, 0xe0, 0xfe}; /* mov [0xfee00080], dl */
	const uint8_t word_store[] = {0x66, 0x89, 0x15, 0x80, 0x00, 0xe0, 0xfe};
	const uint8_t dword_off4[] = {0x89, 0x15, 0x84, 0x00, 0xe0, 0xfe}; /* TPR + 4 */

	fake_cpu(0)->apic_regs[APIC_REG_TPR / 16] = 0x10;
	v->gpr[GPR_RDX] = 0x70;
	env_console();
	memcpy(&guest_ram[0x1000], byte_store, sizeof(byte_store));
	vmcs_set(VMCS_GUEST_RIP.enc, 0x1000);
	struct exit_fields f = {
	    .reason = VMX_EXIT_EPT_VIOLATION, .qualification = EPTQUAL_WRITE, .gpa = 0xfee00080};
	env_exit(v, &f);
	assert_int_equal(vmcs_get(VMCS_GUEST_RIP.enc), 0x1006);

	memcpy(&guest_ram[0x1000], word_store, sizeof(word_store));
	vmcs_set(VMCS_GUEST_RIP.enc, 0x1000);
	env_exit(v, &f);
	assert_int_equal(vmcs_get(VMCS_GUEST_RIP.enc), 0x1007);

	memcpy(&guest_ram[0x1000], dword_off4, sizeof(dword_off4));
	vmcs_set(VMCS_GUEST_RIP.enc, 0x1000);
	f.gpa = 0xfee00084;
	env_exit(v, &f);
	assert_int_equal(vmcs_get(VMCS_GUEST_RIP.enc), 0x1006);

	assert_int_equal(fake_cpu(0)->apic_regs[APIC_REG_TPR / 16], 0x10);
	assert_int_equal(vmcs_get(VMCS_VM_ENTRY_INTR_INFO.enc) & INTR_INFO_VALID, 0);
	assert_null(strstr(env_console(), "PANIC"));
	guest_memory_test_window(NULL, 0);
}

static void test_x2apic_icr(void **state)
{
	struct vcpu *v = env_guest(3, NULL);
	env_protected_mode();
	size_t ipis = fake_ipi_count();

	/* Not in x2APIC mode: the MSR does not exist. */
	v->gpr[GPR_RCX] = MSR_X2APIC_ICR;
	v->gpr[GPR_RAX] = APIC_ICR_DM_INIT | APIC_ICR_LEVEL_ASSERT;
	v->gpr[GPR_RDX] = 1;
	vmcs_set(VMCS_GUEST_RIP.enc, 0x1000);
	struct exit_fields f = {.reason = VMX_EXIT_WRMSR, .instruction_len = 2};
	env_exit(v, &f);
	assert_int_equal(vmcs_get(VMCS_VM_ENTRY_INTR_INFO.enc),
	                 INTR_INFO(X86_VEC_GP, INTR_TYPE_HW_EXCEPTION) | INTR_INFO_DELIVER_CODE);

	fake_msr_set_cpu(0, MSR_IA32_APIC_BASE,
	                 fake_msr_get_cpu(0, MSR_IA32_APIC_BASE) | APIC_BASE_X2APIC);
	env_exit(v, &f); /* INIT to the waiting AP: dropped */
	assert_int_equal(fake_ipi_count(), ipis);
	assert_int_equal(vmcs_get(VMCS_GUEST_RIP.enc), 0x1002);
	v->gpr[GPR_RAX] = APIC_ICR_DM_FIXED | 0x40;
	env_exit(v, &f);
	assert_int_equal(fake_ipi_count(), ipis + 1);
	assert_true(fake_ipi_log(fake_ipi_log_len() - 1).x2apic);
	/* A SIPI by shorthand: one per waiting AP, by x2APIC id. */
	v->gpr[GPR_RAX] = APIC_ICR_DM_STARTUP | APIC_ICR_SHORTHAND_OTHERS | 0x08;
	v->gpr[GPR_RDX] = 0;
	env_exit(v, &f);
	assert_int_equal(fake_ipi_count(), ipis + 3);
	for (uint32_t i = 0; i < 2; i++) {
		struct fake_ipi ipi = fake_ipi_log(fake_ipi_log_len() - 2 + i);
		assert_true(ipi.x2apic);
		assert_int_equal(ipi.delivery_mode, 6);
		assert_int_equal(ipi.shorthand, 0);
		assert_int_equal(ipi.dest, i + 1);
	}
}

/* Last: gives the LAPIC page its write access back for the rest of the process. */
/* Does a guest WRMSR to the x2APIC ICR exit? (MSR bitmap, SDM Vol. 3C 25.6.9) */
static bool icr_write_exits(void)
{
	const uint8_t *b = hw_phys_ptr(vmx_msr_bitmap_pa());
	uint32_t bit = MSR_X2APIC_ICR & 0x1fffu;
	return (b[2048 + bit / 8] >> (bit % 8)) & 1;
}

static void test_write_access_back_once_every_ap_started(void **state)
{
	struct vcpu *v = protected_guest();
	struct ept_mapping m;
	struct exit_fields sipi = {.reason = VMX_EXIT_SIPI, .qualification = 8};

	fake_set_cpu(1);
	env_exit(vmx_vcpu(1), &sipi);
	fake_set_cpu(0);
	assert_true(ept_lookup(env_eptp(), 0xfee00000, &m));
	assert_false(m.rwx & EPT_WRITE); /* CPU 2 still waits */
	assert_true(icr_write_exits());
	fake_set_cpu(2);
	env_exit(vmx_vcpu(2), &sipi);
	fake_set_cpu(0);
	assert_true(ept_lookup(env_eptp(), 0xfee00000, &m));
	assert_true(m.rwx & EPT_WRITE);
	/* The x2APIC ICR stops exiting with it (issue 15.4). */
	assert_false(icr_write_exits());

	/* A CPU with the old translation exits once more: INVEPT and retry. */
	uint64_t invepts = fake_hw.invept_count;
	vmcs_set(VMCS_GUEST_RIP.enc, 0x1000);
	struct exit_fields f = {
	    .reason = VMX_EXIT_EPT_VIOLATION, .qualification = EPTQUAL_WRITE, .gpa = 0xfee000b0};
	env_exit(v, &f);
	assert_int_equal(fake_hw.invept_count, invepts + 1);
	assert_int_equal(vmcs_get(VMCS_GUEST_RIP.enc), 0x1000);
	assert_int_equal(vmcs_get(VMCS_VM_ENTRY_INTR_INFO.enc) & INTR_INFO_VALID, 0);
	guest_memory_test_window(NULL, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_decode_stores),
	    cmocka_unit_test(test_lapic_page_is_read_only_in_ept),
	    cmocka_unit_test(test_init_to_waiting_ap_is_dropped_sipi_forwarded),
	    cmocka_unit_test(test_init_to_running_cpu_is_forwarded),
	    cmocka_unit_test(test_start_ipis_by_shorthand_go_one_per_cpu),
	    cmocka_unit_test(test_xchg_returns_old_register),
	    cmocka_unit_test(test_store_through_guest_paging),
	    cmocka_unit_test(test_store_through_pae_paging),
	    cmocka_unit_test(test_undecodable_store_stops_guest_cleanly),
	    cmocka_unit_test(test_byte_and_misaligned_stores_are_dropped),
	    cmocka_unit_test(test_x2apic_icr),
	    cmocka_unit_test(test_write_access_back_once_every_ap_started),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
