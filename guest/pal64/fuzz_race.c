/*
 * Racing registrations (fuzz64.h, issue 11 point 5): the boot CPU (a step of
 * its stream now and then) and CPU 1 (a loop of its own in the stage, entered
 * through PAL64_CASE_FUZZ_AP) register, call and unregister PALs over the same
 * few pages at once: code on one of FUZZ_RACE_CODE_PAGES pages, params, stack
 * and data from a pool of FUZZ_RACE_POOL_PAGES, overlapping ranges on purpose.
 * Each CPU runs in an address space of its own (a copy of the PML4: another
 * CR3, so another TrustVisor owner with its own quota), at ring 0.
 *
 * Invariants, after every step:
 *  - a registration either succeeds or gives a documented refusal of a valid
 *    descriptor that lost the race (OVERLAP, EXISTS, NO_MEMORY, QUOTA, BUSY);
 *  - two PALs never own one page: each CPU publishes the pages of the PAL it
 *    holds after TV_OK and withdraws them before it unregisters, so a page in
 *    both published sets at once means two PALs held it at once;
 *  - a registered PAL answers its owner's call with TV_OK and the magic value,
 *    the other CPU's call with TV_ERR_WRONG_PROCESS (or NOT_REGISTERED after
 *    its owner let it go); its owner's unregister succeeds; the other's never.
 * CPU 1 also sends NMIs to the boot CPU now and then (as its 32-bit stream does).
 * It cannot print (its failures are printed by the boot CPU at the end).
 */
#include "apps/trustvisor/tv_hypercall.h"
#include "guest/console.h"
#include "guest/layout.h"
#include "guest/pal64/cpu64.h"
#include "guest/pal64/fuzz64.h"
#include "guest/pal64/stage.h"
#include "guest/pal64/tv64.h"

#include <stdarg.h>
#include <stddef.h>

void *memset(void *dst, int c, size_t n); /* guest/string.c */
void *memcpy(void *dst, const void *src, size_t n);

#define PAL_MAGIC_64 0x50414c21ull
#define LAPIC_ICR_LO (LAPIC_BASE + 0x300)
#define LAPIC_ICR_HI (LAPIC_BASE + 0x310)
#define ICR_NMI      0x4400u /* delivery mode NMI, level assert */
#define PTE_ADDR     0x000ffffffffff000ull

struct race_cpu {
	uint64_t rng;
	uint64_t pml4[512] __attribute__((aligned(4096))); /* this CPU's address space */
	uint64_t entry;                                    /* the PAL it holds, 0 if none */
	volatile uint32_t held;                            /* its pages (bit = race page) */
	uint32_t steps, registered, refused, calls_ok, foreign;
	uint32_t fails, fail_step;
	char why[160]; /* the first failure */
};

static struct race_cpu cpus[2] __attribute__((aligned(4096)));
static volatile uint32_t other_ready;
static uint64_t kernel_cr3;

static uint64_t rnd(struct race_cpu *c)
{
	uint64_t z = (c->rng += 0x9e3779b97f4a7c15ull);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static uint32_t below(struct race_cpu *c, uint32_t n)
{
	return (uint32_t)(((rnd(c) >> 32) * n) >> 32);
}

static void race_fail(struct race_cpu *c, const char *fmt, ...)
{
	if (c == &cpus[0]) {
		char why[160];
		va_list ap;
		va_start(ap, fmt);
		str_vformat(why, sizeof(why), fmt, ap);
		va_end(ap);
		fuzz_fail("race: %s", why);
		return;
	}
	if (!c->fails++) {
		c->fail_step = c->steps;
		va_list ap;
		va_start(ap, fmt);
		str_vformat(c->why, sizeof(c->why), fmt, ap);
		va_end(ap);
	}
}

static uint64_t race_page(uint32_t i)
{
	return FUZZ_PAGE(FUZZ_RACE_FIRST + i);
}

static void set_cr3(uint64_t cr3)
{
	__asm__ __volatile__("movq %0, %%cr3" : : "r"(cr3) : "memory");
}

/* A section of 1-3 pool pages; returns its page bits. */
static uint32_t pool_section(struct race_cpu *c, struct tv_section *s, uint32_t kind)
{
	uint32_t first = below(c, FUZZ_RACE_POOL_PAGES), n = 1 + below(c, 3);
	if (first + n > FUZZ_RACE_POOL_PAGES)
		n = FUZZ_RACE_POOL_PAGES - first;
	s->gva = race_page(FUZZ_RACE_CODE_PAGES + first);
	s->size = (uint64_t)n * 4096u;
	s->kind = kind;
	s->reserved = 0;
	return ((1u << n) - 1) << (FUZZ_RACE_CODE_PAGES + first);
}

static int64_t call(struct race_cpu *c, uint64_t entry, uint64_t *ret)
{
	uint64_t in[2] = {rnd(c), rnd(c)}, out[2] = {0, 0};
	return tv64_call(entry, in, below(c, 3), out, below(c, 3), ret);
}

static void try_register(struct race_cpu *c, struct race_cpu *other)
{
	struct tv_pal_desc d;
	uint32_t pages;

	memset(&d, 0, sizeof(d));
	d.version = TV_DESC_VERSION;
	uint32_t code = below(c, FUZZ_RACE_CODE_PAGES);
	d.entry = race_page(code);
	d.sec[0] = (struct tv_section){d.entry, 4096, TV_SEC_CODE, 0};
	pages = 1u << code;
	pages |= pool_section(c, &d.sec[1], TV_SEC_PARAMS);
	pages |= pool_section(c, &d.sec[2], TV_SEC_STACK);
	d.nsections = 3;
	if (below(c, 2)) {
		pages |= pool_section(c, &d.sec[3], TV_SEC_DATA);
		d.nsections = 4;
	}
	d.in_words = d.out_words = 2;
	int64_t st = tv64_register(&d);
	if (st != TV_OK) {
		c->refused++;
		if (st != TV_ERR_OVERLAP && st != TV_ERR_EXISTS && st != TV_ERR_NO_MEMORY &&
		    st != TV_ERR_QUOTA && st != TV_ERR_BUSY && st != TV_ERR_WRONG_PROCESS)
			race_fail(c, "register code %u pages %x: %lld (%s)", code, pages,
			          (long long)st, tv64_strerror(st));
		return;
	}
	c->registered++;
	uint32_t both = __atomic_load_n(&other->held, __ATOMIC_SEQ_CST) & pages;
	if (both)
		race_fail(c, "registered pages %x while the other CPU's PAL holds %x", pages, both);
	c->entry = d.entry;
	__atomic_store_n(&c->held, pages, __ATOMIC_SEQ_CST);
	uint64_t ret = 0;
	st = call(c, d.entry, &ret);
	if (st != TV_OK || ret != PAL_MAGIC_64)
		race_fail(c, "call right after registering: %lld, returned %llx", (long long)st,
		          (unsigned long long)ret);
	else
		c->calls_ok++;
}

static void step(struct race_cpu *c, struct race_cpu *other)
{
	uint32_t what = below(c, 8);
	uint64_t ret = 0;
	int64_t st;

	c->steps++;
	if (what == 0) {
		/* The other CPU's PAL (another owner): never ours to call or unregister. */
		uint64_t e = __atomic_load_n(&other->entry, __ATOMIC_SEQ_CST);
		if (!e || e == c->entry)
			return;
		c->foreign++;
		st = below(c, 2) ? call(c, e, &ret) : tv64_unregister(e);
		if (st == TV_OK)
			race_fail(c, "the other CPU's PAL %llx answered TV_OK",
			          (unsigned long long)e);
		return;
	}
	if (!c->entry) {
		try_register(c, other);
		return;
	}
	if (what < 4) {
		st = call(c, c->entry, &ret);
		if (st != TV_OK || ret != PAL_MAGIC_64)
			race_fail(c, "call of its PAL %llx: %lld, returned %llx",
			          (unsigned long long)c->entry, (long long)st,
			          (unsigned long long)ret);
		else
			c->calls_ok++;
		return;
	}
	uint32_t held = c->held;
	__atomic_store_n(&c->held, 0, __ATOMIC_SEQ_CST);
	st = tv64_unregister(c->entry);
	if (st == TV_ERR_BUSY) {
		__atomic_store_n(&c->held, held, __ATOMIC_SEQ_CST);
		return;
	}
	if (st != TV_OK)
		race_fail(c, "unregister of its PAL %llx: %lld", (unsigned long long)c->entry,
		          (long long)st);
	__atomic_store_n(&c->entry, 0, __ATOMIC_SEQ_CST);
}

static void let_go(struct race_cpu *c)
{
	if (!c->entry)
		return;
	__atomic_store_n(&c->held, 0, __ATOMIC_SEQ_CST);
	int64_t st = tv64_unregister(c->entry);
	if (st != TV_OK)
		race_fail(c, "final unregister of %llx: %lld", (unsigned long long)c->entry,
		          (long long)st);
	c->entry = 0;
}

void fuzz_race_setup(void)
{
	static const uint8_t magic[] = {0xb8, 0x21, 0x4c,
	                                0x41, 0x50, 0xc3}; /* mov eax, MAGIC; ret */
	uint64_t cr3;
	__asm__ __volatile__("movq %%cr3, %0" : "=r"(cr3));
	kernel_cr3 = cr3;
	const uint64_t *pml4 = (const uint64_t *)(uintptr_t)(cr3 & PTE_ADDR);
	for (uint32_t k = 0; k < 2; k++) {
		for (uint32_t i = 0; i < 512; i++)
			cpus[k].pml4[i] = pml4[i];
		cpus[k].rng = fuzz_rand() | 1;
	}
	for (uint32_t p = 0; p < FUZZ_RACE_CODE_PAGES; p++) {
		uint8_t *page = (uint8_t *)(uintptr_t)race_page(p);
		memset(page, 0xcc, 4096);
		memcpy(page, magic, sizeof(magic));
	}
}

/* One step of the boot CPU's side (an action of its stream). */
void fuzz_act_race(void)
{
	if (!fz.race)
		return;
	fuzz_note("held %llx pages %x; other CPU holds %llx", (unsigned long long)cpus[0].entry,
	          cpus[0].held, (unsigned long long)cpus[1].entry);
	set_cr3((uint64_t)(uintptr_t)cpus[0].pml4);
	step(&cpus[0], &cpus[1]);
	set_cr3(kernel_cr3);
}

bool fuzz_race_other_ready(void)
{
	return __atomic_load_n(&other_ready, __ATOMIC_SEQ_CST) != 0;
}

uint32_t fuzz_race_other_cpu(void)
{
	struct race_cpu *c = &cpus[1];
	uint32_t bsp = fz.self_apic;

	__atomic_store_n(&other_ready, 1, __ATOMIC_SEQ_CST);
	set_cr3((uint64_t)(uintptr_t)c->pml4);
	while (!__atomic_load_n(&stage->fuzz_stop, __ATOMIC_SEQ_CST)) {
		step(c, &cpus[0]);
		if (below(c, 16) == 0) {
			*(volatile uint32_t *)(uintptr_t)LAPIC_ICR_HI = bsp << 24;
			*(volatile uint32_t *)(uintptr_t)LAPIC_ICR_LO = ICR_NMI;
		}
	}
	let_go(c);
	set_cr3(kernel_cr3);
	__atomic_store_n(&other_ready, 0, __ATOMIC_SEQ_CST);
	return PAL64_PASS;
}

/* After CPU 1 stopped: the boot CPU's PAL goes, CPU 1's figures and first failure. */
void fuzz_race_final(void)
{
	if (!fz.race)
		return;
	set_cr3((uint64_t)(uintptr_t)cpus[0].pml4);
	let_go(&cpus[0]);
	set_cr3(kernel_cr3);
	for (uint32_t k = 0; k < 2; k++)
		stage_info("fuzz: race: cpu %u: %u steps, %u registered, %u refused, %u calls "
		           "TV_OK, %u foreign calls/unregisters",
		           k, cpus[k].steps, cpus[k].registered, cpus[k].refused, cpus[k].calls_ok,
		           cpus[k].foreign);
	if (cpus[1].fails) {
		fz.action = "race_cpu1";
		fz.note[0] = '\0';
		fuzz_fail("cpu 1 race step %u: %s (first of %u)", cpus[1].fail_step, cpus[1].why,
		          cpus[1].fails);
	}
	if (cpus[1].steps == 0)
		fuzz_fail("race: CPU 1 ran no step");
}
