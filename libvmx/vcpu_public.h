/*
 * What apps see of a vcpu: an opaque handle (struct vcpu is defined in
 * libvmx/vcpu.h, which apps never include), general registers by number, and
 * the few questions every exit handler asks. Guest state beyond the general
 * registers: libvmx/vmx_guest.h.
 */
#ifndef LIBVMX_VCPU_PUBLIC_H
#define LIBVMX_VCPU_PUBLIC_H

#include <stdbool.h>
#include <stdint.h>

struct vcpu;

/* GPR indices = x86 register numbers (as in exit qualifications, SDM 28.2.1). */
enum vcpu_gpr {
	GPR_RAX,
	GPR_RCX,
	GPR_RDX,
	GPR_RBX,
	GPR_RSP,
	GPR_RBP,
	GPR_RSI,
	GPR_RDI,
	GPR_R8,
	GPR_R9,
	GPR_R10,
	GPR_R11,
	GPR_R12,
	GPR_R13,
	GPR_R14,
	GPR_R15,
	GPR_COUNT
};

/* The vcpu of a CPU index (0 .. HV_MAX_CPUS-1). */
struct vcpu *vmx_vcpu(uint32_t cpu);

/* Register access by x86 register number; RSP goes to the VMCS. */
uint64_t vcpu_gpr_read(struct vcpu *v, unsigned n);
void vcpu_gpr_write(struct vcpu *v, unsigned n, uint64_t value);

/* Completes the exiting instruction: RIP += length, STI/MOV-SS blocking ends. */
void vcpu_skip_instruction(struct vcpu *v);

/* The guest's current privilege level (SS.DPL, SDM 25.4.1). */
unsigned vcpu_cpl(void);

#endif /* LIBVMX_VCPU_PUBLIC_H */
