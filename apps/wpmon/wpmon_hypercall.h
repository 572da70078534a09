/*
 * wpmon's hypercall ABI, shared by the hypervisor and guest programs.
 *
 * VMCALL with EAX = function number, arguments in RBX, RCX (64-bit values in
 * 64-bit mode, their low 32 bits otherwise); the result in RAX: WPMON_OK (0)
 * or a negative WPMON_ERR_*; outputs in RBX, RCX, RDX, RSI. Guest ring 0 only
 * (WPMON_ERR_PERM from ring 3). Other numbers, in this range or not, are #UD,
 * as on a machine with no hypervisor. Range 0x5750xxxx ("WP"): TrustVisor
 * uses 0x5456xxxx, the toolkit's debug calls 0x4856xxxx.
 *
 * Plain C types only: compiled into guest programs too.
 */
#ifndef APPS_WPMON_WPMON_HYPERCALL_H
#define APPS_WPMON_WPMON_HYPERCALL_H

#include <stdint.h>

/*
 * RBX = guest-physical start, RCX = length: both 4 KiB aligned, length
 * 1 .. WPMON_MAX_RANGE_BYTES; below 4 GiB; every page guest RAM (write-back,
 * all of read/write/execute in the guest's view), none protected already.
 * From the return on, every write there is logged, then completed.
 */
#define WPMON_HC_PROTECT 0x57500001u
/* RBX = the start of a protected range: writable again, not logged. */
#define WPMON_HC_UNPROTECT 0x57500002u
/* Out: RBX = writes logged since boot or the last clear, RCX = the last
 * write's GPA, RDX = its guest RIP, RSI = entries kept (<= WPMON_LOG_ENTRIES),
 * RDI = ranges released since then: a write there was neither a move the
 * hypervisor completes nor steppable (no monitor trap flag), so the range was
 * made writable again and dropped (README.md). */
#define WPMON_HC_LOG 0x57500003u
/* RBX = i, 0 = the newest kept. Out: RBX = GPA, RCX = guest RIP, RDX = CPU
 * index. WPMON_ERR_INVALID if i >= entries kept. */
#define WPMON_HC_LOG_ENTRY 0x57500004u
/* The log emptied (count 0, no entries). */
#define WPMON_HC_LOG_CLEAR 0x57500005u

#define WPMON_MAX_RANGES      8u
#define WPMON_MAX_RANGE_BYTES (1u << 20) /* 256 pages */
#define WPMON_LOG_ENTRIES     16u

#define WPMON_OK              0
#define WPMON_ERR_INVALID     (-1) /* bad index */
#define WPMON_ERR_ALIGN       (-2) /* start or length not 4 KiB aligned, or length 0 */
#define WPMON_ERR_RANGE       (-3) /* wraps, above 4 GiB, hypervisor memory, not RAM, not RWX */
#define WPMON_ERR_TOO_LARGE   (-4) /* longer than WPMON_MAX_RANGE_BYTES */
#define WPMON_ERR_OVERLAP     (-5) /* meets a range already protected */
#define WPMON_ERR_FULL        (-6) /* WPMON_MAX_RANGES protected already */
#define WPMON_ERR_NOT_FOUND   (-7) /* no protected range starts there */
#define WPMON_ERR_PERM        (-8) /* called from CPL > 0 */
#define WPMON_ERR_UNSUPPORTED (-9) /* no writable view (hypervisor memory) */

#endif /* APPS_WPMON_WPMON_HYPERCALL_H */
