/* The boot CPU's first C code and each AP's runtime set-up (rt/boot.h). */
#include "rt/boot.h"

#include "hw/hw.h"
#include "rt/boot_option.h"
#include "rt/boot_phase.h"
#include "rt/console.h"
#include "rt/cpu_tables.h"
#include "rt/layout.h"
#include "rt/memmap.h"
#include "rt/multiboot.h"
#include "rt/palloc.h"
#include "rt/panic.h"
#include "rt/percpu.h"

/* Enough for the raw multiboot information structure (spec 0.6.96 3.3). */
#define MB_RAW_INFO_SIZE 128
#define MAX_FREE_RANGES  32

static struct mb_info boot_info;

const struct mb_info *rt_boot_info(void)
{
	return &boot_info;
}

/* Initial APIC ID: CPUID.01H:EBX[31:24] (SDM Vol. 3A 11.4.6). */
static uint32_t boot_apic_id(void)
{
	struct hw_cpuid_regs r;
	hw_cpuid(1, 0, &r);
	return r.ebx >> 24;
}

static void check_image_placement(void)
{
	uint64_t start = hw_ptr_phys(hv_image_start);
	uint64_t end = hw_ptr_phys(hv_image_end);
	if (start != HV_REGION_BASE || end > HV_REGION_BASE + HV_REGION_SIZE)
		hv_panic("image at [0x%llx, 0x%llx) is not inside the hypervisor region "
		         "[0x%llx, 0x%llx) (rt/linker.ld vs rt/layout.h)",
		         (unsigned long long)start, (unsigned long long)end,
		         (unsigned long long)HV_REGION_BASE,
		         (unsigned long long)(HV_REGION_BASE + HV_REGION_SIZE));
}

/* The hypervisor region minus the image, the boot information and the modules. */
static void feed_page_allocator(const struct mb_info *mbi)
{
	struct rt_range excl[2 + MB_MAX_MODULES];
	size_t n = 0;
	excl[n++] = (struct rt_range){hw_ptr_phys(hv_image_start), hw_ptr_phys(hv_image_end)};
	excl[n++] = (struct rt_range){mbi->mbi_pa, mbi->mbi_pa + MB_RAW_INFO_SIZE};
	for (uint32_t i = 0; i < mbi->module_count; i++)
		excl[n++] = (struct rt_range){mbi->modules[i].start, mbi->modules[i].end};

	struct rt_range free[MAX_FREE_RANGES];
	size_t count = rt_usable_ranges(mbi, HV_REGION_BASE, HV_REGION_BASE + HV_REGION_SIZE, excl,
	                                n, free, MAX_FREE_RANGES);
	for (size_t i = 0; i < count; i++)
		palloc_add_range(free[i].base, free[i].end - free[i].base);
}

_Noreturn void rt_bsp_main(uint32_t magic, uint32_t mbi_pa)
{
	/* Power-on to here: the firmware and the hypervisor's GRUB. */
	boot_phase("entry");
	/* Per-CPU data first: the console and panic paths read the CPU index. */
	percpu_init(0, boot_apic_id());
	console_init();
	cpu_tables_init(0);
	if (magic != MB_BOOTLOADER_MAGIC)
		hv_panic("not started by a multiboot loader: EAX=0x%x, expected 0x%x", magic,
		         MB_BOOTLOADER_MAGIC);
	check_image_placement();

	int err = mb_parse(mbi_pa, &boot_info);
	if (err != MB_OK)
		hv_panic("bad multiboot information at 0x%x: %s", mbi_pa, mb_strerror(err));

	/* hv_verbose=1: start-up notes at once instead of at power-off (rt/console.h). */
	size_t vlen;
	const char *verbose = boot_option(boot_info.cmdline, "hv_verbose", &vlen);
	console_notes_set_live(verbose != NULL && boot_option_is(verbose, vlen, "1"));
	feed_page_allocator(&boot_info);
	hv_note("hv: memory: %zu KiB free for the hypervisor\n",
	        palloc_free_count() * (HV_PAGE_SIZE / 1024));
	boot_phase("runtime");

	hv_main(&boot_info);
	hv_panic("hv_main returned");
}

void rt_ap_init(uint32_t cpu_index, uint32_t apic_id)
{
	percpu_init(cpu_index, apic_id);
	cpu_tables_init(cpu_index);
}
