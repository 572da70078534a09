/*
 * micro-TPM smoke image: BearSSL and the micro-TPM in the freestanding image,
 * no VMX. Seeds from RDSEED/RDRAND, sets up the canary and SSE, then checks a
 * seal/unseal round trip, unseal after a PCR change (must fail with
 * PCR_MISMATCH) and after a flipped bit (TAMPERED), and prints a quote as
 * "hv: utpm-quote name=HEX" lines for the host's quote_verify.
 */
#include <stdint.h>

#include "apps/trustvisor/utpm/utpm.h"
#include "apps/trustvisor/utpm/utpm_entropy.h"
#include "apps/trustvisor/utpm/utpm_runtime.h"
#include "hw/hw.h"
#include "rt/console.h"
#include "rt/multiboot.h"
#include "rt/panic.h"
#include "rt/percpu.h"
#include "rt/power.h"
#include "rt/string.h"

#define SECRET     "sealed by the utpm smoke image"
#define SECRET_LEN (sizeof(SECRET) - 1)

static struct utpm_hv hv;
static struct utpm_pal pal;

static void check(enum utpm_status got, enum utpm_status want, const char *what)
{
	if (got != want)
		hv_panic("utpm smoke: %s: %s, expected %s", what, utpm_status_name(got),
		         utpm_status_name(want));
	hv_printf("hv: utpm smoke: %s: %s\n", what, utpm_status_name(got));
}

static void print_hex(const char *prefix, const char *name, const uint8_t *p, size_t n)
{
	char hex[2 * UTPM_PUBKEY_SIZE + 1];
	size_t i;

	for (i = 0; i < n && 2 * i + 2 < sizeof(hex); i++)
		hv_snprintf(hex + 2 * i, 3, "%02x", p[i]);
	hex[2 * i] = '\0';
	hv_printf("hv: %s%s=%s\n", prefix, name, hex);
}

/* Fixed bytes when the CPU has no RNG: fine for a smoke test, never for TrustVisor. */
static void entropy(uint8_t *out, size_t n, const char *what)
{
	if (utpm_entropy_collect(out, n) == UTPM_OK)
		return;
	hv_printf("hv: utpm smoke: WARNING no RDSEED/RDRAND, fixed %s\n", what);
	for (size_t i = 0; i < n; i++)
		out[i] = (uint8_t)(0xa5 ^ (i * 13));
}

void hv_main(const struct mb_info *mbi)
{
	uint8_t seed[48], canary[8], m[UTPM_DIGEST_SIZE], blob[UTPM_BLOB_SIZE(SECRET_LEN)], out[64],
	    sig[UTPM_SIG_SIZE], pub[UTPM_PUBKEY_SIZE], v[UTPM_DIGEST_SIZE], id[UTPM_DIGEST_SIZE];
	static const uint8_t nonce[20] = "utpm smoke nonce 01";
	struct utpm_pcr_policy pol;
	size_t blob_len, out_len, len;
	uint64_t c;

	(void)mbi;
	uint32_t src = utpm_entropy_sources();
	hv_printf("hv: utpm smoke: entropy sources:%s%s\n",
	          (src & UTPM_ENTROPY_RDSEED) ? " RDSEED" : "",
	          (src & UTPM_ENTROPY_RDRAND) ? " RDRAND" : "");
	entropy(canary, sizeof(canary), "canary");
	memcpy(&c, canary, sizeof(c));
	check(utpm_runtime_init_cpu(this_cpu_index(), c), UTPM_OK, "runtime init (FS base, SSE)");
	entropy(seed, sizeof(seed), "seed");

	uint64_t t0 = hw_rdtsc();
	check(utpm_hv_init(&hv, seed, sizeof(seed)), UTPM_OK, "hv init (DRBG, keys)");
	memset(id, 0x1d, sizeof(id)); /* a fixed PAL identity: no TrustVisor here */
	check(utpm_pal_init(&pal, id), UTPM_OK, "pal init");
	memset(m, 0x11, sizeof(m));
	check(utpm_extend(&pal, 0, m), UTPM_OK, "extend PCR0");
	memset(m, 0x22, sizeof(m));
	check(utpm_extend(&pal, 1, m), UTPM_OK, "extend PCR1");

	check(utpm_policy_current(&pal, 0x03, &pol), UTPM_OK, "policy PCR0+1");
	check(utpm_seal(&hv, &pal, &pol, SECRET, SECRET_LEN, blob, sizeof(blob), &blob_len),
	      UTPM_OK, "seal");
	check(utpm_unseal(&hv, &pal, blob, blob_len, out, sizeof(out), &out_len, NULL), UTPM_OK,
	      "unseal");
	if (out_len != SECRET_LEN || memcmp(out, SECRET, SECRET_LEN) != 0)
		hv_panic("utpm smoke: unsealed data differs");
	blob[UTPM_BLOB_HEADER_SIZE + 3] ^= 0x10;
	check(utpm_unseal(&hv, &pal, blob, blob_len, out, sizeof(out), &out_len, NULL),
	      UTPM_ERR_TAMPERED, "unseal of a flipped bit");
	blob[UTPM_BLOB_HEADER_SIZE + 3] ^= 0x10;

	check(utpm_quote(&hv, &pal, nonce, sizeof(nonce), 0x03, sig, sizeof(sig), &len, NULL),
	      UTPM_OK, "quote PCR0+1");
	check(utpm_get_pubkey(&hv, pub, sizeof(pub), &len), UTPM_OK, "public key");
	print_hex("utpm-quote ", "pubkey", pub, sizeof(pub));
	print_hex("utpm-quote ", "pal", id, sizeof(id));
	print_hex("utpm-quote ", "nonce", nonce, sizeof(nonce));
	print_hex("utpm-quote ", "sig", sig, sizeof(sig));
	for (uint32_t i = 0; i < 2; i++) {
		char name[8];
		hv_snprintf(name, sizeof(name), "pcr%u", i);
		utpm_pcr_read(&pal, i, v);
		print_hex("utpm-quote ", name, v, sizeof(v));
	}

	memset(m, 0x33, sizeof(m));
	check(utpm_extend(&pal, 1, m), UTPM_OK, "extend PCR1 again");
	check(utpm_unseal(&hv, &pal, blob, blob_len, out, sizeof(out), &out_len, NULL),
	      UTPM_ERR_PCR_MISMATCH, "unseal after the PCR change");

	check(utpm_get_random(&hv, out, 16), UTPM_OK, "random");
	print_hex("utpm smoke: ", "random", out, 16);
	hv_printf("hv: utpm smoke: crypto took %llu TSC ticks\n",
	          (unsigned long long)(hw_rdtsc() - t0));
	hv_printf("hv: utpm smoke ok\n");
	hv_power_off(0);
}

void hv_ap_main(uint32_t cpu)
{
	hv_panic("the utpm smoke image starts no APs (CPU %u)", cpu);
}
