/*
 * INT 15h memory-size services answered by the hypervisor (see bios_hook.h).
 * Function semantics: ACPI 6.x chapter 15 (E820h); Ralf Brown's interrupt list
 * (E801h, 88h).
 */
#include "libvmx/bios_hook.h"

#include "hw/hw.h"
#include "libvmx/e820.h"
#include "libvmx/ept.h"
#include "libvmx/guest_memory.h"
#include "rt/console.h"
#include "rt/layout.h"
#include "rt/string.h"

#define MIB         (1ull << 20)
#define LOW_MEM_MIN 0x20000u /* less conventional memory than this is not a PC BIOS */
#define LOW_MEM_MAX 0xA0000u /* conventional memory ends where VGA memory starts */

static uint64_t hook_page;
static const struct e820_map *hook_map;

/*
 * The real-mode stub, instruction by instruction (16-bit code, CS = page >> 4,
 * entered by INT 15h with FLAGS, CS, IP pushed and IF cleared).
 */
static const uint8_t stub[] = {
    /* 00 */ 0x66, 0x3D, 0x20, 0xE8, 0x00, 0x00, /* cmp eax, 0000E820h       */
    /* 06 */ 0x74, 0x0F,                         /* je 17h (vmcall)          */
    /* 08 */ 0x3D, 0x01, 0xE8,                   /* cmp ax, E801h            */
    /* 0B */ 0x74, 0x0A,                         /* je 17h                   */
    /* 0D */ 0x80, 0xFC, 0x88,                   /* cmp ah, 88h              */
    /* 10 */ 0x74, 0x05,                         /* je 17h                   */
    /* 12 */ 0xEA, 0x00, 0x00, 0x00, 0x00,       /* jmp far orig_seg:orig_off
                                                    (patched: imm16 offset at 13h,
                                                    imm16 segment at 15h)    */
    /* 17 */ 0x0F, 0x01, 0xC1,                   /* vmcall: the hypervisor sets
                                                    the registers and CF     */
    /* 1A */ 0x55,                               /* push bp                  */
    /* 1B */ 0x89, 0xE5,                         /* mov bp, sp: [bp+2] IP,
                                                    [bp+4] CS, [bp+6] FLAGS  */
    /* 1D */ 0x73, 0x06,                         /* jnc 25h                  */
    /* 1F */ 0x80, 0x4E, 0x06, 0x01,             /* or byte [bp+6], 1: CF=1  */
    /* 23 */ 0xEB, 0x04,                         /* jmp 29h                  */
    /* 25 */ 0x80, 0x66, 0x06, 0xFE,             /* and byte [bp+6], FEh: CF=0 */
    /* 29 */ 0x5D,                               /* pop bp                   */
    /* 2A */ 0xCF,                               /* iret: the caller's FLAGS
                                                    (IF too) with our CF     */
};
_Static_assert(sizeof(stub) == BIOS_HOOK_STUB_LEN, "stub length and offsets in bios_hook.h");

static uint16_t rd16(uint64_t pa)
{
	const uint8_t *p = guest_phys_ptr(pa);
	return (uint16_t)(p[0] | p[1] << 8);
}

static void wr16(uint64_t pa, uint16_t v)
{
	uint8_t *p = guest_phys_ptr(pa);
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

void bios_hook_write_stub(uint8_t *page, uint16_t orig_seg, uint16_t orig_off)
{
	memcpy(page, stub, sizeof(stub));
	page[BIOS_HOOK_OFF_ORIG + 0] = (uint8_t)orig_off;
	page[BIOS_HOOK_OFF_ORIG + 1] = (uint8_t)(orig_off >> 8);
	page[BIOS_HOOK_OFF_ORIG + 2] = (uint8_t)orig_seg;
	page[BIOS_HOOK_OFF_ORIG + 3] = (uint8_t)(orig_seg >> 8);
}

int bios_hook_install(struct e820_map *guest_map)
{
	uint32_t base_kib = rd16(BDA_BASE_MEM_KIB);
	uint32_t ebda = (uint32_t)rd16(BDA_EBDA_SEGMENT) << 4;
	uint32_t top = base_kib * 1024;
	if (ebda != 0 && ebda < top)
		top = ebda;
	if (top < LOW_MEM_MIN || top > LOW_MEM_MAX) {
		hv_printf("hv: BIOS hook: BDA says %u KiB base memory, EBDA at %x: not usable\n",
		          base_kib, ebda);
		return BIOS_HOOK_ERR_BDA;
	}
	/* The page ends at or below both the EBDA and the end of base memory. */
	uint64_t page = (top - BIOS_HOOK_PAGE_SIZE) & ~(uint64_t)(BIOS_HOOK_PAGE_SIZE - 1);
	if (e820_set(guest_map, page, BIOS_HOOK_PAGE_SIZE, E820_RESERVED) < 0) {
		hv_printf("hv: BIOS hook: guest E820 map full\n");
		return BIOS_HOOK_ERR_E820;
	}

	uint16_t orig_off = rd16(IVT_INT15), orig_seg = rd16(IVT_INT15 + 2);
	uint8_t *p = guest_phys_ptr(page);
	memset(p, 0, BIOS_HOOK_PAGE_SIZE);
	bios_hook_write_stub(p, orig_seg, orig_off);
	wr16(IVT_INT15, 0);
	wr16(IVT_INT15 + 2, (uint16_t)(page >> 4));
	/* Base memory now ends at the page, so DOS-style code leaves it alone. */
	wr16(BDA_BASE_MEM_KIB, (uint16_t)(page >> 10));
	hook_page = page;
	hook_map = guest_map;
	hv_note("hv: BIOS hook: INT 15h -> %04x:0000 (was %04x:%04x), base memory %u -> %u KiB\n",
	          (unsigned)(page >> 4), orig_seg, orig_off, base_kib, (unsigned)(page >> 10));
	return 0;
}

uint64_t bios_hook_page(void)
{
	return hook_page;
}

const struct e820_map *bios_hook_guest_map(void)
{
	return hook_map;
}

bool bios_hook_is_e820_call(uint64_t guest_linear_rip)
{
	return hook_page != 0 && guest_linear_rip == hook_page + BIOS_HOOK_OFF_VMCALL;
}

/* ---- the handler ---- */

static void set_low32(uint64_t *r, uint32_t v)
{
	*r = (*r & ~0xFFFFFFFFull) | v;
}

static void set_low16(uint64_t *r, uint16_t v)
{
	*r = (*r & ~0xFFFFull) | v;
}

static void fail(struct bios_e820_regs *regs)
{
	regs->rax = (regs->rax & ~0xFF00ull) | (BIOS_ERR_UNSUPPORTED << 8);
	regs->rflags |= RFLAGS_CF;
}

/*
 * May the hypervisor write [pa, pa+len) for the guest? Never into its own region,
 * only below 4 GiB (real-mode addresses are far below), and only where the
 * guest's own view could write (a PAL's pages are not the guest's).
 */
static bool guest_may_write(const struct bios_e820_regs *regs, uint64_t pa, uint64_t len)
{
	if (pa + len > (1ull << 32))
		return false;
	if (pa < HV_REGION_BASE + HV_REGION_SIZE && pa + len > HV_REGION_BASE)
		return false;
	if (regs->eptp == 0)
		return true;
	for (uint64_t a = pa & ~0xFFFull; a < pa + len; a += 0x1000)
		if (!ept_maps_identity(regs->eptp, a, EPT_WRITE))
			return false;
	return true;
}

static void put64(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static void put32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static void handle_e820(struct bios_e820_regs *regs, const struct e820_map *map)
{
	uint32_t index = (uint32_t)regs->rbx;
	uint32_t size = (uint32_t)regs->rcx;
	const struct e820_entry *e = e820_guest_entry(map, index);

	if ((uint32_t)regs->rdx != BIOS_SMAP || e == NULL || size < BIOS_E820_MIN_SIZE) {
		fail(regs);
		return;
	}
	size = size >= BIOS_E820_EXT_SIZE ? BIOS_E820_EXT_SIZE : BIOS_E820_MIN_SIZE;
	uint64_t buf = regs->es_base + (regs->rdi & 0xFFFF); /* ES:DI, 16-bit addressing */
	if (!guest_may_write(regs, buf, size)) {
		fail(regs);
		return;
	}
	uint8_t entry[BIOS_E820_EXT_SIZE];
	put64(entry + 0, e->base);
	put64(entry + 8, e->len);
	put32(entry + 16, e->type);
	put32(entry + 20, BIOS_E820_ATTR_ENABLED);
	memcpy(guest_phys_ptr(buf), entry, size);

	set_low32(&regs->rax, BIOS_SMAP);
	set_low32(&regs->rcx, size);
	set_low32(&regs->rbx, index + 1 < map->count ? index + 1 : 0);
	regs->rflags &= ~RFLAGS_CF;
}

/* End of the RAM that runs without a gap from `from` (== from if none there). */
static uint64_t contiguous_ram_end(const struct e820_map *map, uint64_t from)
{
	const struct e820_entry *e;
	while ((e = e820_find(map, from)) != NULL && e->type == E820_RAM)
		from = e->base + e->len;
	return from;
}

static void handle_e801(struct bios_e820_regs *regs, const struct e820_map *map)
{
	/* AX = CX = KiB between 1 and 16 MiB; BX = DX = 64 KiB blocks above 16 MiB
	 * (up to 4 GiB). Both stop at the first non-RAM byte - at the latest, the
	 * hypervisor region, which the guest map marks reserved. */
	uint64_t end = contiguous_ram_end(map, MIB);
	uint64_t low_end = end < 16 * MIB ? end : 16 * MIB;
	uint64_t high_end = end > 16 * MIB ? end : 16 * MIB;
	if (high_end > (1ull << 32))
		high_end = 1ull << 32;
	uint16_t low_kib = (uint16_t)((low_end - MIB) >> 10);
	uint16_t high_64k = (uint16_t)((high_end - 16 * MIB) >> 16);
	set_low16(&regs->rax, low_kib);
	set_low16(&regs->rcx, low_kib);
	set_low16(&regs->rbx, high_64k);
	set_low16(&regs->rdx, high_64k);
	regs->rflags &= ~RFLAGS_CF;
}

static void handle_88(struct bios_e820_regs *regs, const struct e820_map *map)
{
	/* AX = KiB of contiguous RAM from 1 MiB, which a 16-bit register caps. */
	uint64_t kib = (contiguous_ram_end(map, MIB) - MIB) >> 10;
	set_low16(&regs->rax, kib > 0xFFFF ? 0xFFFF : (uint16_t)kib);
	regs->rflags &= ~RFLAGS_CF;
}

void bios_hook_handle_e820(struct bios_e820_regs *regs, const struct e820_map *map)
{
	/* The same tests as the stub, in the same order. */
	if ((uint32_t)regs->rax == 0xE820)
		handle_e820(regs, map);
	else if ((uint16_t)regs->rax == 0xE801)
		handle_e801(regs, map);
	else if ((uint8_t)(regs->rax >> 8) == 0x88)
		handle_88(regs, map);
	else
		fail(regs);
}
