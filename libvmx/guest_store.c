/*
 * One guest store, completed by the hypervisor (vmx_view.h): the instruction
 * behind an EPT violation on a write, when it is one of the moves
 * insn_decode.c knows (MOV m, r / imm / moffs; XCHG m, r), performed on guest
 * RAM as the CPU would have done it, and RIP moved past it. An app that keeps
 * a page read-only in the guest's view and lets some stores through uses it
 * where the monitor trap flag is missing (Bochs 2.7's CPU models) or costs a
 * second VM exit.
 */
#include "hw/hw.h"
#include "libvmx/ept.h"
#include "libvmx/guest_memory.h"
#include "libvmx/vmx_internal.h"

/* The hypervisor maps guest-physical 0 .. 4 GiB only (rt/entry.S). */
#define HOST_MAPPED_TOP 0x100000000ull

static uint64_t store_value(struct vcpu *v, const struct mmio_access *acc)
{
	if (acc->imm) {
		/* imm32 is sign-extended to a 64-bit store (SDM Vol. 2B MOV). */
		uint64_t x = acc->imm_value;
		if (acc->size == 8 && (x & 0x80000000u))
			x |= 0xffffffff00000000ull;
		return x;
	}
	uint64_t r = vcpu_gpr_read(v, acc->reg);
	return acc->high_byte ? r >> 8 : r;
}

/* Writes `size` bytes of `value` at `p`, returning the old ones; one aligned
 * atomic access each (XCHG with memory is locked, SDM Vol. 2D XCHG). */
static uint64_t exchange(void *p, unsigned size, uint64_t value)
{
	switch (size) {
	case 1:
		return __atomic_exchange_n((uint8_t *)p, (uint8_t)value, __ATOMIC_SEQ_CST);
	case 2:
		return __atomic_exchange_n((uint16_t *)p, (uint16_t)value, __ATOMIC_SEQ_CST);
	case 4:
		return __atomic_exchange_n((uint32_t *)p, (uint32_t)value, __ATOMIC_SEQ_CST);
	default:
		return __atomic_exchange_n((uint64_t *)p, value, __ATOMIC_SEQ_CST);
	}
}

enum vmx_store_result vmx_guest_complete_store(struct vcpu *v, uint64_t gpa, uint64_t eptp)
{
	struct mmio_access acc;
	uint8_t insn[15];
	size_t n;
	uint64_t gla;

	enum vmx_mmio_decode d = vmx_guest_decode_mmio(v, &acc, insn, &n);
	if (d == VMX_MMIO_REFUSED)
		return VMX_STORE_REFUSED;
	if (d == VMX_MMIO_UNDECODABLE || !acc.store)
		return VMX_STORE_UNDECODABLE;
	/*
	 * The exit's GPA is the start of the store only if the store did not
	 * cross a page (a split access may fault on its second part): an access
	 * aligned to its size, by its linear address (valid for a data access,
	 * SDM Vol. 3C 28.2.1 Table 28-7), cannot. Others: not completed here.
	 */
	if (!vmx_ept_violation_linear(v, &gla) || (gla & (acc.size - 1)) ||
	    (gla & 0xfff) != (gpa & 0xfff))
		return VMX_STORE_UNDECODABLE;
	/* Bit 8 clear: the CPU was writing a paging-structure entry (an
	 * accessed or dirty flag) while translating, not the store's bytes
	 * (SDM Vol. 3C 28.2.1 Table 28-7): the store itself is not at gpa. */
	if (!(vmx_exit_qualification(v) & EPTQUAL_GLA_TRANSLATION))
		return VMX_STORE_UNDECODABLE;
	/* The hypervisor writes only where `eptp` lets the guest write itself,
	 * as RAM it maps at the same address (the hypervisor region never). */
	if (gpa >= HOST_MAPPED_TOP || !ept_maps_identity(eptp, gpa, EPT_WRITE))
		return VMX_STORE_NOT_ALLOWED;

	uint64_t old = exchange(guest_phys_ptr(gpa), acc.size, store_value(v, &acc));
	if (acc.xchg)
		vmx_mmio_complete_load(v, &acc, old);
	v->exit.instruction_len = acc.len;
	vcpu_skip_instruction(v);
	return VMX_STORE_DONE;
}
