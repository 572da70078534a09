/*
 * The instruction behind an MMIO exit (fetched with the guest's paging and
 * decoded by insn_decode.c), and guest-physical space where no device answers.
 *
 * The EPT maps 0 .. max(4 GiB, top of RAM) (ept.h); above it no EPT entry
 * exists, so a guest access there is an EPT violation. On a PC nothing claims
 * such an address: a read ends in a master abort and returns all ones, a write
 * is dropped (PCI Local Bus Specification 3.0, 3.3.3.1). The library gives the
 * guest the same, for the moves insn_decode.c knows. An instruction fetch from
 * there, a guest page-table walk through there or any other instruction has no
 * such answer short of a full emulator: the guest is stopped (vmx_guest_stop).
 */
#include "hw/hw.h"
#include "libvmx/ept.h"
#include "libvmx/vmx_internal.h"

unsigned vmx_guest_code_size(void)
{
	uint32_t ar = vmcs_read32(VMCS_GUEST_CS_ACCESS_RIGHTS);
	if ((vmcs_read64(VMCS_GUEST_IA32_EFER) & EFER_LMA) && (ar & (1u << 13)))
		return 64;
	return (ar & (1u << 14)) ? 32 : 16;
}

enum vmx_mmio_decode vmx_guest_decode_mmio(struct vcpu *v, struct mmio_access *acc,
                                           uint8_t insn[15], size_t *n)
{
	uint64_t denied = UINT64_MAX;
	unsigned mode = vmx_guest_code_size();
	uint64_t rip = vmcs_readnat(VMCS_GUEST_RIP);
	uint64_t la = mode == 64 ? rip : (vmcs_readnat(VMCS_GUEST_CS_BASE) + rip) & 0xffffffffull;

	/* All 15 bytes in one walk; else byte by byte: the instruction may end
	 * just before an unmapped page. */
	if (vmx_guest_read_linear(la, insn, 15, &denied)) {
		*n = 15;
	} else {
		denied = UINT64_MAX;
		*n = 0;
		while (*n < 15 && vmx_guest_read_linear(la + *n, &insn[*n], 1, &denied))
			(*n)++;
	}
	if (mmio_decode(insn, *n, mode, acc))
		return VMX_MMIO_DECODED;
	if (denied == UINT64_MAX)
		return VMX_MMIO_UNDECODABLE;
	/* The bytes are on a page the guest may not read in this view (a PAL's,
	 * reached through a stale TLB entry): none of them may reach a device
	 * register. Reported as the read it is. */
	vmx_guest_access_denied(v, denied, EPTQUAL_READ);
	return VMX_MMIO_REFUSED;
}

void vmx_mmio_complete_load(struct vcpu *v, const struct mmio_access *acc, uint64_t value)
{
	unsigned bits = acc->size * 8;
	uint64_t mask = bits >= 64 ? ~0ull : (1ull << bits) - 1;

	value &= mask;
	if (acc->sign_extend && bits < 64 && (value >> (bits - 1)) & 1)
		value |= ~mask;
	uint64_t old = vcpu_gpr_read(v, acc->reg);
	switch (acc->reg_size) {
	case 1:
		/* AH..BH are bits 15:8 of RAX..RBX; AL..R15B bits 7:0. The rest stays. */
		if (acc->high_byte)
			value = (old & ~0xff00ull) | ((value & 0xff) << 8);
		else
			value = (old & ~0xffull) | (value & 0xff);
		break;
	case 2:
		value = (old & ~0xffffull) | (value & 0xffff);
		break;
	case 4:
		value &= 0xffffffffull; /* a 32-bit destination zero-extends (SDM Vol. 1 3.4.1.1) */
		break;
	default:
		break;
	}
	vcpu_gpr_write(v, acc->reg, value);
}

bool vmx_mmio_no_device(struct vcpu *v)
{
	uint64_t gpa = v->exit.gpa, q = v->exit.qualification;
	struct ept_mapping m;

	/* Nothing mapped, or a page the hypervisor hid with no access at all (a
	 * remapping unit's registers, core/dma_protection.c) and no app claimed
	 * (the app saw the violation first): no device answers there. A page
	 * with some access left is someone's restriction: not ours. */
	if (ept_lookup(vmcs_read64(VMCS_EPT_POINTER), gpa, &m) && m.rwx != 0)
		return false;
	if (q & EPTQUAL_FETCH)
		vmx_guest_stop(v, "instruction fetch from GPA 0x%llx, where no memory or device is",
		               (unsigned long long)gpa);
	/* Bit 8 clear with a valid linear address: the CPU was walking the guest's
	 * page tables through this address (SDM Vol. 3C 28.2.1, Table 28-7). */
	if ((q & EPTQUAL_GLA_VALID) && !(q & EPTQUAL_GLA_TRANSLATION))
		vmx_guest_stop(v, "guest page tables at GPA 0x%llx, where no memory or device is",
		               (unsigned long long)gpa);

	struct mmio_access acc;
	uint8_t insn[15];
	size_t n;
	enum vmx_mmio_decode d = vmx_guest_decode_mmio(v, &acc, insn, &n);
	if (d == VMX_MMIO_REFUSED)
		return true;
	if (d == VMX_MMIO_UNDECODABLE)
		vmx_guest_stop(v,
		               "access to GPA 0x%llx (no memory or device there) by an instruction "
		               "that is not emulated (%zu bytes fetched, first %02x %02x %02x)",
		               (unsigned long long)gpa, n, n > 0 ? insn[0] : 0, n > 1 ? insn[1] : 0,
		               n > 2 ? insn[2] : 0);
	/* Stores go nowhere; loads (XCHG included) read a floating bus. */
	if (acc.load)
		vmx_mmio_complete_load(v, &acc, ~0ull);
	v->exit.instruction_len = acc.len;
	vcpu_skip_instruction(v);
	return true;
}
