/*
 * Control-register access exits (SDM 28.2.1 Table 28-3). CR0 and CR4 exit only
 * for writes that change a host-owned bit (the guest-host masks, vmcs_controls.c);
 * reads see the read shadows without exiting. The guest's view (shadow) keeps
 * what it wrote; the CPU runs with the fixed bits applied, and CR4.VMXE stays
 * hidden. MOV CR3 exits only on CPUs that force CR3-load/store exiting.
 */
#include "hw/hw.h"
#include "libvmx/ept.h"
#include "libvmx/guest_memory.h"
#include "libvmx/vmx_caps.h"
#include "libvmx/vmx_internal.h"
#include "rt/panic.h"
#include "rt/string.h"

#define CR_PAGING_BITS (CR0_PG | CR0_PE | CR0_WP | CR0_CD | CR0_NW)
#define CR4_PAGING_BITS                                                                            \
	(CR4_PAE | CR4_PGE | CR4_PSE | CR4_PCIDE | CR4_SMEP | CR4_SMAP | CR4_PKE | CR4_LA57)

/* What a CR write done for the guest ends in. */
enum cr_result {
	CR_DONE,   /* done: skip the instruction */
	CR_GP,     /* #GP(0), nothing changed (SDM Vol. 2B MOV CRn) */
	CR_DENIED, /* the PDPT load was refused by EPT: nothing changed */
};

/* The four PDPTEs a PAE-paging change loads, read before anything is changed. */
struct pdpt_load {
	bool needed;
	uint64_t pa; /* guest-physical CR3[31:5] */
	uint64_t e[4];
};

/* The CPU's physical-address width: CPUID.80000008H:EAX[7:0], 36 without the
 * leaf (SDM Vol. 3A 4.1.4). */
static unsigned maxphyaddr(void)
{
	struct hw_cpuid_regs r;

	hw_cpuid(0x80000000u, 0, &r);
	if (r.eax < 0x80000008u)
		return 36;
	hw_cpuid(0x80000008u, 0, &r);
	return (r.eax & 0xffu) ? (r.eax & 0xffu) : 36;
}

/* Bits at or above the physical-address width: reserved in CR3 and PDPTEs. */
static bool beyond_maxphyaddr(uint64_t x)
{
	unsigned w = maxphyaddr();
	return w < 64 && (x >> w) != 0;
}

/* A present PAE PDPTE with reserved bits set: 2:1, 8:5 and MAXPHYADDR up
 * (SDM Vol. 3A 4.4.1, Table 4-8). Loading one is #GP(0) (SDM Vol. 3A 4.4.1),
 * and VM entry would refuse it (SDM Vol. 3C 27.3.1.6): the hypervisor must
 * never put one in the VMCS. */
static bool pdpte_reserved(uint64_t e)
{
	return (e & 1) && ((e & 0x1e6ull) || beyond_maxphyaddr(e));
}

/*
 * PAE paging outside long mode with EPT: VM entry loads the PDPTEs from the
 * VMCS (SDM Vol. 3C 27.3.2.4), so a CR0/CR3/CR4 change done for the guest must load
 * them as the CPU would, from guest-physical CR3[31:5]. The CPU's own load is
 * an EPT-checked read (SDM Vol. 3C 29.3.3.2): a PDPT outside the guest's view
 * (the hypervisor, a PAL's page) is refused, not read (CR_DENIED); reserved
 * bits in an entry are #GP (CR_GP).
 */
static enum cr_result pdptes_fetch(uint64_t cr0, uint64_t cr4, uint64_t efer, uint64_t cr3,
                                   struct pdpt_load *l)
{
	l->needed = (cr0 & CR0_PG) && (cr4 & CR4_PAE) && !(efer & EFER_LMA);
	if (!l->needed)
		return CR_DONE;
	l->pa = cr3 & 0xffffffe0ull;
	if (!vmx_guest_gpa_allowed(l->pa, EPT_READ))
		return CR_DENIED;
	memcpy(l->e, guest_phys_ptr(l->pa), sizeof(l->e));
	for (unsigned i = 0; i < 4; i++)
		if (pdpte_reserved(l->e[i]))
			return CR_GP;
	return CR_DONE;
}

static void pdptes_store(const struct pdpt_load *l)
{
	if (!l->needed)
		return;
	vmcs_write64(VMCS_GUEST_PDPTE0, l->e[0]);
	vmcs_write64(VMCS_GUEST_PDPTE1, l->e[1]);
	vmcs_write64(VMCS_GUEST_PDPTE2, l->e[2]);
	vmcs_write64(VMCS_GUEST_PDPTE3, l->e[3]);
}

/* MOV to CR0 as hardware would do it (SDM Vol. 2B MOV CRn). */
static enum cr_result write_cr0(struct vcpu *v, uint64_t val, struct pdpt_load *l)
{
	uint64_t old = vmcs_readnat(VMCS_CR0_READ_SHADOW);
	uint64_t efer = vmcs_read64(VMCS_GUEST_IA32_EFER);
	uint32_t entry = vmcs_read32(VMCS_ENTRY_CONTROLS);

	if ((val >> 32) || ((val & CR0_PG) && !(val & CR0_PE)) ||
	    ((val & CR0_NW) && !(val & CR0_CD)))
		return CR_GP;
	if ((val & CR0_PG) && !(old & CR0_PG) && (efer & EFER_LME)) {
		/* Entering long mode needs CR4.PAE; EFER.LMA follows (SDM Vol. 3A 10.8.5). */
		if (!(vmcs_readnat(VMCS_GUEST_CR4) & CR4_PAE))
			return CR_GP;
		efer |= EFER_LMA;
		entry |= ENTRY_IA32E_MODE_GUEST;
	} else if (!(val & CR0_PG) && (old & CR0_PG)) {
		efer &= ~EFER_LMA;
		entry &= ~ENTRY_IA32E_MODE_GUEST;
	}
	bool paging = ((val ^ old) & CR_PAGING_BITS) != 0;
	enum cr_result r;
	if (paging && (r = pdptes_fetch(val, vmcs_readnat(VMCS_GUEST_CR4), efer,
	                                vmcs_readnat(VMCS_GUEST_CR3), l)) != CR_DONE)
		return r;
	vmcs_write64(VMCS_GUEST_IA32_EFER, efer);
	vmcs_write32(VMCS_ENTRY_CONTROLS, entry);
	vmcs_writenat(VMCS_CR0_READ_SHADOW, val);
	vmcs_writenat(VMCS_GUEST_CR0, vmx_cr0_actual(val));
	if (paging) {
		pdptes_store(l);
		vmx_flush_guest_tlb(v);
	}
	return CR_DONE;
}

static enum cr_result write_cr4(struct vcpu *v, uint64_t val, struct pdpt_load *l)
{
	uint64_t old = vmcs_readnat(VMCS_CR4_READ_SHADOW);
	uint64_t efer = vmcs_read64(VMCS_GUEST_IA32_EFER);

	/* VMXE and SMXE are hidden (CPUID says no VMX, no SMX) and bits the CPU
	 * cannot set are reserved: all #GP (SDM Vol. 3A 2.5), as is clearing PAE
	 * in long mode. */
	if ((val & (CR4_VMXE | CR4_SMXE)) || (val & ~vmx_config()->cr4_fixed1) ||
	    ((efer & EFER_LMA) && !(val & CR4_PAE)))
		return CR_GP;
	bool paging = ((val ^ old) & CR4_PAGING_BITS) != 0;
	enum cr_result r;
	if (paging && (r = pdptes_fetch(vmcs_readnat(VMCS_GUEST_CR0), val, efer,
	                                vmcs_readnat(VMCS_GUEST_CR3), l)) != CR_DONE)
		return r;
	vmcs_writenat(VMCS_CR4_READ_SHADOW, val);
	vmcs_writenat(VMCS_GUEST_CR4, vmx_cr4_actual(val));
	if (paging) {
		pdptes_store(l);
		vmx_flush_guest_tlb(v);
	}
	return CR_DONE;
}

static enum cr_result write_cr3(struct vcpu *v, uint64_t val, struct pdpt_load *l)
{
	uint64_t cr3 = val & ~(1ull << 63);
	uint64_t efer = vmcs_read64(VMCS_GUEST_IA32_EFER);

	/* Bits beyond the physical-address width are reserved: #GP (SDM Vol. 2B
	 * MOV CRn), where VM entry would refuse the guest state (SDM Vol. 3C
	 * 27.3.1.1). Bit 63 is PCID's "do not flush", not part of CR3. */
	if (beyond_maxphyaddr(cr3))
		return CR_GP;
	enum cr_result r =
	    pdptes_fetch(vmcs_readnat(VMCS_GUEST_CR0), vmcs_readnat(VMCS_GUEST_CR4), efer, cr3, l);
	if (r != CR_DONE)
		return r;
	vmcs_writenat(VMCS_GUEST_CR3, cr3);
	pdptes_store(l);
	vmx_flush_guest_tlb(v);
	return CR_DONE;
}

enum vmx_cr3_load vmx_guest_load_cr3(struct vcpu *v, uint64_t cr3, uint64_t *denied_gpa)
{
	struct pdpt_load l = {0};

	switch (write_cr3(v, cr3, &l)) {
	case CR_DONE:
		return VMX_CR3_LOADED;
	case CR_GP:
		return VMX_CR3_GP;
	case CR_DENIED:
		break;
	}
	*denied_gpa = l.pa;
	return VMX_CR3_DENIED;
}

/* Only CR0/CR4 (masks) and CR3 (forced exiting) are set up to exit. */
static _Noreturn void unexpected_cr(struct vcpu *v, unsigned cr)
{
	hv_panic("unexpected CR%u access exit on CPU %u (qualification 0x%llx)", cr, v->cpu,
	         (unsigned long long)v->exit.qualification);
}

void vmx_exit_cr_access(struct vcpu *v)
{
	uint64_t q = v->exit.qualification;
	unsigned cr = CRQUAL_CR(q);
	enum cr_result r = CR_DONE;
	struct pdpt_load l = {0};

	switch (CRQUAL_ACCESS(q)) {
	case CRQUAL_ACCESS_MOV_TO: {
		uint64_t val = vcpu_gpr_read(v, CRQUAL_GPR(q));
		/* Outside 64-bit mode the operand is 32 bits (SDM Vol. 2B MOV CRn):
		 * bits 63:32 the guest left in the register are not written. */
		if (vmx_guest_code_size() != 64)
			val &= 0xffffffffull;
		if (cr == 0) {
			r = write_cr0(v, val, &l);
		} else if (cr == 4) {
			r = write_cr4(v, val, &l);
		} else if (cr == 3) {
			r = write_cr3(v, val, &l);
		} else {
			unexpected_cr(v, cr);
		}
		break;
	}
	case CRQUAL_ACCESS_MOV_FROM:
		if (cr != 3)
			unexpected_cr(v, cr);
		vcpu_gpr_write(v, CRQUAL_GPR(q), vmcs_readnat(VMCS_GUEST_CR3));
		break;
	case CRQUAL_ACCESS_CLTS:
		r = write_cr0(v, vmcs_readnat(VMCS_CR0_READ_SHADOW) & ~CR0_TS, &l);
		break;
	case CRQUAL_ACCESS_LMSW: {
		/* LMSW loads CR0[3:0] but cannot clear PE (SDM Vol. 2A LMSW). */
		uint64_t cur = vmcs_readnat(VMCS_CR0_READ_SHADOW);
		uint64_t data = CRQUAL_LMSW_DATA(q) & 0xfu;
		r = write_cr0(v, (cur & ~0xeull) | data | (cur & CR0_PE), &l);
		break;
	}
	}
	switch (r) {
	case CR_DONE:
		vcpu_skip_instruction(v);
		break;
	case CR_GP:
		vmx_queue_exception(v, X86_VEC_GP, true, 0);
		break;
	case CR_DENIED:
		/* The CPU's PDPTE read would have been an EPT violation (a data
		 * read, no linear address). */
		vmx_guest_access_denied(v, l.pa, EPTQUAL_READ);
		break;
	}
}
