/*
 * rt smoke image: the runtime alone, no VMX. Proves the multiboot entry, long
 * mode, the descriptor tables, the NMI path (a self-NMI through the local APIC,
 * handled on IST1 and resumed with IRETQ), the page allocator and power off.
 * With "ud" on the multiboot command line it executes UD2 instead, to show the
 * exception report (tests the #UD panic path).
 */
#include <stdbool.h>
#include <stdint.h>

#include "hw/hw.h"
#include "rt/boot.h"
#include "rt/console.h"
#include "rt/cpu_tables.h"
#include "rt/layout.h"
#include "rt/palloc.h"
#include "rt/panic.h"
#include "rt/percpu.h"
#include "rt/power.h"
#include "rt/string.h"

#define NMI_WAIT_SPINS 10000000

static uint32_t nmis_seen;

static void count_nmi(void)
{
	__atomic_add_fetch(&nmis_seen, 1, __ATOMIC_RELAXED);
}

/* true if `word` is one of the blank-separated words of s. */
static bool has_word(const char *s, const char *word)
{
	size_t n = strlen(word);
	for (const char *p = s; *p != '\0'; p++) {
		if ((p == s || p[-1] == ' ') && strncmp(p, word, n) == 0 &&
		    (p[n] == '\0' || p[n] == ' '))
			return true;
	}
	return false;
}

static void check_palloc(void)
{
	size_t before = palloc_free_count();
	uint64_t pa = palloc_pages(3);
	if (pa == 0 || pa % HV_PAGE_SIZE != 0 || pa < HV_REGION_BASE ||
	    pa + 3 * HV_PAGE_SIZE > HV_REGION_BASE + HV_REGION_SIZE)
		hv_panic("palloc_pages(3) returned 0x%llx", (unsigned long long)pa);
	const uint8_t *p = hw_phys_ptr(pa);
	for (size_t i = 0; i < 3 * HV_PAGE_SIZE; i++) {
		if (p[i] != 0)
			hv_panic("page at 0x%llx not zeroed", (unsigned long long)pa);
	}
	if (palloc_free_count() != before - 3)
		hv_panic("free count %zu after allocating 3 of %zu", palloc_free_count(), before);
	palloc_free_pages(pa, 3);
	hv_printf("hv: rt smoke: palloc gave 3 zeroed pages at 0x%llx\n", (unsigned long long)pa);
}

static void check_nmi(void)
{
	uint64_t apic_base = hw_rdmsr(MSR_IA32_APIC_BASE) & APIC_BASE_ADDR_MASK;
	uint32_t apic_id = percpu_of(this_cpu_index())->apic_id;

	rt_set_nmi_handler(count_nmi);
	/* Physical destination = this CPU; the "self" shorthand is not valid for
	 * NMI delivery (SDM Vol. 3A 11.6.1). */
	hw_mmio_write32(apic_base + APIC_REG_ICR_HIGH, apic_id << APIC_ICR_XAPIC_DEST_SHIFT);
	hw_mmio_write32(apic_base + APIC_REG_ICR_LOW, APIC_ICR_DM_NMI | APIC_ICR_LEVEL_ASSERT);
	for (int i = 0; i < NMI_WAIT_SPINS && __atomic_load_n(&nmis_seen, __ATOMIC_RELAXED) == 0;
	     i++)
		hw_pause();
	rt_set_nmi_handler(NULL);
	if (__atomic_load_n(&nmis_seen, __ATOMIC_RELAXED) != 1)
		hv_panic("self-NMI: handler ran %u times, expected 1", nmis_seen);
	hv_printf("hv: rt smoke: self-NMI handled on IST1 and resumed\n");
}

void hv_main(const struct mb_info *mbi)
{
	hv_printf("hv: rt smoke: loader \"%s\", command line \"%s\", %u mmap entries, %u "
	          "modules\n",
	          mbi->boot_loader_name, mbi->cmdline, mbi->mmap_count, mbi->module_count);
	for (uint32_t i = 0; i < mbi->mmap_count; i++)
		hv_printf("hv:   mmap [%016llx, %016llx) type %u\n",
		          (unsigned long long)mbi->mmap[i].base,
		          (unsigned long long)(mbi->mmap[i].base + mbi->mmap[i].len),
		          mbi->mmap[i].type);
	if (this_cpu_index() != 0 || percpu_of(0)->self != percpu_of(0))
		hv_panic("per-CPU data of the boot CPU is wrong");
	check_palloc();
	check_nmi();
	if (has_word(mbi->cmdline, "ud")) {
		hv_printf("hv: rt smoke: executing UD2 on purpose\n");
		__builtin_trap();
	}
	hv_printf("hv: rt smoke ok on CPU %u\n", this_cpu_index());
	hv_power_off(0);
}

void hv_ap_main(uint32_t cpu)
{
	hv_panic("the rt smoke image starts no APs (CPU %u)", cpu);
}
