/*
 * Descriptors for the task-switch emulation (task_switch.h): guest memory the
 * switch touches, GDT/LDT descriptors read and written, and the new task's
 * segment registers loaded with the checks of SDM Vol. 3A 8.3 ("Task
 * Switching", table "Exception Conditions Checked During a Task Switch").
 * Every access goes through the guest's paging and the CPU's EPT view
 * (guest_linear.c), as the CPU's own implicit supervisor accesses would.
 */
#include "hw/hw.h"
#include "libvmx/guest_walk.h"
#include "libvmx/task_switch.h"
#include "libvmx/vmx_internal.h"

#define AR_UNUSABLE (1u << 16)
#define NO_GPA      (~0ull)

bool ts_fault(struct ts_ctx *c, uint8_t vector, uint16_t sel)
{
	c->status = TS_FAULT;
	c->fault_vector = vector;
	c->fault_error = (sel & 0xfffcu) | c->ext;
	return false;
}

static bool access(struct ts_ctx *c, uint64_t la, void *buf, size_t n, unsigned how)
{
	uint64_t denied = NO_GPA;

	/* 32-bit protected mode: linear addresses wrap at 4 GiB. */
	if (la + n > 0x100000000ull) {
		c->status = TS_PAGE_FAULT;
		c->fault_la = la;
		return false;
	}
	if (vmx_guest_access_linear(la, buf, n, how, &denied))
		return true;
	if (denied != NO_GPA) {
		c->status = TS_DENIED;
		c->denied_gpa = denied;
		c->denied_write = (how & VMX_GW_WRITE) != 0;
	} else {
		c->status = TS_PAGE_FAULT;
		c->fault_la = la;
	}
	return false;
}

bool ts_read(struct ts_ctx *c, uint64_t la, void *buf, size_t n)
{
	return access(c, la, buf, n, 0);
}

bool ts_write(struct ts_ctx *c, uint64_t la, const void *buf, size_t n)
{
	return access(c, la, (void *)buf, n, VMX_GW_WRITE);
}

uint64_t ts_desc_base(uint64_t d)
{
	return ((d >> 16) & 0xffffffull) | (((d >> 56) & 0xffull) << 24);
}

uint32_t ts_desc_limit(uint64_t d)
{
	uint32_t limit = (uint32_t)(d & 0xffffu) | (uint32_t)((d >> 32) & 0xf0000u);
	return (d & (1ull << 55)) ? (limit << 12) | 0xfffu : limit;
}

uint32_t ts_desc_ar(uint64_t d)
{
	/* Type, S, DPL, P (descriptor bits 47:40), AVL, L, D/B, G (55:52). */
	return (uint32_t)(d >> 40) & 0xf0ffu;
}

/* The linear address of sel's descriptor, or false if beyond the table. */
static bool desc_la(uint16_t sel, uint64_t *la)
{
	uint64_t base;
	uint32_t limit;

	if (sel & 4) {
		if (vmcs_read32(VMCS_GUEST_LDTR_ACCESS_RIGHTS) & AR_UNUSABLE)
			return false;
		base = vmcs_readnat(VMCS_GUEST_LDTR_BASE);
		limit = vmcs_read32(VMCS_GUEST_LDTR_LIMIT);
	} else {
		base = vmcs_readnat(VMCS_GUEST_GDTR_BASE);
		limit = vmcs_read32(VMCS_GUEST_GDTR_LIMIT);
	}
	if ((uint32_t)(sel & ~7u) + 7u > limit)
		return false;
	*la = (base + (sel & ~7u)) & 0xffffffffull;
	return true;
}

bool ts_desc_read(struct ts_ctx *c, uint16_t sel, uint64_t *d)
{
	uint64_t la;

	c->status = TS_OK;
	return desc_la(sel, &la) && ts_read(c, la, d, sizeof(*d));
}

bool ts_desc_write(struct ts_ctx *c, uint16_t sel, uint64_t d)
{
	uint64_t la;

	c->status = TS_OK;
	return desc_la(sel, &la) && ts_write(c, la, &d, sizeof(d));
}

static const struct {
	vmcs_field16_t sel;
	vmcs_fieldnat_t base;
	vmcs_field32_t limit, ar;
} sreg_fields[TS_SREG_COUNT] = {
#define SREG(n)                                                                                    \
	{                                                                                          \
		VMCS_GUEST_##n##_SELECTOR, VMCS_GUEST_##n##_BASE, VMCS_GUEST_##n##_LIMIT,          \
		    VMCS_GUEST_##n##_ACCESS_RIGHTS                                                 \
	}
    [TS_ES] = SREG(ES), [TS_CS] = SREG(CS), [TS_SS] = SREG(SS),     [TS_DS] = SREG(DS),
    [TS_FS] = SREG(FS), [TS_GS] = SREG(GS), [TS_LDTR] = SREG(LDTR), [TS_TR] = SREG(TR),
#undef SREG
};

void ts_seg_get(enum ts_sreg r, struct ts_seg *s)
{
	s->sel = vmcs_read16(sreg_fields[r].sel);
	s->base = vmcs_readnat(sreg_fields[r].base);
	s->limit = vmcs_read32(sreg_fields[r].limit);
	s->ar = vmcs_read32(sreg_fields[r].ar);
}

uint16_t ts_sel_get(enum ts_sreg r)
{
	return vmcs_read16(sreg_fields[r].sel);
}

void ts_seg_set(enum ts_sreg r, const struct ts_seg *s)
{
	vmcs_write16(sreg_fields[r].sel, s->sel);
	vmcs_writenat(sreg_fields[r].base, s->base);
	vmcs_write32(sreg_fields[r].limit, s->limit);
	vmcs_write32(sreg_fields[r].ar, s->ar);
}

/* The descriptor of a selector the new task loads: one beyond its table is
 * #TS(selector), like every other invalid selector in the table. The new
 * task's segment registers mostly share two or three descriptors: each is
 * read from guest memory once per switch (c->cache). */
static bool read_for_load(struct ts_ctx *c, uint16_t sel, uint64_t *d)
{
	uint16_t key = sel & ~3u;

	for (unsigned i = 0; i < c->cached; i++)
		if (c->cache[i].sel == key) {
			*d = c->cache[i].desc;
			return true;
		}
	if (!ts_desc_read(c, sel, d))
		return c->status == TS_OK ? ts_fault(c, X86_VEC_TS, sel) : false;
	if (c->cached < TS_DESC_CACHE)
		c->cache[c->cached++] = (struct ts_desc_cached){key, *d};
	return true;
}

/* A descriptor written back (its accessed bit): the cached copy follows. */
static bool write_back(struct ts_ctx *c, uint16_t sel, uint64_t d)
{
	for (unsigned i = 0; i < c->cached; i++)
		if (c->cache[i].sel == (sel & ~3u))
			c->cache[i].desc = d;
	return ts_desc_write(c, sel, d);
}

/* Loads a code or data descriptor into r. Loading sets the descriptor's
 * accessed bit in memory (SDM Vol. 3A 3.4.5.1), and VM entry wants it set in
 * every usable code and data segment (SDM Vol. 3C 27.3.1.2). */
static bool load(struct ts_ctx *c, enum ts_sreg r, uint16_t sel, uint64_t d)
{
	if (!(d & DESC_ACCESSED) && !write_back(c, sel, d | DESC_ACCESSED))
		return false;
	struct ts_seg s = {.sel = sel,
	                   .base = ts_desc_base(d),
	                   .limit = ts_desc_limit(d),
	                   .ar = ts_desc_ar(d) | 1u};
	ts_seg_set(r, &s);
	return true;
}

static bool load_ldtr(struct ts_ctx *c, uint16_t sel)
{
	uint64_t d;

	if (!(sel & 0xfffcu))
		return true; /* a null LDT: LDTR stays unusable */
	/* The LDT's selector must name the GDT, an LDT descriptor, present:
	 * all #TS(LDT selector). */
	if (sel & 4)
		return ts_fault(c, X86_VEC_TS, sel);
	if (!read_for_load(c, sel, &d))
		return false;
	if (DESC_TYPE(d) != 0x02 || !(d & DESC_P))
		return ts_fault(c, X86_VEC_TS, sel);
	struct ts_seg s = {
	    .sel = sel, .base = ts_desc_base(d), .limit = ts_desc_limit(d), .ar = ts_desc_ar(d)};
	ts_seg_set(TS_LDTR, &s);
	return true;
}

static bool load_cs(struct ts_ctx *c, uint16_t sel)
{
	uint64_t d;

	if (!(sel & 0xfffcu))
		return ts_fault(c, X86_VEC_TS, sel);
	if (!read_for_load(c, sel, &d))
		return false;
	unsigned type = DESC_TYPE(d), rpl = sel & 3u;
	if ((type & 0x18u) != 0x18u)
		return ts_fault(c, X86_VEC_TS, sel); /* not a code segment */
	/* Conforming: DPL <= RPL; non-conforming: DPL == RPL. */
	if ((type & 4u) ? DESC_DPL(d) > rpl : DESC_DPL(d) != rpl)
		return ts_fault(c, X86_VEC_TS, sel);
	if (!(d & DESC_P))
		return ts_fault(c, X86_VEC_NP, sel);
	return load(c, TS_CS, sel, d);
}

static bool load_ss(struct ts_ctx *c, uint16_t sel, unsigned cpl)
{
	uint64_t d;

	if (!(sel & 0xfffcu))
		return ts_fault(c, X86_VEC_TS, sel);
	if (!read_for_load(c, sel, &d))
		return false;
	/* A writable data segment (#TS), present (#SS), DPL = CPL = RPL (#TS). */
	if ((DESC_TYPE(d) & 0x1au) != 0x12u)
		return ts_fault(c, X86_VEC_TS, sel);
	if (!(d & DESC_P))
		return ts_fault(c, X86_VEC_SS, sel);
	if (DESC_DPL(d) != cpl || (sel & 3u) != cpl)
		return ts_fault(c, X86_VEC_TS, sel);
	return load(c, TS_SS, sel, d);
}

static bool load_data(struct ts_ctx *c, enum ts_sreg r, uint16_t sel, unsigned cpl)
{
	uint64_t d;

	if (!(sel & 0xfffcu))
		return true; /* null: stays unusable */
	if (!read_for_load(c, sel, &d))
		return false;
	unsigned type = DESC_TYPE(d), dpl = DESC_DPL(d);
	bool data = (type & 0x18u) == 0x10u, code = (type & 0x18u) == 0x18u;
	/* Data or readable code; data and non-conforming code need DPL >= CPL
	 * and DPL >= RPL. */
	if (!data && !(code && (type & 2u)))
		return ts_fault(c, X86_VEC_TS, sel);
	if ((data || !(type & 4u)) && (dpl < cpl || dpl < (sel & 3u)))
		return ts_fault(c, X86_VEC_TS, sel);
	if (!(d & DESC_P))
		return ts_fault(c, X86_VEC_NP, sel);
	return load(c, r, sel, d);
}

/*
 * A fault left CS or SS as they were (or SS unusable): VM entry wants CS.DPL
 * to agree with SS.DPL, the CPL (SDM Vol. 3C 27.3.1.2), so CS takes the new
 * selector and the CPL's DPL. Its contents are undefined to the guest's
 * handler anyway (SDM Vol. 3A 8.3), and delivering the fault reloads CS.
 */
static void cs_fixup(uint16_t sel, unsigned cpl)
{
	struct ts_seg cs;

	ts_seg_get(TS_CS, &cs);
	cs.sel = sel;
	unsigned dpl = (cs.ar >> 5) & 3u;
	if ((cs.ar & 4u) ? dpl > cpl : dpl != cpl)
		cs.ar = (cs.ar & ~0x60u) | (cpl << 5);
	ts_seg_set(TS_CS, &cs);
}

bool ts_load_segments(struct ts_ctx *c, const uint16_t sel[TS_SREG_COUNT])
{
	static const enum ts_sreg data[] = {TS_DS, TS_ES, TS_FS, TS_GS};
	unsigned cpl = sel[TS_CS] & 3u; /* the new task's CPL: its CS's RPL */

	/*
	 * Until loaded, the data registers and LDTR hold the new selectors and
	 * are unusable: a fault part-way leaves them so (the SDM leaves their
	 * contents undefined to the handler), and VM entry accepts that. The
	 * order is Bochs's (the reference machine of the boot tests): LDTR, SS,
	 * DS, ES, FS, GS, CS; each check in the order of the SDM's table.
	 */
	for (unsigned i = 0; i < 4; i++) {
		struct ts_seg s = {.sel = sel[data[i]], .ar = AR_UNUSABLE};
		ts_seg_set(data[i], &s);
	}
	struct ts_seg ldtr = {.sel = sel[TS_LDTR], .ar = AR_UNUSABLE};
	ts_seg_set(TS_LDTR, &ldtr);

	bool ok = load_ldtr(c, sel[TS_LDTR]);
	if (ok && !load_ss(c, sel[TS_SS], cpl))
		ok = false;
	if (!ok) {
		/* No stack: SS unusable, at the new CPL. */
		struct ts_seg s = {.sel = sel[TS_SS], .ar = AR_UNUSABLE | 0x93u | (cpl << 5)};
		ts_seg_set(TS_SS, &s);
	}
	for (unsigned i = 0; ok && i < 4; i++)
		ok = load_data(c, data[i], sel[data[i]], cpl);
	if (ok && load_cs(c, sel[TS_CS]))
		return true;
	cs_fixup(sel[TS_CS], cpl);
	return false;
}
