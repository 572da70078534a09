/*
 * C side of the exception stubs: NMIs go to the installed handler, anything
 * else is a hypervisor bug and panics with the full register state.
 */
#include "rt/trap.h"

#include "hw/hw.h"
#include "rt/console.h"
#include "rt/cpu_tables.h"
#include "rt/panic.h"
#ifdef HV_NMI_SWEEP
#include "rt/layout.h"
#include "rt/percpu.h"
#endif

static void (*nmi_handler)(void);
/* rt_set_nmi_restart(): written once at boot, before any NMI can need it. */
static uintptr_t restart_lo, restart_hi, restart_to;

void rt_set_nmi_restart(uintptr_t lo, uintptr_t hi, uintptr_t to)
{
	restart_lo = lo;
	restart_hi = hi;
	restart_to = to;
}

#ifdef HV_NMI_SWEEP
/* The RIP each CPU's latest root-mode NMI interrupted (NMI sweep images only). */
static uint64_t nmi_rip[HV_MAX_CPUS];

uint64_t rt_nmi_interrupted_rip(void)
{
	return nmi_rip[this_cpu_index()];
}
#endif

void rt_set_nmi_handler(void (*fn)(void))
{
	__atomic_store_n(&nmi_handler, fn, __ATOMIC_RELEASE);
}

/* SDM Vol. 3A 6.15 and Table 6-1. */
static const char *const mnemonics[32] = {
    "DE",   "DB",   "NMI",  "BP",   "OF",   "BR",   "UD", "NM", "DF", "CSO",  "TS",
    "NP",   "SS",   "GP",   "PF",   "RSVD", "MF",   "AC", "MC", "XM", "VE",   "CP",
    "RSVD", "RSVD", "RSVD", "RSVD", "RSVD", "RSVD", "HV", "VC", "SX", "RSVD",
};

const char *rt_exception_mnemonic(uint64_t vector)
{
	return vector < 32 ? mnemonics[vector] : "RSVD";
}

static void dump_frame(const struct rt_trap_frame *f)
{
	hv_printf_locked("  RIP=%016llx CS=%04llx RFLAGS=%016llx\n", (unsigned long long)f->rip,
	                 (unsigned long long)f->cs, (unsigned long long)f->rflags);
	hv_printf_locked("  RSP=%016llx SS=%04llx\n", (unsigned long long)f->rsp,
	                 (unsigned long long)f->ss);
	hv_printf_locked("  RAX=%016llx RBX=%016llx RCX=%016llx RDX=%016llx\n",
	                 (unsigned long long)f->rax, (unsigned long long)f->rbx,
	                 (unsigned long long)f->rcx, (unsigned long long)f->rdx);
	hv_printf_locked("  RSI=%016llx RDI=%016llx RBP=%016llx\n", (unsigned long long)f->rsi,
	                 (unsigned long long)f->rdi, (unsigned long long)f->rbp);
	hv_printf_locked("  R8 =%016llx R9 =%016llx R10=%016llx R11=%016llx\n",
	                 (unsigned long long)f->r8, (unsigned long long)f->r9,
	                 (unsigned long long)f->r10, (unsigned long long)f->r11);
	hv_printf_locked("  R12=%016llx R13=%016llx R14=%016llx R15=%016llx\n",
	                 (unsigned long long)f->r12, (unsigned long long)f->r13,
	                 (unsigned long long)f->r14, (unsigned long long)f->r15);
	hv_printf_locked("  CR0=%016llx CR2=%016llx CR3=%016llx CR4=%016llx\n",
	                 (unsigned long long)hw_read_cr0(), (unsigned long long)hw_read_cr2(),
	                 (unsigned long long)hw_read_cr3(), (unsigned long long)hw_read_cr4());
}

void rt_trap(struct rt_trap_frame *f)
{
	if (f->vector == RT_VECTOR_NMI) {
#ifdef HV_NMI_SWEEP
		nmi_rip[this_cpu_index()] = f->rip;
#endif
		void (*fn)(void) = __atomic_load_n(&nmi_handler, __ATOMIC_ACQUIRE);
		if (fn != NULL)
			fn();
		/* The IRETQ resumes at the frame's RIP (SDM Vol. 3A 6.14.3). */
		if (restart_to && f->rip >= restart_lo && f->rip <= restart_hi)
			f->rip = restart_to;
		return;
	}
	rt_panic_begin("unexpected exception #%s (vector %llu, error code 0x%llx)",
	               rt_exception_mnemonic(f->vector), (unsigned long long)f->vector,
	               (unsigned long long)f->error_code);
	dump_frame(f);
	rt_panic_end();
}
