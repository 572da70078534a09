/*
 * pal_tpm SCENARIO ...: the micro-TPM through real hypercalls, from a PAL.
 *
 *   seal SECRETHEX [SEL]  seal to the PCRs in SEL (hex, default 07), unseal, a
 *                         flipped byte and an extended PCR make unseal fail;
 *                         then PAL identity: a blob sealed by this PAL (A),
 *                         to no PCR and to all 8, is refused to PAL B (other
 *                         code, same layout) and opens in A registered again
 *   quote NONCEHEX [SEL]  extend PCR 1 with the PAL's fixed measurement, quote
 *                         SEL (default 03, at most 4 PCRs) with the nonce;
 *                         prints the PAL's identity (TV_HC_PAL_IDENTITY from
 *                         inside the PAL and from its owner), which the quote
 *                         signs
 *   random N              N random bytes (1..232) twice: different, not all zero
 *   outside               micro-TPM hypercalls outside a PAL: TV_ERR_NOT_IN_PAL
 *
 * Every line for the boot test starts with "PALTPM: "; the last one is
 * "PALTPM: <scenario> PASS" (exit 0) or "... FAIL" (exit 1). Exit 2: no
 * TrustVisor (VMCALL raised #UD).
 *
 * Marshalling. The program cannot touch the PAL's pages between calls (that
 * scrubs the PAL), so everything passes through the 32 + 32 parameter words:
 * in[0] = operation, in[1] = PCR index or selection, in[2] = payload length,
 * in[3..31] = payload (IN_BYTES); out[0] = the hypercall's RAX, out[1..31] =
 * its output (OUT_BYTES). The PAL hands these parameter-section addresses to
 * the hypercalls directly (they are PAL memory), so it copies nothing. A
 * sealed blob (secret + 136 bytes) travels out and back in whole, hence a
 * secret of at most IN_BYTES - 136 = 96 bytes.
 *
 * Two PALs over the same params and stack pages: A (pal_entry, section
 * pal_code) and B (pal_entry_b, pal_code_b, the next page), the same function
 * over another measurement constant, so their code differs in its bytes (and
 * the code page's place relative to the others), and so does their identity.
 * A verifier computes A's identity from this ELF:
 *   pal_identity pal_tpm in=32 out=32 entry=pal_entry code=pal_entry:4096 \
 *       params=pal_params:4096 stack=pal_stack:16384
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "apps/trustvisor/guest/tv_guest.h"

#define PAGE           4096
#define IN_BYTES       (8 * (TV_MAX_WORDS - 3))
#define OUT_BYTES      (8 * (TV_MAX_WORDS - 1))
#define DIGEST         32
#define SIG            64
#define BLOB_EXTRA     136 /* utpm: 120-byte header + 16-byte tag */
#define MAX_QUOTED     4   /* sig + PCR 1 before + 4 PCRs fit OUT_BYTES */
#define MEASURED       1   /* the PCR the quote operation extends */
#define SECRET_MAX     (IN_BYTES - BLOB_EXTRA)
#define NONCE_MAX      64
#define PAL_SECTION(s) __attribute__((section(s), aligned(PAGE), used, noinline))

enum op {
	OP_SEAL = 1,
	OP_UNSEAL,
	OP_EXTEND,
	OP_PCR_READ,
	OP_QUOTE,
	OP_RANDOM,
	OP_QUOTE_KEY,
	OP_IDENTITY
};

/*
 * The PAL's fixed measurement, in its code section (readable by the PAL and
 * by the hypervisor's copy from it; read by the program only before
 * registration). Subsection 1 puts it after the PAL's code, then pads the
 * section to a whole page.
 */
extern const uint8_t pal_measurement[DIGEST], pal_measurement_b[DIGEST];
__asm__(".pushsection pal_code,\"ax\",@progbits\n\t.subsection 1\n"
        "pal_measurement:\n\t.ascii \"pal_tpm: PCR 1 quote measurement\"\n"
        "\t.balign 4096\n\t.popsection");
__asm__(".pushsection pal_code_b,\"ax\",@progbits\n\t.subsection 1\n"
        "pal_measurement_b:\n\t.ascii \"pal_tpm: PAL B's own measurement\"\n"
        "\t.balign 4096\n\t.popsection");

/*
 * The PAL: alone in its page-aligned section; it may touch only its own
 * sections and call nothing (tv_vmcall_inline and this body are inlined; no
 * switch, so no jump table in .rodata). Returns 0, or -1 for a malformed
 * request.
 */
static inline __attribute__((always_inline)) long
pal_body(uint64_t *in, uint64_t nin, uint64_t *out, uint64_t nout, const uint8_t *measurement)
{
	uint64_t payload = (uint64_t)(uintptr_t)&in[3], res = (uint64_t)(uintptr_t)&out[1];
	int64_t r;

	if (nin < 3 || nout < 1 || in[2] > IN_BYTES)
		return -1;
	uint64_t op = in[0], arg = in[1], len = in[2];
	if (op == OP_SEAL) {
		r = tv_vmcall_inline(TV_HC_SEAL, payload, len, res, OUT_BYTES, arg);
	} else if (op == OP_UNSEAL) {
		r = tv_vmcall_inline(TV_HC_UNSEAL, payload, len, res, OUT_BYTES, 0);
	} else if (op == OP_EXTEND) {
		r = tv_vmcall_inline(TV_HC_EXTEND, arg, payload, 0, 0, 0);
	} else if (op == OP_PCR_READ) {
		r = tv_vmcall_inline(TV_HC_PCR_READ, arg, res, 0, 0, 0);
	} else if (op == OP_RANDOM) {
		r = tv_vmcall_inline(TV_HC_GET_RANDOM, res, len, 0, 0, 0);
	} else if (op == OP_QUOTE_KEY) {
		r = tv_vmcall_inline(TV_HC_QUOTE_KEY, res, OUT_BYTES, 0, 0, 0);
	} else if (op == OP_IDENTITY) {
		r = tv_vmcall_inline(TV_HC_PAL_IDENTITY, res, OUT_BYTES, 0, 0, 0);
	} else if (op == OP_QUOTE) {
		/* out: signature | PCR 1 before the extend | the selected PCRs. */
		unsigned n = 0;
		for (unsigned i = 0; i < 8; i++)
			n += (arg >> i) & 1;
		if (arg > 0xff || n > MAX_QUOTED)
			return -1;
		uint64_t p = res + SIG;
		r = tv_vmcall_inline(TV_HC_PCR_READ, MEASURED, p, 0, 0, 0);
		if (r == TV_OK)
			r = tv_vmcall_inline(TV_HC_EXTEND, MEASURED,
			                     (uint64_t)(uintptr_t)measurement, 0, 0, 0);
		for (unsigned i = 0; i < 8 && r == TV_OK; i++) {
			if ((arg >> i) & 1) {
				p += DIGEST;
				r = tv_vmcall_inline(TV_HC_PCR_READ, i, p, 0, 0, 0);
			}
		}
		if (r == TV_OK)
			r = tv_vmcall_inline(TV_HC_QUOTE, payload, len, res, SIG, arg);
	} else {
		return -1;
	}
	out[0] = (uint64_t)r;
	return 0;
}

/* PAL A, the one every scenario uses. */
PAL_SECTION("pal_code") long pal_entry(uint64_t *in, uint64_t nin, uint64_t *out, uint64_t nout)
{
	return pal_body(in, nin, out, nout, pal_measurement);
}
__asm__(".pushsection pal_code,\"ax\",@progbits\n\t.subsection 1\n\t.balign 4096\n\t.popsection");

/* PAL B: the same layout, other code (the OS's PAL, in the seal scenario). */
PAL_SECTION("pal_code_b")
long pal_entry_b(uint64_t *in, uint64_t nin, uint64_t *out, uint64_t nout)
{
	return pal_body(in, nin, out, nout, pal_measurement_b);
}
__asm__(".pushsection pal_code_b,\"ax\",@progbits\n\t.subsection 1\n\t.balign 4096\n"
        "\t.popsection");

static uint8_t pal_params[PAGE] __attribute__((aligned(PAGE)));
static uint8_t pal_stack[4 * PAGE] __attribute__((aligned(PAGE)));
static bool failed;
static const char *scenario;
/* The registered PAL pal_op calls: pal_entry (A) or pal_entry_b (B). */
static const void *cur_entry;
/* pal_measurement, read before registration: afterwards any access by the
 * program to the PAL's code page would scrub and unregister the PAL. */
static uint8_t measurement[DIGEST];

static void check(bool ok, const char *what)
{
	printf("PALTPM: %s: %s\n", what, ok ? "ok" : "FAILED");
	failed |= !ok;
}

static void print_hex(const char *name, const uint8_t *p, size_t n)
{
	printf(" %s=", name);
	for (size_t i = 0; i < n; i++)
		printf("%02x", p[i]);
}

/* Decodes hex into out; the byte count, or -1 (odd, bad digit, > cap). */
static long parse_hex(const char *s, uint8_t *out, size_t cap)
{
	size_t n = strlen(s);
	if (n % 2 || n / 2 > cap)
		return -1;
	for (size_t i = 0; i < n / 2; i++) {
		unsigned x;
		char pair[3] = {s[2 * i], s[2 * i + 1], 0};
		char *end;
		x = (unsigned)strtoul(pair, &end, 16);
		if (*end || pair[0] == '+' || pair[0] == '-' || pair[0] == ' ')
			return -1;
		out[i] = (uint8_t)x;
	}
	return (long)(n / 2);
}

/* Registers the PAL at entry (pal_entry or pal_entry_b: the code page starts
 * there) over the same params and stack pages; pal_op calls it from now on. */
static int64_t pal_register(const void *entry)
{
	struct tv_pal_desc d;
	memset(&d, 0, sizeof(d));
	d.version = TV_DESC_VERSION;
	d.nsections = 3;
	d.entry = (uint64_t)(uintptr_t)entry;
	d.in_words = TV_MAX_WORDS;
	d.out_words = TV_MAX_WORDS;
	d.sec[0] = (struct tv_section){(uint64_t)(uintptr_t)entry, PAGE, TV_SEC_CODE, 0};
	d.sec[1] = (struct tv_section){(uint64_t)(uintptr_t)pal_params, PAGE, TV_SEC_PARAMS, 0};
	d.sec[2] =
	    (struct tv_section){(uint64_t)(uintptr_t)pal_stack, sizeof(pal_stack), TV_SEC_STACK, 0};
	cur_entry = entry;
	return tv_register(&d);
}

/*
 * One PAL call: returns the hypercall's result (RAX inside the PAL) and copies
 * res_len output bytes to res. A failed call itself (fault, timeout, bad
 * request) ends the program: nothing after it would mean anything.
 */
static int64_t pal_op(enum op op, uint64_t arg, const void *payload, size_t len, void *res,
                      size_t res_len)
{
	uint64_t in[TV_MAX_WORDS], out[TV_MAX_WORDS], pal_ret = 0;

	memset(in, 0, sizeof(in));
	memset(out, 0, sizeof(out));
	in[0] = op;
	in[1] = arg;
	in[2] = len;
	/* No payload (random): len is only the byte count asked for. */
	if (payload)
		memcpy(&in[3], payload, len);
	uint32_t nin = payload ? (uint32_t)(3 + (len + 7) / 8) : 3;
	int64_t s = tv_call(cur_entry, in, nin, out, TV_MAX_WORDS, &pal_ret);
	if (s != TV_OK || pal_ret != 0) {
		printf("PALTPM: PAL call (op %d) failed: %s, PAL returned %lld\n", (int)op,
		       tv_strerror(s), (long long)pal_ret);
		printf("PALTPM: %s FAIL\n", scenario);
		/* Hand the pages back now rather than leave the PAL to be scrubbed
		 * when the kernel reuses them after exit. */
		tv_unregister(cur_entry);
		exit(1);
	}
	if (res_len)
		memcpy(res, &out[1], res_len);
	return (int64_t)out[0];
}

static void seal(const uint8_t *secret, size_t n, uint8_t sel)
{
	uint8_t blob[IN_BYTES], back[OUT_BYTES], meas[DIGEST];
	size_t blen = n + BLOB_EXTRA;

	int64_t r = pal_op(OP_SEAL, sel, secret, n, blob, sizeof(blob));
	printf("PALTPM: seal sel=%02x len=%lld", sel, (long long)r);
	print_hex("secret", secret, n);
	print_hex("blob", blob, r > 0 && (size_t)r <= sizeof(blob) ? (size_t)r : 0);
	printf("\n");
	check(r == (int64_t)blen, "seal returns secret length + 136");
	r = pal_op(OP_UNSEAL, 0, blob, blen, back, sizeof(back));
	check(r == (int64_t)n && memcmp(back, secret, n) == 0, "unseal gives the secret back");

	/* A PCR outside the selection does not matter. */
	for (unsigned i = 0; i < DIGEST; i++)
		meas[i] = (uint8_t)(0x50 + i);
	unsigned other = 0;
	while (other < 8 && (sel >> other) & 1)
		other++;
	if (other < 8) {
		check(pal_op(OP_EXTEND, other, meas, DIGEST, NULL, 0) == TV_OK,
		      "extend an unselected PCR");
		r = pal_op(OP_UNSEAL, 0, blob, blen, back, sizeof(back));
		check(r == (int64_t)n && memcmp(back, secret, n) == 0,
		      "unseal after extending an unselected PCR");
	}

	/* Any changed byte: the AEAD tag no longer matches. */
	blob[BLOB_EXTRA - 16] ^= 0x01; /* the first ciphertext byte */
	r = pal_op(OP_UNSEAL, 0, blob, blen, back, sizeof(back));
	printf("PALTPM: unseal flipped blob -> %s\n", tv_strerror(r));
	check(r == TV_ERR_TPM, "unseal of a flipped blob is TV_ERR_TPM");
	blob[BLOB_EXTRA - 16] ^= 0x01;

	/* The lowest selected PCR changes: the blob is bound to the old value. */
	unsigned low = 0;
	while (!((sel >> low) & 1))
		low++;
	check(pal_op(OP_EXTEND, low, meas, DIGEST, NULL, 0) == TV_OK, "extend a selected PCR");
	r = pal_op(OP_UNSEAL, 0, blob, blen, back, sizeof(back));
	printf("PALTPM: unseal after extending PCR %u -> %s\n", low, tv_strerror(r));
	check(r == TV_ERR_TPM, "unseal after the extend is TV_ERR_TPM");

	/* Sealing still works under the new value. */
	r = pal_op(OP_SEAL, sel, secret, n, blob, sizeof(blob));
	int64_t u = pal_op(OP_UNSEAL, 0, blob, blen, back, sizeof(back));
	check(r == (int64_t)blen && u == (int64_t)n && memcmp(back, secret, n) == 0,
	      "seal and unseal under the new PCR value");
}

/*
 * The registered PAL's identity, asked from inside it (TV_HC_PAL_IDENTITY) and
 * by its owner (by entry point): both must agree. Printed as
 * "PALTPM: identity NAME pal=HEX" for the verifier, who computes it from this
 * ELF on its own.
 */
static void identity(const char *name, uint8_t id[DIGEST])
{
	uint8_t in_pal[OUT_BYTES], outside[DIGEST];

	memset(outside, 0, sizeof(outside)); /* a present, written page */
	int64_t r = pal_op(OP_IDENTITY, 0, NULL, 0, in_pal, sizeof(in_pal));
	int64_t o = tv_pal_identity(cur_entry, outside);
	printf("PALTPM: identity %s", name);
	print_hex("pal", outside, DIGEST);
	printf("\n");
	check(r == DIGEST && o == DIGEST && memcmp(in_pal, outside, DIGEST) == 0,
	      "identity from inside the PAL and from its owner agree");
	memcpy(id, outside, DIGEST);
}

/* Unregisters the current PAL and registers the one at entry. */
static bool switch_pal(const void *entry, const char *what)
{
	int64_t u = tv_unregister(cur_entry), r = pal_register(entry);
	if (u != TV_OK || r != TV_OK)
		printf("PALTPM: %s: unregister %s, register %s\n", what, tv_strerror(u),
		       tv_strerror(r));
	check(u == TV_OK && r == TV_OK, what);
	return u == TV_OK && r == TV_OK;
}

/*
 * PAL identity, as the OS would attack it: PAL A (freshly registered, PCRs
 * zero) seals to no PCR and to all 8; the OS registers PAL B (other code, the
 * same params and stack pages, PCRs zero too) and hands it the blobs: refused. A
 * registered again has the same identity and opens them.
 */
static void other_pal(const uint8_t *secret, size_t n)
{
	static const uint8_t sels[] = {0x00, 0xff};
	uint8_t blob[2][IN_BYTES], back[OUT_BYTES], id_a[DIGEST], id_b[DIGEST], again[DIGEST];
	size_t blen = n + BLOB_EXTRA;

	if (!switch_pal((const void *)pal_entry, "register PAL A afresh"))
		return;
	identity("A", id_a);
	for (size_t k = 0; k < 2; k++)
		check(pal_op(OP_SEAL, sels[k], secret, n, blob[k], sizeof(blob[k])) ==
		          (int64_t)blen,
		      "PAL A seals");
	if (!switch_pal((const void *)pal_entry_b, "register PAL B (other code)"))
		return;
	identity("B", id_b);
	check(memcmp(id_a, id_b, DIGEST) != 0, "PAL B's identity is not PAL A's");
	for (size_t k = 0; k < 2; k++) {
		int64_t r = pal_op(OP_UNSEAL, 0, blob[k], blen, back, sizeof(back));
		printf("PALTPM: PAL B unseal of PAL A's blob sel=%02x -> %s\n", sels[k],
		       tv_strerror(r));
		check(r == TV_ERR_TPM, "PAL B cannot unseal PAL A's blob");
	}
	if (!switch_pal((const void *)pal_entry, "register PAL A again"))
		return;
	identity("A-again", again);
	check(memcmp(again, id_a, DIGEST) == 0, "PAL A registered again has the same identity");
	for (size_t k = 0; k < 2; k++) {
		int64_t r = pal_op(OP_UNSEAL, 0, blob[k], blen, back, sizeof(back));
		printf("PALTPM: PAL A again unseal sel=%02x -> %lld\n", sels[k], (long long)r);
		check(r == (int64_t)n && memcmp(back, secret, n) == 0,
		      "PAL A registered again unseals its blob");
	}
}

static void quote(const uint8_t *nonce, size_t n, uint8_t sel)
{
	uint8_t key[TV_QUOTE_KEY_SIZE], pal_key[OUT_BYTES], res[OUT_BYTES], zero[DIGEST];
	unsigned count = 0;

	for (unsigned i = 0; i < 8; i++)
		count += (sel >> i) & 1;
	int64_t k = tv_quote_key(key);
	check(k == TV_QUOTE_KEY_SIZE && key[0] == 0x04, "quote key from outside the PAL");
	printf("PALTPM: quote key=");
	for (size_t i = 0; i < sizeof(key); i++)
		printf("%02x", key[i]);
	printf("\n");
	k = pal_op(OP_QUOTE_KEY, 0, NULL, 0, pal_key, sizeof(pal_key));
	check(k == TV_QUOTE_KEY_SIZE && memcmp(pal_key, key, sizeof(key)) == 0,
	      "the same key from inside the PAL");

	uint8_t id[DIGEST];
	identity("A", id);
	int64_t r = pal_op(OP_QUOTE, sel, nonce, n, res, sizeof(res));
	check(r == SIG, "quote returns a 64-byte signature");
	memset(zero, 0, sizeof(zero));
	check(memcmp(res + SIG, zero, DIGEST) == 0, "PCR 1 of a new PAL is zero");
	printf("PALTPM: quote");
	print_hex("measurement", measurement, DIGEST);
	print_hex("pcr1-before", res + SIG, DIGEST);
	printf("\n");
	printf("PALTPM: quote sel=%02x", sel);
	print_hex("nonce", nonce, n);
	print_hex("pcrs", res + SIG + DIGEST, count * DIGEST);
	print_hex("sig", res, SIG);
	printf("\n");
}

static void random_bytes(size_t n)
{
	uint8_t a[OUT_BYTES], b[OUT_BYTES], zero[OUT_BYTES];

	memset(zero, 0, sizeof(zero));
	check(pal_op(OP_RANDOM, 0, NULL, n, a, n) == TV_OK, "random, first");
	check(pal_op(OP_RANDOM, 0, NULL, n, b, n) == TV_OK, "random, second");
	printf("PALTPM: random n=%zu", n);
	print_hex("a", a, n);
	print_hex("b", b, n);
	printf("\n");
	check(memcmp(a, b, n) != 0, "the two draws differ");
	check(memcmp(a, zero, n) != 0 && memcmp(b, zero, n) != 0, "neither draw is all zero");
}

/* Outside a PAL: the micro-TPM refuses (even with good buffers), the key does not. */
static void outside(void)
{
	static const uint32_t fns[] = {TV_HC_PCR_READ, TV_HC_EXTEND, TV_HC_SEAL,
	                               TV_HC_UNSEAL,   TV_HC_QUOTE,  TV_HC_GET_RANDOM};
	static const char *const names[] = {"PCR_READ", "EXTEND", "SEAL",
	                                    "UNSEAL",   "QUOTE",  "GET_RANDOM"};
	uint8_t buf[256], key[TV_QUOTE_KEY_SIZE];
	uint64_t p = (uint64_t)(uintptr_t)buf;

	memset(buf, 1, sizeof(buf));
	for (size_t i = 0; i < sizeof(fns) / sizeof(fns[0]); i++) {
		int64_t r = tv_vmcall(fns[i], i < 2 ? 0 : p, i < 2 ? p : 16, p + 128, 64, 1);
		printf("PALTPM: outside %s -> %s\n", names[i], tv_strerror(r));
		check(r == TV_ERR_NOT_IN_PAL, "refused outside a PAL");
	}
	int64_t k = tv_quote_key(key);
	printf("PALTPM: outside QUOTE_KEY -> %lld\n", (long long)k);
	check(k == TV_QUOTE_KEY_SIZE, "the quote key outside a PAL");
}

/*
 * At exit: wait until the console has sent every line. The boot test powers
 * the machine off right after the last program, and several KiB of hex may
 * still be queued in the tty then (a sleep would cost the Bochs run far more).
 */
static void drain_stdout(void)
{
	fflush(stdout);
	if (isatty(STDOUT_FILENO))
		tcdrain(STDOUT_FILENO);
}

static int usage(void)
{
	fprintf(stderr, "usage: pal_tpm seal SECRETHEX [SEL] | quote NONCEHEX [SEL] | random N | "
	                "outside\n");
	return 1;
}

int main(int argc, char **argv)
{
	uint8_t arg[SECRET_MAX > NONCE_MAX ? SECRET_MAX : NONCE_MAX];
	long n = 0;
	unsigned long sel = 0;
	char *end = NULL;

	setvbuf(stdout, NULL, _IOLBF, 0);
	atexit(drain_stdout);
	if (argc < 2)
		return usage();
	const char *what = argv[1];
	bool is_seal = strcmp(what, "seal") == 0, is_quote = strcmp(what, "quote") == 0;
	if (is_seal || is_quote) {
		if (argc < 3 || argc > 4)
			return usage();
		n = parse_hex(argv[2], arg, is_seal ? SECRET_MAX : NONCE_MAX);
		errno = 0;
		sel = strtoul(argc == 4 ? argv[3] : is_seal ? "07" : "03", &end, 16);
		if (n < 1 || errno || *end || sel < 1 || sel > 0xff)
			return usage();
		if (is_quote && __builtin_popcountl(sel) > MAX_QUOTED)
			return usage();
	} else if (strcmp(what, "random") == 0) {
		if (argc != 3)
			return usage();
		errno = 0;
		n = strtol(argv[2], &end, 10);
		if (errno || *end || n < 1 || n > IN_BYTES)
			return usage();
	} else if (strcmp(what, "outside") != 0 || argc != 2) {
		return usage();
	}

	/* Every PAL page present, private and locked, as registration requires. */
	tv_pal_prepare("pal_tpm", pal_params, sizeof(pal_params), pal_stack, sizeof(pal_stack));
	memcpy(measurement, pal_measurement, DIGEST); /* also makes the code page present */
	scenario = what;

	if (strcmp(what, "outside") == 0) {
		outside();
	} else {
		/* One registration for the whole scenario: PCRs persist between calls. */
		int64_t r = pal_register((const void *)pal_entry);
		if (r != TV_OK) {
			printf("PALTPM: register failed: %s\n", tv_strerror(r));
			printf("PALTPM: %s FAIL\n", what);
			return 1;
		}
		if (is_seal) {
			seal(arg, (size_t)n, (uint8_t)sel);
			other_pal(arg, (size_t)n);
		} else if (is_quote)
			quote(arg, (size_t)n, (uint8_t)sel);
		else
			random_bytes((size_t)n);
		r = tv_unregister(cur_entry);
		check(r == TV_OK, "unregister");
	}
	printf("PALTPM: %s %s\n", what, failed ? "FAIL" : "PASS");
	return failed ? 1 : 0;
}
