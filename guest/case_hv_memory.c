/*
 * hv_memory_hidden: the hypervisor's region must be invisible to the guest. The
 * memory map (E820 via multiboot) must not offer it as RAM, and touching it must
 * fault (the hypervisor injects #GP(0) on the EPT violation) or at least neither
 * show the hypervisor's bytes nor keep a written value.
 */
#include "guest/cases.h"
#include "guest/cpu.h"

#define ELF_MAGIC     0x464c457fu /* "\x7fELF" little-endian */
#define WRITE_PATTERN 0x5a5ac3c3u

static enum case_result check_fault(struct case_ctx *c, const char *what, uint32_t addr,
                                    uint32_t vec)
{
	if (vec != VEC_GP)
		return case_fail(c, "%s at %08x raised vector %u, expected #GP", what, addr, vec);
	if (trap_probe.error != 0)
		return case_fail(c, "%s at %08x raised #GP(%x), expected #GP(0)", what, addr,
		                 trap_probe.error);
	return CASE_PASS;
}

enum case_result case_hv_memory_hidden(struct case_ctx *c)
{
	switch (guest_env.hv_region) {
	case MEM_UNKNOWN:
		return case_fail(c, "no memory map from the boot loader");
	case MEM_RAM:
		return case_skip(c, "no hypervisor (region %08x-%08x is RAM in the memory map)",
		                 HV_REGION_BASE, HV_REGION_BASE + HV_REGION_SIZE);
	case MEM_MIXED:
		return case_fail(c, "memory map offers part of %08x-%08x as RAM", HV_REGION_BASE,
		                 HV_REGION_BASE + HV_REGION_SIZE);
	default:
		break;
	}

	const uint32_t reads[] = {HV_REGION_BASE, HV_REGION_BASE + HV_REGION_SIZE / 2,
	                          HV_REGION_BASE + HV_REGION_SIZE - 4};
	for (uint32_t i = 0; i < sizeof(reads) / sizeof(reads[0]); i++) {
		uint32_t v, vec = probe_read32(reads[i], &v);
		if (vec == TRAP_NONE) {
			if (v != 0 && v != 0xffffffffu)
				return case_fail(c,
				                 "read %08x at %08x: hypervisor memory visible%s",
				                 v, reads[i], v == ELF_MAGIC ? " (ELF magic)" : "");
			runner_info("read at %08x did not fault but gave %08x", reads[i], v);
		} else if (check_fault(c, "read", reads[i], vec) != CASE_PASS) {
			return CASE_FAIL;
		}
	}

	uint32_t waddr = HV_REGION_BASE + 0x1000;
	uint32_t vec = probe_write32(waddr, WRITE_PATTERN);
	if (vec == TRAP_NONE) {
		uint32_t back;
		if (probe_read32(waddr, &back) == TRAP_NONE && back == WRITE_PATTERN)
			return case_fail(c, "write of %08x at %08x is visible", WRITE_PATTERN,
			                 waddr);
		runner_info("write at %08x did not fault but was not kept", waddr);
	} else if (check_fault(c, "write", waddr, vec) != CASE_PASS) {
		return CASE_FAIL;
	}
	return CASE_PASS;
}
