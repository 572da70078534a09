/*
 * The NMI sweep's recorder (tools/sweep.py, issue 16): in images built with
 * --config=nmi_sweep (HV_NMI_SWEEP) it keeps, per CPU, where each guest NMI
 * landed - in the guest, in the guest while the app held NMIs (a PAL), or in
 * the hypervisor with the RIP it interrupted - until the guest reads it with
 * the debug hypercall NMI_SWEEP (debug_hypercall.h). Other images have
 * neither the recorder nor the hypercall (it answers DEBUG_HC_ERROR).
 */
#ifndef CORE_NMI_SWEEP_H
#define CORE_NMI_SWEEP_H

#include <stdint.h>

struct vcpu;

/* Records kept per CPU between two reads; later NMIs are only counted. */
#define NMI_SWEEP_SLOTS 3u

/* Boot CPU, before the first guest entry: installs the libvmx probe. */
void nmi_sweep_install(void);

/*
 * DEBUG_HC_NMI_SWEEP on the calling CPU: EBX = NMIs recorded since the last
 * read; for the first three, RCX = where (bits 7:0, 15:8, 23:16; enum
 * vmx_nmi_where) and the basic reason of the VM exit a root-mode one met
 * (bits 39:32, 47:40, 55:48; 0 = an NMI exit, 0xff = none), RDX / RSI / RDI =
 * their RIPs; then forgets them. The guest reads after its own
 * handler has taken the NMIs it sent, so no NMI of the round is still on its
 * way into the record.
 */
void nmi_sweep_read(struct vcpu *v);

#endif /* CORE_NMI_SWEEP_H */
