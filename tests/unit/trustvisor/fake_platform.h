/* tv_platform.h over a fake guest RAM (GPA 0 .. TVF_RAM_SIZE, host-backed). */
#ifndef TESTS_UNIT_TRUSTVISOR_FAKE_PLATFORM_H
#define TESTS_UNIT_TRUSTVISOR_FAKE_PLATFORM_H

#include <stdint.h>

#include "apps/trustvisor/tv_platform.h"

#define TVF_RAM_SIZE (16u << 20)
/* Guest-physical range standing for the hypervisor region: not the guest's. */
#define TVF_HV_LO 0xE00000ull
#define TVF_HV_HI 0xF00000ull
#define TVF_EPTP  (0x5000ull | 6 | (3 << 3))

extern uint8_t *tvf_ram;
extern unsigned tvf_view[TVF_RAM_SIZE / 4096]; /* guest view rwx per page */
extern unsigned tvf_syncs, tvf_invepts;
/* The guest view libvmx runs with (a real EPT built by tv_env.c). */
extern uint64_t tvf_eptp;
/* Run inside tv_sync_all_cpus (NULL: nothing): what another CPU still does
 * with its stale translations during the round. tvf_reset clears it. */
extern void (*tvf_on_sync)(void);

void tvf_reset(void);

#endif
