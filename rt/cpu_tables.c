/*
 * GDT, TSS and IDT (Intel SDM Vol. 3A chapters 3, 6 and 8).
 *
 * Each CPU has its own GDT (a TSS descriptor is marked busy by LTR, so CPUs
 * cannot share one) and its own TSS, whose IST1-3 point at per-CPU stacks for
 * NMI, #DF and #MC: those three can arrive on a broken or in-use stack, and an
 * NMI arriving in a VM-exit path must not clobber that path's stack. All CPUs
 * share one IDT, built by the first caller.
 */
#include "rt/cpu_tables.h"

#include <stdbool.h>
#include <stddef.h>

#include "hw/hw.h"
#include "rt/layout.h"
#include "rt/string.h"

/* 64-bit TSS (SDM Vol. 3A 8.7). */
struct __attribute__((packed)) tss64 {
	uint32_t reserved0;
	uint64_t rsp[3];
	uint64_t reserved1;
	uint64_t ist[7];
	uint64_t reserved2;
	uint16_t reserved3;
	uint16_t iomap_base;
};
_Static_assert(sizeof(struct tss64) == 104, "64-bit TSS is 104 bytes");

/* 64-bit interrupt gate (SDM Vol. 3A 6.14.1). */
struct idt_gate {
	uint16_t offset_low;
	uint16_t selector;
	uint8_t ist;
	uint8_t type_attr;
	uint16_t offset_mid;
	uint32_t offset_high;
	uint32_t reserved;
};
_Static_assert(sizeof(struct idt_gate) == 16, "64-bit IDT gate is 16 bytes");

#define IDT_VECTORS 32
/* P=1, DPL=0, type 0xE (64-bit interrupt gate: IF cleared on entry). */
#define GATE_INTERRUPT 0x8E

/* null, code64, data, TSS (16 bytes: two slots). */
#define GDT_SLOTS          5
#define GDT_CODE64         0x00AF9A000000FFFFULL /* L=1, P=1, DPL 0, execute/read */
#define GDT_DATA           0x00CF92000000FFFFULL /* P=1, DPL 0, read/write */
#define TSS_TYPE_AVAILABLE 0x9                   /* SDM Vol. 3A 3.5, Table 3-2 */

/* Stub entry points by vector (rt/idt_stubs.S; a host stand-in in host builds). */
extern const uint64_t rt_idt_stubs[IDT_VECTORS];

static uint64_t gdts[HV_MAX_CPUS][GDT_SLOTS] __attribute__((aligned(16)));
static struct tss64 tsss[HV_MAX_CPUS] __attribute__((aligned(16)));
static uint8_t ist_stacks[HV_MAX_CPUS][3][HV_IST_STACK_SIZE] __attribute__((aligned(16)));
static struct idt_gate idt[IDT_VECTORS] __attribute__((aligned(16)));
static uint32_t idt_state; /* 0 = unbuilt, 1 = being built, 2 = ready */

static struct idt_gate make_gate(uint64_t handler, uint8_t ist)
{
	struct idt_gate g = {
	    .offset_low = (uint16_t)handler,
	    .selector = RT_SEL_CODE64,
	    .ist = ist,
	    .type_attr = GATE_INTERRUPT,
	    .offset_mid = (uint16_t)(handler >> 16),
	    .offset_high = (uint32_t)(handler >> 32),
	    .reserved = 0,
	};
	return g;
}

static void build_idt_once(void)
{
	uint32_t expected = 0;

	if (__atomic_compare_exchange_n(&idt_state, &expected, 1, false, __ATOMIC_ACQ_REL,
	                                __ATOMIC_ACQUIRE)) {
		for (int v = 0; v < IDT_VECTORS; v++) {
			uint8_t ist = 0;
			if (v == 2)
				ist = RT_IST_NMI;
			else if (v == 8)
				ist = RT_IST_DF;
			else if (v == 18)
				ist = RT_IST_MC;
			idt[v] = make_gate(rt_idt_stubs[v], ist);
		}
		__atomic_store_n(&idt_state, 2, __ATOMIC_RELEASE);
		return;
	}
	while (__atomic_load_n(&idt_state, __ATOMIC_ACQUIRE) != 2)
		hw_pause();
}

/* System-segment descriptor for a 64-bit TSS (SDM Vol. 3A 8.2.3). */
static void set_tss_descriptor(uint64_t *slot, uint64_t base, uint32_t limit)
{
	slot[0] = (limit & 0xFFFFULL) | ((base & 0xFFFFFFULL) << 16) |
	          ((uint64_t)TSS_TYPE_AVAILABLE << 40) | (1ULL << 47) /* P */ |
	          ((uint64_t)(limit >> 16) & 0xF) << 48 | ((base >> 24) & 0xFF) << 56;
	slot[1] = base >> 32;
}

void cpu_tables_init(uint32_t cpu_index)
{
	if (cpu_index >= HV_MAX_CPUS)
		return;
	build_idt_once();

	struct tss64 *tss = &tsss[cpu_index];
	memset(tss, 0, sizeof(*tss));
	for (int i = 0; i < 3; i++)
		tss->ist[i] = hw_ptr_phys(&ist_stacks[cpu_index][i][HV_IST_STACK_SIZE]);
	/* No I/O permission bitmap: the base lies beyond the limit. */
	tss->iomap_base = sizeof(*tss);

	uint64_t *gdt = gdts[cpu_index];
	gdt[0] = 0;
	gdt[1] = GDT_CODE64;
	gdt[2] = GDT_DATA;
	/* Rewritten on every call, which also clears a busy bit left by an
	 * earlier LTR on this CPU (LTR of a busy TSS faults). */
	set_tss_descriptor(&gdt[RT_SEL_TSS / 8], hw_ptr_phys(tss), sizeof(*tss) - 1);

	struct hw_desc_ptr gdtr = {.limit = sizeof(gdts[0]) - 1, .base = hw_ptr_phys(gdt)};
	struct hw_desc_ptr idtr = {.limit = sizeof(idt) - 1, .base = hw_ptr_phys(idt)};
	hw_lgdt(&gdtr);
	hw_ltr(RT_SEL_TSS);
	hw_lidt(&idtr);
}

uint64_t cpu_tables_gdt_base(uint32_t cpu_index)
{
	return cpu_index < HV_MAX_CPUS ? hw_ptr_phys(gdts[cpu_index]) : 0;
}

uint64_t cpu_tables_tss_base(uint32_t cpu_index)
{
	return cpu_index < HV_MAX_CPUS ? hw_ptr_phys(&tsss[cpu_index]) : 0;
}

uint64_t cpu_tables_idt_base(void)
{
	return hw_ptr_phys(idt);
}
