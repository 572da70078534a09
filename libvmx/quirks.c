/*
 * The one table of emulator workarounds (quirks.h; the same list, with how each
 * was found, in docs/libvmx.md "Emulator quirks"). A workaround's code tests
 * vmx_quirk(VMX_QUIRK_...) and does nothing when it is off.
 *
 * Detection. Every quirk in the table is Bochs 2.7's, so detection answers one
 * question: is the VMX implementation Bochs's? Bochs's BIOS writes the OEM ID
 * "BOCHS " into its ACPI tables and Bochs sets no CPUID hypervisor bit
 * (CPUID.1:ECX[31]). QEMU's firmware writes the same OEM ID, but QEMU runs
 * these images only under KVM (TCG has no VMX), and KVM sets the hypervisor
 * bit; a real machine's firmware has its vendor's OEM ID. So: "BOCHS " in the
 * MADT and no hypervisor bit -> Bochs, every quirk on; anything else -> none.
 * A machine detection gets wrong can be corrected with `vmx_quirks=`.
 */
#include "libvmx/quirks.h"

#include "hw/hw.h"
#include "rt/acpi_find.h"
#include "rt/boot_option.h"
#include "rt/console.h"
#include "rt/string.h"

/* Every quirk on until vmx_quirks_boot() decides (quirks.h). */
uint32_t vmx_quirks_on = VMX_QUIRKS_ALL;

/* Section numbers: the SDM edition named in docs/design.md section 7. */
static const struct vmx_quirk_info table[VMX_QUIRK_COUNT] = {
    [VMX_QUIRK_INIT_STAYS_PENDING] =
        {
            .name = "init_pending",
            .deviation = "an INIT in VMX non-root operation is consumed by its VM exit "
                         "(SDM Vol. 3C 26.2); Bochs 2.7 leaves it pending, so the CPU "
                         "exits with INIT again at every VM entry and never starts",
            .workaround = "guest INITs to CPUs waiting for SIPI (a no-op on hardware) "
                          "are dropped: LAPIC page read-only in EPT, stores decoded and "
                          "replayed, x2APIC ICR write exits, while any AP waits for SIPI "
                          "(guest_apic.c)",
        },
    [VMX_QUIRK_BROADCAST_START_IPI] =
        {
            .name = "broadcast_start",
            .deviation = "a shorthand IPI goes to every CPU it names (SDM Vol. 3A "
                         "11.6.1); Bochs 2.7 ends the delivery at the first target that "
                         "is a VMX guest waiting for SIPI",
            .workaround = "INIT and SIPI by shorthand sent as one targeted IPI per CPU, "
                          "through the same trap as init_pending (guest_apic.c)",
        },
    [VMX_QUIRK_NMI_BLOCKED_IN_ROOT] =
        {
            .name = "nmi_blocked",
            .deviation = "with virtual NMIs, physical NMIs are not blocked after VM "
                         "entry (SDM Vol. 3C 27.7.1); Bochs 2.7 keeps the blocking an NMI "
                         "exit (28.1) or wait-for-SIPI left, through every later entry",
            .workaround = "an IRET in root after the NMI exit and after the SIPI exit "
                          "(nmi_unblock.S)",
        },
    [VMX_QUIRK_SMI_BLOCKING_SAVED] =
        {
            .name = "smi_blocking",
            .deviation = "\"blocking by SMI\" is 0 outside SMM and VM entry requires it "
                         "(SDM Vol. 3C 27.3.1.5); Bochs 2.7 saves it set on exits of a "
                         "CPU started by INIT-SIPI-SIPI",
            .workaround = "cleared in the guest interruptibility state on every exit "
                          "(exit_dispatch.c)",
        },
};

const struct vmx_quirk_info *vmx_quirk_info(enum vmx_quirk q)
{
	return (unsigned)q < VMX_QUIRK_COUNT ? &table[q] : NULL;
}

void vmx_quirks_set(uint32_t mask)
{
	__atomic_store_n(&vmx_quirks_on, mask & VMX_QUIRKS_ALL, __ATOMIC_RELAXED);
}

uint32_t vmx_quirks_mask(void)
{
	return __atomic_load_n(&vmx_quirks_on, __ATOMIC_RELAXED);
}

uint32_t vmx_quirks_detect(const struct vmx_platform_id *id)
{
	if (id->hypervisor_bit || !id->acpi_madt)
		return VMX_QUIRKS_NONE;
	return memcmp(id->acpi_oem, "BOCHS ", 6) == 0 ? VMX_QUIRKS_ALL : VMX_QUIRKS_NONE;
}

static bool word_is(const char *s, size_t n, const char *word)
{
	return strlen(word) == n && memcmp(s, word, n) == 0;
}

bool vmx_quirks_choose(const char *value, size_t len, uint32_t detected, uint32_t *out)
{
	*out = detected;
	if (value == NULL || word_is(value, len, "auto"))
		return true;
	if (word_is(value, len, "all")) {
		*out = VMX_QUIRKS_ALL;
		return true;
	}
	if (word_is(value, len, "none")) {
		*out = VMX_QUIRKS_NONE;
		return true;
	}
	uint32_t mask = 0;
	size_t i = 0;
	while (i <= len) {
		size_t j = i;
		while (j < len && value[j] != ',')
			j++;
		unsigned q = 0;
		while (q < VMX_QUIRK_COUNT && !word_is(value + i, j - i, table[q].name))
			q++;
		if (q == VMX_QUIRK_COUNT)
			return false; /* *out stays `detected` */
		mask |= 1u << q;
		i = j + 1;
	}
	*out = mask;
	return true;
}

static void read_platform(struct vmx_platform_id *id)
{
	struct hw_cpuid_regs r;
	uint64_t pa;
	uint32_t len;

	memset(id, 0, sizeof(*id));
	hw_cpuid(1, 0, &r);
	id->hypervisor_bit = (r.ecx >> 31) & 1u;
	if (id->hypervisor_bit)
		return; /* not Bochs whatever the tables say (top of the file) */
	/* ACPI 6.5 5.2.6: the OEM ID is bytes 10-15 of every table header. */
	if (acpi_find_table("APIC", &pa, &len) && len >= 16) {
		memcpy(id->acpi_oem, hw_phys_ptr(pa + 10), 6);
		for (int i = 0; i < 6; i++)
			if (id->acpi_oem[i] < 0x20 || id->acpi_oem[i] > 0x7e)
				id->acpi_oem[i] = '?';
		id->acpi_madt = true;
	}
}

void vmx_quirks_boot(const char *cmdline)
{
	struct vmx_platform_id id;
	size_t len = 0;

	read_platform(&id);
	uint32_t detected = vmx_quirks_detect(&id);
	const char *opt = boot_option(cmdline, "vmx_quirks", &len);
	uint32_t mask;
	bool understood = vmx_quirks_choose(opt, len, detected, &mask);
	vmx_quirks_set(mask);

	char names[96];
	size_t n = 0;
	names[0] = '\0';
	for (unsigned q = 0; q < VMX_QUIRK_COUNT; q++) {
		if (!((mask >> q) & 1u))
			continue;
		size_t l = strlen(table[q].name);
		if (n + l + 2 > sizeof(names))
			break;
		if (n)
			names[n++] = ' ';
		memcpy(names + n, table[q].name, l);
		n += l;
		names[n] = '\0';
	}
	/* A start-up detail (a note, rt/console.h); a value not understood is a
	 * warning the user sees at once. */
	int (*print)(const char *, ...) = understood ? hv_note : hv_printf;
	print("hv: quirks: %s (ACPI OEM \"%s\", CPUID hypervisor bit %u): %s (%s)\n",
	      detected ? "Bochs" : "not Bochs", id.acpi_madt ? id.acpi_oem : "none",
	      id.hypervisor_bit ? 1u : 0u, n ? names : "none",
	      opt == NULL || (understood && word_is(opt, len, "auto")) ? "detected"
	      : understood                                             ? "vmx_quirks="
	                   : "unknown vmx_quirks= value: detected");
}
