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
/* Run by tv_sync_all_cpus() (where the image's quiesce round makes every
 * other CPU exit: what another CPU still does with its stale translations, or
 * a CPU leaving its PAL), and by every change of the guest view, before it is
 * made; NULL (tvf_reset) = none. */
extern void (*tvf_sync_hook)(void);
extern void (*tvf_view_set_hook)(uint64_t gpa_page, unsigned rwx);

/*
 * Test seam for races: if set, called once (then cleared) at the next
 * tv_guest_page(), i.e. the next time TrustVisor reads guest memory without
 * tv_lock (the caller's stack and inputs during a PAL call), as another CPU
 * acting at that moment would.
 */
extern void (*tvf_page_hook)(void);

void tvf_reset(void);

#endif
