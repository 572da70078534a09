/*
 * Guest memory set-up before the first VM entry: the boot sector.
 *
 * The guest starts as a PC does after POST: the boot disk's MBR at 0x7c00,
 * executed in real mode with DL = 0x80. GRUB passes that MBR to the hypervisor
 * as a multiboot module (`module (hd0)+1 mbr`).
 */
#ifndef LIBVMX_GUEST_MEMORY_H
#define LIBVMX_GUEST_MEMORY_H

#include <stdbool.h>
#include <stdint.h>

#define GUEST_MBR_ADDR      0x7C00u
#define GUEST_MBR_SIZE      512u
#define GUEST_MBR_BOOT_DISK 0x80u /* DL at entry: the first hard disk */

/*
 * Pointer to guest-physical `gpa` (guest-physical = host-physical). All of
 * libvmx's accesses to fixed low guest addresses (IVT, BDA, 0x7c00, INT 15h
 * buffers) go through this, so host tests can put guest low memory in a buffer.
 */
void *guest_phys_ptr(uint64_t gpa);

#ifdef HV_HOST
/* Host tests: guest-physical [0, len) lives at `host` (NULL: back to hw_phys_ptr). */
void guest_memory_test_window(void *host, uint64_t len);
#endif

/* True if the 512 bytes end with the boot signature 55h AAh. */
bool guest_mbr_valid(const void *mbr512);

#define GUEST_ERR_NO_BOOT_SIGNATURE (-1)

/*
 * Copies the boot sector to guest-physical 0x7c00. If the signature is missing
 * (the BIOS would not boot such a disk either) it prints the bytes found, copies
 * nothing and returns GUEST_ERR_NO_BOOT_SIGNATURE; else 0.
 */
int guest_load_mbr(const void *mbr512);

#endif /* LIBVMX_GUEST_MEMORY_H */
