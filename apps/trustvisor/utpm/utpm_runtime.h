/*
 * What a CPU needs before it runs BearSSL code in the hypervisor image.
 *
 * Debian's libbearssl.a is built for user space with -fstack-protector: its
 * functions read a canary at %fs:0x28 (the glibc thread-control-block slot) and
 * call __stack_chk_fail when it changed (libc_shim.c). It is also ordinary
 * x86-64 code, so it uses SSE registers (movdqa, pxor) for copies and zeroing.
 *
 * utpm_runtime_init_cpu, on each CPU that will run micro-TPM calls:
 *  - points IA32_FS_BASE at that CPU's struct utpm_cpu_block, whose offset 0x28
 *    holds `canary` (low byte forced to 0, as glibc does, so a string overflow
 *    cannot write the canary back);
 *  - enables SSE for the OS (CR4.OSFXSR, CR4.OSXMMEXCPT, CR0.MP set, CR0.EM and
 *    CR0.TS clear: SDM Vol. 3A, "Initialization of the SSE Extensions").
 * Call it before libvmx records this CPU's host state in its VMCS (HOST_CR0,
 * HOST_CR4 and HOST_FS_BASE are read from the live registers), or every VM exit
 * would load the old values back. The canary must not change while a BearSSL
 * call is on the stack, so call it once per CPU at boot.
 */
#ifndef APPS_TRUSTVISOR_UTPM_UTPM_RUNTIME_H
#define APPS_TRUSTVISOR_UTPM_UTPM_RUNTIME_H

#include <stdint.h>

#include "apps/trustvisor/utpm/utpm.h"

#define UTPM_CANARY_OFFSET 0x28

struct utpm_cpu_block {
	uint64_t unused[UTPM_CANARY_OFFSET / 8];
	uint64_t stack_canary; /* at %fs:0x28 */
} __attribute__((aligned(64)));

_Static_assert(__builtin_offsetof(struct utpm_cpu_block, stack_canary) == UTPM_CANARY_OFFSET,
               "the canary slot of x86-64 -fstack-protector code");

/* UTPM_ERR_SIZE if cpu_index >= HV_MAX_CPUS. */
enum utpm_status utpm_runtime_init_cpu(uint32_t cpu_index, uint64_t canary);

/* The block of a CPU (NULL if out of range); for tests and panic reports. */
const struct utpm_cpu_block *utpm_runtime_cpu_block(uint32_t cpu_index);

#endif /* APPS_TRUSTVISOR_UTPM_UTPM_RUNTIME_H */
