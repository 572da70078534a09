/* The fake machine of tv_env.h. */
#include "tests/unit/trustvisor/tv_env.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "libvmx/e820.h"
#include "libvmx/ept.h"
#include "libvmx/vmx.h"
#include "libvmx/vmx_internal.h"
#include "rt/palloc.h"
#include "rt/percpu.h"
#include "tests/unit/trustvisor/fake_platform.h"

#define POOL_SIZE (32u << 20)

static uint8_t *pool;
static uint8_t gdt[FAKE_MAX_CPUS][64] __attribute__((aligned(16)));

struct vcpu *env_guest(uint32_t ncpus, const struct hv_app *app)
{
	char why[512];

	fake_hw_reset();
	/* Entropy for the micro-TPM: RDSEED (CPUID.7:EBX[18]) with scripted values. */
	struct hw_cpuid_regs l7;
	hw_cpuid(7, 0, &l7);
	l7.ebx |= 1u << 18;
	fake_cpuid_set(7, 0, &l7);
	fake_rng_set(0x5eed, 0, 0);
	if (!pool) {
		/* Never reset: libvmx keeps its bitmaps for the life of the process. */
		pool = aligned_alloc(4096, POOL_SIZE);
		assert_non_null(pool);
		palloc_add_range((uint64_t)(uintptr_t)pool, POOL_SIZE);
	}
	for (uint32_t i = 0; i < ncpus; i++) {
		fake_set_cpu(i);
		percpu_init(i, i);
		/* A null TSS descriptor at 0x18 is enough for the host-state setup. */
		memset(gdt[i], 0, sizeof(gdt[i]));
		gdt[i][0x18 + 5] = 0x89;
		fake_cpu(i)->gdtr.base = (uint64_t)(uintptr_t)gdt[i];
		fake_cpu(i)->gdtr.limit = sizeof(gdt[i]) - 1;
		fake_cpu(i)->tr = 0x18;
		memset(vmx_vcpu(i), 0, sizeof(struct vcpu));
	}
	fake_set_cpu(0);
	vmx_set_nmi_filter(NULL);
	vmx_transition_hooks_reset();
	assert_true(vmx_supported(why, sizeof(why)));
	vmx_set_app(app);
	for (uint32_t i = 0; i < ncpus; i++) {
		fake_set_cpu(i);
		assert_int_equal(vmx_cpu_init(i), 0);
	}
	/* EPT capabilities: 4-level walk, WB, 2 MiB pages, INVEPT (SDM A.10). */
	fake_msr_set(0x48C, fake_msr_get(0x48C) | (1ull << 6) | (1ull << 14) | (1ull << 16) |
	                        (1ull << 20) | (1ull << 25) | (1ull << 26));
	const struct e820_entry ram[] = {{0, 256u << 20, E820_RAM}};
	struct e820_map map;
	assert_int_equal(e820_from_entries(ram, 1, &map), 0);
	tvf_eptp = ept_build(&map);
	assert_true(tvf_eptp != 0);
	for (uint32_t i = ncpus; i-- > 0;) {
		fake_set_cpu(i);
		vmx_prepare_guest(i, i == 0, tvf_eptp);
	}
	fake_set_cpu(0);
	return vmx_vcpu(0);
}

uint64_t vmcs_get(uint32_t encoding)
{
	return fake_vmcs_cur_get(encoding);
}

void vmcs_set(uint32_t encoding, uint64_t value)
{
	fake_vmcs_cur_set(encoding, value);
}

void env_exit(struct vcpu *v, const struct exit_fields *f)
{
	vmcs_set(VMCS_EXIT_REASON.enc, f->reason);
	vmcs_set(VMCS_EXIT_QUALIFICATION.enc, f->qualification);
	vmcs_set(VMCS_VM_EXIT_INSTRUCTION_LEN.enc, f->instruction_len);
	vmcs_set(VMCS_VM_EXIT_INTR_INFO.enc, f->intr_info);
	vmcs_set(VMCS_VM_EXIT_INTR_ERROR_CODE.enc, f->intr_error);
	vmcs_set(VMCS_IDT_VECTORING_INFO.enc, f->idt_info);
	vmcs_set(VMCS_IDT_VECTORING_ERROR_CODE.enc, f->idt_error);
	vmcs_set(VMCS_GUEST_PHYSICAL_ADDRESS.enc, f->gpa);
	vmcs_set(VMCS_VM_ENTRY_INTR_INFO.enc, 0);
	vmx_handle_exit(v);
}
