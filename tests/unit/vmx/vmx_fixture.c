/* The shared fake machine of vmx_fixture.h. */
#include "tests/unit/vmx/vmx_fixture.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "libvmx/e820.h"
#include "libvmx/ept.h"
#include "libvmx/vmx.h"
#include "libvmx/vmx_internal.h"
#include "rt/palloc.h"
#include "rt/percpu.h"

#define POOL_SIZE (32u << 20)

static uint8_t *pool;
static uint8_t gdt[FAKE_MAX_CPUS][64] __attribute__((aligned(16)));
static uint8_t tss[FAKE_MAX_CPUS][104] __attribute__((aligned(16)));
static size_t console_seen;

/* A 64-bit TSS descriptor at selector 0x18 (SDM Vol. 3A 8.2.3). */
static void write_gdt(uint32_t cpu)
{
	uint64_t base = (uint64_t)(uintptr_t)tss[cpu];
	uint8_t *d = &gdt[cpu][0x18];

	memset(gdt[cpu], 0, sizeof(gdt[cpu]));
	d[0] = 103;
	d[2] = base & 0xff;
	d[3] = (base >> 8) & 0xff;
	d[4] = (base >> 16) & 0xff;
	d[5] = 0x89;
	d[7] = (base >> 24) & 0xff;
	d[8] = (base >> 32) & 0xff;
	d[9] = (base >> 40) & 0xff;
	d[10] = (base >> 48) & 0xff;
	d[11] = (base >> 56) & 0xff;
	struct fake_cpu *c = fake_cpu(cpu);
	c->gdtr.base = (uint64_t)(uintptr_t)gdt[cpu];
	c->gdtr.limit = sizeof(gdt[cpu]) - 1;
	c->idtr.base = 0x123000 + cpu;
	c->idtr.limit = 0xfff;
	c->tr = 0x18;
	c->cr3 = 0x1000 * (cpu + 1);
}

void fixture_setup(uint32_t ncpus, void (*machine)(void))
{
	char why[512];

	fake_hw_reset();
	if (machine)
		machine();
	if (!pool) {
		/* Never reset: libvmx keeps its bitmaps for the life of the process. */
		pool = aligned_alloc(4096, POOL_SIZE);
		assert_non_null(pool);
		palloc_add_range((uint64_t)(uintptr_t)pool, POOL_SIZE);
	}
	for (uint32_t i = 0; i < ncpus; i++) {
		fake_set_cpu(i);
		percpu_init(i, i);
		write_gdt(i);
		memset(vmx_vcpu(i), 0, sizeof(struct vcpu));
	}
	fake_set_cpu(0);
	vmx_set_app(NULL);
	vmx_set_nmi_filter(NULL);
	vmx_transition_hooks_reset();
	/* Every workaround on, as in an image before vmx_quirks_boot (quirks.h). */
	vmx_quirks_set(VMX_QUIRKS_ALL);
	assert_true(vmx_supported(why, sizeof(why)));
	for (uint32_t i = 0; i < ncpus; i++) {
		fake_set_cpu(i);
		assert_int_equal(vmx_cpu_init(i), 0);
	}
	fake_set_cpu(0);
	console_seen = fake_io_log_len();
}

struct vcpu *fixture_guest(uint32_t ncpus, const struct hv_app *app, uint64_t eptp,
                           void (*boot)(void))
{
	vmx_set_app(app);
	if (boot)
		boot();
	/* The APs first (wait-for-SIPI), as core/boot.c lets them run first. */
	for (uint32_t i = ncpus; i-- > 0;) {
		fake_set_cpu(i);
		vmx_prepare_guest(i, i == 0, eptp);
	}
	fake_set_cpu(0);
	return vmx_vcpu(0);
}

uint64_t fixture_build_ept(void)
{
	struct e820_map map;
	const struct e820_entry ram[] = {{0, 256u << 20, E820_RAM}};

	assert_int_equal(e820_from_entries(ram, 1, &map), 0);
	uint64_t eptp = ept_build(&map);
	assert_int_not_equal(eptp, 0);
	return eptp;
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
	/* VM entry clears the valid bit of the entry interruption info (SDM 27.2). */
	vmcs_set(VMCS_VM_ENTRY_INTR_INFO.enc, 0);
	vmx_handle_exit(v);
}

const char *env_console(void)
{
	static char buf[FAKE_IO_LOG_SIZE + 1];
	size_t n = 0, len = fake_io_log_len();

	for (size_t i = console_seen; i < len && n < FAKE_IO_LOG_SIZE; i++) {
		struct fake_io_entry e = fake_io_log(i);
		/* The console writes CR LF; tests compare C strings. */
		if (e.port == 0x3f8 && e.dir == FAKE_IO_OUT && e.value != '\r')
			buf[n++] = (char)e.value;
	}
	buf[n] = 0;
	console_seen = len;
	return buf;
}

void env_protected_mode(void)
{
	vmcs_set(VMCS_GUEST_CR0.enc, vmcs_get(VMCS_GUEST_CR0.enc) | CR0_PE);
	vmcs_set(VMCS_CR0_READ_SHADOW.enc, vmcs_get(VMCS_CR0_READ_SHADOW.enc) | CR0_PE);
}
