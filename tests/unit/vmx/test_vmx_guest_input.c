/*
 * Guest input never reaches hv_panic (issue 11.4). Each test performs what a
 * hostile or merely unusual guest can do and asserts what it gets instead: the
 * exception hardware would raise, the emulated result, or a clean stop ("hv:
 * guest stopped on CPU n: ..." and a power-off with code 4), and never the
 * "PANIC" line. The LAPIC-page cases are in test_vmx_guest_apic.c, the
 * quiesce case in test_vmx_quiesce_stop.c.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "libvmx/e820.h"
#include "libvmx/ept.h"
#include "libvmx/guest_memory.h"
#include "libvmx/vmx.h"
#include "libvmx/vmx_caps.h"
#include "libvmx/vmx_internal.h"
#include "tests/unit/vmx/vmx_exit_util.h"

static uint8_t guest_ram[64 * 1024] __attribute__((aligned(4096)));

/* One CPU in 32-bit protected mode, paging off, guest RAM behind a window. */
static struct vcpu *guest32(void)
{
	struct vcpu *v = env_guest(1, NULL);
	guest_memory_test_window(guest_ram, sizeof(guest_ram));
	memset(guest_ram, 0x90, sizeof(guest_ram));
	env_protected_mode();
	vmcs_set(VMCS_GUEST_CS_ACCESS_RIGHTS.enc, 0xc09b); /* 32-bit code */
	return v;
}

static void done(void)
{
	guest_memory_test_window(NULL, 0);
}

/* The clean stop: the reason, the exit code, no panic. */
static void assert_stopped(const char *out, const char *why)
{
	assert_non_null(strstr(out, "hv: guest stopped on CPU 0: "));
	assert_non_null(strstr(out, why));
	assert_non_null(strstr(out, "hv: power off (code 4)"));
	assert_null(strstr(out, "PANIC"));
}

/* ---- (a) task switch: emulated (test_vmx_task_switch.c) in 32-bit protected
 * mode only; anywhere else, a clean stop ---- */

static void test_task_switch_stops_guest_cleanly(void **state)
{
	struct vcpu *v = env_guest(1, NULL);
	/* JMP to a TSS (SDM Vol. 3C Table 28-2: source 2 in bits 31:30, selector 0x28). */
	struct exit_fields f = {.reason = VMX_EXIT_TASK_SWITCH,
	                        .qualification = (2ull << 30) | 0x28};

	env_console();
	expect_assert_failure(env_exit(v, &f));
	/* env_guest() leaves the guest in real mode. */
	assert_stopped(env_console(), "task switch (JMP to TSS selector 0x28): a switch outside "
	                              "32-bit protected mode is not emulated");
}

/* ---- (b) GETSEC and SMX ---- */

static void test_getsec_gets_ud(void **state)
{
	struct vcpu *v = env_guest(1, NULL);

	env_console();
	instr_exit(v, VMX_EXIT_GETSEC, 0, 2);
	assert_int_equal(injected(), INTR_INFO(X86_VEC_UD, INTR_TYPE_HW_EXCEPTION));
	assert_int_equal(rip(), 0x1000); /* a fault */
	assert_null(strstr(env_console(), "PANIC"));
}

/* Exits no control enables, past libvmx's name table: #UD, not "unhandled". */
static void test_seamcall_tdcall_msr_immediate_get_ud(void **state)
{
	struct vcpu *v = env_guest(1, NULL);
	const uint32_t reasons[] = {VMX_EXIT_SEAMCALL, VMX_EXIT_TDCALL, VMX_EXIT_RDMSR_IMM,
	                            VMX_EXIT_WRMSR_IMM};
	struct hw_cpuid_regs leaf7_1 = {.ecx = 1u << 5};

	for (unsigned i = 0; i < 4; i++) {
		instr_exit(v, reasons[i], 0, 4);
		assert_int_equal(injected(), INTR_INFO(X86_VEC_UD, INTR_TYPE_HW_EXCEPTION));
		assert_int_equal(rip(), 0x1000);
	}
	/* And CPUID does not offer MSR-immediate (CPUID.(7,1):ECX[5]). */
	fake_cpuid_set(7, 1, &leaf7_1);
	v->gpr[GPR_RAX] = 7;
	v->gpr[GPR_RCX] = 1;
	instr_exit(v, VMX_EXIT_CPUID, 0, 2);
	assert_int_equal(v->gpr[GPR_RCX] & (1u << 5), 0);
}

static void test_smx_hidden_and_cr4_smxe_refused(void **state)
{
	struct vcpu *v = env_guest(1, NULL);
	struct hw_cpuid_regs leaf1 = {.ecx = CPUID1_ECX_SMX | CPUID1_ECX_X2APIC};

	/* The CPU has SMX, and CR4.SMXE is settable in VMX operation (the fake's
	 * IA32_VMX_CR4_FIXED1 allows bit 14). */
	assert_true(vmx_config()->cr4_fixed1 & CR4_SMXE);
	fake_cpuid_set(1, 0, &leaf1);
	v->gpr[GPR_RAX] = 1;
	v->gpr[GPR_RCX] = 0;
	instr_exit(v, VMX_EXIT_CPUID, 0, 2);
	assert_int_equal(v->gpr[GPR_RCX] & CPUID1_ECX_SMX, 0);
	assert_true(v->gpr[GPR_RCX] & CPUID1_ECX_X2APIC);

	/* SMXE is host-owned, so the write exits; without SMX it is #GP (SDM Vol. 3A 2.5). */
	assert_true(vmcs_get(VMCS_CR4_GUEST_HOST_MASK.enc) & CR4_SMXE);
	env_protected_mode();
	v->gpr[GPR_RBX] = CR4_SMXE;
	instr_exit(v, VMX_EXIT_CR_ACCESS, 4 | (GPR_RBX << 8), 3); /* MOV CR4, RBX */
	assert_gp0_injected();
	assert_int_equal(vmcs_get(VMCS_CR4_READ_SHADOW.enc) & CR4_SMXE, 0);
	assert_int_equal(vmcs_get(VMCS_GUEST_CR4.enc) & CR4_SMXE, 0);
}

/* ---- CR writes the hypervisor does for the guest: never a guest state VM
 * entry refuses (SDM Vol. 3C 27.3.1), which would end in the entry-failure
 * panic; the guest gets #GP as MOV CRn would give it ---- */

/* MOV CRn, reg exit qualification (SDM Vol. 3C Table 28-3). */
static uint64_t mov_to_cr(unsigned cr, unsigned gpr)
{
	return cr | ((uint64_t)gpr << 8);
}

static void test_cr3_reserved_bits_gp_and_32bit_operand(void **state)
{
	struct vcpu *v = env_guest(1, NULL);
	struct hw_cpuid_regs ext = {.eax = 0x80000008u}, width = {.eax = 39};

	fake_cpuid_set(0x80000000u, 0, &ext);
	fake_cpuid_set(0x80000008u, 0, &width);
	/* 64-bit code: EFER.LMA and CS.L. */
	env_protected_mode();
	vmcs_set(VMCS_GUEST_IA32_EFER.enc, EFER_LME | EFER_LMA);
	vmcs_set(VMCS_GUEST_CS_ACCESS_RIGHTS.enc, 0xa09b);
	vmcs_set(VMCS_GUEST_CR3.enc, 0x1000);
	v->gpr[GPR_RAX] = (1ull << 39) | 0x2000; /* bit 39: beyond a 39-bit width */
	instr_exit(v, VMX_EXIT_CR_ACCESS, mov_to_cr(3, GPR_RAX), 3);
	assert_gp0_injected();
	assert_int_equal(vmcs_get(VMCS_GUEST_CR3.enc), 0x1000);
	v->gpr[GPR_RAX] = (1ull << 38) | 0x2000; /* within it */
	instr_exit(v, VMX_EXIT_CR_ACCESS, mov_to_cr(3, GPR_RAX), 3);
	assert_int_equal(vmcs_get(VMCS_GUEST_CR3.enc), (1ull << 38) | 0x2000);
	assert_int_equal(rip(), 0x1003);

	/* 32-bit code: MOV CR3, EAX; what the guest left in RAX[63:32] is not CR3. */
	vmcs_set(VMCS_GUEST_IA32_EFER.enc, 0);
	vmcs_set(VMCS_GUEST_CS_ACCESS_RIGHTS.enc, 0xc09b);
	v->gpr[GPR_RAX] = 0xdead000000003000ull;
	instr_exit(v, VMX_EXIT_CR_ACCESS, mov_to_cr(3, GPR_RAX), 3);
	assert_int_equal(vmcs_get(VMCS_GUEST_CR3.enc), 0x3000);
	assert_int_equal(injected() & INTR_INFO_VALID, 0);
}

static void test_pae_pdpte_reserved_bits_gp(void **state)
{
	struct vcpu *v = guest32();
	uint64_t *pdpt = (uint64_t *)&guest_ram[0x5000];

	/* PAE on, paging off; the guest turns paging on with CR0.NE clear (a
	 * host-owned bit: the write exits) and a PDPT whose entry 1 has bit 1
	 * set, reserved (SDM Vol. 3A Table 4-8). */
	memset(pdpt, 0, 32);
	pdpt[0] = 0x3000 | 1;
	pdpt[1] = 0x4000 | 1 | 2;
	vmcs_set(VMCS_GUEST_CR4.enc, vmcs_get(VMCS_GUEST_CR4.enc) | CR4_PAE);
	vmcs_set(VMCS_CR4_READ_SHADOW.enc, vmcs_get(VMCS_CR4_READ_SHADOW.enc) | CR4_PAE);
	vmcs_set(VMCS_GUEST_CR3.enc, 0x5000);
	vmcs_set(VMCS_GUEST_PDPTE1.enc, 0);
	uint64_t cr0 = vmcs_get(VMCS_CR0_READ_SHADOW.enc);
	v->gpr[GPR_RAX] = CR0_PE | CR0_PG | CR0_ET;
	instr_exit(v, VMX_EXIT_CR_ACCESS, mov_to_cr(0, GPR_RAX), 3);
	assert_gp0_injected();
	assert_int_equal(vmcs_get(VMCS_GUEST_PDPTE1.enc), 0);
	assert_int_equal(vmcs_get(VMCS_CR0_READ_SHADOW.enc), cr0);

	/* The same with a clean entry: loaded, paging on. */
	pdpt[1] = 0x4000 | 1;
	instr_exit(v, VMX_EXIT_CR_ACCESS, mov_to_cr(0, GPR_RAX), 3);
	assert_int_equal(vmcs_get(VMCS_GUEST_PDPTE1.enc), 0x4001);
	assert_true(vmcs_get(VMCS_CR0_READ_SHADOW.enc) & CR0_PG);
	done();
}

/* A 16-bit busy TSS in TR when the guest turned long mode on by itself: VM
 * entry would refuse it (SDM Vol. 3C 27.3.1.2); the next entry has type 11. */
static void test_long_mode_with_16bit_tss_enters(void **state)
{
	struct vcpu *v = env_guest(1, NULL);

	env_protected_mode();
	vmcs_set(VMCS_GUEST_TR_ACCESS_RIGHTS.enc, 0x83); /* present, 16-bit busy TSS */
	/* The CPU entered long mode without an exit; this exit saved LMA. */
	vmcs_set(VMCS_GUEST_IA32_EFER.enc, EFER_LME | EFER_LMA);
	vmcs_set(VMCS_ENTRY_CONTROLS.enc,
	         vmcs_get(VMCS_ENTRY_CONTROLS.enc) | ENTRY_IA32E_MODE_GUEST);
	v->gpr[GPR_RAX] = 0;
	instr_exit(v, VMX_EXIT_CPUID, 0, 2);
	assert_int_equal(vmcs_get(VMCS_GUEST_TR_ACCESS_RIGHTS.enc), 0x8b);

	/* Outside long mode a 16-bit TSS is valid and stays. */
	vmcs_set(VMCS_ENTRY_CONTROLS.enc,
	         vmcs_get(VMCS_ENTRY_CONTROLS.enc) & ~(uint64_t)ENTRY_IA32E_MODE_GUEST);
	vmcs_set(VMCS_GUEST_IA32_EFER.enc, 0);
	vmcs_set(VMCS_GUEST_TR_ACCESS_RIGHTS.enc, 0x83);
	instr_exit(v, VMX_EXIT_CPUID, 0, 2);
	assert_int_equal(vmcs_get(VMCS_GUEST_TR_ACCESS_RIGHTS.enc), 0x83);
}

/* ---- (c) guest-physical space with no device (above 4 GiB and RAM) ---- */

#define NOWHERE 0x200000000ull /* 8 GiB: the EPT maps 0 .. 4 GiB here */

/* `insn` at guest 0x1000, then an EPT violation at NOWHERE with qualification q. */
static void nowhere_exit(struct vcpu *v, const uint8_t *insn, size_t n, uint64_t q)
{
	memcpy(&guest_ram[0x1000], insn, n);
	vmcs_set(VMCS_GUEST_RIP.enc, 0x1000);
	struct exit_fields f = {.reason = VMX_EXIT_EPT_VIOLATION,
	                        .qualification = q | EPTQUAL_GLA_VALID | EPTQUAL_GLA_TRANSLATION,
	                        .gpa = NOWHERE + 0x10};
	env_exit(v, &f);
}

static void test_mmio_no_device_reads_ones_drops_writes(void **state)
{
	struct vcpu *v = guest32();

	env_console();
	const uint8_t load32[] = {0x8b, 0x03}; /* mov eax, [ebx] */
	v->gpr[GPR_RAX] = 0x1122334455667788ull;
	nowhere_exit(v, load32, sizeof(load32), EPTQUAL_READ);
	assert_int_equal(v->gpr[GPR_RAX], 0xffffffffull); /* 32-bit result zero-extends */
	assert_int_equal(rip(), 0x1002);

	const uint8_t load_ah[] = {0x8a, 0x23}; /* mov ah, [ebx] */
	v->gpr[GPR_RAX] = 0x1234;
	nowhere_exit(v, load_ah, sizeof(load_ah), EPTQUAL_READ);
	assert_int_equal(v->gpr[GPR_RAX], 0xff34);

	const uint8_t movsx16[] = {0x0f, 0xbf, 0x0b}; /* movsx ecx, word [ebx] */
	v->gpr[GPR_RCX] = 0;
	nowhere_exit(v, movsx16, sizeof(movsx16), EPTQUAL_READ);
	assert_int_equal(v->gpr[GPR_RCX], 0xffffffffull);
	assert_int_equal(rip(), 0x1003);

	const uint8_t store[] = {0xc7, 0x03, 0x78, 0x56, 0x34, 0x12}; /* mov dword [ebx], imm */
	nowhere_exit(v, store, sizeof(store), EPTQUAL_WRITE);
	assert_int_equal(rip(), 0x1006); /* completed, nothing written anywhere */
	assert_int_equal(injected() & INTR_INFO_VALID, 0);
	assert_null(strstr(env_console(), "PANIC"));
	done();
}

/* A page the hypervisor hid from the guest with no access (core hides the
 * IOMMU's registers so): no device either, not the EPT-violation panic. */
static void test_hidden_page_is_no_device(void **state)
{
	struct vcpu *v = guest32();
	const uint64_t hidden = 0xfed90000ull;
	const uint8_t load32[] = {0x8b, 0x03}; /* mov eax, [ebx] */

	assert_int_equal(ept_set_page_access(env_eptp(), hidden, 4096, 0), 0);
	memcpy(&guest_ram[0x1000], load32, sizeof(load32));
	vmcs_set(VMCS_GUEST_RIP.enc, 0x1000);
	v->gpr[GPR_RAX] = 0x12345678;
	struct exit_fields f = {.reason = VMX_EXIT_EPT_VIOLATION,
	                        .qualification =
	                            EPTQUAL_READ | EPTQUAL_GLA_VALID | EPTQUAL_GLA_TRANSLATION,
	                        .gpa = hidden + 0x10};
	env_console();
	env_exit(v, &f);
	assert_int_equal(v->gpr[GPR_RAX], 0xffffffffull);
	assert_int_equal(rip(), 0x1002);
	assert_null(strstr(env_console(), "PANIC"));
	assert_int_equal(ept_set_page_access(env_eptp(), hidden, 4096, EPT_RWX), 0);
	done();
}

static void test_mmio_no_device_fetch_stops_cleanly(void **state)
{
	struct vcpu *v = guest32();

	env_console();
	vmcs_set(VMCS_GUEST_RIP.enc, 0x10);
	struct exit_fields f = {.reason = VMX_EXIT_EPT_VIOLATION,
	                        .qualification =
	                            EPTQUAL_FETCH | EPTQUAL_GLA_VALID | EPTQUAL_GLA_TRANSLATION,
	                        .gpa = NOWHERE};
	expect_assert_failure(env_exit(v, &f));
	assert_stopped(env_console(), "instruction fetch from GPA 0x200000000");
	done();
}

static void test_mmio_no_device_undecodable_stops_cleanly(void **state)
{
	struct vcpu *v = guest32();
	const uint8_t rep_movsb[] = {0xf3, 0xa4};

	env_console();
	expect_assert_failure(nowhere_exit(v, rep_movsb, sizeof(rep_movsb), EPTQUAL_WRITE));
	assert_stopped(env_console(), "by an instruction that is not emulated");
	done();
}

/*
 * RAM above 4 GiB is in the EPT, but the hypervisor maps only 0..4 GiB
 * (rt/entry.S): an instruction the guest's paging puts there is never read
 * (the host would fault), so the access cannot be emulated: a clean stop.
 */
static void test_guest_page_above_4g_not_dereferenced(void **state)
{
	struct vcpu *v = guest32();
	struct e820_map map;
	const struct e820_entry ram[] = {{0, 256u << 20, E820_RAM},
	                                 {1ull << 32, 2u << 20, E820_RAM}};
	uint64_t *pml4 = (uint64_t *)&guest_ram[0x3000], *pdpt = (uint64_t *)&guest_ram[0x4000];
	uint64_t *pd = (uint64_t *)&guest_ram[0x5000], *pt = (uint64_t *)&guest_ram[0x6000];

	assert_int_equal(e820_from_entries(ram, 2, &map), 0);
	uint64_t eptp = ept_build(&map);
	assert_int_not_equal(eptp, 0);
	vmcs_set(VMCS_EPT_POINTER.enc, eptp);
	/* 64-bit code, 4-level paging: linear 0x1000 -> GPA 4 GiB. */
	memset(&guest_ram[0x3000], 0, 0x4000);
	pml4[0] = 0x4000 | 7;
	pdpt[0] = 0x5000 | 7;
	pd[0] = 0x6000 | 7;
	pt[1] = (1ull << 32) | 7;
	vmcs_set(VMCS_GUEST_CR0.enc, vmcs_get(VMCS_GUEST_CR0.enc) | CR0_PG);
	vmcs_set(VMCS_GUEST_CR4.enc, vmcs_get(VMCS_GUEST_CR4.enc) | CR4_PAE);
	vmcs_set(VMCS_GUEST_CR3.enc, 0x3000);
	vmcs_set(VMCS_GUEST_IA32_EFER.enc, EFER_LME | EFER_LMA);
	vmcs_set(VMCS_GUEST_CS_ACCESS_RIGHTS.enc, 0xa09b);
	vmcs_set(VMCS_GUEST_RIP.enc, 0x1000);
	struct exit_fields f = {.reason = VMX_EXIT_EPT_VIOLATION,
	                        .qualification =
	                            EPTQUAL_READ | EPTQUAL_GLA_VALID | EPTQUAL_GLA_TRANSLATION,
	                        .gpa = NOWHERE};
	env_console();
	expect_assert_failure(env_exit(v, &f));
	assert_stopped(env_console(), "(0 bytes fetched");
	vmcs_set(VMCS_EPT_POINTER.enc, env_eptp());
	done();
}

/* ---- (e) string I/O to an intercepted port (Bochs's power-off port) ---- */

/* OUTS/INS exit: size 1, string, REP, port in bits 31:16; 32-bit addresses. */
static void string_exit(struct vcpu *v, bool in, uint64_t la)
{
	uint64_t q = IOQUAL_STRING | IOQUAL_REP | (in ? IOQUAL_IN : 0) | (0x8900ull << 16);
	vmcs_set(VMCS_VM_EXIT_INSTRUCTION_INFO.enc, 1u << 7); /* address size 32 */
	vmcs_set(VMCS_GUEST_LINEAR_ADDRESS.enc, la);
	struct exit_fields f = {
	    .reason = VMX_EXIT_IO_INSTRUCTION, .qualification = q, .instruction_len = 2};
	env_exit(v, &f);
}

static void test_rep_outsb_to_power_off_port(void **state)
{
	struct vcpu *v = guest32();
	const char *word = "Shutdown";

	memcpy(&guest_ram[0x2000], word, 8);
	vmcs_set(VMCS_GUEST_RIP.enc, 0x1000);
	v->gpr[GPR_RSI] = 0xabcd00002000ull; /* bits 63:32 go with a 32-bit address size */
	v->gpr[GPR_RCX] = 8;
	size_t before = fake_io_collect(0x8900, FAKE_IO_OUT, NULL, 0);
	env_console();
	/* One element per exit; RIP stays on the instruction until RCX is 0. */
	for (unsigned i = 0; i < 8; i++) {
		assert_int_equal(rip(), 0x1000);
		string_exit(v, false, 0x2000 + i);
	}
	assert_int_equal(rip(), 0x1002);
	assert_int_equal(v->gpr[GPR_RCX], 0);
	assert_int_equal(v->gpr[GPR_RSI], 0x2008);
	uint32_t out[32];
	size_t n = fake_io_collect(0x8900, FAKE_IO_OUT, out, 32);
	assert_int_equal(n - before, 8);
	for (size_t i = 0; i < 8; i++)
		assert_int_equal(out[before + i], (uint8_t)word[i]);
	const char *printed = env_console();
	assert_non_null(strstr(printed, "hv: cpu 0 exits:")); /* the power-off watch saw it */
	assert_null(strstr(printed, "PANIC"));
	done();
}

static void test_insb_from_port_writes_guest_memory(void **state)
{
	struct vcpu *v = guest32();
	uint32_t val = 0x5a;

	fake_io_script(0x8900, &val, 1);
	vmcs_set(VMCS_GUEST_RIP.enc, 0x1000);
	vmcs_set(VMCS_GUEST_RFLAGS.enc, vmcs_get(VMCS_GUEST_RFLAGS.enc) | RFLAGS_DF);
	v->gpr[GPR_RDI] = 0x3000;
	v->gpr[GPR_RCX] = 1;
	guest_ram[0x3000] = 0;
	string_exit(v, true, 0x3000);
	assert_int_equal(guest_ram[0x3000], 0x5a);
	assert_int_equal(v->gpr[GPR_RDI], 0x2fff); /* DF: backwards */
	assert_int_equal(v->gpr[GPR_RCX], 0);
	assert_int_equal(rip(), 0x1002);
	done();
}

/* An INS whose destination the guest's paging does not map: a clean stop, and
 * the port was never read (its data would be lost). */
static void test_ins_to_unmapped_memory_reads_no_port(void **state)
{
	struct vcpu *v = guest32();
	uint32_t *pd = (uint32_t *)&guest_ram[0x3000];

	memset(pd, 0, 4096); /* 32-bit paging, nothing mapped */
	vmcs_set(VMCS_GUEST_CR0.enc, vmcs_get(VMCS_GUEST_CR0.enc) | CR0_PG);
	vmcs_set(VMCS_GUEST_CR3.enc, 0x3000);
	vmcs_set(VMCS_GUEST_RIP.enc, 0x1000);
	v->gpr[GPR_RDI] = 0x400000;
	v->gpr[GPR_RCX] = 1;
	env_console();
	expect_assert_failure(string_exit(v, true, 0x400000));
	assert_stopped(env_console(),
	               "INS from port 0x8900: guest-linear 0x400000 cannot be written");
	assert_int_equal(fake_io_collect(0x8900, FAKE_IO_IN, NULL, 0), 0);
	done();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_task_switch_stops_guest_cleanly),
	    cmocka_unit_test(test_getsec_gets_ud),
	    cmocka_unit_test(test_seamcall_tdcall_msr_immediate_get_ud),
	    cmocka_unit_test(test_smx_hidden_and_cr4_smxe_refused),
	    cmocka_unit_test(test_cr3_reserved_bits_gp_and_32bit_operand),
	    cmocka_unit_test(test_pae_pdpte_reserved_bits_gp),
	    cmocka_unit_test(test_long_mode_with_16bit_tss_enters),
	    cmocka_unit_test(test_mmio_no_device_reads_ones_drops_writes),
	    cmocka_unit_test(test_hidden_page_is_no_device),
	    cmocka_unit_test(test_mmio_no_device_fetch_stops_cleanly),
	    cmocka_unit_test(test_mmio_no_device_undecodable_stops_cleanly),
	    cmocka_unit_test(test_guest_page_above_4g_not_dereferenced),
	    cmocka_unit_test(test_rep_outsb_to_power_off_port),
	    cmocka_unit_test(test_insb_from_port_writes_guest_memory),
	    cmocka_unit_test(test_ins_to_unmapped_memory_reads_no_port),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
