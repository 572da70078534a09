/*
 * Micro-TPM hypercalls from inside a PAL (tv_hypercall.h), on apps/trustvisor/utpm.
 *
 * Buffers are the PAL's own memory, copied through per-CPU hypervisor buffers.
 * BearSSL uses SSE registers, so the guest's x87/SSE state (the PAL's own:
 * tv_fpu.c switched the caller's out at entry) is saved with XSAVE before and
 * restored after (utpm/README.md), XCR0 widened to x87|SSE for it (tv_fpu.c).
 * One lock serialises every call: seal and random change the DRBG.
 * Results: seal, unseal and quote return the output length (>= 0) in RAX, the
 * others TV_OK; errors are TV_ERR_INVALID (a buffer outside the PAL, a length
 * out of range) or TV_ERR_TPM (the micro-TPM refused, or is not ready).
 * TV_HC_QUOTE_KEY is the exception: the quote key is public, so any caller
 * (ring 3 or 0, in a PAL or not) may read it, and verifiers need it. So is
 * TV_HC_PAL_IDENTITY, from the PAL itself or from its owner.
 *
 * tv_utpm_measure takes a PAL's identity at registration (tv_identity.h) and
 * gives it to the PAL's micro-TPM state as its identity register.
 */
#include "apps/trustvisor/tv_identity.h"
#include "apps/trustvisor/tv_internal.h"
#include "apps/trustvisor/tv_platform.h"
#include "apps/trustvisor/utpm/utpm_entropy.h"
#include "apps/trustvisor/utpm/utpm_runtime.h"
#include "hw/hw.h"
#include "rt/console.h"
#include "rt/spinlock.h"
#include "rt/string.h"

#define XSTATE_X87_SSE 3ull
#define BUF_SIZE       (UTPM_SEAL_DATA_MAX + UTPM_BLOB_OVERHEAD)

_Static_assert(TV_QUOTE_KEY_SIZE == UTPM_PUBKEY_SIZE, "the ABI's key size is the micro-TPM's");
_Static_assert(TV_IDENTITY_SIZE == UTPM_DIGEST_SIZE, "an identity is a micro-TPM digest");

static struct utpm_hv hv;
static bool hv_ready;
/* BearSSL's runtime (canary block, SSE) is set up on this CPU. */
static bool runtime_ready[HV_MAX_CPUS];
static struct spinlock utpm_lock = SPINLOCK_INIT;

struct cpu_scratch {
	uint8_t xsave[1024] __attribute__((aligned(64)));
	uint8_t in[BUF_SIZE], out[BUF_SIZE];
};
static struct cpu_scratch scratch[HV_MAX_CPUS];

/* The console line a verifier can take the quote key from without a guest. */
static void print_quote_key(void)
{
	static const char digits[] = "0123456789abcdef";
	uint8_t key[UTPM_PUBKEY_SIZE];
	char hex[2 * UTPM_PUBKEY_SIZE + 1];
	size_t len;

	if (!hv_ready || utpm_get_pubkey(&hv, key, sizeof(key), &len) != UTPM_OK)
		return;
	for (size_t i = 0; i < len; i++) {
		hex[2 * i] = digits[key[i] >> 4];
		hex[2 * i + 1] = digits[key[i] & 15];
	}
	hex[2 * len] = '\0';
	hv_printf("hv: trustvisor: quote key %s\n", hex);
}

void tv_utpm_boot(struct vcpu *v)
{
	uint64_t canary = 0;
	uint8_t seed[32];

	if (utpm_entropy_collect((uint8_t *)&canary, sizeof(canary)) != UTPM_OK ||
	    utpm_runtime_init_cpu(vmx_vcpu_index(v), canary) != UTPM_OK) {
		hv_printf("hv: tv: cpu %u: no entropy for the micro-TPM runtime\n",
		          vmx_vcpu_index(v));
		return;
	}
	runtime_ready[vmx_vcpu_index(v)] = true;
	/* libvmx took the host state from the registers before this call; the
	 * runtime changed CR0, CR4 and the FS base. */
	vmx_host_state_refresh(v);
	if (!vmx_vcpu_is_boot(v))
		return;
	if (utpm_entropy_collect(seed, sizeof(seed)) == UTPM_OK &&
	    utpm_hv_init(&hv, seed, sizeof(seed)) == UTPM_OK)
		hv_ready = true;
	memset(seed, 0, sizeof(seed));
	hv_printf("hv: tv: micro-TPM %s\n", hv_ready ? "ready" : "unavailable (no entropy)");
	print_quote_key();
}

void tv_utpm_scrub(void)
{
	spin_lock(&utpm_lock);
	hv_ready = false;
	/* Globals: the stores cannot be optimised away. */
	memset(&hv, 0, sizeof(hv));
	memset(scratch, 0, sizeof(scratch));
	spin_unlock(&utpm_lock);
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

/*
 * Writes n bytes at the caller's gva (outside a PAL), as the caller itself
 * could: a user address and user pages from ring 3, writable, present, guest
 * RAM. Every page is checked before any byte is written, so an error leaves
 * the buffer untouched.
 */
static int64_t caller_write(struct vcpu *v, uint64_t gva, const void *src, size_t n)
{
	bool user = vcpu_cpl() == 3;
	unsigned acc = (user ? VMX_GW_USER : 0) | VMX_GW_WRITE;
	struct vmx_gw_ctx c;
	uint64_t gpa;

	if (gva == 0 || gva + n < gva || (user && gva + n > TV_USER_TOP))
		return TV_ERR_RANGE;
	tv_walk_ctx(v, &c, vmx_guest_cr3(v));
	for (uint64_t a = gva; a < gva + n; a = (a & ~(TV_PAGE - 1)) + TV_PAGE) {
		int rc = vmx_gw_translate(&c, a, acc, &gpa);
		if (rc == VMX_GW_OK && !tv_guest_page(gpa & ~(TV_PAGE - 1), true))
			return TV_ERR_RANGE; /* hypervisor memory, a PAL page, not RAM */
		if (rc == VMX_GW_ERR_NONCANONICAL || rc == VMX_GW_ERR_MEMORY)
			return TV_ERR_RANGE;
		/* A supervisor page from ring 3 is a range error, as in registration;
		 * a read-only or absent page is a fault. */
		if (rc == VMX_GW_ERR_PROTECTION && user &&
		    vmx_gw_translate(&c, a, VMX_GW_USER, &gpa) == VMX_GW_ERR_PROTECTION)
			return TV_ERR_RANGE;
		if (rc != VMX_GW_OK)
			return TV_ERR_FAULT;
	}
	return vmx_gw_write(&c, gva, src, n, acc) == VMX_GW_OK ? TV_OK : TV_ERR_FAULT;
}

static const void *code_page(void *arg, uint64_t gva)
{
	const struct tv_pal *pal = arg;
	for (uint32_t j = 0; j < pal->npages; j++)
		if (pal->page[j].gva == gva && pal->page[j].kind == TV_SEC_CODE)
			return hw_phys_ptr(pal->page[j].hpa);
	return NULL;
}

int64_t tv_utpm_measure(struct vcpu *v, struct tv_pal *pal)
{
	struct cpu_scratch *b = &scratch[vmx_vcpu_index(v)];
	uint8_t id[UTPM_DIGEST_SIZE];
	bool ok;

	if (!runtime_ready[vmx_vcpu_index(v)])
		return TV_ERR_TPM;
	/* The caller's x87/SSE registers are live: BearSSL's SHA-256 may use them. */
	tv_fpu_save(b->xsave, XSTATE_X87_SSE);
	ok = tv_identity_compute(&pal->desc, code_page, pal, id);
	tv_fpu_restore(b->xsave, XSTATE_X87_SSE);
	if (!ok || utpm_pal_init(&pal->utpm, id) != UTPM_OK)
		return TV_ERR_TPM;
	return TV_OK;
}

/* TV_HC_PAL_IDENTITY: RBX = output, RCX = capacity, RDX = entry (outside a
 * PAL); RAX = TV_IDENTITY_SIZE. */
static int64_t pal_identity(struct vcpu *v, struct tv_pal *pal, uint64_t gva, uint64_t cap,
                            uint64_t entry)
{
	uint8_t id[UTPM_DIGEST_SIZE];
	int64_t r;

	if (cap < sizeof(id))
		return TV_ERR_INVALID;
	if (pal) {
		/* Set before the PAL became callable, never changed: no lock. */
		utpm_pal_identity(&pal->utpm, id);
		return tv_pal_copy(pal, gva, id, sizeof(id), true) ? (int64_t)sizeof(id)
		                                                   : TV_ERR_INVALID;
	}
	tv_lock_acquire();
	struct tv_pal *p = tv_pal_of_caller(v, entry, &r);
	/* Being set up: not measured yet. */
	if (p)
		r = p->state == TV_PAL_READY && utpm_pal_identity(&p->utpm, id) == UTPM_OK
		        ? TV_OK
		        : TV_ERR_BUSY;
	tv_lock_release();
	if (r == TV_OK)
		r = caller_write(v, gva, id, sizeof(id));
	return r == TV_OK ? (int64_t)sizeof(id) : r;
}

/* TV_HC_QUOTE_KEY: RBX = output, RCX = capacity; RAX = UTPM_PUBKEY_SIZE. */
static int64_t quote_key(struct vcpu *v, struct tv_pal *pal, uint64_t gva, uint64_t cap)
{
	uint8_t key[UTPM_PUBKEY_SIZE];
	size_t len = 0;
	int64_t r;

	/* Read-only after utpm_hv_init and no BearSSL code runs: no lock, no XSAVE. */
	if (!hv_ready || utpm_get_pubkey(&hv, key, sizeof(key), &len) != UTPM_OK)
		return TV_ERR_TPM;
	if (cap < len)
		return TV_ERR_INVALID;
	if (pal)
		r = tv_pal_copy(pal, gva, key, len, true) ? TV_OK : TV_ERR_INVALID;
	else
		r = caller_write(v, gva, key, len);
	return r == TV_OK ? (int64_t)len : r;
}

int64_t tv_utpm_call(struct vcpu *v, uint32_t fn)
{
	struct tv_pal *pal = tv_call_of(vmx_vcpu_index(v))->pal;
	struct cpu_scratch *b = &scratch[vmx_vcpu_index(v)];
	uint64_t a[5] = {vcpu_gpr_read(v, GPR_RBX), vcpu_gpr_read(v, GPR_RCX),
	                 vcpu_gpr_read(v, GPR_RDX), vcpu_gpr_read(v, GPR_RSI),
	                 vcpu_gpr_read(v, GPR_RDI)};

	if (fn == TV_HC_QUOTE_KEY)
		return quote_key(v, pal, a[0], a[1]);
	if (fn == TV_HC_PAL_IDENTITY)
		return pal_identity(v, pal, a[0], a[1], a[2]);
	if (!pal)
		return TV_ERR_NOT_IN_PAL;
	if (!hv_ready)
		return TV_ERR_TPM;
	tv_fpu_save(b->xsave, XSTATE_X87_SSE);
	spin_lock(&utpm_lock);
	int64_t r = run(pal, b, fn, a);
	spin_unlock(&utpm_lock);
	tv_fpu_restore(b->xsave, XSTATE_X87_SSE);
	memset(b->in, 0, sizeof(b->in));
	memset(b->out, 0, sizeof(b->out));
	return r;
}
