/*
 * Emulator workarounds ("quirks"): the one table of them (quirks.c) and the
 * flag the code tests before it works around one.
 *
 * Each quirk names one place where a platform (today only Bochs 2.7) deviates
 * from the Intel SDM and libvmx compensates. The workaround's code runs only
 * where `vmx_quirk(VMX_QUIRK_...)` is true; the design (docs/design.md
 * sections 3 and 4) is what runs everywhere. The list with each deviation, its
 * SDM section and how it is detected is in docs/libvmx.md "Emulator quirks".
 *
 * Until vmx_quirks_boot() decides (core/boot.c, before the first VMXON), every
 * quirk is on: each workaround is also correct on hardware, only slower.
 */
#ifndef LIBVMX_QUIRKS_H
#define LIBVMX_QUIRKS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum vmx_quirk {
	/* An INIT VM exit leaves the INIT pending ("init_pending"). */
	VMX_QUIRK_INIT_STAYS_PENDING,
	/* A broadcast INIT/SIPI stops at the first target that is a VMX guest
	 * waiting for SIPI ("broadcast_start"). */
	VMX_QUIRK_BROADCAST_START_IPI,
	/* Physical NMIs stay blocked in root after an NMI exit and after the SIPI
	 * exit, through later VM entries ("nmi_blocked"). */
	VMX_QUIRK_NMI_BLOCKED_IN_ROOT,
	/* "Blocking by SMI" saved set in the guest interruptibility state outside
	 * SMM ("smi_blocking"). */
	VMX_QUIRK_SMI_BLOCKING_SAVED,
	VMX_QUIRK_COUNT
};

#define VMX_QUIRKS_ALL  ((1u << VMX_QUIRK_COUNT) - 1)
#define VMX_QUIRKS_NONE 0u

/* One row of the table. */
struct vmx_quirk_info {
	const char *name;       /* the boot option's word */
	const char *deviation;  /* what the platform does, against which SDM section */
	const char *workaround; /* what libvmx does while the quirk is on */
};

/* What detection looks at (vmx_quirks_boot reads it from the machine). */
struct vmx_platform_id {
	bool hypervisor_bit; /* CPUID.1:ECX[31]: we run under another hypervisor */
	bool acpi_madt;      /* the ACPI MADT was found (checksum right) */
	char acpi_oem[7];    /* its OEM ID (6 characters, NUL-terminated) */
};

/* Is the workaround for `q` on? */
static inline bool vmx_quirk(enum vmx_quirk q)
{
	extern uint32_t vmx_quirks_on;
	return (__atomic_load_n(&vmx_quirks_on, __ATOMIC_RELAXED) >> q) & 1u;
}

/* The table's row for q (NULL if out of range). */
const struct vmx_quirk_info *vmx_quirk_info(enum vmx_quirk q);

/* The quirks a platform has: all of them for Bochs (ACPI OEM "BOCHS " and no
 * CPUID hypervisor bit), none for anything else. Pure. */
uint32_t vmx_quirks_detect(const struct vmx_platform_id *id);

/*
 * The set the boot option `vmx_quirks=` asks for: absent or "auto" -> detected;
 * "all", "none", or names from the table separated by commas (exactly those).
 * Returns false (and *out = detected) for a value it does not understand. Pure.
 */
bool vmx_quirks_choose(const char *value, size_t len, uint32_t detected, uint32_t *out);

/*
 * Boot CPU, before the first VMXON: reads the platform (CPUID, the ACPI MADT),
 * applies the boot option on `cmdline` (may be NULL) and prints one line:
 * "hv: quirks: <platform>: <names or none> (<how chosen>)".
 */
void vmx_quirks_boot(const char *cmdline);

/* Sets the quirks directly (host tests). */
void vmx_quirks_set(uint32_t mask);
uint32_t vmx_quirks_mask(void);

#endif /* LIBVMX_QUIRKS_H */
