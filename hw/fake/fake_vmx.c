/*
 * Fake hardware, VMX part: VMXON/VMXOFF, VMCS regions keyed by physical
 * address, VMCLEAR/VMPTRLD, VMREAD/VMWRITE on the current VMCS, INVEPT/INVVPID.
 * Checks and error numbers follow the instruction pages of SDM Vol. 3C 31.3 and
 * the VM-instruction error table (31.4).
 */
#include <stdlib.h>
#include <string.h>

#include "hw/fake/fake_internal.h"

struct vmcs_region {
	uint64_t pa;
	bool launched;
	size_t n;
	struct {
		uint32_t enc;
		uint64_t value;
	} f[FAKE_VMCS_MAX_FIELDS];
};

static struct vmcs_region regions[FAKE_MAX_VMCS];
static size_t nregions;
static struct {
	enum hw_vmx_result result;
	uint32_t error;
} scripted[FAKE_OP_COUNT];

void fake_vmx_reset(void)
{
	nregions = 0;
	memset(scripted, 0, sizeof(scripted));
}

static struct vmcs_region *region_find(uint64_t pa)
{
	for (size_t i = 0; i < nregions; i++)
		if (regions[i].pa == pa)
			return &regions[i];
	return NULL;
}

static struct vmcs_region *region_get(uint64_t pa)
{
	struct vmcs_region *r = region_find(pa);

	if (!r) {
		if (nregions == FAKE_MAX_VMCS)
			abort(); /* raise FAKE_MAX_VMCS */
		r = &regions[nregions++];
		memset(r, 0, sizeof(*r));
		r->pa = pa;
	}
	return r;
}

static uint64_t *field_slot(struct vmcs_region *r, uint32_t enc, bool create)
{
	for (size_t i = 0; i < r->n; i++)
		if (r->f[i].enc == enc)
			return &r->f[i].value;
	if (!create)
		return NULL;
	if (r->n == FAKE_VMCS_MAX_FIELDS)
		abort();
	r->f[r->n].enc = enc;
	r->f[r->n].value = 0;
	return &r->f[r->n++].value;
}

static uint64_t width_mask(uint32_t enc)
{
	switch (VMCS_ENC_WIDTH(enc)) {
	case VMCS_WIDTH_16:
		return 0xffffu;
	case VMCS_WIDTH_32:
		return 0xffffffffu;
	default:
		return UINT64_MAX;
	}
}

/* Field read with the "high" access of 64-bit fields (SDM Vol. 3C 25.11.2). */
static uint64_t field_read(struct vmcs_region *r, uint32_t enc)
{
	bool high = VMCS_ENC_WIDTH(enc) == VMCS_WIDTH_64 && VMCS_ENC_HIGH(enc);
	uint64_t *slot = field_slot(r, high ? enc & ~1u : enc, false);
	uint64_t v = slot ? *slot : 0;
	return high ? v >> 32 : v & width_mask(enc);
}

static void field_write(struct vmcs_region *r, uint32_t enc, uint64_t value)
{
	if (VMCS_ENC_WIDTH(enc) == VMCS_WIDTH_64 && VMCS_ENC_HIGH(enc)) {
		uint64_t *slot = field_slot(r, enc & ~1u, true);
		*slot = (*slot & 0xffffffffu) | (value << 32);
		return;
	}
	*field_slot(r, enc, true) = value & width_mask(enc);
}

static struct vmcs_region *current_region(struct fake_cpu *c)
{
	return c->current_vmcs == FAKE_NO_VMCS ? NULL : region_get(c->current_vmcs);
}

/* VMfailValid(error) if there is a current VMCS, else VMfailInvalid (31.2). */
static enum hw_vmx_result vmfail(struct fake_cpu *c, uint32_t error)
{
	struct vmcs_region *r = current_region(c);

	if (!r)
		return HW_VMX_FAIL_INVALID;
	field_write(r, VMCS_VM_INSTRUCTION_ERROR.enc, error);
	return HW_VMX_FAIL_VALID;
}

/* Common prologue: count, #UD outside VMX operation, scripted failures.
 * Returns true (and sets *res) if the instruction ends here. */
static bool vmx_prologue(struct fake_cpu *c, enum fake_vmx_op op, enum hw_vmx_result *res)
{
	fake_hw.vmx_calls[op]++;
	if (op != FAKE_OP_VMXON && !c->vmx_on) {
		c->ud_faults++;
		*res = HW_VMX_FAIL_INVALID;
		return true;
	}
	if (scripted[op].result == HW_VMX_FAIL_VALID) {
		*res = vmfail(c, scripted[op].error);
		return true;
	}
	if (scripted[op].result == HW_VMX_FAIL_INVALID) {
		*res = HW_VMX_FAIL_INVALID;
		return true;
	}
	return false;
}

void fake_vmx_script_result(enum fake_vmx_op op, enum hw_vmx_result result, uint32_t error)
{
	fake_lock();
	scripted[op].result = result;
	scripted[op].error = error;
	fake_unlock();
}

static bool bad_region_pa(uint64_t pa)
{
	return pa == 0 || (pa & 0xfff) != 0;
}

/* The first 31 bits of a VMXON region or VMCS must hold the VMCS revision id. */
static bool revision_ok(struct fake_cpu *c, uint64_t pa)
{
	uint32_t id;
	uint64_t *basic = fake_msr_slot(c, MSR_IA32_VMX_BASIC);

	memcpy(&id, hw_phys_ptr(pa), sizeof(id));
	return basic && (id & VMX_BASIC_REVISION_MASK) == (*basic & VMX_BASIC_REVISION_MASK);
}

static bool fixed_bits_ok(struct fake_cpu *c, uint64_t v, uint32_t fixed0, uint32_t fixed1)
{
	uint64_t *f0 = fake_msr_slot(c, fixed0), *f1 = fake_msr_slot(c, fixed1);
	if (!f0 || !f1)
		return false;
	return (v & *f0) == *f0 && (v & ~*f1) == 0;
}

enum hw_vmx_result hw_vmxon(uint64_t pa)
{
	fake_lock();
	struct fake_cpu *c = fake_cur();
	enum hw_vmx_result res = HW_VMX_OK;
	uint64_t *fc = fake_msr_slot(c, MSR_IA32_FEATURE_CONTROL);
	const uint64_t fc_need = FEATURE_CONTROL_LOCKED | FEATURE_CONTROL_VMX_OUTSIDE_SMX;

	if (!(c->cr4 & CR4_VMXE)) {
		fake_hw.vmx_calls[FAKE_OP_VMXON]++;
		c->ud_faults++; /* VMXON with CR4.VMXE = 0: #UD */
		res = HW_VMX_FAIL_INVALID;
	} else if (vmx_prologue(c, FAKE_OP_VMXON, &res)) {
		/* scripted */
	} else if (c->vmx_on) {
		res = vmfail(c, VMXERR_VMXON_IN_ROOT);
	} else if (!fc || (*fc & fc_need) != fc_need ||
	           !fixed_bits_ok(c, c->cr0, MSR_IA32_VMX_CR0_FIXED0, MSR_IA32_VMX_CR0_FIXED1) ||
	           !fixed_bits_ok(c, c->cr4, MSR_IA32_VMX_CR4_FIXED0, MSR_IA32_VMX_CR4_FIXED1)) {
		c->gp_faults++; /* SDM 24.7 / 24.8: #GP */
		res = HW_VMX_FAIL_INVALID;
	} else if (bad_region_pa(pa) || !revision_ok(c, pa)) {
		res = HW_VMX_FAIL_INVALID;
	} else {
		c->vmx_on = true;
		c->vmxon_pa = pa;
		c->current_vmcs = FAKE_NO_VMCS;
	}
	fake_unlock();
	return res;
}

enum hw_vmx_result hw_vmxoff(void)
{
	fake_lock();
	struct fake_cpu *c = fake_cur();
	enum hw_vmx_result res = HW_VMX_OK;

	if (!vmx_prologue(c, FAKE_OP_VMXOFF, &res)) {
		c->vmx_on = false;
		c->vmxon_pa = 0;
		c->current_vmcs = FAKE_NO_VMCS;
	}
	fake_unlock();
	return res;
}

enum hw_vmx_result hw_vmclear(uint64_t pa)
{
	fake_lock();
	struct fake_cpu *c = fake_cur();
	enum hw_vmx_result res = HW_VMX_OK;

	if (vmx_prologue(c, FAKE_OP_VMCLEAR, &res)) {
		/* done */
	} else if (bad_region_pa(pa)) {
		res = vmfail(c, VMXERR_VMCLEAR_INVALID_ADDRESS);
	} else if (pa == c->vmxon_pa) {
		res = vmfail(c, VMXERR_VMCLEAR_VMXON_POINTER);
	} else {
		region_get(pa)->launched = false;
		if (c->current_vmcs == pa)
			c->current_vmcs = FAKE_NO_VMCS;
	}
	fake_unlock();
	return res;
}

enum hw_vmx_result hw_vmptrld(uint64_t pa)
{
	fake_lock();
	struct fake_cpu *c = fake_cur();
	enum hw_vmx_result res = HW_VMX_OK;

	if (vmx_prologue(c, FAKE_OP_VMPTRLD, &res)) {
		/* done */
	} else if (bad_region_pa(pa)) {
		res = vmfail(c, VMXERR_VMPTRLD_INVALID_ADDRESS);
	} else if (pa == c->vmxon_pa) {
		res = vmfail(c, VMXERR_VMPTRLD_VMXON_POINTER);
	} else if (!revision_ok(c, pa)) {
		res = vmfail(c, VMXERR_VMPTRLD_WRONG_REVISION);
	} else {
		region_get(pa);
		c->current_vmcs = pa;
	}
	fake_unlock();
	return res;
}

uint64_t hw_vmread(uint32_t encoding)
{
	fake_lock();
	struct fake_cpu *c = fake_cur();
	uint64_t v = 0;
	struct vmcs_region *r;

	fake_hw.vmreads++;
	if (!c->vmx_on)
		c->ud_faults++;
	else if (!(r = current_region(c)))
		fake_hw.vmread_no_vmcs++;
	else
		v = field_read(r, encoding);
	fake_unlock();
	return v;
}

enum hw_vmx_result hw_vmread_result(uint32_t encoding, uint64_t *value)
{
	fake_lock();
	struct fake_cpu *c = fake_cur();
	enum hw_vmx_result res = HW_VMX_OK;
	struct vmcs_region *r;

	*value = 0;
	fake_hw.vmreads++;
	if (vmx_prologue(c, FAKE_OP_VMREAD, &res)) {
		/* done */
	} else if (!(r = current_region(c))) {
		fake_hw.vmread_no_vmcs++;
		res = HW_VMX_FAIL_INVALID;
	} else if (VMCS_ENC_HIGH(encoding) && VMCS_ENC_WIDTH(encoding) != VMCS_WIDTH_64) {
		res = vmfail(c, VMXERR_UNSUPPORTED_VMCS_COMPONENT);
	} else {
		*value = field_read(r, encoding);
	}
	fake_unlock();
	return res;
}

enum hw_vmx_result hw_vmwrite(uint32_t encoding, uint64_t value)
{
	fake_lock();
	struct fake_cpu *c = fake_cur();
	enum hw_vmx_result res = HW_VMX_OK;
	struct vmcs_region *r;
	uint64_t *misc = fake_msr_slot(c, MSR_IA32_VMX_MISC);
	bool write_any = misc && (*misc & VMX_MISC_VMWRITE_ANY_FIELD);

	fake_hw.vmwrites++;
	if (vmx_prologue(c, FAKE_OP_VMWRITE, &res)) {
		/* done */
	} else if (!(r = current_region(c))) {
		res = HW_VMX_FAIL_INVALID;
	} else if (VMCS_ENC_HIGH(encoding) && VMCS_ENC_WIDTH(encoding) != VMCS_WIDTH_64) {
		res = vmfail(c, VMXERR_UNSUPPORTED_VMCS_COMPONENT);
	} else if (VMCS_ENC_TYPE(encoding) == VMCS_TYPE_EXIT_INFO && !write_any) {
		res = vmfail(c, VMXERR_VMWRITE_READ_ONLY_COMPONENT);
	} else {
		field_write(r, encoding, value);
	}
	fake_unlock();
	return res;
}

enum hw_vmx_result hw_invept(uint64_t type, uint64_t eptp)
{
	fake_lock();
	struct fake_cpu *c = fake_cur();
	enum hw_vmx_result res = HW_VMX_OK;
	uint64_t *cap = fake_msr_slot(c, MSR_IA32_VMX_EPT_VPID_CAP);
	uint64_t need = type == INVEPT_SINGLE_CONTEXT ? VMX_EPT_CAP_INVEPT_SINGLE
	                : type == INVEPT_ALL_CONTEXT  ? VMX_EPT_CAP_INVEPT_ALL
	                                              : 0;

	fake_hw.invept_count++;
	fake_hw.last_invept_type = type;
	fake_hw.last_invept_eptp = eptp;
	if (!vmx_prologue(c, FAKE_OP_INVEPT, &res) && (!need || !cap || !(*cap & need)))
		res = vmfail(c, VMXERR_INVALID_INVEPT_INVVPID_OPERAND);
	fake_unlock();
	return res;
}

enum hw_vmx_result hw_invvpid(uint64_t type, uint16_t vpid, uint64_t gla)
{
	fake_lock();
	struct fake_cpu *c = fake_cur();
	enum hw_vmx_result res = HW_VMX_OK;
	uint64_t *cap = fake_msr_slot(c, MSR_IA32_VMX_EPT_VPID_CAP);
	static const uint64_t need[4] = {VMX_VPID_CAP_INVVPID_ADDR, VMX_VPID_CAP_INVVPID_SINGLE,
	                                 VMX_VPID_CAP_INVVPID_ALL,
	                                 VMX_VPID_CAP_INVVPID_SINGLE_NONGLOBAL};

	fake_hw.invvpid_count++;
	fake_hw.last_invvpid_type = type;
	fake_hw.last_invvpid_vpid = vpid;
	fake_hw.last_invvpid_gla = gla;
	if (!vmx_prologue(c, FAKE_OP_INVVPID, &res)) {
		/* Types other than all-context need a non-zero VPID (SDM INVVPID). */
		if (type > 3 || !cap || !(*cap & need[type]) ||
		    (type != INVVPID_ALL_CONTEXT && vpid == 0))
			res = vmfail(c, VMXERR_INVALID_INVEPT_INVVPID_OPERAND);
	}
	fake_unlock();
	return res;
}

/* ---- control API ---- */

uint64_t fake_vmcs_get(uint64_t vmcs_pa, uint32_t encoding)
{
	fake_lock();
	uint64_t v = field_read(region_get(vmcs_pa), encoding);
	fake_unlock();
	return v;
}

void fake_vmcs_set(uint64_t vmcs_pa, uint32_t encoding, uint64_t value)
{
	fake_lock();
	field_write(region_get(vmcs_pa), encoding, value);
	fake_unlock();
}

bool fake_vmcs_written(uint64_t vmcs_pa, uint32_t encoding)
{
	fake_lock();
	struct vmcs_region *r = region_find(vmcs_pa);
	bool high = VMCS_ENC_WIDTH(encoding) == VMCS_WIDTH_64 && VMCS_ENC_HIGH(encoding);
	bool w = r && field_slot(r, high ? encoding & ~1u : encoding, false);
	fake_unlock();
	return w;
}

bool fake_vmcs_exists(uint64_t vmcs_pa)
{
	fake_lock();
	bool e = region_find(vmcs_pa) != NULL;
	fake_unlock();
	return e;
}

uint64_t fake_vmcs_cur_get(uint32_t encoding)
{
	fake_lock();
	uint64_t pa = fake_cur()->current_vmcs;
	if (pa == FAKE_NO_VMCS)
		abort(); /* test bug: no current VMCS on this CPU */
	uint64_t v = fake_vmcs_get(pa, encoding);
	fake_unlock();
	return v;
}

void fake_vmcs_cur_set(uint32_t encoding, uint64_t value)
{
	fake_lock();
	uint64_t pa = fake_cur()->current_vmcs;
	if (pa == FAKE_NO_VMCS)
		abort();
	fake_vmcs_set(pa, encoding, value);
	fake_unlock();
}

bool fake_vmcs_launched(uint64_t vmcs_pa)
{
	fake_lock();
	struct vmcs_region *r = region_find(vmcs_pa);
	bool l = r && r->launched;
	fake_unlock();
	return l;
}

void fake_vmcs_set_launched(uint64_t vmcs_pa, bool launched)
{
	fake_lock();
	region_get(vmcs_pa)->launched = launched;
	fake_unlock();
}
