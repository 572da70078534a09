/*
 * Micro-TPM hypercalls from inside a PAL (tv_hypercall.h), on apps/trustvisor/utpm.
 *
 * Buffers are the PAL's own memory, copied through per-CPU hypervisor buffers.
 * BearSSL uses SSE registers, so the guest's x87/SSE state (the PAL's, which is
 * the caller's) is saved with XSAVE before and restored after (utpm/README.md).
 * One lock serialises every call: seal and random change the DRBG.
 * Results: seal, unseal and quote return the output length (>= 0) in RAX, the
 * others TV_OK; errors are TV_ERR_INVALID (a buffer outside the PAL, a length
 * out of range) or TV_ERR_TPM (the micro-TPM refused, or is not ready).
 */
#include "apps/trustvisor/tv_internal.h"
#include "apps/trustvisor/utpm/utpm_entropy.h"
#include "apps/trustvisor/utpm/utpm_runtime.h"
#include "hw/hw.h"
#include "rt/console.h"
#include "rt/spinlock.h"
#include "rt/string.h"

#define XSTATE_X87_SSE 3ull
#define BUF_SIZE       (UTPM_SEAL_DATA_MAX + UTPM_BLOB_OVERHEAD)

static struct utpm_hv hv;
static bool hv_ready;
static struct spinlock utpm_lock = SPINLOCK_INIT;

struct cpu_scratch {
	uint8_t xsave[1024] __attribute__((aligned(64)));
	uint8_t in[BUF_SIZE], out[BUF_SIZE];
};
static struct cpu_scratch scratch[HV_MAX_CPUS];

void tv_utpm_boot(struct vcpu *v)
{
	uint64_t canary = 0;
	uint8_t seed[32];

	if (utpm_entropy_collect((uint8_t *)&canary, sizeof(canary)) != UTPM_OK ||
	    utpm_runtime_init_cpu(v->cpu, canary) != UTPM_OK) {
		hv_printf("hv: tv: cpu %u: no entropy for the micro-TPM runtime\n", v->cpu);
		return;
	}
	/* libvmx took the host state from the registers before this call. */
	vmcs_writenat(VMCS_HOST_CR0, hw_read_cr0());
	vmcs_writenat(VMCS_HOST_CR4, hw_read_cr4());
	vmcs_writenat(VMCS_HOST_FS_BASE, hw_rdmsr(MSR_IA32_FS_BASE));
	if (!v->boot_cpu)
		return;
	if (utpm_entropy_collect(seed, sizeof(seed)) == UTPM_OK &&
	    utpm_hv_init(&hv, seed, sizeof(seed)) == UTPM_OK)
		hv_ready = true;
	memset(seed, 0, sizeof(seed));
	hv_printf("hv: tv: micro-TPM %s\n", hv_ready ? "ready" : "unavailable (no entropy)");
}

static int64_t status(enum utpm_status s, size_t len)
{
	return s == UTPM_OK ? (int64_t)len : TV_ERR_TPM;
}

static int64_t run(struct tv_pal *pal, struct cpu_scratch *b, uint32_t fn, const uint64_t *a)
{
	size_t len = 0;
	enum utpm_status s;

	switch (fn) {
	case TV_HC_PCR_READ:
		s = utpm_pcr_read(&pal->utpm, (uint32_t)a[0], b->out);
		if (s == UTPM_OK && !tv_pal_copy(pal, a[1], b->out, UTPM_DIGEST_SIZE, true))
			return TV_ERR_INVALID;
		return status(s, 0);
	case TV_HC_EXTEND:
		if (!tv_pal_copy(pal, a[1], b->in, UTPM_DIGEST_SIZE, false))
			return TV_ERR_INVALID;
		return status(utpm_extend(&pal->utpm, (uint32_t)a[0], b->in), 0);
	case TV_HC_SEAL: {
		struct utpm_pcr_policy policy;
		if (a[1] > UTPM_SEAL_DATA_MAX || !tv_pal_copy(pal, a[0], b->in, a[1], false))
			return TV_ERR_INVALID;
		s = utpm_policy_current(&pal->utpm, (uint8_t)a[4], &policy);
		if (s == UTPM_OK)
			s = utpm_seal(&hv, &pal->utpm, &policy, b->in, a[1], b->out,
			              a[3] < BUF_SIZE ? a[3] : BUF_SIZE, &len);
		break;
	}
	case TV_HC_UNSEAL:
		if (a[1] > BUF_SIZE || !tv_pal_copy(pal, a[0], b->in, a[1], false))
			return TV_ERR_INVALID;
		s = utpm_unseal(&hv, &pal->utpm, b->in, a[1], b->out,
		                a[3] < BUF_SIZE ? a[3] : BUF_SIZE, &len, NULL);
		break;
	case TV_HC_QUOTE:
		if (a[1] > UTPM_NONCE_MAX || !tv_pal_copy(pal, a[0], b->in, a[1], false))
			return TV_ERR_INVALID;
		s = utpm_quote(&hv, &pal->utpm, b->in, a[1], (uint8_t)a[4], b->out,
		               a[3] < BUF_SIZE ? a[3] : BUF_SIZE, &len, NULL);
		break;
	case TV_HC_GET_RANDOM:
		if (a[1] > UTPM_RANDOM_MAX)
			return TV_ERR_INVALID;
		s = utpm_get_random(&hv, b->out, a[1]);
		if (s == UTPM_OK && !tv_pal_copy(pal, a[0], b->out, a[1], true))
			return TV_ERR_INVALID;
		return status(s, 0);
	default:
		return TV_ERR_INVALID;
	}
	if (s != UTPM_OK)
		return TV_ERR_TPM;
	/* Output address in a[2]. */
	if (!tv_pal_copy(pal, a[2], b->out, len, true))
		return TV_ERR_INVALID;
	return (int64_t)len;
}

int64_t tv_utpm_call(struct vcpu *v, uint32_t fn)
{
	struct tv_pal *pal = tv_call_of(v->cpu)->pal;
	struct cpu_scratch *b = &scratch[v->cpu];
	uint64_t a[5] = {v->gpr[GPR_RBX], v->gpr[GPR_RCX], v->gpr[GPR_RDX], v->gpr[GPR_RSI],
	                 v->gpr[GPR_RDI]};

	if (!pal)
		return TV_ERR_NOT_IN_PAL;
	if (!hv_ready)
		return TV_ERR_TPM;
	hw_xsave(b->xsave, XSTATE_X87_SSE);
	spin_lock(&utpm_lock);
	int64_t r = run(pal, b, fn, a);
	spin_unlock(&utpm_lock);
	hw_xrstor(b->xsave, XSTATE_X87_SSE);
	memset(b->in, 0, sizeof(b->in));
	memset(b->out, 0, sizeof(b->out));
	return r;
}
