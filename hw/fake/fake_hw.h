/*
 * Fake hardware for host builds (HV_HOST=1): implements every hw_* function of
 * hw/hw.h against tables, and gives tests a control API to script the machine
 * and inspect what the code under test did.
 *
 * Model: FAKE_MAX_CPUS CPUs, each with its own MSRs, control registers, VMX
 * state (VMXON, current VMCS), local APIC registers and counters. The "current"
 * CPU is per host thread (fake_set_cpu), so a test may drive CPUs from one
 * thread by switching, or from several threads, one CPU each. VMCS regions,
 * CPUID, scripted ports/MMIO and the logs are shared, as on a real machine.
 * Every entry point takes one global (recursive) lock.
 *
 * "Physical" addresses are host addresses: hw_phys_ptr/hw_ptr_phys are identity,
 * so a test hands the code under test a host buffer as physical memory.
 *
 * Where hardware would fault (#GP/#UD), the fake counts the fault in the CPU's
 * ud_faults/gp_faults instead, returns a failure or 0, and carries on.
 */
#ifndef HW_FAKE_FAKE_HW_H
#define HW_FAKE_FAKE_HW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hw/hw.h"
#include "hw/vtd_defs.h"

#define FAKE_MAX_CPUS        8
#define FAKE_MAX_MSRS        160 /* per CPU */
#define FAKE_MAX_CPUID       64
#define FAKE_MAX_VMCS        32
#define FAKE_MAX_XOPS        16    /* XSAVE/XRSTOR calls logged per CPU */
#define FAKE_XSAVE_PKRU      0xa80 /* PKRU's offset in the standard form (CPUID.(0DH,9).EBX) */
#define FAKE_VMCS_MAX_FIELDS 256
#define FAKE_IO_LOG_SIZE     4096
#define FAKE_IO_MAX_PORTS    32 /* ports with scripted input */
#define FAKE_IO_QUEUE        64 /* scripted values per port */
#define FAKE_MMIO_MAX_REGS   128
#define FAKE_IPI_LOG_SIZE    256
#define FAKE_MSR_LOG_SIZE    256
#define FAKE_NO_VMCS         UINT64_MAX /* current-VMCS pointer when none is loaded */

/* ---- whole machine ---- */
/* Back to power-on defaults: all CPUs (APIC id = index, CPU 0 is the BSP), the
 * default MSRs (VMX capabilities of a Skylake-like CPU), CPUID, empty logs and
 * tables; the calling thread's current CPU becomes 0. */
void fake_hw_reset(void);
/* Select the CPU the calling thread's hw_* calls act on. */
void fake_set_cpu(uint32_t index);
uint32_t fake_get_cpu(void);

struct fake_cpu {
	uint32_t apic_id;
	uint64_t cr0, cr2, cr3, cr4, xcr0, rflags;
	/* DR0-DR7 (4 and 5 unused); reset: DR6 FFFF0FF0H, DR7 400H (SDM Vol. 3A 10.1.1). */
	uint64_t dr[8];
	struct hw_desc_ptr gdtr, idtr;
	uint16_t tr, cs, ss, ds, es, fs, gs;
	struct {
		uint32_t msr;
		uint64_t value;
	} msrs[FAKE_MAX_MSRS];
	size_t nmsrs;
	/* VMX */
	bool vmx_on;
	uint64_t vmxon_pa;
	uint64_t current_vmcs; /* FAKE_NO_VMCS if none */
	/* local APIC register file, indexed by MMIO offset / 16 (0x000..0x3F0) */
	uint32_t apic_regs[64];
	/* counters */
	uint64_t halts, pauses, clis, stis, wbinvds, invlpgs, xsaves, xrstors, eois;
	uint64_t last_invlpg, last_xsave_mask;
	uint64_t ud_faults, gp_faults, nm_faults;
	/*
	 * A sliver of the extended state that XSAVE/XRSTOR move (standard form,
	 * SDM Vol. 1 13.4.1): FCW (legacy bytes 1:0, component 0), MXCSR (27:24,
	 * components 1|2) and the low qword of XMM0 (167:160, component 1).
	 * XRSTOR of a component whose XSTATE_BV bit is 0 gives the init values
	 * 0x37f, 0 (MXCSR is loaded from memory either way, SDM 13.8.1).
	 */
	uint16_t fcw;
	uint32_t mxcsr;
	uint64_t xmm0_lo;
	/* PKRU (component 9), at FAKE_XSAVE_PKRU in the area; init value 0. */
	uint32_t pkru;
	/* Every XSAVE/XRSTOR in order (the first FAKE_MAX_XOPS; nxops counts all). */
	struct fake_xop {
		bool restore;       /* XRSTOR (else XSAVE) */
		const void *area;   /* its memory operand */
		uint64_t rfbm;      /* XCR0 & EDX:EAX */
		uint64_t xstate_bv; /* XRSTOR: the header's XSTATE_BV it read */
	} xops[FAKE_MAX_XOPS];
	size_t nxops;
};

/* The state of CPU `index`: tests may read and write it directly. */
struct fake_cpu *fake_cpu(uint32_t index);
/* Convenience: APIC id of a CPU (also what CPUID 1/0xB and the APIC ID register report). */
void fake_set_apic_id(uint32_t cpu, uint32_t apic_id);

/* ---- hooks: let a test make "other CPUs" progress while code under test spins ---- */
typedef void (*fake_hook_fn)(void *arg);
void fake_set_pause_hook(fake_hook_fn fn, void *arg); /* called by every hw_pause */
void fake_set_halt_hook(fake_hook_fn fn, void *arg);  /* called by every hw_halt */

/* ---- CPUID ---- */
/* Leaves not set read as zero. Leaf 1 EBX[31:24] and leaf 0xB EDX always report
 * the current CPU's APIC id. */
void fake_cpuid_set(uint32_t leaf, uint32_t subleaf, const struct hw_cpuid_regs *regs);

/* ---- MSRs ---- */
/* Define an MSR on every CPU / on one CPU. Only defined MSRs accept writes. */
void fake_msr_set(uint32_t msr, uint64_t value);
void fake_msr_set_cpu(uint32_t cpu, uint32_t msr, uint64_t value);
/* Value on the current CPU / on `cpu`, without logging; 0 if not defined. */
uint64_t fake_msr_get(uint32_t msr);
uint64_t fake_msr_get_cpu(uint32_t cpu, uint32_t msr);
bool fake_msr_defined(uint32_t cpu, uint32_t msr);
/* Remove an MSR from a CPU's table: later accesses count as unknown (hardware: #GP). */
void fake_msr_undefine(uint32_t cpu, uint32_t msr);

struct fake_msr_write {
	uint32_t cpu, msr;
	uint64_t value;
};
/* hw_wrmsr log (defined MSRs, x2APIC included), oldest first among the last
 * FAKE_MSR_LOG_SIZE. */
size_t fake_msr_log_len(void);
struct fake_msr_write fake_msr_log(size_t i);

/* ---- VMX ---- */
enum fake_vmx_op {
	FAKE_OP_VMXON,
	FAKE_OP_VMXOFF,
	FAKE_OP_VMCLEAR,
	FAKE_OP_VMPTRLD,
	FAKE_OP_INVEPT,
	FAKE_OP_INVVPID,
	FAKE_OP_VMWRITE,
	FAKE_OP_VMREAD, /* hw_vmread_result (the typed vmcs_read*), not raw hw_vmread */
	FAKE_OP_COUNT
};
/* Force every later call of `op` to fail with `result` (and, for
 * HW_VMX_FAIL_VALID, VM-instruction error `error`); HW_VMX_OK removes it. */
void fake_vmx_script_result(enum fake_vmx_op op, enum hw_vmx_result result, uint32_t error);

/* Peek/poke a VMCS region by physical address, bypassing the checks (read-only
 * fields included); the region is created if needed. Reads of unwritten fields
 * are 0. */
uint64_t fake_vmcs_get(uint64_t vmcs_pa, uint32_t encoding);
void fake_vmcs_set(uint64_t vmcs_pa, uint32_t encoding, uint64_t value);
bool fake_vmcs_written(uint64_t vmcs_pa, uint32_t encoding);
bool fake_vmcs_exists(uint64_t vmcs_pa);
/* The same on the current CPU's current VMCS (must exist). */
uint64_t fake_vmcs_cur_get(uint32_t encoding);
void fake_vmcs_cur_set(uint32_t encoding, uint64_t value);
/* Launch state (VMCLEAR makes it clear; VMLAUNCH is in the entry stub). */
bool fake_vmcs_launched(uint64_t vmcs_pa);
void fake_vmcs_set_launched(uint64_t vmcs_pa, bool launched);

/* ---- port I/O ---- */
enum fake_io_dir { FAKE_IO_IN = 0, FAKE_IO_OUT = 1 };
struct fake_io_entry {
	uint16_t port;
	uint8_t size; /* 1, 2, 4 */
	uint8_t dir;  /* enum fake_io_dir */
	uint32_t value;
	uint32_t cpu;
};
/* Queue values that the next reads of `port` return, in order. Once the queue
 * is empty a read returns the port's default (fake_io_set_default), or all ones
 * (an unclaimed ISA port) if none was set. */
void fake_io_script(uint16_t port, const uint32_t *values, size_t n);
void fake_io_set_default(uint16_t port, uint32_t value);
/* Log of all accesses, oldest first among the last FAKE_IO_LOG_SIZE. */
size_t fake_io_log_len(void);
struct fake_io_entry fake_io_log(size_t i);
/* Values written to (FAKE_IO_OUT) or read from (FAKE_IO_IN) a port, in order;
 * returns how many were found (at most max are stored). */
size_t fake_io_collect(uint16_t port, enum fake_io_dir dir, uint32_t *out, size_t max);

/* ---- MMIO ---- */
/* Define a 32-bit register: reads return its value, writes replace it. Other
 * addresses (outside the local APIC page) read as all ones and count in
 * fake_hw.mmio_unknown. */
void fake_mmio_set(uint64_t pa, uint32_t value);
uint32_t fake_mmio_get(uint64_t pa);

/* ---- local APIC and IPIs ---- */
/* The xAPIC is at IA32_APIC_BASE of the current CPU while the APIC is globally
 * enabled and not in x2APIC mode; in x2APIC mode MSRs 0x800-0x8FF reach it. A
 * write of the ICR low word (xAPIC) or of MSR 0x830 (x2APIC) sends an IPI. */
struct fake_ipi {
	uint32_t src_cpu;
	uint32_t dest;          /* APIC id from the ICR destination field */
	uint32_t delivery_mode; /* ICR bits 10:8: 0 fixed, 4 NMI, 5 INIT, 6 SIPI */
	uint32_t vector;
	uint32_t shorthand; /* ICR bits 19:18 */
	uint64_t icr;       /* x2APIC form: destination in bits 63:32 */
	bool x2apic;
};
size_t fake_ipi_count(void); /* total since reset */
/* Oldest first among the last FAKE_IPI_LOG_SIZE. */
struct fake_ipi fake_ipi_log(size_t i);
size_t fake_ipi_log_len(void);
void fake_ipi_clear(void);

/* ---- TSC ---- */
/* hw_rdtsc returns the counter then adds the step (default 1000), so time passes. */
void fake_tsc_set(uint64_t value, uint64_t step);

/* ---- RDRAND/RDSEED ---- */
/* Both return the next value of one splitmix64 sequence started at `state`; the
 * next `rdrand_failures` RDRANDs and `rdseed_failures` RDSEEDs fail instead (CF=0,
 * value 0), as a DRNG with nothing ready does. Reset: a fixed state, no failures.
 * Calls are counted in fake_hw.rdrand_calls / rdseed_calls. */
void fake_rng_set(uint64_t state, uint32_t rdrand_failures, uint32_t rdseed_failures);

/* ---- VT-d remapping units (hw/vtd_defs.h; Intel VT-d spec ch. 3, 6, 7, 10) ----
 * A unit answers its register page at `base`: VER, CAP, ECAP as given, GCMD/
 * GSTS (SRTP latches RTADDR, TE turns translation on), CCMD and the IOTLB
 * register (global invalidation only), FSTS/FECTL and CAP.NFR fault recording
 * registers at CAP.FRO. A command completes after `latency` reads of its status
 * register (GSTS, CCMD or IOTLB), so a caller that does not poll sees it pending.
 * DMA (fake_vtd_dma) walks the latched root table in "physical" (host) memory
 * through a context cache and an IOTLB that only invalidations empty: a caller
 * that changes a table without invalidating keeps seeing the old translation,
 * as on hardware. */
#define FAKE_VTD_MAX_UNITS 4
#define FAKE_VTD_IOTLB     64 /* cached 4 KiB translations per unit */
#define FAKE_VTD_CTX_CACHE 16

struct fake_vtd_unit {
	uint64_t base;
	uint32_t regs[VTD_REG_PAGE / 4];
	uint32_t latency;
	/* commands still running: reads of the status register left */
	uint32_t gsts_left, ccmd_left, iotlb_left;
	uint32_t gsts_pending; /* GSTS once the GCMD command completes */
	/* the root table the unit uses (RTADDR when SRTP completed) */
	uint64_t root_latched;
	bool root_set;
	/* counters */
	uint64_t gcmd_writes, cc_invalidations, iotlb_invalidations, wbf_flushes;
	uint64_t te_without_root;    /* TE set before any SRTP completed */
	uint64_t cmd_while_busy;     /* a command written while one was still pending */
	uint64_t dma_ok, dma_faults; /* fake_vtd_dma results */
	uint64_t iotlb_hits;
	/* caches */
	struct {
		bool valid;
		uint16_t sid;
		uint16_t did;
		uint8_t aw;
		uint64_t slptptr;
	} ctx[FAKE_VTD_CTX_CACHE];
	struct {
		bool valid;
		uint16_t did;
		uint64_t page; /* IOVA >> 12 */
		uint64_t pa_page;
		bool r, w;
	} iotlb[FAKE_VTD_IOTLB];
	size_t ctx_next, iotlb_next;
	unsigned frcd_next; /* fault record the next fault goes to */
};

/* A unit at `base` (4 KiB aligned) with these CAP and ECAP values; its
 * registers read as after reset. Returns it for direct inspection. */
struct fake_vtd_unit *fake_vtd_add(uint64_t base, uint64_t cap, uint64_t ecap);
struct fake_vtd_unit *fake_vtd_get(uint64_t base);
/* Reads of a status register before a command shows completed (default 2). */
void fake_vtd_set_latency(uint64_t base, uint32_t reads);
/* Called when an invalidation completes (after the caches were emptied), e.g.
 * to let a device DMA at that instant. */
void fake_vtd_set_inval_hook(fake_hook_fn fn, void *arg);

struct fake_vtd_dma_result {
	bool ok;
	uint64_t pa;    /* translated address (ok) */
	uint8_t reason; /* fault reason (not ok): 1 root not present, 2 context not present,
	                   3 bad context, 4 address beyond AW, 5 write denied, 6 read denied */
};
/* A DMA request of device `sid` to `iova` (read or write) through the unit:
 * translated, or faulted and recorded in the fault recording registers. */
struct fake_vtd_dma_result fake_vtd_dma(uint64_t base, uint16_t sid, uint64_t iova, bool write);

/* ---- machine-wide counters and records ---- */
struct fake_hw_state {
	uint64_t vmx_calls[FAKE_OP_COUNT];
	uint64_t vmreads, vmwrites;
	uint64_t vmread_no_vmcs; /* VMREAD with no current VMCS (hardware: VMfailInvalid) */
	uint64_t invept_count, last_invept_type, last_invept_eptp;
	uint64_t invvpid_count, last_invvpid_type, last_invvpid_gla;
	uint16_t last_invvpid_vpid;
	/* MSRs not in the current CPU's table (hardware: #GP) */
	uint64_t unknown_msr_reads, unknown_msr_writes;
	uint32_t last_unknown_msr;
	uint64_t last_unknown_msr_value; /* of a write */
	/* MMIO outside the scripted registers and the APIC page */
	uint64_t mmio_unknown;
	uint64_t last_unknown_mmio;
	/* hw_read_gs_qword with IA32_GS_BASE == 0 */
	uint64_t gs_reads_without_base;
	/* hw_rdrand64 / hw_rdseed64 calls, failed ones included */
	uint64_t rdrand_calls, rdseed_calls;
};
extern struct fake_hw_state fake_hw;

#endif /* HW_FAKE_FAKE_HW_H */
