/*
 * The PALs of the stage (pal_code.c) and the pages they own (pal_pages.c).
 *
 * All PAL functions share one code page, so only one of them is registered at
 * a time. Their sections are whole pages the rest of the stage never touches
 * while a PAL is registered (TrustVisor scrubs and unregisters a PAL whose
 * pages the guest touches).
 */
#ifndef GUEST_PAL64_PAL_CODE_H
#define GUEST_PAL64_PAL_CODE_H

#include <stdbool.h>
#include <stdint.h>

#define PAGE_SIZE 4096u

/* What every PAL returns in RAX when it finishes normally (the caller's RDX). */
#define PAL_MAGIC    0x50414c21u /* "PAL!" */
#define PAL_BAD_ARGS 0xbad0u

/* adder: out[0] = in[0] + in[1], out[1] = in[0] ^ in[1]; in[2] selects a misbehaviour. */
#define ADDER_IN_WORDS  4
#define ADDER_OUT_WORDS 2
#define ADDER_NORMAL    0
#define ADDER_FAULT     1 /* reads the caller's address in[3]: outside its sections */
#define ADDER_LOOP      2 /* never returns */

/* utpm: in[0] = op, in[1..5] its arguments; out[0..3] 32 bytes of result, out[4] =
 * the micro-TPM call's RAX, out[5] = TSC ticks around its VMCALL. Returns PAL_MAGIC. */
#define UTPM_IN_WORDS  6
#define UTPM_OUT_WORDS 6
enum utpm_op {
	UTPM_OP_NONE = 0, /* no micro-TPM call: the PAL's call overhead */
	UTPM_OP_PCR_READ, /* in[1] = PCR, in[2] = destination (0: the PAL's buffer) */
	UTPM_OP_EXTEND,   /* in[1] = PCR, in[2..5] = 32-byte measurement */
	UTPM_OP_RANDOM,   /* 32 random bytes */
	UTPM_OP_SEAL,     /* in[1] = PCR selection, in[2..5] = 32 bytes -> the PAL's blob */
	UTPM_OP_UNSEAL,   /* the PAL's blob -> out[0..3] */
	UTPM_OP_QUOTE,    /* in[1] = PCR selection, in[2..5] = 32-byte nonce; out = sig[0..31] */
	UTPM_OP_SECRET,   /* fills the PAL's data page past the blob with pal_secret_word(i) */
	UTPM_OP_COUNT,
};

/*
 * A secret only the PAL ever holds: word i of the sequence x(i+1) = x(i) * A + C
 * (Knuth's MMIX LCG) from PAL_SECRET_SEED, written by the PAL into its data page
 * (pal_utpm_data.secret). The caller never has it in its memory; a verifier that
 * finds PAL_SECRET_WORDS consecutive words of it anywhere in a memory dump found
 * the PAL's page (tests/boot/test_reset_scrub.py computes the same words).
 */
#define PAL_SECRET_SEED  0x7365637265742121ull
#define PAL_SECRET_WORDS 64u

/* The PAL entry points (in the code page). */
uint64_t pal_adder(const uint64_t *in, uint64_t nin, uint64_t *out, uint64_t nout);
uint64_t pal_null(const uint64_t *in, uint64_t nin, uint64_t *out, uint64_t nout);
uint64_t pal_utpm(const uint64_t *in, uint64_t nin, uint64_t *out, uint64_t nout);

/* The PAL's data section (utpm PAL): kept across calls. */
struct pal_utpm_data {
	uint64_t blob_len; /* of the last seal */
	uint8_t blob[512] __attribute__((aligned(8)));
	uint8_t sig[128] __attribute__((aligned(8)));
	uint64_t secret[PAL_SECRET_WORDS];
};

/* Pages (pal_pages.c), each a whole number of pages. */
extern uint8_t pal_params_page[PAGE_SIZE];
extern uint8_t pal_stack_pages[2 * PAGE_SIZE];
/* Extra code pages (zero) that make the null PAL a 64-page PAL, 61 of them
 * code: the worst case of registration's measurement (pal_bench). */
#define PAL_BIG_CODE_PAGES 60u
extern uint8_t pal_big_code[PAL_BIG_CODE_PAGES * PAGE_SIZE];
extern union pal_data_page {
	struct pal_utpm_data utpm;
	uint8_t bytes[PAGE_SIZE];
} pal_data_page;

/* The code page, from the linker script (pal64.ld). */
extern const char __pal_code_start[], __pal_code_end[];

static inline bool pal_code_contains(uint64_t addr)
{
	return addr >= (uint64_t)(uintptr_t)__pal_code_start &&
	       addr < (uint64_t)(uintptr_t)__pal_code_end;
}

#endif /* GUEST_PAL64_PAL_CODE_H */
