/*
 * struct vcpu: one per physical CPU (the guest CPU that runs on it).
 *
 * libvmx's own: the libraries below apps (core, libquiesce) and the host tests
 * include it; apps see only libvmx/vcpu_public.h, where struct vcpu is
 * incomplete, so an app that reached into it would not compile (checked by
 * tests/boot/test_layering.py as well).
 *
 * The exit stub (vmx_entry.S) saves the guest's general-purpose registers at
 * the start of the struct and reads `launched`; their offsets are fixed by the
 * static assertions below. Everything else is C-only.
 */
#ifndef LIBVMX_VCPU_H
#define LIBVMX_VCPU_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hw/vmx_defs.h"
#include "libvmx/vcpu_public.h"

/* Exit information, read from the VMCS once per exit (SDM 25.9). */
struct vcpu_exit_info {
	uint32_t reason; /* full exit reason (bit 31: VM-entry failure) */
	uint64_t qualification;
	uint32_t instruction_len;
	uint32_t intr_info; /* VM-exit interruption information */
	uint32_t intr_error;
	uint32_t idt_vectoring_info;
	uint32_t idt_vectoring_error;
	uint64_t gpa; /* guest-physical address (EPT exits) */
};

#define VCPU_NMI_DELIVERY_SAMPLES 64

/* Event state for the single injection point (event.c, docs/design.md section 3). */
struct vcpu_events {
	/* An event whose delivery a VM exit interrupted (IDT-vectoring info). */
	bool reinject;
	uint32_t reinject_info, reinject_error, reinject_len;
	/* One exception queued by a handler (a fault: RIP not advanced). */
	bool exception;
	uint8_t exception_vector;
	bool exception_has_error;
	uint32_t exception_error;
	/* Guest NMIs not yet injected: at most 2 (one taken at once, one latched) while
	 * the guest can take NMIs, else 1 (event.c, collect_host_nmis). */
	uint32_t nmi_pending;
	/* How many of this CPU's host NMI counts have been turned into pending NMIs. */
	uint32_t host_nmis_seen;
	/* NMI-window exiting is currently requested in the VMCS. */
	bool nmi_window;
	/* Statistics, for tests and the exit report. */
	uint64_t nmis_injected, nmis_merged;
	/*
	 * NMI delivery (the printed name: nmi_delivery), for the toolkit's BENCH hypercall
	 * (core/debug_hypercall.c): TSC when the pending NMI arrived (host NMI or
	 * NMI exit), and the last VCPU_NMI_DELIVERY_SAMPLES arrival-to-injection
	 * times in TSC ticks (ring; nmi_delivery_count counts all samples).
	 */
	uint64_t nmi_arrival_tsc;
	uint32_t nmi_delivery_count;
	uint32_t nmi_delivery[VCPU_NMI_DELIVERY_SAMPLES];
};

struct vcpu {
	uint64_t gpr[GPR_COUNT]; /* gpr[GPR_RSP] unused: the guest RSP is in the VMCS */
	uint8_t launched;        /* VMLAUNCH done: the next entry is VMRESUME */
	bool boot_cpu;
	uint16_t vpid;
	uint32_t cpu;
	/*
	 * vmx_entry.S's last look for guest NMIs before VM entry (event.c): this
	 * CPU's host NMI count, and its value when the injection point last
	 * collected it. A difference sends the entry back to the injection point.
	 */
	const uint32_t *entry_nmi_count;
	uint32_t entry_nmis_seen;
	uint64_t vmcs_pa;
	uint64_t eptp;
	uint64_t exit_stack_top;
	/* Started by a SIPI at CS.base sipi_cs_base, no other exit since (exit_init_sipi.c). */
	bool sipi_fresh;
	uint64_t sipi_cs_base;
	/* In the wait-for-SIPI state (read by other CPUs: guest_apic.c). */
	bool waiting_for_sipi;
	struct vcpu_exit_info exit;
	struct vcpu_events ev;
	/* Exits by basic reason; the last slot counts reasons past the table. */
	uint64_t exit_count[VMX_EXIT_REASON_COUNT + 1];
	void *app_data; /* free for the app */
};

/* Offsets used by vmx_entry.S. */
#define VCPU_OFF_GPR(n)          ((n)*8)
#define VCPU_OFF_LAUNCHED        128
#define VCPU_OFF_ENTRY_NMI_COUNT 136
#define VCPU_OFF_ENTRY_NMIS_SEEN 144
_Static_assert(offsetof(struct vcpu, gpr) == 0, "vmx_entry.S: gpr at 0");
_Static_assert(offsetof(struct vcpu, launched) == VCPU_OFF_LAUNCHED, "vmx_entry.S: launched");
_Static_assert(offsetof(struct vcpu, entry_nmi_count) == VCPU_OFF_ENTRY_NMI_COUNT,
               "vmx_entry.S: entry_nmi_count");
_Static_assert(offsetof(struct vcpu, entry_nmis_seen) == VCPU_OFF_ENTRY_NMIS_SEEN,
               "vmx_entry.S: entry_nmis_seen");

#endif /* LIBVMX_VCPU_H */
