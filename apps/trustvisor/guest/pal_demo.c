/*
 * pal_demo A B: registers a PAL that adds two 64-bit numbers, calls it with A
 * and B, prints "A + B = SUM", unregisters. Exit 0 only if every step worked;
 * 1 if a step failed; 2 if there is no TrustVisor hypervisor (VMCALL -> SIGILL).
 * Options: --fault (the PAL touches memory outside its sections: expect
 * TV_ERR_PAL_FAULT), --loop (the PAL never returns: expect TV_ERR_PAL_TIMEOUT).
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "apps/trustvisor/guest/tv_guest.h"

#define PAGE 4096

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
	if (nin < 2 || nout < 1)
		return -1;
	out[0] = in[0] + in[1];
	return 0;
}
__asm__(".pushsection pal_code,\"ax\",@progbits\n\t.subsection 1\n\t.balign 4096\n\t.popsection");

static uint8_t pal_params[PAGE] __attribute__((aligned(PAGE)));
static uint8_t pal_stack[4 * PAGE] __attribute__((aligned(PAGE)));

static void no_hypervisor(int sig)
{
	static const char msg[] = "pal_demo: no TrustVisor hypervisor (VMCALL raised #UD)\n";
	(void)sig;
	if (write(2, msg, sizeof(msg) - 1) < 0)
		_exit(2);
	_exit(2);
}

static int usage(void)
{
	fprintf(stderr, "usage: pal_demo A B [--fault|--loop]\n");
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

	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = no_hypervisor;
	sigaction(SIGILL, &sa, NULL);

	/* Every PAL page present, private (written once: no copy-on-write or
	 * zero page left) and locked, as registration requires. */
	if (mlockall(MCL_CURRENT | MCL_FUTURE) != 0)
		perror("pal_demo: mlockall");
	memset(pal_params, 0, sizeof(pal_params));
	memset(pal_stack, 0, sizeof(pal_stack));
	volatile uint8_t touch = *(volatile uint8_t *)(uintptr_t)pal_entry;
	(void)touch;

	struct tv_pal_desc d;
	memset(&d, 0, sizeof(d));
	d.version = TV_DESC_VERSION;
	d.nsections = 3;
	d.entry = (uint64_t)(uintptr_t)pal_entry;
	d.in_words = 3;
	d.out_words = 1;
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
