/* The hypervisor's own command line (multiboot, from the ISO's grub.cfg): NAME=VALUE words. */
#ifndef RT_BOOT_OPTION_H
#define RT_BOOT_OPTION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * The value of the last word "NAME=VALUE" on cmdline (words are separated by
 * spaces; NAME includes no '='), as a pointer into cmdline and its length in
 * *len; NULL if no word has that name. cmdline may be NULL.
 */
const char *boot_option(const char *cmdline, const char *name, size_t *len);

/* True if the value is exactly `word`. */
bool boot_option_is(const char *value, size_t len, const char *word);

/*
 * The value as an unsigned number (decimal, or hex with 0x), in *out; false if
 * it is not one (empty, other characters, more than 64 bits).
 */
bool boot_option_u64(const char *value, size_t len, uint64_t *out);

#endif /* RT_BOOT_OPTION_H */
