/*
 * Ring 3 for the fuzzer (ring3.h): segments, TSS, U bits, the second address
 * space, and the catch of whatever ends a ring-3 run.
 */
#include "guest/pal64/ring3.h"

#include "guest/layout.h"
#include "guest/pal64/fuzz64.h"
#include "guest/pal64/probe64.h"

#define PTE_US    0x4ull
#define PTE_ADDR  0x000ffffffffff000ull
#define RSP0_SIZE 16384

/* 64-bit TSS (SDM Vol. 3A 8.7, Figure 8-11). */
struct __attribute__((packed)) tss64 {
	uint32_t reserved0;
	uint64_t rsp[3];
	uint64_t reserved1;
	uint64_t ist[7];
	uint64_t reserved2;
	uint16_t reserved3;
	uint16_t iomap_base; /* past the limit: no I/O bitmap, so CPL > IOPL is #GP (20.5.2) */
};

struct __attribute__((packed)) gdtr64 {
	uint16_t limit;
	uint64_t base;
};

static struct tss64 tss;
static uint64_t gdt[8];
static struct gdtr64 old_gdtr;
static uint64_t kernel_cr3;
static uint64_t other_pml4[512] __attribute__((aligned(4096)));
static uint8_t rsp0_stack[RSP0_SIZE] __attribute__((aligned(16)));
static struct ring3_regs *volatile running;
static uint64_t kernel_ss;
static bool loaded;

uint64_t ring3_kernel_cr3(void)
{
	return kernel_cr3;
}

uint64_t ring3_other_cr3(void)
{
	return (uint64_t)(uintptr_t)other_pml4;
}

bool ring3_setup(void)
{
	struct gdtr64 g = {sizeof(gdt) - 1, (uint64_t)(uintptr_t)gdt};
	uint64_t cr3, base = (uint64_t)(uintptr_t)&tss, limit = sizeof(tss) - 1;
	uint16_t ss;

	__asm__ __volatile__("sgdt %0" : "=m"(old_gdtr));
	if (old_gdtr.limit < 4 * 8 - 1)
		return false;
	for (uint32_t i = 0; i < 4; i++)
		gdt[i] = ((const uint64_t *)(uintptr_t)old_gdtr.base)[i];
	gdt[4] = 0x00cff2000000ffffull; /* user data, DPL 3 (SDM Vol. 3A 3.4.5) */
	gdt[5] = 0x00affa000000ffffull; /* user code, 64-bit (L = 1), DPL 3 */
	/* Available 64-bit TSS, type 9 (Vol. 3A 8.2.3, Figure 8-4); re-made each run (LTR marks it
	 * busy). */
	gdt[6] = (limit & 0xffff) | ((base & 0xffffff) << 16) | (0x89ull << 40) |
	         ((limit >> 16 & 0xf) << 48) | ((base >> 24 & 0xff) << 56);
	gdt[7] = base >> 32;
	tss = (struct tss64){0};
	tss.rsp[0] = (uint64_t)(uintptr_t)(rsp0_stack + RSP0_SIZE);
	tss.iomap_base = sizeof(tss);
	__asm__ __volatile__("lgdt %0\n\tltr %w1" : : "m"(g), "r"((uint16_t)TSS_SEL) : "memory");
	__asm__ __volatile__("movw %%ss, %0" : "=r"(ss));
	kernel_ss = ss;

	/* U on PML4[0], PDPT[0] and the arena's 2-MiB PDE: user pages = the arena only. */
	__asm__ __volatile__("movq %%cr3, %0" : "=r"(cr3));
	kernel_cr3 = cr3;
	uint64_t *pml4 = (uint64_t *)(uintptr_t)(cr3 & PTE_ADDR);
	uint64_t *pdpt = (uint64_t *)(uintptr_t)(pml4[0] & PTE_ADDR);
	uint64_t *pd = (uint64_t *)(uintptr_t)(pdpt[0] & PTE_ADDR);
	pml4[0] |= PTE_US;
	pdpt[0] |= PTE_US;
	pd[FUZZ_ARENA >> 21] |= PTE_US;
	for (uint32_t i = 0; i < 512; i++)
		other_pml4[i] = pml4[i];
	__asm__ __volatile__("movq %0, %%cr3" : : "r"(cr3) : "memory");
	loaded = true;
	return true;
}

void ring3_teardown(void)
{
	if (!loaded)
		return;
	__asm__ __volatile__("lgdt %0" : : "m"(old_gdtr) : "memory");
	loaded = false;
}

uint32_t ring3_run(struct ring3_regs *r, uint64_t cr3)
{
	r->vector = PROBE_NONE;
	r->error = r->fault_rip = 0;
	if (cr3 != kernel_cr3)
		__asm__ __volatile__("movq %0, %%cr3" : : "r"(cr3) : "memory");
	running = r;
	ring3_enter(r);
	if (cr3 != kernel_cr3)
		__asm__ __volatile__("movq %0, %%cr3" : : "r"(kernel_cr3) : "memory");
	return (uint32_t)r->vector;
}

bool ring3_catch(struct frame64 *f)
{
	struct ring3_regs *r = running;
	if (!r || (f->cs & 3) != 3 || (f->vector >= 32 && f->vector != RING3_DONE_VEC))
		return false;
	r->rax = f->rax;
	r->rbx = f->rbx;
	r->rcx = f->rcx;
	r->rdx = f->rdx;
	r->rsi = f->rsi;
	r->rdi = f->rdi;
	r->r8 = f->r8;
	r->vector = f->vector == RING3_DONE_VEC ? PROBE_NONE : f->vector;
	r->error = f->error;
	r->fault_rip = f->rip;
	running = 0;
	f->rip = (uint64_t)(uintptr_t)ring3_resume;
	f->cs = GDT_CODE64;
	f->rsp = ring3_kernel_rsp;
	f->ss = kernel_ss;
	f->rflags = 0x2; /* IF = 0, IOPL 0, as the stage runs */
	return true;
}
