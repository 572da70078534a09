/*
 * Fuzz actions from ring 3 (fuzz64.h, ring3.h): TrustVisor's functions with
 * random descriptors and buffers, PAL calls, privileged instructions, VMX
 * instructions, port I/O (IOPL 0 or 3), reads and writes of supervisor memory,
 * the debug and unknown hypercalls; each from one of two user programs: one
 * in the kernel's address space (same CR3: TrustVisor's owner also needs the
 * ring to match), one in an address space of its own (another CR3).
 *
 * Each action runs one stub of the user code page (a few instruction bytes
 * and INT 0x81) and checks what came back against what the architecture and
 * the TrustVisor ABI (apps/trustvisor/README.md "Hypercalls") say:
 *  - privileged instructions, MSRs, CR/DR moves: #GP at CPL 3 before any VM
 *    exit (SDM Vol. 3C 26.1.1), except VMX instructions and GETSEC, which are
 *    #UD (VMX is hidden; the VM exits VMXON & co. make at CPL 3 must become #UD
 *    too); I/O: #GP unless IOPL = 3 (Vol. 1 19.5.1);
 *  - supervisor memory: #PF;
 *  - TrustVisor: REGISTER only of user pages from a descriptor in user memory;
 *    UNREGISTER, PAL_IDENTITY and calls only by the owner (same CR3 and ring),
 *    else TV_ERR_WRONG_PROCESS; QUOTE_KEY only into user memory; micro-TPM
 *    functions TV_ERR_NOT_IN_PAL; debug hypercalls refused (DEBUG_HC_ERROR).
 */
#include "apps/trustvisor/tv_hypercall.h"
#include "guest/layout.h"
#include "guest/pal64/cpu64.h"
#include "guest/pal64/fuzz64.h"
#include "guest/pal64/pal_code.h"
#include "guest/pal64/probe64.h"
#include "guest/pal64/ring3.h"

#include <stddef.h>

void *memset(void *dst, int c, size_t n); /* guest/string.c */
void *memcpy(void *dst, const void *src, size_t n);

#define VEC_UD       6
#define VEC_GP       13
#define VEC_PF       14
#define PAL_MAGIC_32 0x50414c21u
#define HC_ERROR     0xffffffffu
#define STUB_SIZE    16u
#define USER_CODE    FUZZ_PAGE(FUZZ_USER_FIRST)
#define USER_DATA    FUZZ_PAGE(FUZZ_USER_FIRST + 1)
#define USER_STACK   FUZZ_PAGE(FUZZ_USER_FIRST + 4)

enum { X_NONE = 1, X_GP = 2, X_UD = 4, X_PF = 8 };

struct stub {
	const char *name;
	uint8_t len;
	uint8_t code[7];
	uint8_t expect; /* X_*: the vectors CPL 3 may get */
};

/* Each is followed by INT 0x81 on the page. */
static const struct stub stubs[] = {
#define S_VMCALL 0
    {"vmcall", 3, {0x0f, 0x01, 0xc1}, X_NONE},
#define S_CALL 1
    {"call r8", 3, {0x41, 0xff, 0xd0}, X_NONE},
#define S_IN 2
    {"in al,dx", 1, {0xec}, X_GP},
    {"in eax,dx", 1, {0xed}, X_GP},
    {"out dx,al", 1, {0xee}, X_GP},
    {"out dx,eax", 1, {0xef}, X_GP},
#define S_READ 6
    {"mov rax,[rax]", 3, {0x48, 0x8b, 0x00}, X_PF},
#define S_WRITE 7
    {"mov [rax],rbx", 3, {0x48, 0x89, 0x18}, X_PF},
#define S_PRIV 8
    {"rdmsr", 2, {0x0f, 0x32}, X_GP},
    {"wrmsr", 2, {0x0f, 0x30}, X_GP},
    {"mov cr0,rax", 3, {0x0f, 0x22, 0xc0}, X_GP},
    {"mov cr3,rax", 3, {0x0f, 0x22, 0xd8}, X_GP},
    {"mov cr4,rax", 3, {0x0f, 0x22, 0xe0}, X_GP},
    {"mov cr8,rax", 4, {0x44, 0x0f, 0x22, 0xc0}, X_GP},
    {"mov rax,cr0", 3, {0x0f, 0x20, 0xc0}, X_GP},
    {"mov dr7,rax", 3, {0x0f, 0x23, 0xf8}, X_GP},
    {"mov rax,dr6", 3, {0x0f, 0x21, 0xf0}, X_GP},
    {"invlpg [rax]", 3, {0x0f, 0x01, 0x38}, X_GP},
    {"invpcid rcx,[rax]", 5, {0x66, 0x0f, 0x38, 0x82, 0x08}, X_GP | X_UD},
    {"hlt", 1, {0xf4}, X_GP},
    {"cli", 1, {0xfa}, X_GP}, /* IOPL 0 here; the port actions use IOPL 3 too */
    {"lgdt [rax]", 3, {0x0f, 0x01, 0x10}, X_GP},
    {"wbinvd", 2, {0x0f, 0x09}, X_GP},
    {"invd", 2, {0x0f, 0x08}, X_GP},
    {"clts", 2, {0x0f, 0x06}, X_GP},
    {"swapgs", 3, {0x0f, 0x01, 0xf8}, X_GP},
    {"int 0x80", 2, {0xcd, 0x80}, X_GP}, /* gate DPL 0 < CPL */
    {"xsetbv", 3, {0x0f, 0x01, 0xd1}, X_GP | X_UD},
    {"rdpmc", 2, {0x0f, 0x33}, X_GP | X_NONE},
    {"monitor", 3, {0x0f, 0x01, 0xc8}, X_GP | X_UD},
    {"mwait", 3, {0x0f, 0x01, 0xc9}, X_GP | X_UD},
    {"cpuid", 2, {0x0f, 0xa2}, X_NONE},
#define S_VMX 30
    {"vmxon [rax]", 4, {0xf3, 0x0f, 0xc7, 0x30}, X_UD},
    {"vmxoff", 3, {0x0f, 0x01, 0xc4}, X_UD},
    {"vmlaunch", 3, {0x0f, 0x01, 0xc2}, X_UD},
    {"vmresume", 3, {0x0f, 0x01, 0xc3}, X_UD},
    {"vmptrld [rax]", 3, {0x0f, 0xc7, 0x30}, X_UD},
    {"vmclear [rax]", 4, {0x66, 0x0f, 0xc7, 0x30}, X_UD},
    {"vmread rcx,rax", 3, {0x0f, 0x78, 0xc1}, X_UD},
    {"vmwrite rax,rcx", 3, {0x0f, 0x79, 0xc1}, X_UD},
    {"invept rcx,[rax]", 5, {0x66, 0x0f, 0x38, 0x80, 0x08}, X_UD},
    {"invvpid rcx,[rax]", 5, {0x66, 0x0f, 0x38, 0x81, 0x08}, X_UD},
    {"vmfunc", 3, {0x0f, 0x01, 0xd4}, X_UD},
    {"getsec", 2, {0x0f, 0x37}, X_UD},
};
#define NSTUBS (sizeof(stubs) / sizeof(stubs[0]))
_Static_assert(NSTUBS *STUB_SIZE <= 4096, "one page");

static uint32_t run(uint32_t stub, uint32_t owner, struct ring3_regs *r, uint32_t iopl)
{
	r->rip = USER_CODE + stub * STUB_SIZE;
	if (!r->rsp)
		r->rsp = USER_STACK - 64;
	r->rflags = 0x2 | (uint64_t)iopl << 12;
	fz.r3_steps++;
	uint32_t vec =
	    ring3_run(r, owner == FUZZ_OWNER_U3 ? ring3_other_cr3() : ring3_kernel_cr3());
	fz.r3_faults += vec != PROBE_NONE;
	return vec;
}

static bool expected(uint32_t vec, uint32_t mask)
{
	uint32_t bit = vec == PROBE_NONE ? X_NONE
	               : vec == VEC_GP   ? X_GP
	               : vec == VEC_UD   ? X_UD
	               : vec == VEC_PF   ? X_PF
	                                 : 0;
	return bit & mask;
}

void fuzz_ring3_setup(void)
{
	uint8_t *page = (uint8_t *)(uintptr_t)USER_CODE;
	memset(page, 0xcc, 4096);
	for (uint32_t i = 0; i < NSTUBS; i++) {
		memcpy(page + i * STUB_SIZE, stubs[i].code, stubs[i].len);
		page[i * STUB_SIZE + stubs[i].len] = 0xcd; /* int 0x81 */
		page[i * STUB_SIZE + stubs[i].len + 1] = RING3_DONE_VEC;
	}
	fz.ring3 = ring3_setup();
}

uint32_t fuzz_ring3_hypercall(uint64_t h[6], uint32_t owner)
{
	struct ring3_regs r = {0};
	r.rax = h[0], r.rbx = h[1], r.rcx = h[2], r.rdx = h[3], r.rsi = h[4], r.rdi = h[5];
	uint32_t vec = run(S_VMCALL, owner, &r, 0);
	h[0] = r.rax, h[1] = r.rbx, h[2] = r.rcx, h[3] = r.rdx, h[4] = r.rsi, h[5] = r.rdi;
	return vec;
}

/* A VMCALL from ring 3; false (after a failure line) if the vector is not the expected one. */
static bool hc(uint64_t h[6], uint32_t owner, bool want_ud)
{
	uint32_t vec = fuzz_ring3_hypercall(h, owner);
	if (want_ud ? vec != VEC_UD : vec != PROBE_NONE) {
		fuzz_fail("ring-3 hypercall gave vector %u (expected %s)", vec,
		          want_ud ? "#UD" : "none");
		return false;
	}
	return !want_ud;
}

static bool in_user_pages(uint64_t gva, uint64_t size)
{
	return gva >= FUZZ_ARENA && size <= FUZZ_ARENA_PAGES * 4096ull &&
	       gva + size <= FUZZ_ARENA + FUZZ_ARENA_PAGES * 4096ull;
}

static bool owns(uint32_t i, uint32_t owner)
{
	return fz.tracked[i] && fz.owner[i] == owner;
}

static void r3_register(uint32_t owner)
{
	static struct tv_pal_desc d;
	bool patterned;
	fuzz_random_desc(&d, &patterned);
	if (fuzz_chance(2)) {
		/* Well formed, on user pages: registers unless the pages or slots are taken. */
		static const uint32_t kinds[] = {TV_SEC_CODE, TV_SEC_PARAMS, TV_SEC_STACK,
		                                 TV_SEC_DATA};
		d.version = TV_DESC_VERSION;
		d.nsections = 3 + fuzz_below(2);
		d.in_words = fuzz_below(4);
		d.out_words = fuzz_below(4);
		for (uint32_t i = 0; i < 4; i++)
			d.sec[i] = (struct tv_section){
			    i ? FUZZ_PAGE(FUZZ_POOL_FIRST + fuzz_below(FUZZ_POOL_PAGES))
			      : FUZZ_PAGE(fuzz_chance(2) ? FUZZ_PAT_MAGIC
			                                 : fuzz_below(FUZZ_PATTERN_PAGES)),
			    4096, kinds[i], 0};
		d.entry = d.sec[0].gva;
		patterned = true;
	}
	uint64_t where = USER_DATA + 8 * fuzz_below(64);
	uint32_t how = fuzz_below(8);
	if (how == 0)
		where = (uint64_t)(uintptr_t)&d; /* a supervisor page: never read from ring 3 */
	else if (how == 1)
		where = fuzz_value64();
	if (how >= 2)
		memcpy((void *)(uintptr_t)where, &d, sizeof(d));
	fuzz_note("ring3 owner=%u register desc@%llx n=%u entry=%llx s0=%llx+%llx s1=%llx+%llx "
	          "s2=%llx+%llx",
	          owner, (unsigned long long)where, d.nsections, (unsigned long long)d.entry,
	          (unsigned long long)d.sec[0].gva, (unsigned long long)d.sec[0].size,
	          (unsigned long long)d.sec[1].gva, (unsigned long long)d.sec[1].size,
	          (unsigned long long)d.sec[2].gva, (unsigned long long)d.sec[2].size);
	uint64_t h[6] = {TV_HC_REGISTER, where, fuzz_value64(), 0, 0, 0};
	if (!hc(h, owner, !fz.tv))
		return;
	int64_t st = (int64_t)h[0];
	if (!fuzz_status_ok(st)) {
		fuzz_fail("status %lld out of range", (long long)st);
		return;
	}
	if (st != TV_OK)
		return;
	if (how < 2 && !in_user_pages(where, sizeof(d)))
		fuzz_fail("registered from a descriptor at %llx, not user memory",
		          (unsigned long long)where);
	for (uint32_t i = 0; i < d.nsections && i < TV_MAX_SECTIONS; i++)
		if (!in_user_pages(d.sec[i].gva, d.sec[i].size))
			fuzz_fail("ring 3 registered section %u at %llx: supervisor pages", i,
			          (unsigned long long)d.sec[i].gva);
	fz.r3_registered++;
	fuzz_track(&d, patterned, owner);
}

/* Unregister: a tracked PAL (any owner), the canary (ring 0's), or anything. */
static void r3_unregister(uint32_t owner)
{
	uint32_t i = fuzz_below(FUZZ_MAX_TRACKED), which = fuzz_below(4);
	uint64_t entry = which == 0   ? fuzz_canary_entry()
	                 : which == 1 ? fuzz_value64()
	                              : fz.tracked[i];
	bool mine = which >= 2 && owns(i, owner);
	fuzz_note("ring3 owner=%u unregister %llx (tracked owner %u)", owner,
	          (unsigned long long)entry, which >= 2 ? fz.owner[i] : 9u);
	uint64_t h[6] = {TV_HC_UNREGISTER, entry, 0, 0, 0, 0};
	if (!hc(h, owner, !fz.tv))
		return;
	int64_t st = (int64_t)h[0];
	if (!fuzz_status_ok(st))
		fuzz_fail("status %lld out of range", (long long)st);
	else if (which == 0 && fz.canary && st != TV_ERR_WRONG_PROCESS)
		fuzz_fail("ring 3 unregistering the kernel's canary PAL: %lld (want WRONG_PROCESS)",
		          (long long)st);
	else if (which >= 2 && entry && !mine && st == TV_OK)
		fuzz_fail("ring 3 (owner %u) unregistered a PAL of owner %u", owner, fz.owner[i]);
	if (entry && (mine || st == TV_ERR_NOT_REGISTERED) && which >= 2)
		fuzz_untrack(entry);
}

/* Quote key: 65 bytes into user memory only; PAL identity: the owner's only. */
static void r3_key_identity(uint32_t owner)
{
	bool key = fuzz_chance(2), user_buf = fuzz_chance(2);
	uint64_t buf = user_buf ? USER_DATA + 2048 + fuzz_below(1024)
	                        : (fuzz_chance(2) ? (uint64_t)(uintptr_t)&fz : fuzz_value64());
	uint64_t cap = fuzz_chance(8) ? fuzz_value64() : 64 + fuzz_below(8);
	uint32_t i = fuzz_below(FUZZ_MAX_TRACKED);
	bool canary = fuzz_chance(2) || !fz.tracked[i];
	uint64_t entry = canary ? fuzz_canary_entry() : fz.tracked[i];
	uint64_t h[6] = {key ? TV_HC_QUOTE_KEY : TV_HC_PAL_IDENTITY, buf, cap, entry, 0, 0};
	fuzz_note("ring3 owner=%u %s buf=%llx cap=%llx entry=%llx", owner,
	          key ? "quote_key" : "pal_identity", (unsigned long long)buf,
	          (unsigned long long)cap, (unsigned long long)entry);
	if (!hc(h, owner, !fz.tv))
		return;
	int64_t st = (int64_t)h[0];
	int64_t size = key ? TV_QUOTE_KEY_SIZE : TV_IDENTITY_SIZE;
	if (st != size && !fuzz_status_ok(st))
		fuzz_fail("status %lld out of range", (long long)st);
	else if (st == size && !in_user_pages(buf, (uint64_t)size))
		fuzz_fail("written into %llx, not user memory", (unsigned long long)buf);
	else if (key && user_buf && cap >= TV_QUOTE_KEY_SIZE && st != size)
		fuzz_fail("quote key into user memory refused: %lld", (long long)st);
	else if (!key && canary && fz.canary && st != TV_ERR_WRONG_PROCESS && st != TV_ERR_INVALID)
		fuzz_fail("the kernel's canary PAL's identity to ring 3: %lld", (long long)st);
	else if (!key && !canary && !owns(i, owner) && st == size)
		fuzz_fail("identity of owner %u's PAL given to owner %u", fz.owner[i], owner);
}

/* A call: of a tracked pattern PAL (the owner's must answer, others' are WRONG_PROCESS),
 * or of the canary, whose code is on a supervisor page (#PF before anything). */
static void r3_call(uint32_t owner)
{
	uint32_t i = fuzz_below(FUZZ_MAX_TRACKED);
	for (uint32_t k = 0; k < FUZZ_MAX_TRACKED && !fz.patterned[i]; k++)
		i = (i + 1) % FUZZ_MAX_TRACKED;
	bool canary = fuzz_chance(4) || !fz.patterned[i];
	if (canary && !fz.canary)
		return;
	uint64_t entry = canary ? fuzz_canary_entry() : fz.patterned[i];
	struct ring3_regs r = {0};
	uint64_t *in = (uint64_t *)(uintptr_t)(USER_DATA + 3072);
	for (uint32_t k = 0; k < 64; k++)
		in[k] = fuzz_value64();
	r.r8 = entry;
	r.rdi = USER_DATA + 3072;
	r.rsi = canary ? 0 : fuzz_below(fz.words[i][0] + 1);
	r.rdx = USER_DATA + 3584;
	r.rcx = canary ? 0 : fuzz_below(fz.words[i][1] + 1);
	r.rsp = USER_STACK - 8 * (1 + fuzz_below(16));
	uint32_t pattern = canary ? 0 : FUZZ_PATTERN_OF(entry);
	fuzz_note("ring3 owner=%u call %llx (%s, owner %u, pattern %u) nin=%llu nout=%llu", owner,
	          (unsigned long long)entry, canary ? "canary" : "tracked",
	          canary ? 0u : fz.owner[i], pattern, (unsigned long long)r.rsi,
	          (unsigned long long)r.rcx);
	uint32_t vec = run(S_CALL, owner, &r, 0);
	if (canary) {
		if (vec != VEC_PF)
			fuzz_fail("call of a supervisor page from ring 3: vector %u (want #PF)",
			          vec);
		return;
	}
	fz.tv_calls++;
	int64_t st = (int64_t)r.rax;
	if (vec != PROBE_NONE)
		fuzz_fail("PAL call from ring 3 raised vector %u (rip %llx)", vec,
		          (unsigned long long)r.fault_rip);
	else if (!fuzz_status_ok(st))
		fuzz_fail("PAL call status %lld out of range", (long long)st);
	else if (!owns(i, owner) && st != TV_ERR_WRONG_PROCESS)
		fuzz_fail("call of owner %u's PAL from owner %u: %lld", fz.owner[i], owner,
		          (long long)st);
	else if (pattern == FUZZ_PAT_MAGIC && st == TV_OK && (uint32_t)r.rdx != PAL_MAGIC_32)
		fuzz_fail("magic PAL returned %llx", (unsigned long long)r.rdx);
	else if (FUZZ_PAT_FAULTS(pattern) && st == TV_OK)
		fuzz_fail("faulting PAL (pattern %u) returned TV_OK", pattern);
	fz.r3_calls_ok += st == TV_OK;
	fz.tv_calls_ok += st == TV_OK;
}

/* Micro-TPM functions (NOT_IN_PAL), debug hypercalls (refused at CPL 3), unknown (#UD). */
static void r3_other_hc(uint32_t owner)
{
	uint32_t kind = fuzz_below(3);
	uint64_t h[6] = {0, fuzz_value64(), fuzz_value64(), fuzz_value64(), 0, 0};
	if (kind == 0)
		h[0] = TV_HC_PCR_READ + fuzz_below(6);
	else if (kind == 1)
		h[0] = FUZZ_HC_DEBUG_BASE + fuzz_below(8);
	else
		h[0] = 0x54560020u + fuzz_below(0x20);
	fuzz_note("ring3 owner=%u hypercall %llx", owner, (unsigned long long)h[0]);
	bool want_ud = kind == 2 || (kind == 0 && !fz.tv) || (kind == 1 && !fz.hv);
	if (!hc(h, owner, want_ud))
		return;
	if (kind == 0 && (int64_t)h[0] != TV_ERR_NOT_IN_PAL)
		fuzz_fail("micro-TPM function from ring 3 outside a PAL: %lld", (long long)h[0]);
	if (kind == 1 && (uint32_t)h[0] != HC_ERROR)
		fuzz_fail("debug hypercall from ring 3 answered %x", (uint32_t)h[0]);
}

/* Privileged and VMX instructions, port I/O (IOPL 0: #GP; 3: allowed), supervisor memory. */
static void r3_insn(uint32_t owner)
{
	struct ring3_regs r = {0};
	uint32_t s = fuzz_below(NSTUBS - S_IN) + S_IN, iopl = 0, mask = stubs[s].expect;
	r.rax = fuzz_value64();
	r.rbx = fuzz_value64();
	r.rcx = fuzz_value64();
	r.rdx = fuzz_value64();
	if (s < S_READ) {
		iopl = fuzz_chance(2) ? 3 : 0;
		r.rdx = fuzz_draw_port();
		if (r.rdx == 0x70)
			r.rax &= 0x7f;
		if (iopl == 3)
			mask = X_NONE;
	} else if (s == S_READ || s == S_WRITE) {
		static const uint64_t sup[] = {HV_REGION_BASE, 0xfee00000ull, 0xfee00080ull,
		                               0x100000ull,    PAL64_BASE,    0};
		r.rax = fuzz_chance(2) ? fuzz_pick(sup, 6)
		                       : HV_REGION_BASE + fuzz_below(HV_REGION_SIZE);
	} else if (s >= S_VMX) {
		/* The VM exit comes before any access of the operand (SDM Vol. 3C 26.1.3). */
		r.rax = fuzz_chance(2) ? USER_DATA : (uint64_t)(uintptr_t)&fz;
	} else {
		/* A user page for the memory operands: the #GP for CPL 3 is then the only fault. */
		r.rax = USER_DATA;
	}
	fuzz_note("ring3 owner=%u %s iopl=%u rax=%llx rcx=%llx rdx=%llx", owner, stubs[s].name,
	          iopl, (unsigned long long)r.rax, (unsigned long long)r.rcx,
	          (unsigned long long)r.rdx);
	uint32_t vec = run(s, owner, &r, iopl);
	if (!expected(vec, mask))
		fuzz_fail("ring 3 %s: vector %u (rip %llx)", stubs[s].name, vec,
		          (unsigned long long)r.fault_rip);
}

void fuzz_act_ring3(void)
{
	if (!fz.ring3)
		return;
	uint32_t owner = fuzz_chance(2) ? FUZZ_OWNER_K3 : FUZZ_OWNER_U3;
	switch (fuzz_below(10)) {
	case 0:
	case 1:
		r3_register(owner);
		break;
	case 2:
		r3_unregister(owner);
		break;
	case 3:
		r3_key_identity(owner);
		break;
	case 4:
	case 5:
		r3_call(owner);
		break;
	case 6:
		r3_other_hc(owner);
		break;
	default:
		r3_insn(owner);
		break;
	}
}
