/*
 * TrustVisor guest library (tv_guest.h). Guest code: inline assembly is the
 * point here (VMCALL, and a call that follows the PAL calling convention).
 */
#include "apps/trustvisor/guest/tv_guest.h"

#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "apps/trustvisor/tv_errors.h"

int64_t tv_vmcall(uint32_t fn, uint64_t a1, uint64_t a2, uint64_t a3, uint64_t a4, uint64_t a5)
{
	return tv_vmcall_inline(fn, a1, a2, a3, a4, a5);
}

int64_t tv_quote_key(uint8_t out[TV_QUOTE_KEY_SIZE])
{
	return tv_vmcall(TV_HC_QUOTE_KEY, (uint64_t)(uintptr_t)out, TV_QUOTE_KEY_SIZE, 0, 0, 0);
}

int64_t tv_pal_identity(const void *entry, uint8_t out[TV_IDENTITY_SIZE])
{
	return tv_vmcall(TV_HC_PAL_IDENTITY, (uint64_t)(uintptr_t)out, TV_IDENTITY_SIZE,
	                 (uint64_t)(uintptr_t)entry, 0, 0);
}

int64_t tv_register(const struct tv_pal_desc *desc)
{
	return tv_vmcall(TV_HC_REGISTER, (uint64_t)(uintptr_t)desc, 0, 0, 0, 0);
}

int64_t tv_unregister(const void *entry)
{
	return tv_vmcall(TV_HC_UNREGISTER, (uint64_t)(uintptr_t)entry, 0, 0, 0, 0);
}

int64_t tv_call(const void *entry, const uint64_t *in, uint32_t nin, uint64_t *out, uint32_t nout,
                uint64_t *pal_ret)
{
	register uint64_t rdi __asm__("rdi") = (uint64_t)(uintptr_t)in;
	register uint64_t rsi __asm__("rsi") = nin;
	register uint64_t rdx __asm__("rdx") = (uint64_t)(uintptr_t)out;
	register uint64_t rcx __asm__("rcx") = nout;
	register uint64_t r8 __asm__("r8");
	register uint64_t r9 __asm__("r9");
	register uint64_t r10 __asm__("r10");
	register uint64_t r11 __asm__("r11");
	uint64_t rax;

	/*
	 * A plain call as far as the compiler knows (the hypervisor restores every
	 * register but RAX and RDX, a real call might not). The 128 bytes skip
	 * the red zone, which the pushed return address would clobber. `entry`
	 * is a register operand: a memory operand may be addressed relative to
	 * RSP (gcc -O1..-Os -fomit-frame-pointer does: `call *-0x8(%rsp)`),
	 * which the `sub` moves, so the call would jump through the wrong slot.
	 */
	__asm__ volatile("sub $128, %%rsp\n\t"
	                 "call *%[entry]\n\t"
	                 "add $128, %%rsp"
	                 : "=a"(rax), "+D"(rdi), "+S"(rsi), "+d"(rdx), "+c"(rcx), "=r"(r8),
	                   "=r"(r9), "=r"(r10), "=r"(r11)
	                 : [entry] "r"(entry)
	                 : "memory", "cc");
	if (pal_ret)
		*pal_ret = rdx;
	return (int64_t)rax;
}

static char no_hv_msg[128]; /* tv_pal_prepare's SIGILL message */

static void no_hypervisor(int sig)
{
	(void)sig;
	if (write(2, no_hv_msg, strlen(no_hv_msg)) < 0)
		_exit(2);
	_exit(2);
}

void tv_pal_prepare(const char *prog, void *params, size_t params_size, void *stack,
                    size_t stack_size)
{
	struct sigaction sa;

	snprintf(no_hv_msg, sizeof(no_hv_msg), "%s: no TrustVisor hypervisor (VMCALL raised #UD)\n",
	         prog);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = no_hypervisor;
	sigaction(SIGILL, &sa, NULL);
	if (mlockall(MCL_CURRENT | MCL_FUTURE) != 0) {
		char what[64];
		snprintf(what, sizeof(what), "%s: mlockall", prog);
		perror(what);
	}
	memset(params, 0, params_size);
	memset(stack, 0, stack_size);
}

const char *tv_strerror(int64_t s)
{
	return tv_err_name(s);
}
