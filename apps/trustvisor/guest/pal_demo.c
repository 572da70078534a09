/*
 * pal_demo A B: registers a PAL that adds two 64-bit numbers, calls it with A
 * and B, prints "A + B = SUM", unregisters. Exit 0 only if every step worked;
 * 1 if a step failed; 2 if there is no TrustVisor hypervisor (VMCALL -> SIGILL).
 * Options: --fault (the PAL touches memory outside its sections: expect
 * TV_ERR_PAL_FAULT), --loop (the PAL never returns: expect TV_ERR_PAL_TIMEOUT),
 * --fpu (x87/SSE isolation: the PAL must start with zeroed XMM registers and
 * the default MXCSR / x87 control word whatever the caller left, and the
 * caller must find its own XMM0-XMM15, MXCSR and FCW after the call whatever
 * the PAL left; prints "pal_demo: fpu isolation ok").
 */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "apps/trustvisor/guest/tv_guest.h"

#define PAGE 4096

/* --fpu: what the caller loads before the call, and what the PAL leaves. */
#define CALLER_MXCSR 0x3f80u /* round down, exceptions masked */
#define CALLER_FCW   0x027fu /* 53-bit precision */
#define INIT_MXCSR   0x1f80u /* power-on / XRSTOR init values (SDM Vol. 1 13.6) */
#define INIT_FCW     0x037fu
#define PAL_MXCSR    0x7f80u /* round toward zero */
#define PAL_FCW      0x007fu /* 24-bit precision */

/*
 * The PAL: alone in the page-aligned section pal_code, padded to a whole page
 * by the .balign below (subsection 1 is laid out after the compiler's code in
 * subsection 0, whatever order the compiler emits them in). It may touch only
 * its own sections.
 */
__attribute__((section("pal_code"), aligned(PAGE), used, noinline)) long
pal_entry(uint64_t *in, uint64_t nin, uint64_t *out, uint64_t nout)
{
	if (nin == 3 && in[2] == 1) /* --fault: read outside the PAL */
		return *(volatile long *)(uintptr_t)in[0];
	if (nin == 3 && in[2] == 2) /* --loop */
		for (;;)
			__asm__ volatile("");
	if (nin == 3 && in[2] == 3 && nout >= 4) {
		/*
		 * --fpu: report what the PAL starts with (the OR of XMM0-XMM15,
		 * MXCSR, FCW) before any compiler code could touch them, then leave
		 * a secret in every XMM register and non-default control words.
		 */
		uint64_t x[2];
		uint32_t mxcsr, pal_mxcsr = PAL_MXCSR;
		uint16_t fcw, pal_fcw = PAL_FCW;
		__asm__ volatile("por %%xmm1, %%xmm0\n\tpor %%xmm2, %%xmm0\n\t"
		                 "por %%xmm3, %%xmm0\n\tpor %%xmm4, %%xmm0\n\t"
		                 "por %%xmm5, %%xmm0\n\tpor %%xmm6, %%xmm0\n\t"
		                 "por %%xmm7, %%xmm0\n\tpor %%xmm8, %%xmm0\n\t"
		                 "por %%xmm9, %%xmm0\n\tpor %%xmm10, %%xmm0\n\t"
		                 "por %%xmm11, %%xmm0\n\tpor %%xmm12, %%xmm0\n\t"
		                 "por %%xmm13, %%xmm0\n\tpor %%xmm14, %%xmm0\n\t"
		                 "por %%xmm15, %%xmm0\n\tmovdqu %%xmm0, %0\n\t"
		                 "stmxcsr %1\n\tfnstcw %2"
		                 : "=m"(x), "=m"(mxcsr), "=m"(fcw)::"xmm0");
		__asm__ volatile("pcmpeqd %%xmm0, %%xmm0\n\tmovdqa %%xmm0, %%xmm1\n\t"
		                 "movdqa %%xmm0, %%xmm2\n\tmovdqa %%xmm0, %%xmm3\n\t"
		                 "movdqa %%xmm0, %%xmm4\n\tmovdqa %%xmm0, %%xmm5\n\t"
		                 "movdqa %%xmm0, %%xmm6\n\tmovdqa %%xmm0, %%xmm7\n\t"
		                 "movdqa %%xmm0, %%xmm8\n\tmovdqa %%xmm0, %%xmm9\n\t"
		                 "movdqa %%xmm0, %%xmm10\n\tmovdqa %%xmm0, %%xmm11\n\t"
		                 "movdqa %%xmm0, %%xmm12\n\tmovdqa %%xmm0, %%xmm13\n\t"
		                 "movdqa %%xmm0, %%xmm14\n\tmovdqa %%xmm0, %%xmm15\n\t"
		                 "ldmxcsr %0\n\tfldcw %1" ::"m"(pal_mxcsr),
		                 "m"(pal_fcw)
		                 : "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7",
		                   "xmm8", "xmm9", "xmm10", "xmm11", "xmm12", "xmm13", "xmm14",
		                   "xmm15");
		out[0] = x[0];
		out[1] = x[1];
		out[2] = mxcsr;
		out[3] = fcw;
		return 0;
	}
	if (nin < 2 || nout < 1)
		return -1;
	out[0] = in[0] + in[1];
	return 0;
}
__asm__(".pushsection pal_code,\"ax\",@progbits\n\t.subsection 1\n\t.balign 4096\n\t.popsection");

static uint8_t pal_params[PAGE] __attribute__((aligned(PAGE)));
static uint8_t pal_stack[4 * PAGE] __attribute__((aligned(PAGE)));

/* XMMi of the --fpu pattern, qword j: distinct, never zero. */
static uint64_t pattern(unsigned i, unsigned j)
{
	return 0x0123456789abcdefull ^ ((uint64_t)(i * 2 + j + 1) * 0x1111111111111111ull);
}

/* --fpu: the caller's side, in memory. */
struct fpu_regs {
	uint64_t after[16][2]; /* XMM0-XMM15 after the call */
	uint64_t pattern[16][2];
	uint32_t mxcsr; /* after the call */
	uint16_t fcw;
};

/*
 * --fpu: one asm block from loading the pattern to reading it back, so no
 * compiler code runs between them. The call itself is tv_call()'s (System V
 * registers, the red zone skipped before anything is pushed; `r` is pushed
 * because a real call could clobber the register holding it).
 */
static int64_t fpu_call(const uint64_t *in, uint64_t *out, struct fpu_regs *r)
{
	uint32_t caller_mxcsr = CALLER_MXCSR;
	uint16_t caller_fcw = CALLER_FCW;
	register uint64_t rdi __asm__("rdi") = (uint64_t)(uintptr_t)in;
	register uint64_t rsi __asm__("rsi") = 3;
	register uint64_t rdx __asm__("rdx") = (uint64_t)(uintptr_t)out;
	register uint64_t rcx __asm__("rcx") = 4;
	register uint64_t r8 __asm__("r8");
	register uint64_t r9 __asm__("r9");
	register uint64_t r10 __asm__("r10");
	register uint64_t r11 __asm__("r11");
	uint64_t rax;

	__asm__ volatile(
	    "ldmxcsr %[mx]\n\tfldcw %[cw]\n\t"
	    "movdqu 0x100(%[r]), %%xmm0\n\tmovdqu 0x110(%[r]), %%xmm1\n\t"
	    "movdqu 0x120(%[r]), %%xmm2\n\tmovdqu 0x130(%[r]), %%xmm3\n\t"
	    "movdqu 0x140(%[r]), %%xmm4\n\tmovdqu 0x150(%[r]), %%xmm5\n\t"
	    "movdqu 0x160(%[r]), %%xmm6\n\tmovdqu 0x170(%[r]), %%xmm7\n\t"
	    "movdqu 0x180(%[r]), %%xmm8\n\tmovdqu 0x190(%[r]), %%xmm9\n\t"
	    "movdqu 0x1a0(%[r]), %%xmm10\n\tmovdqu 0x1b0(%[r]), %%xmm11\n\t"
	    "movdqu 0x1c0(%[r]), %%xmm12\n\tmovdqu 0x1d0(%[r]), %%xmm13\n\t"
	    "movdqu 0x1e0(%[r]), %%xmm14\n\tmovdqu 0x1f0(%[r]), %%xmm15\n\t"
	    "sub $128, %%rsp\n\t"
	    "push %[r]\n\t"
	    "call *%[entry]\n\t"
	    "pop %[r]\n\t"
	    "add $128, %%rsp\n\t"
	    "movdqu %%xmm0, 0x00(%[r])\n\tmovdqu %%xmm1, 0x10(%[r])\n\t"
	    "movdqu %%xmm2, 0x20(%[r])\n\tmovdqu %%xmm3, 0x30(%[r])\n\t"
	    "movdqu %%xmm4, 0x40(%[r])\n\tmovdqu %%xmm5, 0x50(%[r])\n\t"
	    "movdqu %%xmm6, 0x60(%[r])\n\tmovdqu %%xmm7, 0x70(%[r])\n\t"
	    "movdqu %%xmm8, 0x80(%[r])\n\tmovdqu %%xmm9, 0x90(%[r])\n\t"
	    "movdqu %%xmm10, 0xa0(%[r])\n\tmovdqu %%xmm11, 0xb0(%[r])\n\t"
	    "movdqu %%xmm12, 0xc0(%[r])\n\tmovdqu %%xmm13, 0xd0(%[r])\n\t"
	    "movdqu %%xmm14, 0xe0(%[r])\n\tmovdqu %%xmm15, 0xf0(%[r])\n\t"
	    "stmxcsr 0x200(%[r])\n\tfnstcw 0x204(%[r])"
	    : "=a"(rax), "+D"(rdi), "+S"(rsi), "+d"(rdx), "+c"(rcx), "=r"(r8), "=r"(r9), "=r"(r10),
	      "=r"(r11)
	    : [entry] "b"(pal_entry), [r] "r"(r), [mx] "m"(caller_mxcsr), [cw] "m"(caller_fcw)
	    : "memory", "cc", "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7",
	      "xmm8", "xmm9", "xmm10", "xmm11", "xmm12", "xmm13", "xmm14", "xmm15");
	return (int64_t)rax;
}
_Static_assert(offsetof(struct fpu_regs, pattern) == 0x100 &&
                   offsetof(struct fpu_regs, mxcsr) == 0x200 &&
                   offsetof(struct fpu_regs, fcw) == 0x204,
               "fpu_call's offsets");

/* --fpu: the whole check; 0 and "fpu isolation ok" only if both sides held. */
static int fpu_check(void)
{
	uint64_t in[3] = {0, 0, 3}, out[4] = {0};
	struct fpu_regs r;
	int bad = 0;

	memset(&r, 0, sizeof(r));
	for (unsigned i = 0; i < 16; i++)
		for (unsigned j = 0; j < 2; j++)
			r.pattern[i][j] = pattern(i, j);
	int64_t s = fpu_call(in, out, &r);
	if (s != TV_OK) {
		fprintf(stderr, "pal_demo: fpu: PAL call failed: %s (%lld)\n", tv_strerror(s),
		        (long long)s);
		return 1;
	}
	if (out[0] || out[1] || out[2] != INIT_MXCSR || out[3] != INIT_FCW) {
		printf("pal_demo: fpu: the PAL started with XMM0|..|XMM15 = 0x%016llx%016llx, "
		       "MXCSR 0x%llx, FCW 0x%llx (want 0, 0x%x, 0x%x)\n",
		       (unsigned long long)out[1], (unsigned long long)out[0],
		       (unsigned long long)out[2], (unsigned long long)out[3], INIT_MXCSR,
		       INIT_FCW);
		bad = 1;
	}
	for (unsigned i = 0; i < 16; i++)
		if (r.after[i][0] != r.pattern[i][0] || r.after[i][1] != r.pattern[i][1]) {
			printf("pal_demo: fpu: caller XMM%u after the call 0x%016llx%016llx\n", i,
			       (unsigned long long)r.after[i][1],
			       (unsigned long long)r.after[i][0]);
			bad = 1;
		}
	if (r.mxcsr != CALLER_MXCSR || r.fcw != CALLER_FCW) {
		printf(
		    "pal_demo: fpu: caller MXCSR 0x%x FCW 0x%x after the call (want 0x%x 0x%x)\n",
		    r.mxcsr, r.fcw, CALLER_MXCSR, CALLER_FCW);
		bad = 1;
	}
	if (!bad)
		printf("pal_demo: fpu isolation ok\n");
	return bad;
}

static int usage(void)
{
	fprintf(stderr, "usage: pal_demo A B [--fault|--loop|--fpu]\n");
	return 1;
}

int main(int argc, char **argv)
{
	uint64_t mode = 0;
	if (argc < 3 || argc > 4)
		return usage();
	if (argc == 4) {
		if (strcmp(argv[3], "--fault") == 0)
			mode = 1;
		else if (strcmp(argv[3], "--loop") == 0)
			mode = 2;
		else if (strcmp(argv[3], "--fpu") == 0)
			mode = 3;
		else
			return usage();
	}
	char *end;
	errno = 0;
	uint64_t a = strtoull(argv[1], &end, 0);
	if (errno || *end)
		return usage();
	uint64_t b = strtoull(argv[2], &end, 0);
	if (errno || *end)
		return usage();

	/* Every PAL page present, private and locked, as registration requires. */
	tv_pal_prepare("pal_demo", pal_params, sizeof(pal_params), pal_stack, sizeof(pal_stack));
	volatile uint8_t touch = *(volatile uint8_t *)(uintptr_t)pal_entry;
	(void)touch;

	struct tv_pal_desc d;
	memset(&d, 0, sizeof(d));
	d.version = TV_DESC_VERSION;
	d.nsections = 3;
	d.entry = (uint64_t)(uintptr_t)pal_entry;
	d.in_words = 3;
	d.out_words = 4;
	d.sec[0] = (struct tv_section){(uint64_t)(uintptr_t)pal_entry, PAGE, TV_SEC_CODE, 0};
	d.sec[1] = (struct tv_section){(uint64_t)(uintptr_t)pal_params, PAGE, TV_SEC_PARAMS, 0};
	d.sec[2] =
	    (struct tv_section){(uint64_t)(uintptr_t)pal_stack, sizeof(pal_stack), TV_SEC_STACK, 0};

	int64_t r = tv_register(&d);
	if (r != TV_OK) {
		fprintf(stderr, "pal_demo: register failed: %s (%lld)\n", tv_strerror(r),
		        (long long)r);
		return 1;
	}
	if (mode == 3) {
		int bad = fpu_check();
		int64_t u = tv_unregister((const void *)pal_entry);
		return bad || u != TV_OK ? 1 : 0;
	}
	uint64_t in[3] = {a, b, mode}, out[1] = {0}, pal_ret = 0;
	if (mode == 1)
		in[0] = (uint64_t)(uintptr_t)&d; /* the caller's stack: not the PAL's */
	r = tv_call((const void *)pal_entry, in, mode ? 3 : 2, out, 1, &pal_ret);
	int64_t u = tv_unregister((const void *)pal_entry);
	if (mode) {
		int64_t want = mode == 1 ? TV_ERR_PAL_FAULT : TV_ERR_PAL_TIMEOUT;
		printf("pal_demo: PAL call returned %s (expected %s)\n", tv_strerror(r),
		       tv_strerror(want));
		return r == want && u == TV_OK ? 0 : 1;
	}
	if (r != TV_OK || pal_ret != 0) {
		fprintf(stderr, "pal_demo: PAL call failed: %s (%lld), PAL returned %lld\n",
		        tv_strerror(r), (long long)r, (long long)pal_ret);
		return 1;
	}
	printf("%llu + %llu = %llu\n", (unsigned long long)a, (unsigned long long)b,
	       (unsigned long long)out[0]);
	if (u != TV_OK) {
		fprintf(stderr, "pal_demo: unregister failed: %s (%lld)\n", tv_strerror(u),
		        (long long)u);
		return 1;
	}
	return out[0] == a + b ? 0 : 1;
}
