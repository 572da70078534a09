/*
 * PAL registration and unregistration (README.md "Registering a PAL").
 *
 * Registration reads the descriptor from the caller's memory, validates it,
 * translates every page with the caller's page tables, then under tv_lock
 * checks it against the other PALs, builds the PAL's private tables, takes the
 * pages out of the guest's EPT view and makes every CPU drop stale
 * translations (tv_sync_all_cpus), then measures the PAL (its identity,
 * tv_identity.h) before it may be called.
 *
 * Unregistration scrubs the pages (zeroes them) while the guest still cannot
 * see them, then gives them back. Giving access back needs no all-CPU round: a
 * CPU never caches a translation that faulted (SDM Vol. 3C 29.4.3.1), so the
 * next access walks the EPT again.
 */
#include "apps/trustvisor/tv_dma.h"
#include "apps/trustvisor/tv_internal.h"
#include "apps/trustvisor/tv_platform.h"
#include "hw/hw.h"
#include "rt/spinlock.h"
#include "rt/string.h"

struct tv_pal tv_pals[TV_MAX_PALS];
static struct spinlock tv_lock = SPINLOCK_INIT;
static uint32_t next_id = 1;

void tv_lock_acquire(void)
{
	spin_lock(&tv_lock);
}

void tv_lock_release(void)
{
	spin_unlock(&tv_lock);
}

struct tv_pal *tv_pal_by_gpa(uint64_t gpa_page)
{
	for (uint32_t i = 0; i < TV_MAX_PALS; i++) {
		struct tv_pal *p = &tv_pals[i];
		if (p->state == TV_PAL_FREE)
			continue;
		for (uint32_t j = 0; j < p->npages; j++)
			if (p->page[j].gpa == gpa_page)
				return p;
	}
	return NULL;
}

static bool ranges_overlap(uint64_t a, uint64_t an, uint64_t b, uint64_t bn)
{
	return a < b + bn && b < a + an;
}

static bool canonical(uint64_t a)
{
	uint64_t top = a >> 47;
	return top == 0 || top == 0x1ffff;
}

/* Checks the descriptor alone (no memory access). */
static int check_desc(const struct tv_pal_desc *d, bool user)
{
	unsigned code = 0, params = 0, stack = 0;
	uint64_t pages = 0;
	bool entry_in_code = false;

	if (d->version != TV_DESC_VERSION || d->nsections == 0)
		return TV_ERR_INVALID;
	if (d->nsections > TV_MAX_SECTIONS)
		return TV_ERR_TOO_LARGE;
	if (d->in_words > TV_MAX_WORDS || d->out_words > TV_MAX_WORDS)
		return TV_ERR_TOO_LARGE;
	for (uint32_t i = 0; i < d->nsections; i++) {
		const struct tv_section *s = &d->sec[i];
		if (s->kind < TV_SEC_CODE || s->kind > TV_SEC_STACK || s->reserved)
			return TV_ERR_INVALID;
		if ((s->gva | s->size) & (TV_PAGE - 1) || s->size == 0)
			return TV_ERR_ALIGN;
		if (s->size > TV_MAX_PAL_PAGES * TV_PAGE)
			return TV_ERR_TOO_LARGE;
		pages += s->size / TV_PAGE;
		if (pages > TV_MAX_PAL_PAGES)
			return TV_ERR_TOO_LARGE;
		uint64_t last = s->gva + s->size - 1;
		if (s->gva == 0 || !canonical(s->gva) || !canonical(last) || last < s->gva)
			return TV_ERR_RANGE;
		if ((s->gva < TV_USER_TOP) != (last < TV_USER_TOP))
			return TV_ERR_RANGE; /* straddles the canonical hole */
		if (user && last >= TV_USER_TOP)
			return TV_ERR_RANGE;
		if (ranges_overlap(s->gva, s->size, TV_PAL_SENTINEL, TV_PAGE))
			return TV_ERR_RANGE;
		for (uint32_t j = 0; j < i; j++)
			if (ranges_overlap(s->gva, s->size, d->sec[j].gva, d->sec[j].size))
				return TV_ERR_OVERLAP;
		code += s->kind == TV_SEC_CODE;
		params += s->kind == TV_SEC_PARAMS;
		stack += s->kind == TV_SEC_STACK;
		if (s->kind == TV_SEC_CODE && d->entry >= s->gva && d->entry <= last)
			entry_in_code = true;
		if (s->kind == TV_SEC_PARAMS &&
		    s->size < ((uint64_t)d->in_words + d->out_words) * 8)
			return TV_ERR_INVALID;
	}
	if (!code || params != 1 || stack != 1 || !entry_in_code)
		return TV_ERR_INVALID;
	return TV_OK;
}

/* Translates every page with the caller's tables; fills pal->page[]. */
static int translate_pages(struct tv_pal *pal, const struct vmx_gw_ctx *c)
{
	const struct tv_pal_desc *d = &pal->desc;

	pal->npages = 0;
	for (uint32_t i = 0; i < d->nsections; i++) {
		const struct tv_section *s = &d->sec[i];
		for (uint64_t off = 0; off < s->size; off += TV_PAGE) {
			struct tv_page *p = &pal->page[pal->npages];
			uint64_t gpa;
			int rc =
			    vmx_gw_translate(c, s->gva + off, pal->user ? VMX_GW_USER : 0, &gpa);
			if (rc == VMX_GW_ERR_PROTECTION)
				return TV_ERR_RANGE; /* a supervisor page from ring 3 */
			if (rc)
				return TV_ERR_FAULT;
			p->gva = s->gva + off;
			p->gpa = gpa & ~(TV_PAGE - 1);
			p->kind = s->kind;
			p->orig_rwx = EPT_RWX;
			for (uint32_t j = 0; j < pal->npages; j++)
				if (pal->page[j].gpa == p->gpa)
					return TV_ERR_OVERLAP; /* two addresses, one page */
			pal->npages++;
		}
	}
	return TV_OK;
}

/* Under tv_lock: the pages against other PALs and the guest view. */
static int check_against_others(struct tv_pal *pal)
{
	for (uint32_t i = 0; i < TV_MAX_PALS; i++) {
		const struct tv_pal *o = &tv_pals[i];
		if (o->state == TV_PAL_FREE || o == pal)
			continue;
		if (o->cr3 == pal->cr3 && o->desc.entry == pal->desc.entry)
			return TV_ERR_EXISTS;
		if (o->cr3 == pal->cr3)
			for (uint32_t a = 0; a < o->desc.nsections; a++)
				for (uint32_t b = 0; b < pal->desc.nsections; b++)
					if (ranges_overlap(o->desc.sec[a].gva, o->desc.sec[a].size,
					                   pal->desc.sec[b].gva,
					                   pal->desc.sec[b].size))
						return TV_ERR_OVERLAP;
	}
	for (uint32_t j = 0; j < pal->npages; j++) {
		struct tv_page *p = &pal->page[j];
		if (tv_pal_by_gpa(p->gpa))
			return TV_ERR_OVERLAP;
		/* Hypervisor memory, MMIO, holes, above RAM. */
		if (!tv_guest_ram(p->gpa, &p->hpa))
			return TV_ERR_RANGE;
	}
	return TV_OK;
}

/* Under tv_lock: how many PALs `cr3` owns (any state but free). */
static uint32_t owned_by(uint64_t cr3)
{
	uint32_t n = 0;
	for (uint32_t i = 0; i < TV_MAX_PALS; i++)
		n += tv_pals[i].state != TV_PAL_FREE && tv_pals[i].cr3 == cr3;
	return n;
}

static struct tv_pal *free_slot(void)
{
	for (uint32_t i = 0; i < TV_MAX_PALS; i++)
		if (tv_pals[i].state == TV_PAL_FREE)
			return &tv_pals[i];
	return NULL;
}

static void give_back(struct tv_pal *pal, uint32_t npages)
{
	for (uint32_t j = 0; j < npages; j++)
		tv_guest_view_set(pal->page[j].gpa, pal->page[j].orig_rwx);
}

int64_t tv_register(struct vcpu *v, uint64_t desc_gva)
{
	static struct tv_pal scratch[HV_MAX_CPUS]; /* too big for the stack */
	struct tv_pal *cand = &scratch[vmx_vcpu_index(v)];
	struct vmx_gw_ctx c;
	int rc;

	if (!vmx_guest_in_64bit_mode(v) || (vmx_guest_cr4(v) & CR4_LA57))
		return TV_ERR_UNSUPPORTED;
	if ((rc = (int)tv_dma_may_register()) != TV_OK)
		return rc;

	memset(cand, 0, sizeof(*cand));
	cand->user = vcpu_cpl() == 3;
	cand->cr3 = vmx_guest_cr3(v) & 0x000ffffffffff000ull;
	cand->running_on = -1;
	tv_walk_ctx(v, &c, vmx_guest_cr3(v));
	/* The null page is refused outright (the ABI's TV_ERR_RANGE), not only
	 * when the process left it unmapped. */
	if (desc_gva < 0x1000 || (cand->user && (desc_gva >= TV_USER_TOP ||
	                                         desc_gva + sizeof(cand->desc) > TV_USER_TOP)))
		return TV_ERR_RANGE;
	if (vmx_gw_read(&c, &cand->desc, desc_gva, sizeof(cand->desc),
	                cand->user ? VMX_GW_USER : 0))
		return TV_ERR_FAULT;
	if ((rc = check_desc(&cand->desc, cand->user)) != TV_OK)
		return rc;
	if ((rc = translate_pages(cand, &c)) != TV_OK)
		return rc;
	for (uint32_t j = 0; j < cand->npages; j++) {
		if (cand->page[j].gva == (cand->desc.entry & ~(TV_PAGE - 1)))
			cand->entry_gpa = cand->page[j].gpa | (cand->desc.entry & (TV_PAGE - 1));
	}
	for (uint32_t i = 0; i < cand->desc.nsections; i++) {
		const struct tv_section *s = &cand->desc.sec[i];
		if (s->kind == TV_SEC_PARAMS) {
			cand->params_gva = s->gva;
			cand->params_size = s->size;
		}
		if (s->kind == TV_SEC_STACK)
			cand->stack_top = s->gva + s->size;
	}

	tv_lock_acquire();
	struct tv_pal *pal = free_slot();
	rc = check_against_others(cand);
	/* The quota before the global limit: one process filling the table must
	 * hear that it is its own limit, and leave slots for the others. */
	if (rc == TV_OK && owned_by(cand->cr3) >= TV_MAX_PALS_PER_OWNER)
		rc = TV_ERR_QUOTA;
	if (rc != TV_OK || !pal) {
		tv_lock_release();
		return rc ? rc : TV_ERR_NO_MEMORY;
	}
	*pal = *cand;
	pal->state = TV_PAL_SETUP; /* owns the slot and its pages; not callable yet */
	pal->id = next_id++;
	rc = tv_tables_build(pal, (vmx_guest_efer(v) & EFER_NXE) != 0, tv_guest_eptp());
	for (uint32_t j = 0; rc == TV_OK && j < pal->npages; j++) {
		if (tv_guest_view_set(pal->page[j].gpa, 0) != 0) {
			give_back(pal, j);
			tv_tables_free(pal);
			rc = TV_ERR_NO_MEMORY;
		}
	}
	if (rc != TV_OK)
		pal->state = TV_PAL_FREE;
	tv_lock_release();
	if (rc != TV_OK)
		return rc;

	/* Other CPUs may still hold translations of these pages: not callable
	 * until every CPU has dropped them. */
	tv_sync_all_cpus();
	/*
	 * Devices too: the pages leave the DMA map, and the units' caches are
	 * invalidated, before the measurement; otherwise a device could change
	 * the code between the measurement and the first call.
	 */
	rc = (int)tv_dma_protect_pal(pal);
	/*
	 * Measured only now. Before the round another CPU could still write the
	 * code pages through a translation it cached earlier (EPT translations
	 * survive the EPT change until INVEPT, SDM Vol. 3C 29.4.3), so a
	 * measurement taken earlier could differ from the code the PAL runs. The
	 * PAL is SETUP: nothing else calls, measures or frees it meanwhile.
	 */
	if (rc == TV_OK)
		rc = tv_utpm_measure(v, pal);
	tv_lock_acquire();
	if (rc == TV_OK) {
		pal->state = TV_PAL_READY;
	} else {
		/* Never ran: its pages go back as they were, nothing to scrub. */
		tv_dma_unprotect_pal(pal);
		give_back(pal, pal->npages);
		tv_tables_free(pal);
		memset(pal, 0, sizeof(*pal));
	}
	tv_lock_release();
	return rc;
}

void tv_pal_destroy(struct tv_pal *pal)
{
	/*
	 * Data, params and stack hold the PAL's secrets. Code is public, and may
	 * be the OS's page cache of the program file (a clean page the OS would
	 * map again for the next run): zeroing it would corrupt the file's pages.
	 */
	for (uint32_t j = 0; j < pal->npages; j++)
		if (pal->page[j].kind != TV_SEC_CODE)
			memset(hw_phys_ptr(pal->page[j].hpa), 0, TV_PAGE);
	tv_dma_unprotect_pal(pal); /* only now may devices reach the pages again */
	give_back(pal, pal->npages);
	tv_tables_free(pal);
	memset(pal, 0, sizeof(*pal));
}

struct tv_pal *tv_pal_of_caller(struct vcpu *v, uint64_t entry, int64_t *err)
{
	uint64_t cr3 = vmx_guest_cr3(v) & 0x000ffffffffff000ull;
	bool user = vcpu_cpl() == 3;

	*err = TV_ERR_NOT_REGISTERED;
	for (uint32_t i = 0; i < TV_MAX_PALS; i++) {
		struct tv_pal *p = &tv_pals[i];
		if (p->state == TV_PAL_FREE || p->desc.entry != entry)
			continue;
		/* The owner is the address space and the ring it registered from, as
		 * for a call (tv_call.c): a user program shares its kernel's CR3 but
		 * must not unregister (or read the identity of) the kernel's PAL. */
		if (p->cr3 == cr3 && p->user == user)
			return p;
		*err = TV_ERR_WRONG_PROCESS;
	}
	return NULL;
}

int64_t tv_unregister(struct vcpu *v, uint64_t entry)
{
	int64_t rc;

	tv_lock_acquire();
	struct tv_pal *p = tv_pal_of_caller(v, entry, &rc);
	if (p && (p->state != TV_PAL_READY || p->running_on >= 0)) {
		rc = TV_ERR_BUSY;
	} else if (p) {
		tv_pal_destroy(p);
		rc = TV_OK;
	}
	tv_lock_release();
	(void)v;
	return rc;
}
