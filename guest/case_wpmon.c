/*
 * wpmon cases (`wpmon` on the command line): the write-protect monitor
 * (apps/wpmon, ABI in wpmon_hypercall.h) from 32-bit code without paging, so
 * a buffer's address is its guest-physical address.
 *
 *   wpmon_protect  protect one page, write it WRITES times with known values:
 *                  every value lands, the log holds WRITES writes at the right
 *                  GPAs and RIPs, newest first; a write to the next page (not
 *                  protected) is not logged; an ADD to memory (not a plain
 *                  move) is logged and lands (stepped, or its range
 *                  released); after unprotect nothing is logged
 *   wpmon_errors   bad ranges refused with their codes, nothing protected
 *   wpmon_other_cpu  CPU 1 writes the page while it is writable (its TLB
 *                  keeps the translation), CPU 0 protects it, CPU 1 writes
 *                  again: logged as CPU 1's, the value lands (SKIP with one CPU)
 *   wpmon_bench    BENCH: wpmon_write / wpmon_plain_write ticks (median of 9)
 *
 * Without wpmon (VMCALL raises #UD: passthrough, bare) every case SKIPs.
 */
#include "apps/wpmon/wpmon_hypercall.h"
#include "guest/cases.h"
#include "guest/cmdline.h"
#include "guest/console.h"
#include "guest/cpu.h"
#include "guest/smp.h"

#define PAGE   4096u
#define WRITES 10u
#define REPS   9u

/* Two pages nobody else uses: the first protected, the second a neighbour. */
static volatile uint32_t pages[2][PAGE / 4] __attribute__((aligned(PAGE)));

static bool requested;

void wpmon_parse_cmdline(uint32_t mbi_pa)
{
	requested = cmdline_has_word(mbi_pa, "wpmon");
}

bool wpmon_requested(void)
{
	return requested;
}

struct wp_regs {
	uint32_t eax, ebx, ecx, edx, esi, edi;
};

/* A VMCALL as a probe: TRAP_NONE, or the vector (#UD: no wpmon). */
static uint32_t hc(struct wp_regs *r)
{
	trap_arm();
	__asm__ __volatile__(PROBE_ASM("vmcall")
	                     : "+a"(r->eax), "+b"(r->ebx), "+c"(r->ecx), "+d"(r->edx), "+S"(r->esi),
	                       "+D"(r->edi), PROBE_OUT
	                     :
	                     : "memory");
	return trap_disarm();
}

static int32_t call2(uint32_t fn, uint32_t a, uint32_t b)
{
	struct wp_regs r = {fn, a, b, 0, 0, 0};
	if (hc(&r) != TRAP_NONE)
		return -100;
	return (int32_t)r.eax;
}

/* One 32-bit store; returns the address of the storing instruction. */
static uint32_t store(volatile uint32_t *p, uint32_t v)
{
	uint32_t at;
	__asm__ __volatile__("movl $1f, %[at]\n\t"
	                     "1: movl %[v], (%[p])"
	                     : [at] "=&r"(at)
	                     : [p] "r"(p), [v] "r"(v)
	                     : "memory");
	return at;
}

/* A read-modify-write (no plain move: libvmx does not complete it). */
static uint32_t add_to(volatile uint32_t *p, uint32_t v)
{
	uint32_t at;
	__asm__ __volatile__("movl $1f, %[at]\n\t"
	                     "1: addl %[v], (%[p])"
	                     : [at] "=&r"(at)
	                     : [p] "r"(p), [v] "r"(v)
	                     : "memory", "cc");
	return at;
}

static const char *why_unavailable(void)
{
	struct wp_regs r = {WPMON_HC_LOG, 0, 0, 0, 0, 0};
	if (!guest_under_hv())
		return "no hypervisor";
	if (hc(&r) != TRAP_NONE)
		return "VMCALL WPMON_HC_LOG raised an exception: not wpmon";
	return NULL;
}

static uint32_t gpa(volatile uint32_t *p)
{
	return (uint32_t)(uintptr_t)p;
}

enum case_result case_wpmon_protect(struct case_ctx *c)
{
	const char *why = why_unavailable();
	if (why)
		return case_skip(c, "%s", why);
	volatile uint32_t *prot = pages[0], *next = pages[1];
	uint32_t at[WRITES];
	int32_t e;

	if ((e = call2(WPMON_HC_LOG_CLEAR, 0, 0)) != WPMON_OK)
		return case_fail(c, "LOG_CLEAR -> %d", e);
	if ((e = call2(WPMON_HC_PROTECT, gpa(prot), PAGE)) != WPMON_OK)
		return case_fail(c, "PROTECT %x +%x -> %d", gpa(prot), PAGE, e);
	for (uint32_t i = 0; i < WRITES; i++)
		at[i] = store(&prot[i * 97], 0xc0de0000u + i);
	(void)store(&next[5], 0x5a5a5a5au); /* not protected: not logged */
	for (uint32_t i = 0; i < WRITES; i++)
		if (prot[i * 97] != 0xc0de0000u + i)
			return case_fail(c, "write %u: read back %x, wrote %x", i, prot[i * 97],
			                 0xc0de0000u + i);
	if (next[5] != 0x5a5a5a5au)
		return case_fail(c, "unprotected write did not land");

	struct wp_regs r = {WPMON_HC_LOG, 0, 0, 0, 0, 0};
	if (hc(&r) != TRAP_NONE || r.eax != WPMON_OK)
		return case_fail(c, "LOG failed (%x)", r.eax);
	if (r.ebx != WRITES)
		return case_fail(c, "log counts %u writes, expected %u", r.ebx, WRITES);
	uint32_t last = WRITES - 1;
	if (r.ecx != gpa(&prot[last * 97]) || r.edx != at[last])
		return case_fail(c, "last write logged at GPA %x RIP %x, expected %x %x", r.ecx,
		                 r.edx, gpa(&prot[last * 97]), at[last]);
	if (r.esi != WRITES)
		return case_fail(c, "log keeps %u entries, expected %u", r.esi, WRITES);
	for (uint32_t i = 0; i < WRITES; i++) {
		struct wp_regs q = {WPMON_HC_LOG_ENTRY, i, 0, 0, 0, 0};
		uint32_t w = WRITES - 1 - i;
		if (hc(&q) != TRAP_NONE || q.eax != WPMON_OK)
			return case_fail(c, "LOG_ENTRY %u failed (%x)", i, q.eax);
		if (q.ebx != gpa(&prot[w * 97]) || q.ecx != at[w] || q.edx != 0)
			return case_fail(c, "entry %u: GPA %x RIP %x CPU %u, expected %x %x 0", i,
			                 q.ebx, q.ecx, q.edx, gpa(&prot[w * 97]), at[w]);
	}
	struct wp_regs q = {WPMON_HC_LOG_ENTRY, WRITES, 0, 0, 0, 0};
	if (hc(&q) != TRAP_NONE || (int32_t)q.eax != WPMON_ERR_INVALID)
		return case_fail(c, "LOG_ENTRY past the kept entries -> %d", (int32_t)q.eax);

	if ((e = call2(WPMON_HC_PROTECT, gpa(prot), PAGE)) != WPMON_ERR_OVERLAP)
		return case_fail(c, "PROTECT twice -> %d, expected OVERLAP", e);
	/* An ADD to memory: stepped with the monitor trap flag, or (none: Bochs)
	 * the range released. Either way logged, and the sum lands. */
	uint32_t add_at = add_to(&prot[100], 5);
	struct wp_regs r1 = {WPMON_HC_LOG, 0, 0, 0, 0, 0};
	if (hc(&r1) != TRAP_NONE || r1.ebx != WRITES + 1 || r1.ecx != gpa(&prot[100]) ||
	    r1.edx != add_at || r1.edi > 1 || prot[100] != 5)
		return case_fail(
		    c,
		    "ADD: log %u writes, last %x RIP %x (expected %x %x), %u released, "
		    "value %u",
		    r1.ebx, r1.ecx, r1.edx, gpa(&prot[100]), add_at, r1.edi, prot[100]);
	e = call2(WPMON_HC_UNPROTECT, gpa(prot), 0);
	if (e != (r1.edi ? WPMON_ERR_NOT_FOUND : WPMON_OK))
		return case_fail(c, "UNPROTECT -> %d (%u released)", e, r1.edi);
	if ((e = call2(WPMON_HC_UNPROTECT, gpa(prot), 0)) != WPMON_ERR_NOT_FOUND)
		return case_fail(c, "UNPROTECT twice -> %d, expected NOT_FOUND", e);
	(void)store(&prot[3], 0x77u);
	struct wp_regs r2 = {WPMON_HC_LOG, 0, 0, 0, 0, 0};
	if (hc(&r2) != TRAP_NONE || r2.ebx != WRITES + 1 || prot[3] != 0x77u)
		return case_fail(c, "after UNPROTECT: log %u writes, value %x", r2.ebx, prot[3]);
	runner_info("wpmon: ADD logged, %u range(s) released", r1.edi);
	runner_info("wpmon: %u writes logged at %x, last RIP %x", r.ebx, r.ecx, r.edx);
	return CASE_PASS;
}

enum case_result case_wpmon_errors(struct case_ctx *c)
{
	const char *why = why_unavailable();
	if (why)
		return case_skip(c, "%s", why);
	static const struct {
		uint32_t start, len;
		int32_t want;
		const char *what;
	} bad[] = {
	    {0, 0, WPMON_ERR_ALIGN, "length 0"},
	    {0x200010u, PAGE, WPMON_ERR_ALIGN, "unaligned start"},
	    {0x200000u, 100, WPMON_ERR_ALIGN, "unaligned length"},
	    {0x200000u, WPMON_MAX_RANGE_BYTES + PAGE, WPMON_ERR_TOO_LARGE, "too large"},
	    {HV_REGION_BASE, PAGE, WPMON_ERR_RANGE, "hypervisor memory"},
	    {HV_REGION_BASE - PAGE, 2 * PAGE, WPMON_ERR_RANGE, "into hypervisor memory"},
	    {0xfee00000u, PAGE, WPMON_ERR_RANGE, "the LAPIC page"},
	    {0xfffff000u, 2 * PAGE, WPMON_ERR_RANGE, "wrapping"},
	};
	for (uint32_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int32_t e = call2(WPMON_HC_PROTECT, bad[i].start, bad[i].len);
		if (e != bad[i].want)
			return case_fail(c, "PROTECT %s (%x +%x) -> %d, expected %d", bad[i].what,
			                 bad[i].start, bad[i].len, e, bad[i].want);
	}
	int32_t e = call2(WPMON_HC_UNPROTECT, 0x200000u, 0);
	if (e != WPMON_ERR_NOT_FOUND)
		return case_fail(c, "UNPROTECT of nothing -> %d", e);
	struct wp_regs r = {WPMON_HC_LOG + 0x100u, 0, 0, 0, 0, 0};
	if (hc(&r) != VEC_UD)
		return case_fail(c, "an unknown function number did not raise #UD");
	return CASE_PASS;
}

struct ap_store {
	volatile uint32_t *p;
	uint32_t value, at;
};

static void ap_store(void *arg)
{
	struct ap_store *a = arg;
	a->at = store(a->p, a->value);
}

enum case_result case_wpmon_other_cpu(struct case_ctx *c)
{
	const char *why = why_unavailable();
	if (why)
		return case_skip(c, "%s", why);
	if (smp_ap_count() == 0)
		return case_skip(c, "no AP started");
	volatile uint32_t *prot = pages[0];
	struct ap_store a = {&prot[500], 0x11112222u, 0};
	if (!smp_call(1, ap_store, &a, 1000000))
		return case_fail(c, "CPU 1 did not run its first store");
	int32_t e = call2(WPMON_HC_LOG_CLEAR, 0, 0);
	if (e == WPMON_OK)
		e = call2(WPMON_HC_PROTECT, gpa(prot), PAGE);
	if (e != WPMON_OK)
		return case_fail(c, "LOG_CLEAR/PROTECT -> %d", e);
	a = (struct ap_store){&prot[501], 0x33334444u, 0};
	if (!smp_call(1, ap_store, &a, 1000000))
		return case_fail(c, "CPU 1 did not run its second store");
	struct wp_regs r = {WPMON_HC_LOG_ENTRY, 0, 0, 0, 0, 0};
	uint32_t vec = hc(&r);
	struct wp_regs l = {WPMON_HC_LOG, 0, 0, 0, 0, 0};
	uint32_t vec2 = hc(&l);
	(void)call2(WPMON_HC_UNPROTECT, gpa(prot), 0);
	if (vec != TRAP_NONE || vec2 != TRAP_NONE || r.eax != WPMON_OK || l.ebx != 1)
		return case_fail(c, "log: %u writes (entry: %d)", l.ebx, (int32_t)r.eax);
	if (r.ebx != gpa(&prot[501]) || r.ecx != a.at || r.edx != 1)
		return case_fail(c, "logged GPA %x RIP %x CPU %u, expected %x %x 1", r.ebx, r.ecx,
		                 r.edx, gpa(&prot[501]), a.at);
	if (prot[500] != 0x11112222u || prot[501] != 0x33334444u)
		return case_fail(c, "values %x %x", prot[500], prot[501]);
	return CASE_PASS;
}

static uint32_t median(uint32_t *a, uint32_t n)
{
	for (uint32_t i = 1; i < n; i++) {
		uint32_t x = a[i], j = i;
		for (; j > 0 && a[j - 1] > x; j--)
			a[j] = a[j - 1];
		a[j] = x;
	}
	return a[n / 2];
}

static uint32_t timed_store(volatile uint32_t *p, uint32_t v)
{
	uint64_t t0 = rdtsc();
	(void)store(p, v);
	return (uint32_t)(rdtsc() - t0);
}

enum case_result case_wpmon_bench(struct case_ctx *c)
{
	const char *why = why_unavailable();
	if (why)
		return case_skip(c, "%s", why);
	uint32_t prot[REPS], plain[REPS];
	int32_t e = call2(WPMON_HC_PROTECT, gpa(pages[0]), PAGE);
	if (e != WPMON_OK)
		return case_fail(c, "PROTECT -> %d", e);
	for (uint32_t i = 0; i < REPS; i++) {
		prot[i] = timed_store(&pages[0][i], i);
		plain[i] = timed_store(&pages[1][i], i);
	}
	(void)call2(WPMON_HC_UNPROTECT, gpa(pages[0]), 0);
	con_printf("BENCH: wpmon_write ticks=%u\n", median(prot, REPS));
	con_printf("BENCH: wpmon_plain_write ticks=%u\n", median(plain, REPS));
	return CASE_PASS;
}

const struct test_case wpmon_cases[] = {
    {"smp", case_smp},
    {"wpmon_protect", case_wpmon_protect},
    {"wpmon_errors", case_wpmon_errors},
    {"wpmon_other_cpu", case_wpmon_other_cpu},
    {"wpmon_bench", case_wpmon_bench},
};
const uint32_t wpmon_case_count = sizeof(wpmon_cases) / sizeof(wpmon_cases[0]);
