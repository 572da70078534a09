/*
 * Declarations shared by the files of libvmx (not part of the public API).
 */
#ifndef LIBVMX_VMX_INTERNAL_H
#define LIBVMX_VMX_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hw/hw.h"
#include "libvmx/quirks.h"
#include "libvmx/vcpu.h"
#include "libvmx/vmx.h"

/* ---- vmx_entry.S (image) / vmx_entry_fake.c (host) ---- */
/* Loads the guest GPRs and does VMLAUNCH or VMRESUME; returns only via
 * vmx_entry_failed() (which panics). */
_Noreturn void vmx_enter_guest(struct vcpu *v);
/* Host RIP: saves the guest GPRs, calls vmx_handle_exit(), re-enters. */
void vmx_exit_stub(void);
/* nmi_unblock.S: IRET to self, ending the NMI blocking an NMI exit leaves
 * (the host fake counts calls in vmx_fake_nmi_unblocks). */
void vmx_unblock_nmis(void);
#ifdef HV_HOST
extern uint64_t vmx_fake_nmi_unblocks;
#endif

/* ---- exit_dispatch.c ---- */
void vmx_handle_exit(struct vcpu *v);
/* VMLAUNCH/VMRESUME fell through: result is enum hw_vmx_result. */
_Noreturn void vmx_entry_failed(struct vcpu *v, uint32_t result);
void vmx_read_exit_info(struct vcpu *v);
typedef void (*vmx_exit_handler)(struct vcpu *v);
vmx_exit_handler vmx_exit_handler_for(uint32_t basic_reason);

/* ---- transition_hooks.c ---- */
/* First thing in every exit, before the exit is counted or dispatched. */
void vmx_run_after_exit_hook(struct vcpu *v);
/* The end of every exit and of the launch: before-entry hooks in registration
 * order, then the injection point. */
void vmx_before_entry(struct vcpu *v);
#ifdef HV_HOST
/* Host tests: no hooks, registration open again (a new "boot"). */
void vmx_transition_hooks_reset(void);
#endif

/* ---- vmcs_dump.c ---- */
void vmx_dump_vmcs(void);
void vmx_panic_hook(void);
const char *vmx_instruction_error_name(uint32_t err);
/* Reports a failed VMX instruction ("VMCLEAR failed: ..."); returns -1. */
int vmx_report_failure(const char *what, enum hw_vmx_result r);
/* hw_vmx_failed's handler (vmcs_dump.c): panics naming the instruction, field and error. */
_Noreturn void vmx_instruction_failed(const char *insn, uint32_t encoding, uint64_t value,
                                      enum hw_vmx_result r);
/* Marks whether this CPU has a current VMCS the panic hook may dump. */
void vmx_set_vmcs_current(uint32_t cpu, bool current);

/* ---- vmcs_controls.c / vmcs_host.c / vmcs_guest.c ---- */
/* vmx_cpu.c: all of vmx_launch_guest() but the VM entry. */
void vmx_prepare_guest(uint32_t cpu, bool boot_cpu, uint64_t eptp);
void vmcs_setup_controls(struct vcpu *v);
void vmcs_setup_host(struct vcpu *v);
/* The guest-host masks of CR0/CR4: bits the guest may not own (SDM 25.6.6). */
uint64_t vmx_cr0_host_owned(void);
uint64_t vmx_cr4_host_owned(void);
/* Guest-visible CR value -> the value the CPU runs with (fixed bits applied). */
uint64_t vmx_cr0_actual(uint64_t view);
uint64_t vmx_cr4_actual(uint64_t view);
/* The boot CPU at 0000:7C00, real mode, DL=0x80. */
void vmcs_guest_boot_state(struct vcpu *v);
/* INIT reset state (SDM Vol. 3A 10.1.1, Table 10-1); APs wait for SIPI, the BSP starts
 * at the reset vector. */
void vmcs_guest_init_state(struct vcpu *v, bool wait_for_sipi);
/* After a SIPI with `vector`: CS = vector << 8, base vector << 12, IP 0. */
void vmcs_guest_sipi_state(struct vcpu *v, uint8_t vector);

/* ---- exception_mask.c (vmx_view.h) ---- */
/* In an isolated view every exception exits (on), or not any more (off). */
void vmx_exceptions_intercept_all(struct vcpu *v, bool on);
/* A new VMCS: no requests, no view; the app's static bitmap written. */
void vmx_exceptions_reset(struct vcpu *v);

/* ---- isolated_view.c ---- */
/* A new VMCS: no view (vmcs_setup_controls). */
void vmx_view_reset(struct vcpu *v);

/* ---- single_step.c ---- */
/* A new VMCS: no step armed (vmcs_setup_controls). */
void vmx_single_step_reset(struct vcpu *v);
/* After the injection point: hold maskable interrupts for an armed step. */
void vmx_single_step_before_entry(struct vcpu *v);

/* ---- view_debug.c (isolated_view.c, vmx_view.h) ---- */
/* Saves this CPU's debug/trace state and bases, writes the clean values. */
void vmx_view_debug_clean(struct vcpu *v);
/* Puts back what vmx_view_debug_clean saved. */
void vmx_view_debug_restore(struct vcpu *v);

/* ---- vmx_bitmaps.c ---- */
void vmx_bitmaps_init(void);
uint64_t vmx_io_bitmap_pa(int which); /* 0 = A (ports 0-7FFF), 1 = B */
uint64_t vmx_msr_bitmap_pa(void);
vmx_io_handler vmx_io_handler_for(uint16_t port);
vmx_msr_handler vmx_msr_handler_for(uint32_t msr);
/* Marks an MSR as intercepted (reads and writes) without a handler table entry. */
void vmx_msr_bitmap_set(uint32_t msr);
/* Reads and writes of msr stop exiting (its handler stays, for CPUs that read the
 * bitmap before the change: one more exit each at most). msr is in the bitmap. */
void vmx_msr_bitmap_clear(uint32_t msr);
void vmx_io_bitmap_set(uint16_t port);
/* MSRs 0-1FFF and C0000000-C0001FFF: the others always exit (SDM 25.6.9). */
bool vmx_msr_in_bitmap(uint32_t msr);

/* ---- event.c ---- */
void vmx_event_on_exit(struct vcpu *v);
void vmx_inject_pending_events(struct vcpu *v);
void vmx_event_reset(struct vcpu *v);
/*
 * The other writers of event state, each for one reason (event state is written
 * only in event.c; tests/unit/vmx/event_owner_test.sh checks):
 *  - vmx_event_redeliver: an exception exit hands a software exception back
 *    (INT3/INTO/INT1 with its instruction length, SDM Vol. 3C 27.6.1.1);
 *  - vmx_event_delivered: the event being re-injected was delivered by
 *    emulation (a task switch through a gate), so not again;
 *  - vmx_event_init_reset: INIT discards pending events, a latched NMI stays
 *    (SDM Vol. 3A 10.1.1);
 *  - vmx_event_window_written_off: the primary controls were just written
 *    with NMI-window exiting off.
 */
void vmx_event_redeliver(struct vcpu *v, uint32_t info, uint32_t error, uint32_t len);
void vmx_event_delivered(struct vcpu *v);
void vmx_event_init_reset(struct vcpu *v);
void vmx_event_window_written_off(struct vcpu *v);
void vmx_host_nmi_handler(void);
/* vmx_entry.S: NMIs arrived after the injection point looked; look again. */
void vmx_entry_recheck_nmis(struct vcpu *v);
/* vmx_entry.S: an NMI taken in [vmx_entry_restart, vmx_entry_restart_end] (the
 * last look and the entry instruction) resumes at vmx_entry_restart. */
extern const char vmx_entry_restart[], vmx_entry_restart_end[];
/* An NMI VM exit: counted like vmx_nmi_arrived() (and shown to the sweep probe). */
void vmx_nmi_exit_arrived(struct vcpu *v);
void vmx_set_nmi_window(struct vcpu *v, bool on);

/* ---- handlers (exit_*.c) ---- */
void vmx_exit_exception_nmi(struct vcpu *v);
void vmx_exit_nmi_window(struct vcpu *v);
void vmx_exit_triple_fault(struct vcpu *v);
void vmx_exit_init(struct vcpu *v);
void vmx_exit_sipi(struct vcpu *v);
void vmx_exit_cpuid(struct vcpu *v);
void vmx_exit_invd(struct vcpu *v);
void vmx_exit_wbinvd(struct vcpu *v);
void vmx_exit_hlt(struct vcpu *v);
void vmx_exit_vmx_instruction(struct vcpu *v);
void vmx_exit_vmcall(struct vcpu *v);
void vmx_exit_cr_access(struct vcpu *v);
void vmx_exit_io(struct vcpu *v);
void vmx_exit_rdmsr(struct vcpu *v);
void vmx_exit_wrmsr(struct vcpu *v);
void vmx_exit_ept_violation(struct vcpu *v);
void vmx_exit_ept_misconfig(struct vcpu *v);
void vmx_exit_xsetbv(struct vcpu *v);
void vmx_exit_mov_dr(struct vcpu *v);
void vmx_exit_preemption_timer(struct vcpu *v);
void vmx_exit_monitor_trap(struct vcpu *v);
/* A guest triple fault (or a fault while delivering #DF): report, power off. */
_Noreturn void vmx_guest_triple_fault(struct vcpu *v, const char *why);
void vmx_exit_task_switch(struct vcpu *v);
void vmx_exit_unsupported_instruction(struct vcpu *v);
void vmx_exit_getsec(struct vcpu *v);

/* ---- guest_stop.c ---- */
/* vmx_guest_stop() with another power-off code (a triple fault: 3). */
_Noreturn void vmx_guest_stop_code(struct vcpu *v, uint8_t code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Flushes the guest's VPID-tagged TLB entries after a paging change the CPU
 * did not see (a CR write done through the VMCS, INIT). */
void vmx_flush_guest_tlb(struct vcpu *v);

/* ---- exit_cr.c ---- */
/* Loads guest CR3 as MOV to CR3 would (a task switch, SDM Vol. 3A 8.3): the
 * PAE PDPTEs from the new table when PAE paging is on, the guest TLB flushed. */
enum vmx_cr3_load {
	VMX_CR3_LOADED,
	VMX_CR3_GP,     /* reserved bits in CR3 or a PDPTE: nothing changed */
	VMX_CR3_DENIED, /* the PDPT at *denied_gpa is outside the guest's view */
};
enum vmx_cr3_load vmx_guest_load_cr3(struct vcpu *v, uint64_t cr3, uint64_t *denied_gpa);

/* ---- event.c ---- */
/* Fault-class exceptions push RF = 1 (SDM Vol. 3A 17.3.1.1); a task switch
 * saves it in the old TSS the same way. */
bool vmx_exception_is_fault(uint8_t vector);

/* ---- exit_ept.c ---- */
/* Shows an EPT violation at `gpa` to the app: true if it handled it (retry or
 * emulated), false if it has no hook or left it to libvmx. */
bool vmx_ept_violation_to_app(struct vcpu *v, uint64_t gpa, uint64_t qualification);

/* ---- guest_ept_check.c: guest memory touched for the guest, EPT-checked ---- */
/* True if the guest may access the page of `gpa` with all of `rwx` (EPT_READ,
 * EPT_WRITE, EPT_EXECUTE) in the view this CPU runs it in (the VMCS EPT
 * pointer), and that view maps it to itself; never the hypervisor region. */
bool vmx_guest_gpa_allowed(uint64_t gpa, unsigned rwx);
/* An access libvmx was about to do for the guest was refused: what the CPU's
 * own access would have caused, an EPT violation at `gpa` (qualification as
 * SDM Vol. 3C 28.2.1 Table 28-7), shown to the app; unhandled, #GP(0). The
 * caller leaves guest state (RIP included) as before the instruction. */
void vmx_guest_access_denied(struct vcpu *v, uint64_t gpa, uint64_t qualification);

/* ---- guest_linear.c: guest memory by guest-linear address ---- */
/* n bytes at `la` with the guest's current paging (VMCS); false if any byte is
 * unmapped, not readable in the CPU's EPT view (page tables included: see
 * vmx_guest_gpa_allowed), above 4 GiB (the hypervisor does not map it), or
 * 5-level paging is on. */
/* When it failed because the view refused a page, and denied_gpa is not NULL,
 * *denied_gpa is that page (left alone otherwise). */
bool vmx_guest_read_linear(uint64_t la, void *buf, size_t n, uint64_t *denied_gpa);
/* The same, checked as the guest's own access would be (guest_walk.h VMX_GW_*:
 * VMX_GW_WRITE copies buf to the guest, and needs EPT write access; else the
 * guest to buf). */
bool vmx_guest_access_linear(uint64_t la, void *buf, size_t n, unsigned access,
                             uint64_t *denied_gpa);
/* Whether vmx_guest_access_linear() would succeed, touching nothing: an INS
 * checks its destination before it reads the port (the read has effects). */
bool vmx_guest_probe_linear(uint64_t la, size_t n, unsigned access, uint64_t *denied_gpa);

/* ---- insn_decode.c: a move between a register or immediate and MMIO ---- */
struct mmio_access {
	unsigned len;      /* instruction length */
	unsigned size;     /* bytes of memory accessed: 1, 2, 4 or 8 */
	bool store;        /* writes memory (the value is imm_value, else GPR `reg`) */
	bool load;         /* reads memory into GPR `reg` (XCHG: both) */
	bool imm;          /* the stored value is imm_value */
	bool xchg;         /* XCHG: `reg` also receives the old value */
	bool high_byte;    /* `reg` (0-3) names AH, CH, DH or BH */
	bool sign_extend;  /* MOVSX: the loaded value is sign-extended, else zero-extended */
	unsigned reg;      /* x86 register number */
	unsigned reg_size; /* bytes of `reg` a load writes: 1, 2, 4 or 8 */
	uint32_t imm_value;
};
/* mode: 16, 32 or 64 (the code size). False if not such an instruction. */
bool mmio_decode(const uint8_t *b, size_t n, unsigned mode, struct mmio_access *out);
/* mmio_decode(), and the instruction stores. */
bool mmio_decode_store(const uint8_t *b, size_t n, unsigned mode, struct mmio_access *out);

/* ---- guest_mmio.c: the instruction behind an MMIO exit, guest space with no device ---- */
/* The code size of the guest: 64 (long mode, CS.L), 32 (CS.D) or 16. */
unsigned vmx_guest_code_size(void);
enum vmx_mmio_decode {
	VMX_MMIO_DECODED,     /* *acc describes the instruction */
	VMX_MMIO_UNDECODABLE, /* not an mmio_decode() instruction */
	VMX_MMIO_REFUSED,     /* its bytes are on a page the CPU's view hides:
	                       * never decoded, the access already shown as the
	                       * read it is (vmx_guest_access_denied); nothing left */
};
/* Reads the bytes at the guest's RIP into insn[15] (as many as can be read:
 * *n) and decodes them. */
enum vmx_mmio_decode vmx_guest_decode_mmio(struct vcpu *v, struct mmio_access *acc,
                                           uint8_t insn[15], size_t *n);
/* Completes a decoded load with `value` (the device's answer) per x86 rules. */
void vmx_mmio_complete_load(struct vcpu *v, const struct mmio_access *acc, uint64_t value);
/* An EPT violation at a guest-physical address no EPT entry maps (above RAM
 * and 4 GiB): true if it was handled as an access to a bus with no device. */
bool vmx_mmio_no_device(struct vcpu *v);

/* ---- exit_io.c ---- */
/* OUT of `size` (1, 2 or 4) bytes of `value` to the real port. */
void vmx_port_out(uint16_t port, unsigned size, uint32_t value);

/* ---- guest_reset.c: guest reset requests scrub before they reset ---- */
struct vmx_reset_state {
	bool kbc_write_output; /* the 8042's last command was D1h (write output port) */
	uint8_t sysctl_a;      /* port 0x92 as it reads before the write */
	bool acpi_watched;     /* the FADT names an I/O reset register: */
	uint16_t acpi_port;    /*   its port */
	uint8_t acpi_value;    /*   and RESET_VALUE */
	uint16_t pm1_port[2];  /* the FADT's PM1a/PM1b control ports (0: none) */
};
/* What an OUT of `size` bytes of `value` at `port` would reset (a phrase), or
 * NULL; updates the 8042 state in `st`. Pure: no I/O. */
const char *vmx_reset_request(struct vmx_reset_state *st, uint16_t port, unsigned size,
                              uint32_t value);
/* What an OUT would put to sleep or power off (ACPI SLP_EN), or NULL. Pure. */
const char *vmx_sleep_request(const struct vmx_reset_state *st, uint16_t port, unsigned size,
                              uint32_t value);
/* Boot CPU, before its first entry: writes to the reset ports exit. */
void vmx_guest_reset_watch(void);
/* Every guest OUT, before it is forwarded: a reset request runs the app's
 * shutdown hook (scrub), then is made to the hardware, and does not return; a
 * sleep or power-off request runs the hook and returns (the caller forwards). */
void vmx_guest_reset_check(struct vcpu *v, uint16_t port, unsigned size, uint32_t value);

/* ---- guest_apic.c: the guest's INIT IPIs (quirks init_pending, broadcast_start) ---- */
/* Boot CPU, before its first entry: write-protect the LAPIC page in EPT and
 * intercept the x2APIC ICR, unless this is the only CPU or no quirk needs it. */
void vmx_guest_apic_protect(struct vcpu *v);
/* True if the EPT violation was a guest store to the LAPIC page, now emulated. */
bool vmx_guest_apic_write(struct vcpu *v);
/* A SIPI started v: if no CPU waits for SIPI any more, stop trapping LAPIC stores. */
void vmx_guest_apic_ap_started(struct vcpu *v);
/* An INIT sent AP v back to wait-for-SIPI: trap LAPIC stores again. */
void vmx_guest_apic_ap_stopped(struct vcpu *v);
/* Before every VM entry: drop a writable LAPIC translation the trap took back. */
void vmx_guest_apic_before_entry(struct vcpu *v);
/* True if an ICR write (low word, destination APIC id) is a guest INIT to drop. */
bool vmx_guest_init_dropped(struct vcpu *v, uint32_t icr, uint32_t dest);

/* Guest-physical addresses the guest must never reach (rt/layout.h). */
bool vmx_gpa_in_hv_region(uint64_t gpa);
/* XSETBV validity of an XCR0 value on this CPU (exit_xsetbv.c). */
bool vmx_xcr0_valid(uint64_t xcr0);

#endif /* LIBVMX_VMX_INTERNAL_H */
