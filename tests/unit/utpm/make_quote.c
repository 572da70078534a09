/*
 * Test helper for quote_verify_test.sh: a micro-TPM on the host (fixed seed)
 * extends a few PCRs and prints one quote as quote_verify's name=HEX words.
 *   make_quote NONCE_HEX SELECT [SEED_BYTE [ID_BYTE]]
 * SELECT: PCR mask, e.g. 0x05; SEED_BYTE (default 0x42) fills the DRBG seed, so
 * another value gives another quote key; ID_BYTE (default 0x1d) fills the
 * quoting PAL's identity, so another value is a quote by another PAL.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "apps/trustvisor/utpm/utpm.h"

static void put(const char *name, const uint8_t *p, size_t n)
{
	printf("%s=", name);
	for (size_t i = 0; i < n; i++)
		printf("%02x", p[i]);
	printf("\n");
}

int main(int argc, char **argv)
{
	struct utpm_hv hv;
	struct utpm_pal pal;
	uint8_t seed[UTPM_SEED_MIN], m[UTPM_DIGEST_SIZE], nonce[UTPM_NONCE_MAX], sig[UTPM_SIG_SIZE],
	    pub[UTPM_PUBKEY_SIZE], v[UTPM_DIGEST_SIZE], id[UTPM_DIGEST_SIZE];
	size_t nonce_len, len;

	if (argc < 3 || argc > 5 || strlen(argv[1]) % 2 != 0 ||
	    strlen(argv[1]) / 2 > sizeof(nonce)) {
		fprintf(stderr, "usage: make_quote NONCE_HEX SELECT [SEED_BYTE [ID_BYTE]]\n");
		return 2;
	}
	nonce_len = strlen(argv[1]) / 2;
	for (size_t i = 0; i < nonce_len; i++) {
		unsigned x;
		if (sscanf(argv[1] + 2 * i, "%2x", &x) != 1)
			return 2;
		nonce[i] = (uint8_t)x;
	}
	uint8_t select = (uint8_t)strtoul(argv[2], NULL, 0);

	memset(seed, argc >= 4 ? (int)strtoul(argv[3], NULL, 0) : 0x42, sizeof(seed));
	memset(id, argc == 5 ? (int)strtoul(argv[4], NULL, 0) : 0x1d, sizeof(id));
	if (utpm_hv_init(&hv, seed, sizeof(seed)) != UTPM_OK || utpm_pal_init(&pal, id) != UTPM_OK)
		return 1;
	for (uint32_t i = 0; i < UTPM_PCR_COUNT; i++) {
		memset(m, (int)(0x30 + i), sizeof(m));
		utpm_extend(&pal, i, m);
	}
	enum utpm_status st =
	    utpm_quote(&hv, &pal, nonce, nonce_len, select, sig, sizeof(sig), &len, NULL);
	if (st != UTPM_OK || utpm_get_pubkey(&hv, pub, sizeof(pub), &len) != UTPM_OK) {
		fprintf(stderr, "make_quote: %s\n", utpm_status_name(st));
		return 1;
	}
	put("pubkey", pub, sizeof(pub));
	put("pal", id, sizeof(id));
	put("nonce", nonce, nonce_len);
	put("sig", sig, sizeof(sig));
	for (uint32_t i = 0; i < UTPM_PCR_COUNT; i++) {
		if (select & (1u << i)) {
			char name[8];
			snprintf(name, sizeof(name), "pcr%u", i);
			utpm_pcr_read(&pal, i, v);
			put(name, v, sizeof(v));
		}
	}
	return 0;
}
