/*
 * VMX capability MSRs -> control words, and the refusal message that names
 * every missing must-have feature (SDM Vol. 3D Appendix A).
 */
#include "libvmx/vmx_caps.h"

#include "hw/hw.h"
#include "hw/vmx_defs.h"
#include "libvmx/vmx.h"
#include "rt/console.h"
#include "rt/string.h"

enum cap_word { W_BASIC, W_PIN, W_PROC, W_PROC2, W_EXIT, W_ENTRY, W_MISC, W_EPT_VPID };

/*
 * A must-have is one bit of one capability MSR. For the control MSRs it is
 * the allowed-1 half (bits 63:32, SDM A.3-A.5): the control can be set.
 */
struct must_have {
	enum cap_word word;
	uint64_t bit;
	const char *name;
};

#define ALLOWED1(b) ((uint64_t)(b) << 32)

static const struct must_have must_haves[] = {
    {W_PIN, ALLOWED1(PIN_NMI_EXITING), "NMI exiting"},
    {W_PIN, ALLOWED1(PIN_VIRTUAL_NMIS), "virtual NMIs"},
    {W_PROC, ALLOWED1(PROC_NMI_WINDOW_EXITING), "NMI-window exiting"},
    {W_PROC, ALLOWED1(PROC_USE_IO_BITMAPS), "I/O bitmaps"},
    {W_PROC, ALLOWED1(PROC_USE_MSR_BITMAPS), "MSR bitmaps"},
    {W_PROC, ALLOWED1(PROC_ACTIVATE_SECONDARY), "secondary controls"},
    {W_PROC2, ALLOWED1(PROC2_ENABLE_EPT), "EPT"},
    {W_PROC2, ALLOWED1(PROC2_UNRESTRICTED_GUEST), "unrestricted guest"},
    {W_PROC2, ALLOWED1(PROC2_ENABLE_VPID), "VPID"},
    {W_EXIT, ALLOWED1(EXIT_HOST_ADDRESS_SPACE_SIZE), "64-bit host on VM exit"},
    {W_EXIT, ALLOWED1(EXIT_SAVE_IA32_EFER), "save IA32_EFER on VM exit"},
    {W_EXIT, ALLOWED1(EXIT_LOAD_IA32_EFER), "load IA32_EFER on VM exit"},
    {W_EXIT, ALLOWED1(EXIT_SAVE_IA32_PAT), "save IA32_PAT on VM exit"},
    {W_EXIT, ALLOWED1(EXIT_LOAD_IA32_PAT), "load IA32_PAT on VM exit"},
    {W_ENTRY, ALLOWED1(ENTRY_LOAD_IA32_EFER), "load IA32_EFER on VM entry"},
    {W_ENTRY, ALLOWED1(ENTRY_LOAD_IA32_PAT), "load IA32_PAT on VM entry"},
    /* A real-mode guest that enters long mode: the CPU must track EFER.LMA. */
    {W_MISC, VMX_MISC_STORES_LMA, "IA32_VMX_MISC EFER.LMA saved on VM exit"},
    /* Guest APs wait for the guest's own SIPI (SDM 25.4.2, 27.4). */
    {W_MISC, VMX_MISC_ACTIVITY_WAIT_SIPI, "activity state wait-for-SIPI"},
    {W_EPT_VPID, VMX_EPT_CAP_WALK_4, "EPT 4-level page walk"},
    {W_EPT_VPID, VMX_EPT_CAP_MEMTYPE_WB, "EPT write-back memory type"},
    {W_EPT_VPID, VMX_EPT_CAP_2MB_PAGES, "EPT 2 MiB pages"},
    {W_EPT_VPID, VMX_EPT_CAP_INVEPT, "INVEPT"},
    {W_EPT_VPID, VMX_EPT_CAP_INVEPT_SINGLE, "INVEPT single-context"},
};

static uint64_t cap_word(const struct vmx_cap_msrs *m, enum cap_word w)
{
	switch (w) {
	case W_BASIC:
		return m->basic;
	case W_PIN:
		return m->pin;
	case W_PROC:
		return m->proc;
	case W_PROC2:
		return m->proc2;
	case W_EXIT:
		return m->exit;
	case W_ENTRY:
		return m->entry;
	case W_MISC:
		return m->misc;
	case W_EPT_VPID:
		return m->ept_vpid;
	}
	return 0;
}

/* Appends "name" to a ", "-separated list in `buf`. */
static void list_append(char *buf, size_t n, size_t *len, const char *name)
{
	if (*len >= n)
		return;
	int w = hv_snprintf(buf + *len, n - *len, "%s%s", *len ? ", " : "", name);
	if (w > 0)
		*len += (size_t)w;
}

bool vmx_caps_compute(const struct vmx_cap_msrs *m, struct vmx_config *out, char *why, size_t n)
{
	char missing[512] = "";
	size_t len = 0;

	/* The VMXON/VMCS regions live in write-back memory and fit in one page (SDM A.1). */
	if (VMX_BASIC_MEMTYPE(m->basic) != 6)
		list_append(missing, sizeof(missing), &len, "write-back VMCS memory type");
	if (VMX_BASIC_REGION_SIZE(m->basic) == 0 || VMX_BASIC_REGION_SIZE(m->basic) > 4096)
		list_append(missing, sizeof(missing), &len, "VMCS region of at most 4 KiB");
	for (size_t i = 0; i < sizeof(must_haves) / sizeof(must_haves[0]); i++) {
		const struct must_have *h = &must_haves[i];
		/* Without secondary controls, PROCBASED_CTLS2 does not exist. */
		uint64_t word = cap_word(m, h->word);
		if (h->word == W_PROC2 && !(m->proc & ALLOWED1(PROC_ACTIVATE_SECONDARY)))
			word = 0;
		if (!(word & h->bit))
			list_append(missing, sizeof(missing), &len, h->name);
	}
	if (len) {
		hv_snprintf(why, n, "VMX lacks required features: %s", missing);
		return false;
	}

	memset(out, 0, sizeof(*out));
	out->revision_id = (uint32_t)(m->basic & VMX_BASIC_REVISION_MASK);
	/*
	 * Wanted bits; allowed0 then forces the default-1 ones and allowed1 drops
	 * the optional ones this CPU lacks (RDTSCP, INVPCID, XSAVES, TPAUSE): with
	 * those enabled the guest sees the instructions work as on bare metal.
	 */
	out->pin = vmx_ctl_adjust(m->pin, PIN_NMI_EXITING | PIN_VIRTUAL_NMIS);
	out->proc = vmx_ctl_adjust(m->proc, PROC_USE_IO_BITMAPS | PROC_USE_MSR_BITMAPS |
	                                        PROC_ACTIVATE_SECONDARY);
	out->proc2 = vmx_ctl_adjust(m->proc2, PROC2_ENABLE_EPT | PROC2_ENABLE_VPID |
	                                          PROC2_UNRESTRICTED_GUEST | PROC2_ENABLE_RDTSCP |
	                                          PROC2_ENABLE_INVPCID | PROC2_ENABLE_XSAVES |
	                                          PROC2_ENABLE_USER_WAIT_PAUSE);
	out->exit = vmx_ctl_adjust(
	    m->exit, EXIT_HOST_ADDRESS_SPACE_SIZE | EXIT_SAVE_DEBUG_CONTROLS | EXIT_SAVE_IA32_PAT |
	                 EXIT_LOAD_IA32_PAT | EXIT_SAVE_IA32_EFER | EXIT_LOAD_IA32_EFER);
	out->entry = vmx_ctl_adjust(m->entry, ENTRY_LOAD_DEBUG_CONTROLS | ENTRY_LOAD_IA32_PAT |
	                                          ENTRY_LOAD_IA32_EFER);
	out->preemption_timer = (m->pin & ALLOWED1(PIN_PREEMPTION_TIMER)) != 0;
	out->monitor_trap_flag = (m->proc & ALLOWED1(PROC_MONITOR_TRAP_FLAG)) != 0;
	out->misc = m->misc;
	out->ept_vpid = m->ept_vpid;
	out->cr0_fixed0 = m->cr0_fixed0;
	out->cr0_fixed1 = m->cr0_fixed1;
	out->cr4_fixed0 = m->cr4_fixed0;
	out->cr4_fixed1 = m->cr4_fixed1;
	return true;
}

void vmx_caps_read(struct vmx_cap_msrs *m)
{
	memset(m, 0, sizeof(*m));
	m->basic = hw_rdmsr(MSR_IA32_VMX_BASIC);
	/* Bit 55: the TRUE_* MSRs report which default-1 controls may be 0 (SDM A.2). */
	bool true_ctls = (m->basic & VMX_BASIC_TRUE_CTLS) != 0;
	m->pin = hw_rdmsr(true_ctls ? MSR_IA32_VMX_TRUE_PINBASED_CTLS : MSR_IA32_VMX_PINBASED_CTLS);
	m->proc =
	    hw_rdmsr(true_ctls ? MSR_IA32_VMX_TRUE_PROCBASED_CTLS : MSR_IA32_VMX_PROCBASED_CTLS);
	m->exit = hw_rdmsr(true_ctls ? MSR_IA32_VMX_TRUE_EXIT_CTLS : MSR_IA32_VMX_EXIT_CTLS);
	m->entry = hw_rdmsr(true_ctls ? MSR_IA32_VMX_TRUE_ENTRY_CTLS : MSR_IA32_VMX_ENTRY_CTLS);
	m->misc = hw_rdmsr(MSR_IA32_VMX_MISC);
	m->cr0_fixed0 = hw_rdmsr(MSR_IA32_VMX_CR0_FIXED0);
	m->cr0_fixed1 = hw_rdmsr(MSR_IA32_VMX_CR0_FIXED1);
	m->cr4_fixed0 = hw_rdmsr(MSR_IA32_VMX_CR4_FIXED0);
	m->cr4_fixed1 = hw_rdmsr(MSR_IA32_VMX_CR4_FIXED1);
	/* PROCBASED_CTLS2 exists only if secondary controls can be set (SDM A.3.3). */
	if (m->proc & ALLOWED1(PROC_ACTIVATE_SECONDARY)) {
		m->proc2 = hw_rdmsr(MSR_IA32_VMX_PROCBASED_CTLS2);
		/* EPT_VPID_CAP exists only if EPT or VPID can be enabled (SDM A.10). */
		if (m->proc2 & ALLOWED1(PROC2_ENABLE_EPT | PROC2_ENABLE_VPID))
			m->ept_vpid = hw_rdmsr(MSR_IA32_VMX_EPT_VPID_CAP);
	}
}

static const struct {
	const char *name;
	size_t offset;
} msr_fields[] = {
    {"IA32_VMX_BASIC", offsetof(struct vmx_cap_msrs, basic)},
    {"IA32_VMX_PINBASED_CTLS", offsetof(struct vmx_cap_msrs, pin)},
    {"IA32_VMX_PROCBASED_CTLS", offsetof(struct vmx_cap_msrs, proc)},
    {"IA32_VMX_PROCBASED_CTLS2", offsetof(struct vmx_cap_msrs, proc2)},
    {"IA32_VMX_EXIT_CTLS", offsetof(struct vmx_cap_msrs, exit)},
    {"IA32_VMX_ENTRY_CTLS", offsetof(struct vmx_cap_msrs, entry)},
    {"IA32_VMX_MISC", offsetof(struct vmx_cap_msrs, misc)},
    {"IA32_VMX_EPT_VPID_CAP", offsetof(struct vmx_cap_msrs, ept_vpid)},
    {"IA32_VMX_CR0_FIXED0", offsetof(struct vmx_cap_msrs, cr0_fixed0)},
    {"IA32_VMX_CR0_FIXED1", offsetof(struct vmx_cap_msrs, cr0_fixed1)},
    {"IA32_VMX_CR4_FIXED0", offsetof(struct vmx_cap_msrs, cr4_fixed0)},
    {"IA32_VMX_CR4_FIXED1", offsetof(struct vmx_cap_msrs, cr4_fixed1)},
};

bool vmx_caps_diff(const struct vmx_cap_msrs *a, const struct vmx_cap_msrs *b, char *buf, size_t n)
{
	for (size_t i = 0; i < sizeof(msr_fields) / sizeof(msr_fields[0]); i++) {
		uint64_t va, vb;
		memcpy(&va, (const char *)a + msr_fields[i].offset, sizeof(va));
		memcpy(&vb, (const char *)b + msr_fields[i].offset, sizeof(vb));
		if (va != vb) {
			hv_snprintf(buf, n, "%s = 0x%llx, boot CPU has 0x%llx", msr_fields[i].name,
			            (unsigned long long)va, (unsigned long long)vb);
			return true;
		}
	}
	return false;
}

/* ---- the machine's state: written once by the BSP before any AP starts ---- */

static struct vmx_cap_msrs bsp_msrs;
static struct vmx_config config;
static bool have_msrs;

const struct vmx_config *vmx_config(void)
{
	return &config;
}

const struct vmx_cap_msrs *vmx_bsp_cap_msrs(void)
{
	return &bsp_msrs;
}

bool vmx_supported(char *why, size_t n)
{
	struct hw_cpuid_regs r;

	hw_cpuid(1, 0, &r);
	if (!(r.ecx & CPUID1_ECX_VMX)) {
		hv_snprintf(why, n,
		            "CPUID.1:ECX.VMX[bit 5] = 0: this CPU has no VMX (an emulator without "
		            "hardware virtualisation, e.g. QEMU/TCG, or VT-x hidden by the host)");
		return false;
	}

	/* The capability MSRs exist whenever CPUID reports VMX (SDM A.1). */
	vmx_caps_read(&bsp_msrs);
	have_msrs = true;

	/* SDM 24.7 (Vol. 3C "Enabling and entering VMX operation"): VMXON needs
	 * IA32_FEATURE_CONTROL locked with "enable VMX outside SMX" set. */
	uint64_t fc = hw_rdmsr(MSR_IA32_FEATURE_CONTROL);
	if (!(fc & FEATURE_CONTROL_LOCKED)) {
		fc |= FEATURE_CONTROL_LOCKED | FEATURE_CONTROL_VMX_OUTSIDE_SMX;
		hw_wrmsr(MSR_IA32_FEATURE_CONTROL, fc);
	} else if (!(fc & FEATURE_CONTROL_VMX_OUTSIDE_SMX)) {
		hv_snprintf(
		    why, n,
		    "IA32_FEATURE_CONTROL is locked with VMX outside SMX disabled (0x%llx): "
		    "enable VT-x in the firmware setup",
		    (unsigned long long)fc);
		return false;
	}

	return vmx_caps_compute(&bsp_msrs, &config, why, n);
}

void vmx_caps_format(const struct vmx_cap_msrs *m, char *buf, size_t n)
{
	uint64_t proc2 = (m->proc & ALLOWED1(PROC_ACTIVATE_SECONDARY)) ? m->proc2 : 0;
#define YN(word, bit) (((word)&ALLOWED1(bit)) ? "yes" : "no")
	hv_snprintf(buf, n,
	            "ept=%s unrestricted-guest=%s vpid=%s nmi-exiting=%s virtual-nmis=%s "
	            "nmi-window=%s preemption-timer=%s",
	            YN(proc2, PROC2_ENABLE_EPT), YN(proc2, PROC2_UNRESTRICTED_GUEST),
	            YN(proc2, PROC2_ENABLE_VPID), YN(m->pin, PIN_NMI_EXITING),
	            YN(m->pin, PIN_VIRTUAL_NMIS), YN(m->proc, PROC_NMI_WINDOW_EXITING),
	            YN(m->pin, PIN_PREEMPTION_TIMER));
#undef YN
}

void vmx_print_caps(void)
{
	struct vmx_cap_msrs none;
	char line[160];

	memset(&none, 0, sizeof(none));
	vmx_caps_format(have_msrs ? &bsp_msrs : &none, line, sizeof(line));
	hv_note("hv: vmx: %s\n", line);
}
