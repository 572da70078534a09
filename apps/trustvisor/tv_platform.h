/*
 * What TrustVisor needs from the machine beyond the VMCS: the guest's view of
 * memory and a way to make every CPU drop stale EPT translations.
 *
 * Image: tv_platform.c (libvmx's guest EPT view, libquiesce). Host tests
 * provide their own implementation over a fake guest RAM
 * (tests/unit/trustvisor/fake_platform.c), so every TrustVisor decision runs
 * on the host.
 */
#ifndef APPS_TRUSTVISOR_TV_PLATFORM_H
#define APPS_TRUSTVISOR_TV_PLATFORM_H

#include <stdbool.h>
#include <stdint.h>

struct vcpu;

/* Once per CPU from hv_app.boot (records the guest view, the PAL budget). */
void tv_platform_boot(struct vcpu *v);
/* From hv_app.before_entry (tv_before_entry): INVEPT of the guest view if a tv_sync_all_cpus()
 * round happened since this CPU's last entry. */
void tv_platform_before_entry(struct vcpu *v);

/*
 * The guest's 4 KiB page at `gpa_page` if the guest itself could access it in
 * its EPT view as RAM (readable, and writable if `write`); NULL for the
 * hypervisor region, PAL pages, MMIO, holes and addresses above RAM.
 */
void *tv_guest_page(uint64_t gpa_page, bool write);

/* Is `gpa_page` guest RAM the guest can read/write now? *hpa = where it lives. */
bool tv_guest_ram(uint64_t gpa_page, uint64_t *hpa);

/* Sets the guest view's permissions of one page (0 = taken away). 0 or -1. */
int tv_guest_view_set(uint64_t gpa_page, unsigned rwx);

/* The guest view's EPTP (what the VMCS holds outside PALs). */
uint64_t tv_guest_eptp(void);

/*
 * After access was taken away: returns once every other CPU has left the guest
 * and will invalidate its EPT translations before it runs guest code again.
 * Takes no TrustVisor lock; may stop all CPUs (quiesce round).
 */
void tv_sync_all_cpus(void);

/* One step of a root-mode wait for another CPU: answers a quiesce request
 * (libquiesce: long root-mode waits poll), then pauses. */
void tv_relax(void);

/* INVEPT (single context) of `eptp` on this CPU. */
void tv_invept(uint64_t eptp);

#endif /* APPS_TRUSTVISOR_TV_PLATFORM_H */
