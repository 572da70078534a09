/*
 * The AP start-up trampoline (ap_trampoline.S): real-mode code that smp.c
 * copies to AP_TRAMPOLINE_PA before each INIT-SIPI-SIPI. Shared by C and the
 * assembly, so the parameter block is described by offsets.
 *
 * The page is guest memory below 1 MiB; it is borrowed before the guest runs
 * and its old contents are put back once every AP is up.
 */
#ifndef LIBSMP_AP_TRAMPOLINE_H
#define LIBSMP_AP_TRAMPOLINE_H

/* A SIPI starts the AP in real mode at vector * 4 KiB (SDM Vol. 3A 9.4.4.1). */
#define AP_TRAMPOLINE_PA          0x8000
#define AP_TRAMPOLINE_SIPI_VECTOR (AP_TRAMPOLINE_PA >> 12)

/* Parameter block at ap_trampoline_params, filled in by the BSP per AP. */
#define AP_PARAM_CR3       0  /* BSP page-table root (below 4 GiB) */
#define AP_PARAM_STACK_TOP 8  /* the AP's hypervisor stack */
#define AP_PARAM_ENTRY     16 /* 64-bit C entry: void (*)(uint32_t cpu_index) */
#define AP_PARAM_CPU_INDEX 24
#define AP_PARAM_EFER      28 /* EFER bits to set (LME, and NXE if the BSP has it) */
#define AP_PARAM_SIZE      32

#ifndef __ASSEMBLER__
#include <stddef.h>
#include <stdint.h>

struct ap_tramp_params {
	uint64_t cr3;
	uint64_t stack_top;
	uint64_t entry;
	uint32_t cpu_index;
	uint32_t efer;
};
_Static_assert(offsetof(struct ap_tramp_params, cr3) == AP_PARAM_CR3, "cr3");
_Static_assert(offsetof(struct ap_tramp_params, stack_top) == AP_PARAM_STACK_TOP, "stack");
_Static_assert(offsetof(struct ap_tramp_params, entry) == AP_PARAM_ENTRY, "entry");
_Static_assert(offsetof(struct ap_tramp_params, cpu_index) == AP_PARAM_CPU_INDEX, "cpu");
_Static_assert(offsetof(struct ap_tramp_params, efer) == AP_PARAM_EFER, "efer");
_Static_assert(sizeof(struct ap_tramp_params) == AP_PARAM_SIZE, "size");

/* The trampoline's bytes (only the copy ever runs) and where its parameter
 * block is. The image takes them from ap_trampoline.S (ap_trampoline_code.c);
 * host builds, which cannot run real-mode code, get a stand-in blob of the
 * same shape (ap_trampoline_code_host.c). */
struct ap_trampoline_code {
	const uint8_t *bytes;
	size_t size;
	size_t params_offset; /* 8-byte aligned, params_offset + AP_PARAM_SIZE <= size */
};
const struct ap_trampoline_code *ap_trampoline_code(void);

/* Where the trampoline jumps in 64-bit mode, on the AP's own stack (smp.c). */
_Noreturn void smp_ap_entry(uint32_t cpu_index);
#endif

#endif /* LIBSMP_AP_TRAMPOLINE_H */
