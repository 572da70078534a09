/* The boot sequence (core/boot.c): entered from rt/ and libsmp. */
#ifndef CORE_BOOT_H
#define CORE_BOOT_H

#include <stdint.h>

#include "rt/multiboot.h"

void hv_main(const struct mb_info *mbi);
void hv_ap_main(uint32_t cpu);
/* The multiboot module whose command line is `name`, or NULL. */
const struct mb_module *boot_find_module(const struct mb_info *mbi, const char *name);

#endif /* CORE_BOOT_H */
