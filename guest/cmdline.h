/* The guest's multiboot command line (guest/cmdline.c). */
#ifndef GUEST_CMDLINE_H
#define GUEST_CMDLINE_H

#include <stdbool.h>
#include <stdint.h>

/* True if the multiboot info at mbi_pa has a command line holding `word` as a
 * whole word, anywhere after the kernel path GRUB puts first. */
bool cmdline_has_word(uint32_t mbi_pa, const char *word);
/* The value of `key=value` (a whole word; key without the '='), at most size - 1
 * characters, in out; false if absent. */
bool cmdline_value(uint32_t mbi_pa, const char *key, char *out, uint32_t size);
/* `key=<decimal>`, or fallback if absent or not a number. */
uint32_t cmdline_uint(uint32_t mbi_pa, const char *key, uint32_t fallback);

#endif /* GUEST_CMDLINE_H */
