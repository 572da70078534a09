/*
 * Fake hardware, machine part: the lock, CPUs and their reset state, CPUID and
 * MSRs. Registers and simple instructions are in fake_regs.c, VMX in
 * fake_vmx.c, ports/MMIO/APIC in fake_io.c.
 */
#define _GNU_SOURCE /* PTHREAD_MUTEX_RECURSIVE */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "hw/fake/fake_internal.h"

struct fake_hw_state fake_hw;

static struct fake_cpu cpus[FAKE_MAX_CPUS];
static _Thread_local uint32_t cur_cpu;

static struct {
	uint32_t leaf, subleaf;
	struct hw_cpuid_regs regs;
} cpuid_table[FAKE_MAX_CPUID];
static size_t cpuid_count;

static struct fake_msr_write msr_log[FAKE_MSR_LOG_SIZE];
static size_t msr_log_total;

static pthread_mutex_t lock;
static pthread_once_t lock_once = PTHREAD_ONCE_INIT;

static void lock_init(void)
{
	pthread_mutexattr_t a;

	pthread_mutexattr_init(&a);
	pthread_mutexattr_settype(&a, PTHREAD_MUTEX_RECURSIVE);
	pthread_mutex_init(&lock, &a);
	pthread_mutexattr_destroy(&a);
}

void fake_lock(void)
{
	pthread_once(&lock_once, lock_init);
	pthread_mutex_lock(&lock);
}

void fake_unlock(void)
{
	pthread_mutex_unlock(&lock);
}

struct fake_cpu *fake_cur(void)
{
	return &cpus[cur_cpu];
}

uint32_t fake_cur_index(void)
{
	return cur_cpu;
}

/* ---- MSR table ---- */

uint64_t *fake_msr_slot(struct fake_cpu *c, uint32_t msr)
{
	for (size_t i = 0; i < c->nmsrs; i++)
		if (c->msrs[i].msr == msr)
			return &c->msrs[i].value;
	return NULL;
}

void fake_msr_define(struct fake_cpu *c, uint32_t msr, uint64_t value)
{
	uint64_t *slot = fake_msr_slot(c, msr);

	if (!slot) {
		if (c->nmsrs == FAKE_MAX_MSRS)
			abort(); /* a test defines too many MSRs: raise FAKE_MAX_MSRS */
		c->msrs[c->nmsrs].msr = msr;
		slot = &c->msrs[c->nmsrs++].value;
	}
	*slot = value;
}

/*
 * Default VMX capabilities: roughly what Bochs' corei7_skylake_x model reports
 * (SDM Vol. 3D Appendix A). Control MSRs hold allowed-0 settings (bits that
 * must be 1) in 31:0 and allowed-1 settings in 63:32.
 */
#define CTLS(must1, may1) (((uint64_t)(may1) << 32) | (uint32_t)(must1))
static const struct {
	uint32_t msr;
	uint64_t value;
} default_msrs[] = {
    {MSR_IA32_FEATURE_CONTROL, FEATURE_CONTROL_LOCKED | FEATURE_CONTROL_VMX_OUTSIDE_SMX},
    {MSR_IA32_VMX_BASIC,
     VMX_BASIC_TRUE_CTLS | VMX_BASIC_INS_OUTS_INFO | (6ull << 50) | (4096ull << 32) | 1},
    {MSR_IA32_VMX_PINBASED_CTLS, CTLS(0x16, 0x7f)},
    {MSR_IA32_VMX_TRUE_PINBASED_CTLS, CTLS(0x16, 0x7f)},
    {MSR_IA32_VMX_PROCBASED_CTLS, CTLS(0x0401e172, 0xfff9fffe)},
    {MSR_IA32_VMX_TRUE_PROCBASED_CTLS, CTLS(0x04006172, 0xfff9fffe)},
    {MSR_IA32_VMX_PROCBASED_CTLS2, CTLS(0, 0x001030ff)},
    {MSR_IA32_VMX_EXIT_CTLS, CTLS(0x00036dff, 0x007fffff)},
    {MSR_IA32_VMX_TRUE_EXIT_CTLS, CTLS(0x00036dfb, 0x007fffff)},
    {MSR_IA32_VMX_ENTRY_CTLS, CTLS(0x000011ff, 0x0000ffff)},
    {MSR_IA32_VMX_TRUE_ENTRY_CTLS, CTLS(0x000011fb, 0x0000ffff)},
    {MSR_IA32_VMX_MISC, 5 | VMX_MISC_STORES_LMA | VMX_MISC_ACTIVITY_HLT |
                            VMX_MISC_ACTIVITY_SHUTDOWN | VMX_MISC_ACTIVITY_WAIT_SIPI |
                            (4ull << 16)},
    {MSR_IA32_VMX_CR0_FIXED0, CR0_PE | CR0_NE | CR0_PG},
    {MSR_IA32_VMX_CR0_FIXED1, 0xffffffffull},
    {MSR_IA32_VMX_CR4_FIXED0, CR4_VMXE},
    {MSR_IA32_VMX_CR4_FIXED1, 0x003767ffull},
    {MSR_IA32_VMX_VMCS_ENUM, 0x2e},
    {MSR_IA32_VMX_EPT_VPID_CAP,
     VMX_EPT_CAP_EXECUTE_ONLY | VMX_EPT_CAP_WALK_4 | VMX_EPT_CAP_MEMTYPE_UC |
         VMX_EPT_CAP_MEMTYPE_WB | VMX_EPT_CAP_2MB_PAGES | VMX_EPT_CAP_1GB_PAGES |
         VMX_EPT_CAP_INVEPT | VMX_EPT_CAP_INVEPT_SINGLE | VMX_EPT_CAP_INVEPT_ALL |
         VMX_VPID_CAP_INVVPID | VMX_VPID_CAP_INVVPID_ADDR | VMX_VPID_CAP_INVVPID_SINGLE |
         VMX_VPID_CAP_INVVPID_ALL | VMX_VPID_CAP_INVVPID_SINGLE_NONGLOBAL},
    {MSR_IA32_VMX_VMFUNC, 1},
    {MSR_IA32_EFER, EFER_LME | EFER_LMA | EFER_NXE | EFER_SCE},
    {MSR_IA32_PAT, 0x0007040600070406ull},
    {MSR_IA32_FS_BASE, 0},
    {MSR_IA32_GS_BASE, 0},
    {MSR_IA32_KERNEL_GS_BASE, 0},
    {MSR_IA32_SYSENTER_CS, 0},
    {MSR_IA32_SYSENTER_ESP, 0},
    {MSR_IA32_SYSENTER_EIP, 0},
    {MSR_IA32_DEBUGCTL, 0},
    {MSR_IA32_PERF_GLOBAL_CTRL, 0},
    {MSR_IA32_MISC_ENABLE, 1},
    {MSR_IA32_MTRRCAP, 0x0508},
    {MSR_IA32_MTRR_DEF_TYPE, 0x0c06},
    {MSR_IA32_TSC_AUX, 0},
    {MSR_IA32_STAR, 0},
    {MSR_IA32_LSTAR, 0},
    {MSR_IA32_CSTAR, 0},
    {MSR_IA32_FMASK, 0},
    {MSR_IA32_XSS, 0},
};

static void reset_cpu(uint32_t i)
{
	struct fake_cpu *c = &cpus[i];

	memset(c, 0, sizeof(*c));
	c->apic_id = i;
	/* Long mode as GRUB + rt's entry leave it; interrupts disabled. */
	c->cr0 = CR0_PE | CR0_MP | CR0_ET | CR0_NE | CR0_WP | CR0_PG;
	c->cr4 = CR4_PAE | CR4_OSFXSR | CR4_OSXMMEXCPT;
	c->xcr0 = XCR0_X87;
	c->dr[6] = 0xffff0ff0u;
	c->dr[7] = 0x400u;
	c->fcw = 0x37f;    /* as after FNINIT (SDM Vol. 1 8.1.5) */
	c->mxcsr = 0x1f80; /* power-on (SDM Vol. 3A 10.1.1) */
	c->rflags = RFLAGS_FIXED1;
	c->cs = 0x08;
	c->ss = c->ds = c->es = 0x10;
	c->current_vmcs = FAKE_NO_VMCS;
	for (size_t m = 0; m < sizeof(default_msrs) / sizeof(default_msrs[0]); m++)
		fake_msr_define(c, default_msrs[m].msr, default_msrs[m].value);
	fake_msr_define(c, MSR_IA32_APIC_BASE,
	                APIC_DEFAULT_BASE | APIC_BASE_ENABLE | (i == 0 ? APIC_BASE_BSP : 0));
	fake_apic_reset_cpu(c);
}

static void set_default_cpuid(void)
{
	/* "GenuineIntel", max leaf 0xB; leaf 1: VMX, x2APIC, XSAVE; leaf 0xB: SMT level. */
	struct hw_cpuid_regs l0 = {0xb, 0x756e6547, 0x6c65746e, 0x49656e69};
	struct hw_cpuid_regs l1 = {0x00050654, 0x00000800,
	                           CPUID1_ECX_VMX | CPUID1_ECX_X2APIC | CPUID1_ECX_XSAVE, 0};
	struct hw_cpuid_regs lb = {0, 1, 0x100, 0};

	fake_cpuid_set(0, 0, &l0);
	fake_cpuid_set(1, 0, &l1);
	fake_cpuid_set(0xb, 0, &lb);
}

void fake_hw_reset(void)
{
	fake_lock();
	memset(&fake_hw, 0, sizeof(fake_hw));
	cur_cpu = 0;
	cpuid_count = 0;
	msr_log_total = 0;
	fake_regs_reset();
	for (uint32_t i = 0; i < FAKE_MAX_CPUS; i++)
		reset_cpu(i);
	set_default_cpuid();
	fake_vmx_reset();
	fake_io_reset();
	fake_vtd_reset();
	fake_unlock();
}

void fake_set_cpu(uint32_t index)
{
	if (index >= FAKE_MAX_CPUS)
		abort();
	cur_cpu = index;
}

uint32_t fake_get_cpu(void)
{
	return cur_cpu;
}

struct fake_cpu *fake_cpu(uint32_t index)
{
	if (index >= FAKE_MAX_CPUS)
		abort();
	return &cpus[index];
}

void fake_set_apic_id(uint32_t cpu, uint32_t apic_id)
{
	fake_cpu(cpu)->apic_id = apic_id;
}

/* ---- CPUID ---- */

void fake_cpuid_set(uint32_t leaf, uint32_t subleaf, const struct hw_cpuid_regs *regs)
{
	fake_lock();
	size_t i;
	for (i = 0; i < cpuid_count; i++)
		if (cpuid_table[i].leaf == leaf && cpuid_table[i].subleaf == subleaf)
			break;
	if (i == cpuid_count) {
		if (cpuid_count == FAKE_MAX_CPUID)
			abort();
		cpuid_count++;
	}
	cpuid_table[i].leaf = leaf;
	cpuid_table[i].subleaf = subleaf;
	cpuid_table[i].regs = *regs;
	fake_unlock();
}

void hw_cpuid(uint32_t leaf, uint32_t subleaf, struct hw_cpuid_regs *out)
{
	fake_lock();
	memset(out, 0, sizeof(*out));
	for (size_t i = 0; i < cpuid_count; i++) {
		if (cpuid_table[i].leaf == leaf && cpuid_table[i].subleaf == subleaf) {
			*out = cpuid_table[i].regs;
			break;
		}
	}
	/* Leaf 1 EBX[31:24] is the initial APIC id, leaf 0xB EDX the x2APIC id
	 * (SDM Vol. 2A, CPUID): both depend on the CPU executing CPUID. */
	if (leaf == 1)
		out->ebx = (out->ebx & 0x00ffffffu) | ((fake_cur()->apic_id & 0xffu) << 24);
	if (leaf == 0xb)
		out->edx = fake_cur()->apic_id;
	fake_unlock();
}

/* ---- MSRs ---- */

void fake_msr_set(uint32_t msr, uint64_t value)
{
	fake_lock();
	for (uint32_t i = 0; i < FAKE_MAX_CPUS; i++)
		fake_msr_define(&cpus[i], msr, value);
	fake_unlock();
}

void fake_msr_set_cpu(uint32_t cpu, uint32_t msr, uint64_t value)
{
	fake_lock();
	fake_msr_define(fake_cpu(cpu), msr, value);
	fake_unlock();
}

uint64_t fake_msr_get_cpu(uint32_t cpu, uint32_t msr)
{
	fake_lock();
	uint64_t *slot = fake_msr_slot(fake_cpu(cpu), msr);
	uint64_t v = slot ? *slot : 0;
	fake_unlock();
	return v;
}

uint64_t fake_msr_get(uint32_t msr)
{
	return fake_msr_get_cpu(cur_cpu, msr);
}

bool fake_msr_defined(uint32_t cpu, uint32_t msr)
{
	fake_lock();
	bool d = fake_msr_slot(fake_cpu(cpu), msr) != NULL;
	fake_unlock();
	return d;
}

void fake_msr_undefine(uint32_t cpu, uint32_t msr)
{
	fake_lock();
	struct fake_cpu *c = fake_cpu(cpu);
	for (size_t i = 0; i < c->nmsrs; i++) {
		if (c->msrs[i].msr == msr) {
			c->msrs[i] = c->msrs[--c->nmsrs];
			break;
		}
	}
	fake_unlock();
}

size_t fake_msr_log_len(void)
{
	return msr_log_total < FAKE_MSR_LOG_SIZE ? msr_log_total : FAKE_MSR_LOG_SIZE;
}

struct fake_msr_write fake_msr_log(size_t i)
{
	size_t first = msr_log_total - fake_msr_log_len();
	return msr_log[(first + i) % FAKE_MSR_LOG_SIZE];
}

uint64_t hw_rdmsr(uint32_t msr)
{
	fake_lock();
	struct fake_cpu *c = fake_cur();
	uint64_t v = 0, *slot;

	if (fake_x2apic_rdmsr(c, msr, &v)) {
		/* handled by the local APIC */
	} else if ((slot = fake_msr_slot(c, msr))) {
		v = *slot;
	} else {
		fake_hw.unknown_msr_reads++;
		fake_hw.last_unknown_msr = msr;
		c->gp_faults++;
	}
	fake_unlock();
	return v;
}

void hw_wrmsr(uint32_t msr, uint64_t value)
{
	fake_lock();
	struct fake_cpu *c = fake_cur();
	uint64_t *slot;
	bool ok = true;

	if (fake_x2apic_wrmsr(c, msr, value)) {
		/* handled by the local APIC */
	} else if ((slot = fake_msr_slot(c, msr))) {
		*slot = value;
	} else {
		fake_hw.unknown_msr_writes++;
		fake_hw.last_unknown_msr = msr;
		fake_hw.last_unknown_msr_value = value;
		c->gp_faults++;
		ok = false;
	}
	if (ok) {
		msr_log[msr_log_total % FAKE_MSR_LOG_SIZE] =
		    (struct fake_msr_write){cur_cpu, msr, value};
		msr_log_total++;
	}
	fake_unlock();
}
