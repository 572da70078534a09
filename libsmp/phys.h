/*
 * How libsmp reaches physical memory: the ACPI tables and the trampoline page,
 * both at fixed low addresses chosen by firmware or by the SIPI format.
 *
 * The default is the hypervisor's identity map of the low 4 GiB (hw_phys_ptr).
 * Host tests cannot map address 0x40E or 0x8000, so they install a view that
 * maps those "physical" addresses into a buffer standing for low memory.
 */
#ifndef LIBSMP_PHYS_H
#define LIBSMP_PHYS_H

#include <stddef.h>
#include <stdint.h>

/* A pointer to physical [pa, pa + len), or NULL if that range is not accessible. */
typedef void *(*smp_phys_view_fn)(uint64_t pa, size_t len);

void *smp_phys(uint64_t pa, size_t len);
/* Replace the view (host tests); NULL restores the identity map. */
void smp_set_phys_view(smp_phys_view_fn view);

#endif /* LIBSMP_PHYS_H */
