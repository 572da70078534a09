/*
 * PVH loader: GRUB multiboots it with two modules, an uncompressed Linux vmlinux
 * (ELF64) and the initrd; it copies the vmlinux's PT_LOAD segments to their
 * physical addresses, builds a version-1 hvm_start_info (command line, initrd,
 * memory map, RSDP) and enters the kernel's PVH entry point (the Xen PHYS32_ENTRY
 * ELF note) in flat 32-bit mode. Linux then skips its real-mode setup and its
 * compressed-kernel stub (for Debian's XZ kernel in Bochs, ~4.5e9 instructions).
 * See guest/linux/README.md.
 *
 * Every step that cannot go on says why on COM1 and powers the machine off
 * (ACPI PM1a, as Bochs and QEMU decode it; then port 0xf4, then HLT).
 */
#include <stdint.h>

#include "guest/linux/pvh/pvh_boot.h"
#include "guest/linux/pvh/pvh_cpu.h"

#define MB_BOOT_MAGIC   0x2badb002u
#define MB_INFO_CMDLINE (1u << 2)
#define MB_INFO_MODS    (1u << 3)
#define MB_INFO_MMAP    (1u << 6)
#define COM1            0x3f8
#define CMDLINE_MAX     2048
#define MEMMAP_MAX      128

extern char pvh_image_start[], pvh_image_end[];
void pvh_main(uint32_t magic, uint32_t mbi_pa);
void pvh_enter(uint32_t entry, uint32_t start_info) __attribute__((noreturn));

struct mb_module {
	uint32_t start;
	uint32_t end;
	uint32_t string;
	uint32_t reserved;
};

static struct hvm_start_info start_info;
static struct hvm_modlist_entry modlist[1];
static struct hvm_memmap_table_entry memmap[MEMMAP_MAX];
static char cmdline[CMDLINE_MAX];
static struct pvh_image image;

/* 115200 8N1 (after reset Bochs' UART keeps 5 bits of each byte; nothing set it up). */
static void serial_init(void)
{
	outb(COM1 + 1, 0x00);
	outb(COM1 + 3, 0x80);
	outb(COM1 + 0, 0x01);
	outb(COM1 + 1, 0x00);
	outb(COM1 + 3, 0x03);
	outb(COM1 + 2, 0x07);
	outb(COM1 + 4, 0x03);
}

static void putc_serial(char c)
{
	for (int i = 0; i < 100000 && !(inb(COM1 + 5) & 0x20); i++)
		;
	outb(COM1, (uint8_t)c);
}

static void puts_serial(const char *s)
{
	for (; *s; s++) {
		if (*s == '\n')
			putc_serial('\r');
		putc_serial(*s);
	}
}

static void puthex(uint64_t v)
{
	char buf[19];
	int i = 18;
	buf[i] = 0;
	do {
		buf[--i] = "0123456789abcdef"[v & 15];
		v >>= 4;
	} while (v);
	buf[--i] = 'x';
	buf[--i] = '0';
	puts_serial(buf + i);
}

static void putrange(uint64_t base, uint64_t len)
{
	puts_serial("[");
	puthex(base);
	puts_serial(", ");
	puthex(base + len);
	puts_serial(")");
}

static void __attribute__((noreturn)) fail(const char *what)
{
	puts_serial("pvh: ");
	puts_serial(what);
	puts_serial("; powering off\n");
	for (int i = 0; i < 100000 && !(inb(COM1 + 5) & 0x40); i++)
		;
	/* Bochs' and QEMU's PIIX4 PM: SLP_TYP 0 | SLP_EN at PM1a control (PMBASE 0xb000 + 4). */
	outw(0xb004, 0x2000);
	outw(0x604, 0x2000);
	outb(0xf4, 1);
	cpu_halt_forever();
}

/* EBDA's first KiB, then the BIOS area 0xe0000-0xfffff (ACPI 6.x, 5.2.5.1). */
static uint64_t find_rsdp(void)
{
	const uint8_t *bda = pvh_phys(0x40e);
	uint32_t ebda = ((uint32_t)bda[0] | (uint32_t)bda[1] << 8) << 4;
	uint64_t rsdp = 0;
	if (ebda >= 0x80000 && ebda < 0xa0000)
		rsdp = pvh_find_rsdp(pvh_phys(ebda), ebda, 1024);
	if (!rsdp)
		rsdp = pvh_find_rsdp(pvh_phys(0xe0000), 0xe0000, 0x20000);
	return rsdp;
}

void pvh_main(uint32_t magic, uint32_t mbi_pa)
{
	const uint32_t *mbi = (const uint32_t *)(uintptr_t)mbi_pa;
	serial_init();
	if (magic != MB_BOOT_MAGIC)
		fail("not started by a multiboot v1 loader");
	if (!(mbi[0] & MB_INFO_MODS) || mbi[5] < 1)
		fail("no modules: GRUB must load the vmlinux (first module) and the initrd");
	if (!(mbi[0] & MB_INFO_MMAP))
		fail("no memory map from the boot loader");

	int32_t nmap = pvh_memmap_from_multiboot(pvh_phys(mbi[12]), mbi[11], memmap, MEMMAP_MAX);
	if (nmap <= 0)
		fail("the boot loader's memory map is malformed, empty or too long");

	/* The command line, copied: the multiboot info may lie where a segment goes. */
	const char *args = "";
	if (mbi[0] & MB_INFO_CMDLINE)
		args = pvh_cmdline_args((const char *)(uintptr_t)mbi[4]);
	uint32_t n = 0;
	while (args[n] && n < CMDLINE_MAX - 1) {
		cmdline[n] = args[n];
		n++;
	}
	cmdline[n] = 0;
	if (args[n])
		fail("the kernel command line is longer than 2047 bytes");

	const struct mb_module *mods = (const struct mb_module *)(uintptr_t)mbi[6];
	uint32_t nmods = mbi[5];
	if (nmods > 2)
		fail("more than two modules (vmlinux, initrd)");
	struct mb_module vmlinux = mods[0];
	struct mb_module initrd = {0, 0, 0, 0};
	if (nmods == 2)
		initrd = mods[1];
	if (vmlinux.end <= vmlinux.start || (nmods == 2 && initrd.end < initrd.start))
		fail("a module ends before it starts");

	const char *why =
	    pvh_parse_elf(pvh_phys(vmlinux.start), vmlinux.end - vmlinux.start, &image);
	if (why) {
		puts_serial("pvh: the first module (vmlinux): ");
		fail(why);
	}

	/* GRUB puts the modules low, where the kernel goes: move them above it first. */
	struct pvh_range mod[2] = {
	    {vmlinux.start, vmlinux.end - vmlinux.start, "the vmlinux module"},
	    {initrd.start, initrd.end - initrd.start, "the initrd module"},
	};
	uint64_t dest[2];
	uint64_t loader_end = (uintptr_t)pvh_image_end;
	if (!pvh_plan_modules(&image, mod, nmods, loader_end, memmap, (uint32_t)nmap, dest))
		fail("no RAM above the kernel and the loader to move the modules to");
	/* Higher source first: moving it cannot overwrite the other, still unmoved one. */
	uint32_t first = nmods == 2 && mod[1].base > mod[0].base ? 1 : 0;
	for (uint32_t k = 0; k < nmods; k++) {
		uint32_t i = k == 0 ? first : 1 - first;
		if (dest[i] == mod[i].base)
			continue;
		if (nmods == 2 && k == 0 &&
		    pvh_overlaps(dest[i], mod[i].len, mod[1 - i].base, mod[1 - i].len))
			fail("cannot move the modules above the kernel without overwriting one");
		pvh_move((uint8_t *)(uintptr_t)dest[i], pvh_phys(mod[i].base),
		         (uint32_t)mod[i].len);
		puts_serial("pvh: moved ");
		puts_serial(mod[i].name);
		puts_serial(" to ");
		putrange(dest[i], mod[i].len);
		puts_serial("\n");
		mod[i].base = dest[i];
	}
	vmlinux.start = (uint32_t)mod[0].base;
	vmlinux.end = (uint32_t)(mod[0].base + mod[0].len);
	initrd.start = (uint32_t)mod[1].base;
	initrd.end = (uint32_t)(mod[1].base + mod[1].len);

	struct pvh_range avoid[3] = {
	    {(uintptr_t)pvh_image_start, (uintptr_t)(pvh_image_end - pvh_image_start),
	     "the loader"},
	    mod[0],
	    mod[1],
	};
	uint32_t seg, other;
	enum pvh_place place =
	    pvh_check_place(&image, avoid, 3, memmap, (uint32_t)nmap, &seg, &other);
	if (place != PVH_PLACE_OK) {
		const struct pvh_segment *s = &image.seg[seg];
		puts_serial("pvh: vmlinux segment ");
		putrange(s->paddr, s->memsz);
		if (place == PVH_PLACE_AVOID) {
			puts_serial(" overlaps ");
			puts_serial(avoid[other].name);
			puts_serial(" ");
			putrange(avoid[other].base, avoid[other].len);
		} else if (place == PVH_PLACE_SEGMENTS) {
			puts_serial(" overlaps segment ");
			putrange(image.seg[other].paddr, image.seg[other].memsz);
		} else {
			puts_serial(" is not RAM in the memory map");
		}
		puts_serial("\n");
		fail("cannot load the kernel there");
	}

	for (uint32_t i = 0; i < image.nsegs; i++) {
		const struct pvh_segment *s = &image.seg[i];
		uint8_t *dst = (uint8_t *)(uintptr_t)s->paddr;
		pvh_copy(dst, pvh_phys(vmlinux.start + s->offset), (uint32_t)s->filesz);
		pvh_zero(dst + s->filesz, (uint32_t)(s->memsz - s->filesz));
	}

	start_info.magic = HVM_START_MAGIC;
	start_info.version = HVM_START_VERSION;
	start_info.cmdline_paddr = (uintptr_t)cmdline;
	if (nmods == 2 && initrd.end > initrd.start) {
		/* Linux takes the first module as its initrd. */
		modlist[0] =
		    (struct hvm_modlist_entry){initrd.start, initrd.end - initrd.start, 0, 0};
		start_info.nr_modules = 1;
		start_info.modlist_paddr = (uintptr_t)modlist;
	}
	start_info.rsdp_paddr = find_rsdp();
	start_info.memmap_paddr = (uintptr_t)memmap;
	start_info.memmap_entries = (uint32_t)nmap;

	/* The boot tests look for this line: the kernel was entered by PVH, not decompressed. */
	puts_serial("pvh: entering Linux at ");
	puthex(image.entry);
	puts_serial(" (");
	puthex(image.nsegs);
	puts_serial(" segments, initrd ");
	putrange(initrd.start, initrd.end - initrd.start);
	puts_serial(", rsdp ");
	puthex(start_info.rsdp_paddr);
	puts_serial(", ");
	puthex((uint32_t)nmap);
	puts_serial(" memory map entries)\n");
	pvh_enter(image.entry, (uintptr_t)&start_info);
}
