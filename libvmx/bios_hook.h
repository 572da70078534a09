/*
 * The guest's BIOS memory-size services, answered from the guest E820 map.
 *
 * The guest learns its memory map from the real BIOS (INT 15h), which knows
 * nothing of the hypervisor. Before the guest starts, bios_hook_install() takes
 * one 4 KiB page of low memory just below the EBDA, writes a real-mode stub there
 * and points IVT entry 15h at it. The stub executes VMCALL for
 *   EAX = 0000E820h  (query system address map),
 *   AX  = E801h      (memory sizes above 1 MiB and 16 MiB),
 *   AH  = 88h        (extended memory size),
 * and far-jumps to the original INT 15h handler for everything else.
 *
 * What the VMCALL exit handler (libvmx core) must do, in order:
 *  1. Only in real mode (guest CR0.PE = 0, so linear = guest-physical and
 *     ES.base = ES << 4): linear = guest CS.base + guest RIP; if
 *     bios_hook_is_e820_call(linear) is false, or the guest is in any other mode,
 *     it is not ours (hand it to the app as usual).
 *  2. Fill a struct bios_e820_regs: rax, rbx, rcx, rdx, rdi from the guest GPRs,
 *     es_base = VMCS guest ES base, rflags = VMCS guest RFLAGS, eptp = the EPTP the
 *     guest runs with (the buffer must be writable there; 0 skips that check).
 *  3. bios_hook_handle_e820(&regs, bios_hook_guest_map()) (the map given to
 *     bios_hook_install(), which must stay valid while the guest runs).
 *  4. Copy rax, rbx, rcx, rdx back to the guest GPRs (rdi is unchanged) and
 *     write regs.rflags to VMCS guest RFLAGS (only CF changes: CF=0 success,
 *     CF=1 error with AH = 86h).
 *  5. Advance guest RIP by 3 (the VMCALL is 0F 01 C1) and resume the guest.
 * The stub copies CF into the FLAGS image that INT pushed and returns with IRET,
 * so every other flag, IF included, is the caller's own.
 *
 * Reads and writes guest memory through guest_phys_ptr (guest-physical = host-
 * physical). No locks: the hook is installed on the boot CPU before the guest
 * runs, and the handler only reads the map and the guest's registers.
 */
#ifndef LIBVMX_BIOS_HOOK_H
#define LIBVMX_BIOS_HOOK_H

#include <stdbool.h>
#include <stdint.h>

struct e820_map;

/* BIOS data area words (real-mode segment 40h). */
#define BDA_EBDA_SEGMENT 0x40Eu      /* segment of the extended BIOS data area */
#define BDA_BASE_MEM_KIB 0x413u      /* conventional memory size in KiB */
#define IVT_INT15        (0x15u * 4) /* offset:segment of INT 15h */

#define BIOS_HOOK_PAGE_SIZE 0x1000u

/* Layout of the stub (offsets from the start of the hook page). */
#define BIOS_HOOK_OFF_FAR_JMP 0x12u /* EA imm16:imm16: jmp far to the original vector */
#define BIOS_HOOK_OFF_ORIG    0x13u /* the original INT 15h vector: offset, then segment */
#define BIOS_HOOK_OFF_VMCALL  0x17u /* 0F 01 C1 */
#define BIOS_HOOK_VMCALL_LEN  3u
#define BIOS_HOOK_STUB_LEN    0x2Bu

#define BIOS_SMAP              0x534D4150u /* 'SMAP' */
#define BIOS_E820_MIN_SIZE     20u         /* base, length, type */
#define BIOS_E820_EXT_SIZE     24u         /* + ACPI 3.0 extended attributes */
#define BIOS_E820_ATTR_ENABLED 1u          /* extended attribute bit 0: entry is enabled */
#define BIOS_ERR_UNSUPPORTED   0x86u       /* AH on error (function not supported) */

/* Errors of bios_hook_install(). */
#define BIOS_HOOK_ERR_BDA  (-1) /* BDA base memory / EBDA values make no sense */
#define BIOS_HOOK_ERR_E820 (-2) /* the guest map is full */

/* Guest state the handler reads and writes (see the protocol above). */
struct bios_e820_regs {
	uint64_t rax, rbx, rcx, rdx, rdi;
	uint64_t es_base; /* guest ES base (real mode: selector << 4) */
	uint64_t rflags;  /* guest RFLAGS; the handler sets or clears CF */
	uint64_t eptp;    /* the guest's EPT view; 0 = do not check the buffer */
};

/*
 * Installs the hook in guest low memory (BDA, IVT, the page) and marks the page
 * reserved in `guest_map`. Prints what it did. Returns 0 or BIOS_HOOK_ERR_*.
 */
int bios_hook_install(struct e820_map *guest_map);

/* Physical address of the hook page (0 before bios_hook_install()). */
uint64_t bios_hook_page(void);

/* The guest map bios_hook_install() was given (NULL before). */
const struct e820_map *bios_hook_guest_map(void);

/* Writes the stub into `page` (BIOS_HOOK_STUB_LEN bytes) chaining to seg:off. */
void bios_hook_write_stub(uint8_t *page, uint16_t orig_seg, uint16_t orig_off);

/* True if a VMCALL at this guest linear address (CS.base + RIP) is the stub's. */
bool bios_hook_is_e820_call(uint64_t guest_linear_rip);

/*
 * Answers the INT 15h function in regs->rax (E820h, E801h or 88h) from `map`,
 * which must be the guest map. Writes E820h entries to es_base + DI.
 */
void bios_hook_handle_e820(struct bios_e820_regs *regs, const struct e820_map *map);

#endif /* LIBVMX_BIOS_HOOK_H */
