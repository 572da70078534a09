/*
 * TrustVisor internals: the PAL table, per-CPU call state, and the functions
 * app.c dispatches to. Locks: tv_lock (tv_register.c) guards the PAL table;
 * per-CPU call state is only touched by its own CPU.
 */
#ifndef APPS_TRUSTVISOR_TV_INTERNAL_H
#define APPS_TRUSTVISOR_TV_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>

#include "apps/trustvisor/tv_hypercall.h"
#include "apps/trustvisor/utpm/utpm.h"
#include "libvmx/guest_walk.h"
#include "libvmx/vmx.h"
#include "libvmx/vmx_app.h"
#include "rt/layout.h"

#define TV_PAGE 0x1000ull
/* Page-table pages of one PAL: its private guest page tables and its EPT. */
#define TV_MAX_TABLE_PAGES 64u

struct tv_page {
	uint64_t gva, gpa, hpa;
	uint32_t kind;     /* enum tv_section_kind */
	unsigned orig_rwx; /* the guest view's permissions before registration */
};

/* DYING: a teardown (tv_lifecycle.c) owns it: not callable, its CPU leaving it. */
enum tv_pal_state { TV_PAL_FREE = 0, TV_PAL_SETUP, TV_PAL_READY, TV_PAL_DYING };

struct tv_pal {
	enum tv_pal_state state;
	uint32_t id;
	uint64_t cr3;   /* owner: CR3 bits 51:12 */
	bool user;      /* registered from ring 3 */
	int running_on; /* CPU index, or -1 */
	struct tv_pal_desc desc;
	uint64_t entry_gpa, params_gva, params_size, stack_top;
	uint32_t npages;
	struct tv_page page[TV_MAX_PAL_PAGES];
	/* Private guest page tables (PAL CR3) and the PAL's EPT view. */
	uint64_t pt_root, eptp;
	uint32_t ntables;
	uint64_t table[TV_MAX_TABLE_PAGES];
	uint64_t calls, faults;
	struct utpm_pal utpm; /* the PAL's PCRs */
};

/* One CPU's PAL call in progress. */
struct tv_call {
	struct tv_pal *pal; /* NULL: no PAL on this CPU */
	/* The caller's return address, RSP and CR3 (the rest of its state is
	 * saved by libvmx with the view, vmx_view_enter). */
	uint64_t ret_rip, caller_rsp, cr3;
	uint64_t out_gva;
	uint32_t in_count, out_count;
};

extern struct tv_pal tv_pals[TV_MAX_PALS];

/* ---- tv_register.c ---- */
int64_t tv_register(struct vcpu *v, uint64_t desc_gva);
int64_t tv_unregister(struct vcpu *v, uint64_t entry);
/* The PAL one of whose pages is `gpa_page` (NULL if none). Caller holds tv_lock. */
struct tv_pal *tv_pal_by_gpa(uint64_t gpa_page);
/* The PAL with entry point `entry` that the caller (the guest's current CR3,
 * and ring 3 or not, as at registration) owns; NULL with *err = TV_ERR_WRONG_PROCESS if only
 * another process has one there, TV_ERR_NOT_REGISTERED if none. Caller holds tv_lock. */
struct tv_pal *tv_pal_of_caller(struct vcpu *v, uint64_t entry, int64_t *err);
void tv_lock_acquire(void);
void tv_lock_release(void);
/* Scrub, give the pages back to the guest, free the tables. tv_lock held. */
void tv_pal_destroy(struct tv_pal *pal);

/* ---- tv_tables.c ---- */
/* Builds pal->pt_root (4-level guest page tables mapping exactly the PAL's
 * pages) and pal->eptp (an EPT mapping exactly those pages and the tables).
 * 0 or TV_ERR_NO_MEMORY (nothing left allocated). */
int tv_tables_build(struct tv_pal *pal, bool nxe, uint64_t guest_eptp_flags);
void tv_tables_free(struct tv_pal *pal);

/* ---- tv_call.c ---- */
/* EPT violation at a PAL page. */
enum hv_ept_action tv_ept_violation(struct vcpu *v, uint64_t gpa, uint64_t qualification);
/* Exception exit while a PAL runs (true = consumed). */
bool tv_exception(struct vcpu *v, uint8_t vector, uint32_t error_code);
/* hv_app.preemption_timer: the preemption timer fired on this CPU. A PAL's
 * budget ran out: ends the call with TV_ERR_PAL_TIMEOUT, true. No PAL running
 * (the timer is never armed outside PALs): false. */
bool tv_timer_expired(struct vcpu *v);
/* hv_app.mov_dr: inside a PAL, ends the call with TV_ERR_PAL_FAULT (true);
 * outside (MOV-DR exiting is off there): false, libvmx executes it. */
bool tv_mov_dr(struct vcpu *v);
bool tv_may_take_nmi(struct vcpu *v);
struct tv_call *tv_call_of(uint32_t cpu);
/* Ends the PAL call on v's CPU: the OS view back, the caller resumed with
 * `status` (no outputs unless TV_OK), the PAL's running_on cleared. */
void tv_call_end(struct vcpu *v, int64_t status);
/* Takes v's CPU out of its PAL without resuming the caller (INIT): the OS
 * view back (EPTP, CR3, exception bitmap, pin controls), the caller's x87/SSE
 * state in place of the PAL's, general registers zeroed, no call on this CPU.
 * Returns the PAL, still with running_on = this CPU: the caller decides its
 * fate under tv_lock. */
struct tv_pal *tv_call_drop(struct vcpu *v);
/* A vmx_gw_ctx for v's guest's current paging mode, with `cr3`. */
void tv_walk_ctx(struct vcpu *v, struct vmx_gw_ctx *c, uint64_t cr3);
/* Copies to/from the PAL's own pages; false if outside them (or into code). */
bool tv_pal_copy(struct tv_pal *pal, uint64_t gva, void *buf, size_t n, bool to_pal);
/* PAL time budget in preemption-timer ticks (0 = the timer is not used). */
extern uint32_t tv_pal_timer_ticks;

/* ---- tv_lifecycle.c: teardown, INIT, eviction ---- */
/* hv_app.before_entry: the platform's (tv_platform_before_entry), then ends
 * the call of a PAL a teardown marked DYING (this CPU's own VMCS). */
void tv_before_entry(struct vcpu *v);
/* hv_app.before_init: an INIT ends the PAL call on this CPU and unregisters
 * (scrubs) the PAL before the CPU takes the INIT in the OS view. */
void tv_before_init(struct vcpu *v);
/* Shutdown, triple fault: every PAL scrubbed and freed, each running one only
 * after its CPU has left it. `v`: the calling CPU. */
void tv_unregister_all(struct vcpu *v);

/* ---- tv_fpu.c: x87/SSE/AVX state across a PAL call ---- */
/* Before a call on `cpu`: TV_OK, TV_ERR_UNSUPPORTED (no XSAVE in root mode, or
 * CR0.TS set) or TV_ERR_NO_MEMORY (the first call's save area). */
int64_t tv_fpu_prepare(uint32_t cpu);
/* PAL entry: XSAVE the caller's components, then put all of them in the init state. */
void tv_fpu_enter_pal(uint32_t cpu);
/* Every PAL exit: XRSTOR the caller's state (nothing of the PAL's survives) and XCR0. */
void tv_fpu_exit_pal(uint32_t cpu);
/* XSAVE / XRSTOR of `mask` into/from a 64-byte aligned area (>= 576 bytes), XCR0
 * widened to `mask` for the instruction (tv_utpm.c, around BearSSL). */
void tv_fpu_save(void *area, uint64_t mask);
void tv_fpu_restore(const void *area, uint64_t mask);

/* ---- tv_utpm.c ---- */
/* Per CPU at boot: the BearSSL runtime; on the boot CPU also the hypervisor's keys. */
void tv_utpm_boot(struct vcpu *v);
/* A micro-TPM hypercall (RAX): from the PAL running on v's CPU, or
 * TV_HC_QUOTE_KEY / TV_HC_PAL_IDENTITY from anywhere. */
int64_t tv_utpm_call(struct vcpu *v, uint32_t fn);
/* Shutdown or reset: zeroes the sealing and quote keys, the DRBG and every
 * per-CPU buffer; every later micro-TPM call gets TV_ERR_TPM. */
void tv_utpm_scrub(void);
/* Registration, after every CPU dropped the PAL's pages: measures the PAL
 * (tv_identity.h) from its pages and initialises pal->utpm with the
 * measurement as identity. TV_OK, or TV_ERR_TPM (no BearSSL runtime on this
 * CPU: no entropy at boot). */
int64_t tv_utpm_measure(struct vcpu *v, struct tv_pal *pal);

#endif /* APPS_TRUSTVISOR_TV_INTERNAL_H */
