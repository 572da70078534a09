/*
 * Loading and entering the 64-bit PAL stage (pal_stage.h).
 *
 * The stage is a flat binary linked at PAL64_BASE, embedded in this ELF
 * (guest/BUILD: pal64_blob.o). The first entry copies it there, zeroes its
 * .bss and builds 4-level identity page tables for [0, 4 GiB) (SDM Vol. 3A
 * 4.5): 2 MiB pages, except 4 KiB pages for [0, 2 MiB) (page 0 left out, to
 * catch null pointers) and for the stage, where the PALs' sections are:
 * TrustVisor takes single 4 KiB pages out of the guest's view and walks these
 * tables to find them. [3 GiB, 4 GiB) (LAPIC and firmware) is uncached.
 */
#include "guest/pal_stage.h"

#include "guest/cpu.h"
#include "guest/layout.h"
#include "guest/trap.h"

#define PTE_P   0x001ull
#define PTE_RW  0x002ull
#define PTE_PWT 0x008ull
#define PTE_PCD 0x010ull
#define PTE_PS  0x080ull
#define PAGE_2M 0x200000u

#define MSR_EFER     0xc0000080u
#define EFER_LME     (1u << 8)
#define EFER_NXE     (1u << 11)
#define CPUID_EXT_LM (1u << 29) /* CPUID.80000001H:EDX */
#define CPUID_EXT_NX (1u << 20)

extern const uint8_t _binary_pal64_bin_start[], _binary_pal64_bin_end[];

static uint64_t pml4[512] __attribute__((aligned(4096)));
static uint64_t pdpt[512] __attribute__((aligned(4096)));
static uint64_t pd[4][512] __attribute__((aligned(4096)));
static uint64_t pt_low[512] __attribute__((aligned(4096)));
static uint64_t pt_stage[PAL64_SIZE / PAGE_2M][512] __attribute__((aligned(4096)));
static uint32_t stage_entry;
static uint32_t efer_set;

const char *pal_stage_unsupported(void)
{
	if (cpuid(0x80000000u, 0).eax < 0x80000001u || !(cpuid(0x80000001u, 0).edx & CPUID_EXT_LM))
		return "the CPU has no long mode (CPUID.80000001H:EDX.LM = 0)";
	return 0;
}

static void map_4k(uint64_t *pt, uint32_t base, bool skip_page0)
{
	for (uint32_t i = 0; i < 512; i++)
		pt[i] =
		    (skip_page0 && i == 0) ? 0 : ((uint64_t)(base + i * 4096u) | PTE_P | PTE_RW);
}

static void build_tables(void)
{
	pml4[0] = (uint32_t)(uintptr_t)pdpt | PTE_P | PTE_RW;
	for (uint32_t g = 0; g < 4; g++) {
		pdpt[g] = (uint32_t)(uintptr_t)pd[g] | PTE_P | PTE_RW;
		for (uint32_t i = 0; i < 512; i++) {
			uint64_t pa = ((uint64_t)g << 30) | ((uint64_t)i << 21);
			pd[g][i] = pa | PTE_P | PTE_RW | PTE_PS | (g == 3 ? PTE_PCD | PTE_PWT : 0);
		}
	}
	map_4k(pt_low, 0, true);
	pd[0][0] = (uint32_t)(uintptr_t)pt_low | PTE_P | PTE_RW;
	for (uint32_t k = 0; k < PAL64_SIZE / PAGE_2M; k++) {
		map_4k(pt_stage[k], PAL64_BASE + k * PAGE_2M, false);
		pd[0][(PAL64_BASE >> 21) + k] = (uint32_t)(uintptr_t)pt_stage[k] | PTE_P | PTE_RW;
	}
}

/* Copies the image and checks its header; NULL or why it cannot run. */
static const char *load(void)
{
	const struct pal64_header *h = (const void *)_binary_pal64_bin_start;
	uint32_t size = (uint32_t)(_binary_pal64_bin_end - _binary_pal64_bin_start);

	if (size < sizeof(*h) || h->magic != PAL64_MAGIC)
		return "the embedded 64-bit stage has no valid header";
	if (h->base != PAL64_BASE)
		return "the 64-bit stage is not linked at PAL64_BASE (pal64.ld vs layout.h)";
	if (h->mem_end > PAL64_BASE + PAL64_SIZE || h->mem_end < PAL64_BASE + size ||
	    h->entry < PAL64_BASE || h->entry >= PAL64_BASE + size)
		return "the 64-bit stage does not fit [PAL64_BASE, +PAL64_SIZE)";
	volatile uint8_t *dst = (volatile uint8_t *)(uintptr_t)PAL64_BASE;
	for (uint32_t i = 0; i < size; i++)
		dst[i] = _binary_pal64_bin_start[i];
	for (uint32_t i = size; i < h->mem_end - PAL64_BASE; i++)
		dst[i] = 0;
	stage_entry = h->entry;
	build_tables();
	efer_set = EFER_LME;
	/* NXE lets TrustVisor mark the PAL's data pages execute-disable. */
	if (cpuid(0x80000001u, 0).edx & CPUID_EXT_NX)
		efer_set |= EFER_NXE;
	return 0;
}

uint32_t pal_stage_enter_other_cpu(struct pal64_shared *sh, uint32_t id)
{
	if (!stage_entry)
		return PAL64_FAIL;
	sh->case_id = id;
	sh->result = PAL64_FAIL;
	uint32_t r =
	    pal64_switch((uint32_t)(uintptr_t)pml4, efer_set, stage_entry, (uint32_t)(uintptr_t)sh);
	trap_load(); /* this CPU's IDTR held the stage's IDT */
	return r;
}

enum case_result pal_stage_run(struct case_ctx *c, struct pal64_shared *sh, uint32_t id)
{
	if (!stage_entry) {
		const char *why = load();
		if (why)
			return case_fail(c, "%s", why);
	}
	sh->case_id = id;
	sh->result = PAL64_FAIL;
	sh->detail[0] = '\0';
	uint32_t r =
	    pal64_switch((uint32_t)(uintptr_t)pml4, efer_set, stage_entry, (uint32_t)(uintptr_t)sh);
	trap_load(); /* the stage left its 64-bit IDT in IDTR */
	if (r == PAL64_PASS)
		return CASE_PASS;
	if (r == PAL64_SKIP)
		return case_skip(c, "%s", sh->detail);
	return case_fail(c, "%s", sh->detail[0] ? sh->detail : "the 64-bit stage failed");
}
