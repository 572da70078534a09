/*
 * wpmon's callbacks (wpmon.c) and what it needs from the machine beyond
 * libvmx (wpmon_sync.c in the image; host tests bring their own).
 */
#ifndef APPS_WPMON_WPMON_H
#define APPS_WPMON_WPMON_H

#include <stdbool.h>
#include <stdint.h>

#include "libvmx/vmx_app.h"

void wpmon_boot(struct vcpu *v);
bool wpmon_hypercall(struct vcpu *v);
enum hv_ept_action wpmon_ept_violation(struct vcpu *v, uint64_t gpa, uint64_t qualification);
void wpmon_monitor_trap(struct vcpu *v);
bool wpmon_guest_may_take_nmi(struct vcpu *v);
void wpmon_before_init(struct vcpu *v);
void wpmon_before_entry(struct vcpu *v);

/*
 * After write access was taken away in the guest's view: returns once every
 * other CPU has left the guest and will drop its stale EPT translations
 * (wpmon_before_entry) before it runs guest code again.
 */
void wpmon_sync_all_cpus(void);

#endif /* APPS_WPMON_WPMON_H */
