/* Connects libquiesce to libvmx (core/quiesce_wiring.c). */
#ifndef CORE_QUIESCE_WIRING_H
#define CORE_QUIESCE_WIRING_H

#include <stdint.h>

/* Boot CPU, after smp_discover() and before smp_start_aps(). */
/* cmdline: the hypervisor's command line (quiesce_stuck_spins=). */
void quiesce_wiring_install(uint32_t cpu_count, const char *cmdline);

#endif /* CORE_QUIESCE_WIRING_H */
