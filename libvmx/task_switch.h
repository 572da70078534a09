/*
 * Hardware task switches, emulated (SDM Vol. 3A ch. 8 "Task Management";
 * internal to libvmx). task_switch.c runs the switch; task_descriptor.c reads,
 * checks and writes the GDT/LDT descriptors it touches and loads the new
 * task's segment registers with the faults the SDM lists for them.
 */
#ifndef LIBVMX_TASK_SWITCH_H
#define LIBVMX_TASK_SWITCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "libvmx/vcpu.h"

/* How a step of the switch ended. */
enum ts_status {
	TS_OK,
	TS_FAULT,     /* the guest gets fault_vector(fault_error) */
	TS_DENIED,    /* the CPU's EPT view refused denied_gpa */
	TS_PAGE_FAULT /* a guest page was not mapped: a #PF, not emulated */
};

/* Descriptors the new task's segment loads read (task_descriptor.c). */
#define TS_DESC_CACHE 7
struct ts_desc_cached {
	uint16_t sel; /* RPL cleared */
	uint64_t desc;
};

struct ts_ctx {
	struct vcpu *v;
	uint16_t ext; /* error-code bit 0: the switch delivers an external event */
	enum ts_status status;
	uint8_t fault_vector;
	uint32_t fault_error;
	uint64_t denied_gpa;
	bool denied_write;
	uint64_t fault_la; /* the linear address of a TS_PAGE_FAULT */
	unsigned cached;
	struct ts_desc_cached cache[TS_DESC_CACHE];
};

/* Raises vector with error code (sel & 0xfffc) | EXT; returns false. */
bool ts_fault(struct ts_ctx *c, uint8_t vector, uint16_t sel);

/* Guest-linear memory, supervisor accesses with the guest's current paging
 * and EPT view (guest_linear.c); false sets c->status. */
bool ts_read(struct ts_ctx *c, uint64_t la, void *buf, size_t n);
bool ts_write(struct ts_ctx *c, uint64_t la, const void *buf, size_t n);

/* Descriptor fields (SDM Vol. 3A 3.4.5). */
#define DESC_TYPE(d)  ((unsigned)((d) >> 40) & 0x1fu) /* S and type */
#define DESC_DPL(d)   ((unsigned)((d) >> 45) & 3u)
#define DESC_P        (1ull << 47)
#define DESC_TSS_BUSY (1ull << 41)
#define DESC_ACCESSED (1ull << 40)
uint64_t ts_desc_base(uint64_t d);
uint32_t ts_desc_limit(uint64_t d); /* scaled by G */
/* The VMCS access-rights form (SDM Vol. 3C 25.4.1 Table 25-2). */
uint32_t ts_desc_ar(uint64_t d);

/* The descriptor of sel in the GDT (TI = 0) or the current LDT (TI = 1).
 * False with c->status TS_OK if the index is beyond the table (or the LDT is
 * unusable), else a memory failure. */
bool ts_desc_read(struct ts_ctx *c, uint16_t sel, uint64_t *d);
bool ts_desc_write(struct ts_ctx *c, uint16_t sel, uint64_t d);

/* A segment register as the VMCS holds it. */
struct ts_seg {
	uint16_t sel;
	uint64_t base;
	uint32_t limit;
	uint32_t ar;
};

enum ts_sreg { TS_ES, TS_CS, TS_SS, TS_DS, TS_FS, TS_GS, TS_LDTR, TS_TR, TS_SREG_COUNT };
void ts_seg_get(enum ts_sreg r, struct ts_seg *s);
void ts_seg_set(enum ts_sreg r, const struct ts_seg *s);
uint16_t ts_sel_get(enum ts_sreg r); /* the selector only */

/* After the commit point: LDTR, SS, DS, ES, FS, GS, CS from the new TSS's
 * selectors (sel[] indexed by enum ts_sreg), with the checks of SDM Vol. 3A
 * 8.3 (error codes: the selector). False: c->status says why; the registers
 * not loaded are left unusable (LDTR, data, SS) or, CS, with its old
 * descriptor at the new CPL. */
bool ts_load_segments(struct ts_ctx *c, const uint16_t sel[TS_SREG_COUNT]);

#endif /* LIBVMX_TASK_SWITCH_H */
