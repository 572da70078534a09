/* The guest's multiboot command line (guest/cmdline.c). */
#ifndef GUEST_CMDLINE_H
#define GUEST_CMDLINE_H

#include <stdbool.h>
#include <stdint.h>

/* True if the multiboot info at mbi_pa has a command line holding `word` as a
 * whole word, anywhere after the kernel path GRUB puts first. */
bool cmdline_has_word(uint32_t mbi_pa, const char *word);
/* The decimal value of `key=N` (a whole word, N < 10^10, wrapping past 2^32), if present. */
bool cmdline_value(uint32_t mbi_pa, const char *key, uint32_t *value);

#endif /* GUEST_CMDLINE_H */
