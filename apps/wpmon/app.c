/*
 * wpmon, the write-protect monitor: the guest protects ranges of its own
 * memory by hypercall (wpmon_hypercall.h); every write there is logged (GPA,
 * guest RIP, CPU) and then let through, one instruction at a time, in a view
 * where the page is writable. README.md has the design.
 */
#include "apps/wpmon/wpmon.h"

const struct hv_app hv_app = {
    .name = "wpmon",
    .boot = wpmon_boot,
    .hypercall = wpmon_hypercall,
    .ept_violation = wpmon_ept_violation,
    .monitor_trap = wpmon_monitor_trap,
    .guest_may_take_nmi = wpmon_guest_may_take_nmi,
    .before_init = wpmon_before_init,
    .before_entry = wpmon_before_entry,
};
