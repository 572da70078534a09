/* The NMI sweep's recorder (nmi_sweep.h); empty unless HV_NMI_SWEEP. */
#include "core/nmi_sweep.h"

#ifdef HV_NMI_SWEEP
#include "libvmx/vcpu.h"
#include "libvmx/vmx.h"
#include "rt/layout.h"
#include "rt/percpu.h"

struct sweep_log {
	uint32_t count; /* NMIs since the last read */
	uint8_t where[NMI_SWEEP_SLOTS];
	uint8_t reason[NMI_SWEEP_SLOTS];
	uint64_t rip[NMI_SWEEP_SLOTS];
};

/* Written by the probe on its own CPU (NMI context or the NMI exit), read and
 * reset by that CPU's VMCALL exit: per-CPU, so no lock. */
static struct sweep_log logs[HV_MAX_CPUS];

static void probe(struct vcpu *v, enum vmx_nmi_where where, uint64_t rip, uint32_t exit_reason)
{
	(void)v;
	struct sweep_log *l = &logs[this_cpu_index()];
	if (l->count < NMI_SWEEP_SLOTS) {
		l->where[l->count] = (uint8_t)where;
		l->reason[l->count] = (uint8_t)(exit_reason > 0xff ? 0xff : exit_reason);
		l->rip[l->count] = rip;
	}
	l->count++;
}

void nmi_sweep_install(void)
{
	vmx_set_nmi_probe(probe);
}

void nmi_sweep_read(struct vcpu *v)
{
	struct sweep_log *l = &logs[v->cpu];
	v->gpr[GPR_RBX] = l->count;
	uint64_t rcx = 0;
	for (uint32_t i = 0; i < NMI_SWEEP_SLOTS; i++)
		rcx |= (uint64_t)l->where[i] << (8 * i) | (uint64_t)l->reason[i] << (32 + 8 * i);
	v->gpr[GPR_RCX] = rcx;
	v->gpr[GPR_RDX] = l->rip[0];
	v->gpr[GPR_RSI] = l->rip[1];
	v->gpr[GPR_RDI] = l->rip[2];
	v->gpr[GPR_RAX] = 0;
	*l = (struct sweep_log){0};
}
#endif /* HV_NMI_SWEEP */
