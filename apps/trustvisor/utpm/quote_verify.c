/*
 * quote_verify: checks a micro-TPM quote outside the hypervisor.
 *
 *   quote_verify [-f FILE] pubkey=HEX pal=HEX nonce=HEX sig=HEX [pcrN=HEX ...]
 *
 * pubkey: the 65-byte uncompressed P-256 point from utpm_get_pubkey; pal: the
 * 32-byte identity of the PAL the verifier expects (TrustVisor's measurement
 * of it, apps/trustvisor/README.md "PAL identity"; //apps/trustvisor:pal_identity
 * computes it from the PAL's ELF): a quote made by any other PAL fails; nonce:
 * the challenge; sig: the 64-byte raw signature (r | s); pcrN (N = 0..7): the value
 * of each quoted PCR, which also gives the selection. FILE holds the same
 * name=HEX words, separated by blanks or newlines ('#' starts a comment); words
 * on the command line come after the file's and override them.
 *
 * The tool recomputes the composite digest and utpm_quote_hash exactly as the
 * hypervisor does (utpm_digest.c) and verifies the ECDSA signature. Exit status:
 * 0 valid, 1 invalid (the reason on stderr), 2 usage or input errors.
 */
#include <bearssl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "apps/trustvisor/utpm/utpm_digest.h"

#define EXIT_VALID   0
#define EXIT_INVALID 1
#define EXIT_USAGE   2
#define WORD_MAX     512

struct quote_input {
	uint8_t pubkey[UTPM_PUBKEY_SIZE];
	uint8_t identity[UTPM_DIGEST_SIZE];
	uint8_t nonce[UTPM_NONCE_MAX];
	size_t nonce_len;
	uint8_t sig[UTPM_SIG_SIZE];
	uint8_t pcr[UTPM_PCR_COUNT][UTPM_DIGEST_SIZE];
	uint8_t select;
	bool have_pubkey, have_identity, have_nonce, have_sig;
};

static void usage(void)
{
	fprintf(
	    stderr,
	    "usage: quote_verify [-f FILE] pubkey=HEX pal=HEX nonce=HEX sig=HEX [pcrN=HEX ...]\n"
	    "exit 0 if the quote is valid, 1 if not (reason printed), 2 on bad input\n");
}

static int hex_digit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Decodes hex into out[0..cap); returns the byte count or -1 (odd length, bad
 * digit, longer than cap). */
static long decode_hex(const char *s, uint8_t *out, size_t cap)
{
	size_t n = strlen(s);
	if (n % 2 != 0 || n / 2 > cap)
		return -1;
	for (size_t i = 0; i < n / 2; i++) {
		int hi = hex_digit(s[2 * i]), lo = hex_digit(s[2 * i + 1]);
		if (hi < 0 || lo < 0)
			return -1;
		out[i] = (uint8_t)(hi << 4 | lo);
	}
	return (long)(n / 2);
}

/* Decodes exactly `want` bytes; prints why not. */
static bool decode_exact(const char *name, const char *hex, uint8_t *out, size_t want)
{
	uint8_t buf[WORD_MAX];
	long n = decode_hex(hex, buf, sizeof(buf));
	if (n < 0) {
		fprintf(stderr, "quote_verify: %s: not an even-length hex string\n", name);
		return false;
	}
	if ((size_t)n != want) {
		fprintf(stderr, "quote_verify: %s: %ld bytes, expected %zu\n", name, n, want);
		return false;
	}
	memcpy(out, buf, want);
	return true;
}

static bool take_word(struct quote_input *q, const char *word)
{
	const char *eq = strchr(word, '=');
	if (eq == NULL) {
		fprintf(stderr, "quote_verify: \"%s\" is not name=HEX\n", word);
		return false;
	}
	size_t nlen = (size_t)(eq - word);
	const char *hex = eq + 1;
	if (nlen == 6 && strncmp(word, "pubkey", 6) == 0) {
		q->have_pubkey = decode_exact("pubkey", hex, q->pubkey, UTPM_PUBKEY_SIZE);
		return q->have_pubkey;
	}
	if (nlen == 3 && strncmp(word, "pal", 3) == 0) {
		q->have_identity = decode_exact("pal", hex, q->identity, UTPM_DIGEST_SIZE);
		return q->have_identity;
	}
	if (nlen == 3 && strncmp(word, "sig", 3) == 0) {
		q->have_sig = decode_exact("sig", hex, q->sig, UTPM_SIG_SIZE);
		return q->have_sig;
	}
	if (nlen == 5 && strncmp(word, "nonce", 5) == 0) {
		long n = decode_hex(hex, q->nonce, sizeof(q->nonce));
		if (n < UTPM_NONCE_MIN) {
			fprintf(stderr, "quote_verify: nonce: need %d..%d bytes of hex\n",
			        UTPM_NONCE_MIN, UTPM_NONCE_MAX);
			return false;
		}
		q->nonce_len = (size_t)n;
		q->have_nonce = true;
		return true;
	}
	if (nlen == 4 && strncmp(word, "pcr", 3) == 0 && word[3] >= '0' &&
	    word[3] < '0' + UTPM_PCR_COUNT) {
		unsigned i = (unsigned)(word[3] - '0');
		char name[8];
		snprintf(name, sizeof(name), "pcr%u", i);
		if (!decode_exact(name, hex, q->pcr[i], UTPM_DIGEST_SIZE))
			return false;
		q->select |= (uint8_t)(1u << i);
		return true;
	}
	fprintf(stderr,
	        "quote_verify: unknown name in \"%s\" (pubkey, pal, nonce, sig, pcr0..pcr%d)\n",
	        word, UTPM_PCR_COUNT - 1);
	return false;
}

static bool read_file(struct quote_input *q, const char *path)
{
	FILE *f = fopen(path, "r");
	char word[WORD_MAX];
	size_t len = 0;
	bool ok = true, comment = false;
	int c;

	if (f == NULL) {
		perror(path);
		return false;
	}
	do {
		c = fgetc(f);
		if (c == '#')
			comment = true;
		if (c == '\n')
			comment = false;
		if (c == EOF || c == ' ' || c == '\t' || c == '\n' || c == '\r' || comment) {
			if (len > 0) {
				word[len] = '\0';
				ok = ok && take_word(q, word);
				len = 0;
			}
			continue;
		}
		if (len + 1 >= sizeof(word)) {
			fprintf(stderr, "quote_verify: %s: word longer than %d characters\n", path,
			        WORD_MAX - 1);
			ok = false;
			break;
		}
		word[len++] = (char)c;
	} while (c != EOF);
	fclose(f);
	return ok;
}

static void print_hex(FILE *f, const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		fprintf(f, "%02x", p[i]);
}

/* A point is usable if it decodes and lies on P-256: multiplying it by 1 makes
 * BearSSL decode and check it. */
static bool pubkey_on_curve(const uint8_t *pub)
{
	uint8_t g[UTPM_PUBKEY_SIZE];
	static const uint8_t one[1] = {1};

	memcpy(g, pub, sizeof(g));
	return br_ec_p256_m31.mul(g, sizeof(g), one, sizeof(one), BR_EC_secp256r1) == 1;
}

int main(int argc, char **argv)
{
	struct quote_input q;
	uint8_t composite[UTPM_DIGEST_SIZE], hash[UTPM_DIGEST_SIZE];
	int i = 1;

	memset(&q, 0, sizeof(q));
	if (argc > 1 && (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0)) {
		usage();
		return EXIT_USAGE;
	}
	if (argc > 2 && strcmp(argv[1], "-f") == 0) {
		if (!read_file(&q, argv[2]))
			return EXIT_USAGE;
		i = 3;
	}
	for (; i < argc; i++) {
		if (!take_word(&q, argv[i])) {
			usage();
			return EXIT_USAGE;
		}
	}
	if (!q.have_pubkey || !q.have_identity || !q.have_nonce || !q.have_sig) {
		fprintf(stderr, "quote_verify: missing%s%s%s%s\n", q.have_pubkey ? "" : " pubkey",
		        q.have_identity ? "" : " pal", q.have_nonce ? "" : " nonce",
		        q.have_sig ? "" : " sig");
		usage();
		return EXIT_USAGE;
	}

	utpm_composite_digest(q.select, q.pcr, composite);
	utpm_quote_hash(q.identity, composite, q.nonce, q.nonce_len, hash);
	printf("pal ");
	print_hex(stdout, q.identity, sizeof(q.identity));
	printf(", selection 0x%02x, composite ", q.select);
	print_hex(stdout, composite, sizeof(composite));
	printf("\n");

	if (q.pubkey[0] != 0x04 || !pubkey_on_curve(q.pubkey)) {
		fprintf(stderr,
		        "quote INVALID: the public key is not an uncompressed P-256 point\n");
		return EXIT_INVALID;
	}
	br_ec_public_key pk = {
	    .curve = BR_EC_secp256r1,
	    .q = q.pubkey,
	    .qlen = sizeof(q.pubkey),
	};
	if (br_ecdsa_i31_vrfy_raw(&br_ec_p256_m31, hash, sizeof(hash), &pk, q.sig, sizeof(q.sig)) !=
	    1) {
		fprintf(stderr,
		        "quote INVALID: the signature does not match this key over this PAL "
		        "identity, these PCR values and nonce\n");
		return EXIT_INVALID;
	}
	printf("quote valid\n");
	return EXIT_VALID;
}
