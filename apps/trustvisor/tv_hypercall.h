/*
 * TrustVisor hypercall ABI, shared by the hypervisor and guest code.
 *
 * A hypercall is VMCALL with EAX = function number and arguments in RBX, RCX,
 * RDX, RSI, RDI (in that order; 64-bit values in long mode, their low 32 bits
 * otherwise). The result is in RAX: TV_OK (0) or a negative TV_ERR_* code.
 * VMCALL exits to the hypervisor at any CPL (SDM Vol. 3C 26.1.2), so ring 3
 * and ring 0 may both call; from ring 3 every address must be a user address
 * (below TV_USER_TOP, on pages the guest's page tables mark user-accessible).
 * Anything but the functions below (and any VMCALL with no hypervisor) is #UD.
 *
 * Calling a PAL is not a hypercall: the owner process (same CR3) calls the PAL
 * entry point as a function, see README.md "Calling a PAL".
 *
 * Plain C types only: this header is compiled into guest programs too.
 */
#ifndef APPS_TRUSTVISOR_TV_HYPERCALL_H
#define APPS_TRUSTVISOR_TV_HYPERCALL_H

#include <stdint.h>

/* ---- function numbers (EAX) ---- */
#define TV_HC_REGISTER   0x54560001u /* RBX = GVA of struct tv_pal_desc */
#define TV_HC_UNREGISTER 0x54560002u /* RBX = the PAL's entry point (GVA) */
/* From inside a PAL only (TV_ERR_NOT_IN_PAL otherwise); buffers are PAL GVAs. */
#define TV_HC_PCR_READ 0x54560010u /* RBX = PCR index, RCX = 32-byte output */
#define TV_HC_EXTEND   0x54560011u /* RBX = PCR index, RCX = 32-byte measurement */
#define TV_HC_SEAL                                                                                 \
	0x54560012u              /* RBX = in, RCX = in length, RDX = out, RSI = out capacity,      \
	                            RDI = PCR selection (bits 7:0); RAX out: length */
#define TV_HC_UNSEAL 0x54560013u /* RBX = blob, RCX = blob length, RDX = out, RSI = capacity */
#define TV_HC_QUOTE                                                                                \
	0x54560014u                  /* RBX = nonce, RCX = nonce length, RDX = sig out,            \
	                                RSI = capacity, RDI = PCR selection */
#define TV_HC_GET_RANDOM 0x54560015u /* RBX = out, RCX = length */
/*
 * From anywhere (ring 3 or 0, in a PAL or not): the quote public key, so a
 * verifier can check quotes. RBX = output GVA, RCX = capacity (>= 65); writes
 * the 65-byte SEC1 uncompressed P-256 point (0x04 | X | Y) and returns 65.
 * Errors: TV_ERR_INVALID (capacity < 65; in a PAL, a buffer outside it),
 * TV_ERR_RANGE (null, wrapping, a kernel address or supervisor page from ring
 * 3, non-canonical, not guest RAM), TV_ERR_FAULT (not present, read-only),
 * TV_ERR_TPM (no micro-TPM: no entropy at boot). Also printed at boot as
 * "hv: trustvisor: quote key <130 hex digits>".
 */
#define TV_HC_QUOTE_KEY   0x54560016u
#define TV_QUOTE_KEY_SIZE 65u
/*
 * A PAL's identity: the SHA-256 measurement TrustVisor took when it registered
 * the PAL (its code, entry offset, section layout, in/out words; README.md
 * "PAL identity" gives the byte format). Every sealed blob is bound to it and
 * every quote signs it. RBX = output GVA, RCX = capacity (>= 32); inside a PAL
 * the calling PAL's own identity (into its own writable sections); outside,
 * for the owner (same CR3), the PAL whose entry point is RDX. Returns 32.
 * Errors: TV_ERR_INVALID (capacity < 32; in a PAL, a buffer outside it),
 * TV_ERR_NOT_REGISTERED / TV_ERR_WRONG_PROCESS (no such PAL of this process),
 * TV_ERR_BUSY (still being registered), and the TV_HC_QUOTE_KEY output errors.
 */
#define TV_HC_PAL_IDENTITY 0x54560017u
#define TV_IDENTITY_SIZE   32u

/* ---- results (RAX) ---- */
#define TV_OK          0
#define TV_ERR_INVALID (-1) /* bad argument, unknown function, bad descriptor */
#define TV_ERR_ALIGN   (-2) /* a section address or size not 4 KiB aligned */
#define TV_ERR_OVERLAP (-3) /* sections overlap each other or another PAL */
#define TV_ERR_RANGE                                                                               \
	(-4)                       /* null, kernel address from ring 3, non-canonical,             \
	                              hypervisor memory, not RAM, the sentinel page */
#define TV_ERR_TOO_LARGE      (-5) /* too many sections/pages/words */
#define TV_ERR_EXISTS         (-6) /* a PAL with this entry is already registered */
#define TV_ERR_NOT_REGISTERED (-7) /* no PAL with this entry */
#define TV_ERR_WRONG_PROCESS  (-8) /* the PAL belongs to another CR3 */
#define TV_ERR_PAL_FAULT                                                                           \
	(-9)                     /* the PAL raised an exception or touched memory                  \
	                            outside its sections */
#define TV_ERR_PAL_TIMEOUT (-10) /* the PAL ran longer than its time budget */
#define TV_ERR_NO_MEMORY   (-11) /* hypervisor out of memory or PAL slots */
#define TV_ERR_FAULT       (-12) /* a guest page not present / not accessible */
#define TV_ERR_UNSUPPORTED (-13) /* caller not in 64-bit mode with 4-level paging */
#define TV_ERR_BUSY        (-14) /* the PAL is running on another CPU */
#define TV_ERR_NOT_IN_PAL  (-15) /* a micro-TPM call from outside a PAL */
#define TV_ERR_TPM         (-16) /* the micro-TPM refused (bad PCR, tampered blob...) */
/* tv_dma=require and no IOMMU translates, or the IOMMU failed: a device could
 * read or write the PAL's pages. */
#define TV_ERR_NO_DMA_PROTECTION (-17)
#define TV_ERR_QUOTA             (-18) /* the caller (CR3) has TV_MAX_PALS_PER_OWNER PALs already */
/* The lowest TV_ERR_* (tv_errors.h checks its name table against it). */
#define TV_ERR_LOWEST TV_ERR_QUOTA

/* ---- the PAL descriptor (TV_HC_REGISTER) ---- */
#define TV_DESC_VERSION  1u
#define TV_MAX_SECTIONS  8u
#define TV_MAX_PAL_PAGES 64u /* pages per PAL, all sections together */
#define TV_MAX_PALS      8u
/* PALs one owner (CR3) may have registered at once, so that one process cannot
 * take every slot from the others (TV_ERR_QUOTA beyond it). */
#define TV_MAX_PALS_PER_OWNER 2u
#define TV_MAX_WORDS          32u /* input words, and output words, per call */

enum tv_section_kind {
	TV_SEC_CODE = 1,   /* read + execute */
	TV_SEC_DATA = 2,   /* read + write, kept across calls */
	TV_SEC_PARAMS = 3, /* read + write; inputs then outputs, written by the hypervisor */
	TV_SEC_STACK = 4,  /* read + write; the PAL's stack (RSP starts at its end) */
};

struct tv_section {
	uint64_t gva;      /* 4 KiB aligned */
	uint64_t size;     /* 4 KiB multiple, > 0 */
	uint32_t kind;     /* enum tv_section_kind */
	uint32_t reserved; /* 0 */
};

struct tv_pal_desc {
	uint32_t version;   /* TV_DESC_VERSION */
	uint32_t nsections; /* 1..TV_MAX_SECTIONS; >= 1 code, exactly 1 params, 1 stack */
	uint64_t entry;     /* inside a code section */
	uint32_t in_words;  /* 64-bit input words, <= TV_MAX_WORDS */
	uint32_t out_words; /* 64-bit output words, <= TV_MAX_WORDS */
	struct tv_section sec[TV_MAX_SECTIONS];
};

/* Addresses at or above this are kernel addresses (refused from ring 3). */
#define TV_USER_TOP 0x0000800000000000ull
/* The PAL returns to this address; no section may include its page. */
#define TV_PAL_SENTINEL 0x00007ffffffff000ull

#endif /* APPS_TRUSTVISOR_TV_HYPERCALL_H */
