/*
 * The INT 15h hook: installation in a fake low memory, the stub executed by a
 * small 16-bit interpreter (only the instructions the stub may contain; anything
 * else fails the test), with its VMCALL answered the way bios_hook.h tells the
 * VM-exit handler to, and the handler's protocol checks.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "hw/fake/fake_hw.h"
#include "libvmx/bios_hook.h"
#include "libvmx/e820.h"
#include "libvmx/ept.h"
#include "libvmx/guest_memory.h"
#include "rt/layout.h"
#include "rt/palloc.h"

#define MIB       (1ull << 20)
#define LOW_SIZE  (MIB + 0x10000) /* real-mode addressable memory */
#define SMAP      0x534D4150u
#define FLAG_CF   0x0001u
#define FLAG_ZF   0x0040u
#define FLAG_TF   0x0100u
#define FLAG_IF   0x0200u
#define ORIG_SEG  0xF000u
#define ORIG_OFF  0xF859u
#define HOOK_PAGE 0x9E000u /* below EBDA 9FC0:0 / 639 KiB, page aligned */

static uint8_t *low;
static struct e820_map gmap;

static uint16_t rd16(uint32_t a)
{
	return (uint16_t)(low[a] | low[a + 1] << 8);
}

static void wr16(uint32_t a, uint16_t v)
{
	low[a] = (uint8_t)v;
	low[a + 1] = (uint8_t)(v >> 8);
}

/* The guest map of a Bochs-like PC with 512 MiB. */
static void bochs_guest_map(void)
{
	const struct e820_entry in[] = {
	    {0, 0x9F000, E820_RAM},
	    {0x9F000, 0x1000, E820_RESERVED},
	    {0xE8000, 0x18000, E820_RESERVED},
	    {MIB, 0x1FFF0000 - MIB, E820_RAM},
	    {0x1FFF0000, 0x10000, E820_ACPI},
	    {0xFFFC0000, 0x40000, E820_RESERVED},
	};
	assert_int_equal(e820_from_entries(in, 6, &gmap), 0);
	assert_int_equal(e820_set(&gmap, HV_REGION_BASE, HV_REGION_SIZE, E820_RESERVED), 0);
}

static int setup(void **state)
{
	fake_hw_reset();
	low = calloc(1, LOW_SIZE);
	assert_non_null(low);
	guest_memory_test_window(low, LOW_SIZE);
	wr16(BDA_EBDA_SEGMENT, 0x9FC0);
	wr16(BDA_BASE_MEM_KIB, 639);
	wr16(IVT_INT15, ORIG_OFF);
	wr16(IVT_INT15 + 2, ORIG_SEG);
	bochs_guest_map();
	return 0;
}

static int setup_installed(void **state)
{
	setup(state);
	assert_int_equal(bios_hook_install(&gmap), 0);
	return 0;
}

static int teardown(void **state)
{
	guest_memory_test_window(NULL, 0);
	free(low);
	return 0;
}

/* ---- a 16-bit real-mode interpreter for the stub ---- */
struct cpu16 {
	uint32_t eax, ebx, ecx, edx, edi;
	uint16_t sp, bp, cs, ip, ss, es, flags;
	uint64_t eptp;
	/* where execution left the stub */
	bool far_jumped;
	uint16_t far_cs, far_ip;
	int vmcalls;
};

static void push16(struct cpu16 *c, uint16_t v)
{
	c->sp -= 2;
	wr16((uint32_t)c->ss * 16 + c->sp, v);
}

static uint16_t pop16(struct cpu16 *c)
{
	uint16_t v = rd16((uint32_t)c->ss * 16 + c->sp);
	c->sp += 2;
	return v;
}

static void set_flag(struct cpu16 *c, uint16_t f, bool on)
{
	c->flags = on ? (c->flags | f) : (c->flags & ~f);
}

static void cmp_flags(struct cpu16 *c, uint32_t a, uint32_t b)
{
	set_flag(c, FLAG_ZF, a == b);
	set_flag(c, FLAG_CF, a < b);
}

/* What bios_hook.h tells the VMCALL exit handler to do. */
static void vmcall_exit(struct cpu16 *c)
{
	uint64_t linear = (uint64_t)c->cs * 16 + c->ip;
	assert_true(bios_hook_is_e820_call(linear));
	struct bios_e820_regs r = {
	    .rax = c->eax,
	    .rbx = c->ebx,
	    .rcx = c->ecx,
	    .rdx = c->edx,
	    .rdi = c->edi,
	    .es_base = (uint64_t)c->es * 16,
	    .rflags = c->flags,
	    .eptp = c->eptp,
	};
	assert_ptr_equal(bios_hook_guest_map(), &gmap);
	bios_hook_handle_e820(&r, bios_hook_guest_map());
	assert_int_equal(r.rdi, c->edi);
	c->eax = (uint32_t)r.rax;
	c->ebx = (uint32_t)r.rbx;
	c->ecx = (uint32_t)r.rcx;
	c->edx = (uint32_t)r.rdx;
	c->flags = (uint16_t)r.rflags;
	c->ip += BIOS_HOOK_VMCALL_LEN;
	c->vmcalls++;
}

/* Runs one instruction; false once control left the stub (far jump or IRET). */
static bool step(struct cpu16 *c)
{
	const uint8_t *p = &low[(uint32_t)c->cs * 16 + c->ip];
	uint32_t bp_addr;
	switch (p[0]) {
	case 0x66: /* operand-size prefix: only cmp eax, imm32 */
		assert_int_equal(p[1], 0x3D);
		cmp_flags(c, c->eax,
		          (uint32_t)(p[2] | p[3] << 8 | p[4] << 16 | (uint32_t)p[5] << 24));
		c->ip += 6;
		return true;
	case 0x3D: /* cmp ax, imm16 */
		cmp_flags(c, c->eax & 0xFFFF, (uint32_t)(p[1] | p[2] << 8));
		c->ip += 3;
		return true;
	case 0x80:
		switch (p[1]) {
		case 0xFC: /* cmp ah, imm8 */
			cmp_flags(c, (c->eax >> 8) & 0xFF, p[2]);
			c->ip += 3;
			return true;
		case 0x4E: /* or byte [bp+disp8], imm8 */
		case 0x66: /* and byte [bp+disp8], imm8 */
			bp_addr = (uint32_t)c->ss * 16 + (uint16_t)(c->bp + (int8_t)p[2]);
			low[bp_addr] = p[1] == 0x4E ? (low[bp_addr] | p[3]) : (low[bp_addr] & p[3]);
			set_flag(c, FLAG_CF, false);
			set_flag(c, FLAG_ZF, low[bp_addr] == 0);
			c->ip += 4;
			return true;
		}
		fail_msg("unexpected 80 %02x", p[1]);
		return false;
	case 0x74: /* jz rel8 */
	case 0x73: /* jnc rel8 */
	case 0xEB: /* jmp rel8 */ {
		bool taken = p[0] == 0xEB ||
		             (p[0] == 0x74 ? (c->flags & FLAG_ZF) != 0 : (c->flags & FLAG_CF) == 0);
		c->ip += 2;
		if (taken)
			c->ip = (uint16_t)(c->ip + (int8_t)p[1]);
		return true;
	}
	case 0xEA: /* jmp far ptr16:16 */
		c->far_jumped = true;
		c->far_ip = (uint16_t)(p[1] | p[2] << 8);
		c->far_cs = (uint16_t)(p[3] | p[4] << 8);
		return false;
	case 0x0F:
		assert_int_equal(p[1], 0x01);
		assert_int_equal(p[2], 0xC1);
		vmcall_exit(c);
		return true;
	case 0x55: /* push bp */
		push16(c, c->bp);
		c->ip += 1;
		return true;
	case 0x89: /* mov bp, sp */
		assert_int_equal(p[1], 0xE5);
		c->bp = c->sp;
		c->ip += 2;
		return true;
	case 0x5D: /* pop bp */
		c->bp = pop16(c);
		c->ip += 1;
		return true;
	case 0xCF: /* iret */
		c->ip = pop16(c);
		c->cs = pop16(c);
		c->flags = pop16(c);
		return false;
	}
	fail_msg("unexpected opcode %02x at %04x:%04x", p[0], c->cs, c->ip);
	return false;
}

/* The caller's INT 15h: returns with the caller's CS:IP restored (or a far jump). */
#define CALLER_CS 0x1000u
#define CALLER_IP 0x0123u
static void int15(struct cpu16 *c)
{
	c->cs = CALLER_CS;
	c->ip = CALLER_IP;
	uint16_t sp0 = c->sp;
	push16(c, c->flags);
	push16(c, c->cs);
	push16(c, c->ip);
	c->flags &= (uint16_t) ~(FLAG_IF | FLAG_TF);
	c->ip = rd16(IVT_INT15);
	c->cs = rd16(IVT_INT15 + 2);
	for (int n = 0; n < 100 && step(c); n++)
		;
	if (!c->far_jumped) {
		assert_int_equal(c->cs, CALLER_CS);
		assert_int_equal(c->ip, CALLER_IP);
		assert_int_equal(c->sp, sp0);
	}
}

static struct cpu16 caller(uint32_t eax, uint32_t ebx, uint32_t ecx, uint16_t es, uint16_t di)
{
	return (struct cpu16){.eax = eax,
	                      .ebx = ebx,
	                      .ecx = ecx,
	                      .edx = SMAP,
	                      .edi = di,
	                      .es = es,
	                      .ss = 0x2000,
	                      .sp = 0xFFF0,
	                      .bp = 0x5555,
	                      .flags = FLAG_IF | 0x0002};
}

/* ---- installation ---- */

static void test_install_takes_page_below_ebda(void **state)
{
	assert_int_equal(bios_hook_install(&gmap), 0);
	assert_int_equal(bios_hook_page(), HOOK_PAGE);
	assert_int_equal(rd16(IVT_INT15), 0);
	assert_int_equal(rd16(IVT_INT15 + 2), HOOK_PAGE >> 4);
	assert_int_equal(rd16(BDA_BASE_MEM_KIB), HOOK_PAGE >> 10);
	/* reserved in the guest map (and merged with the reserved EBDA page after it) */
	const struct e820_entry *e = e820_find(&gmap, HOOK_PAGE);
	assert_non_null(e);
	assert_int_equal(e->type, E820_RESERVED);
	assert_int_equal(e->base, HOOK_PAGE);
	assert_int_equal(e->base + e->len, 0xA0000);
	assert_true(e820_range_is(&gmap, 0, HOOK_PAGE, E820_RAM));
}

static void test_install_honours_lower_base_memory(void **state)
{
	wr16(BDA_BASE_MEM_KIB, 600); /* something already took memory below the EBDA */
	assert_int_equal(bios_hook_install(&gmap), 0);
	assert_int_equal(bios_hook_page(), (600 * 1024 - 0x1000) & ~0xFFFu);
	assert_int_equal(rd16(BDA_BASE_MEM_KIB), ((600 * 1024 - 0x1000) & ~0xFFFu) >> 10);
}

static void test_install_rejects_nonsense_bda(void **state)
{
	struct e820_map before = gmap;
	wr16(BDA_BASE_MEM_KIB, 0);
	assert_int_equal(bios_hook_install(&gmap), BIOS_HOOK_ERR_BDA);
	wr16(BDA_BASE_MEM_KIB, 1024); /* above the VGA memory, no EBDA */
	wr16(BDA_EBDA_SEGMENT, 0);
	assert_int_equal(bios_hook_install(&gmap), BIOS_HOOK_ERR_BDA);
	assert_memory_equal(&gmap, &before, sizeof(gmap));
	assert_int_equal(rd16(IVT_INT15 + 2), ORIG_SEG);
}

static void test_install_reports_full_guest_map(void **state)
{
	e820_init(&gmap);
	for (uint32_t i = 0; i < E820_MAX_ENTRIES; i++)
		assert_int_equal(e820_add(&gmap, 2 * i * 0x2000, 0x2000, E820_RAM), 0);
	/* the page (0x9E000) falls in a hole between two entries: no room for another */
	assert_int_equal(bios_hook_install(&gmap), BIOS_HOOK_ERR_E820);
	assert_int_equal(rd16(IVT_INT15 + 2), ORIG_SEG);
	assert_int_equal(rd16(BDA_BASE_MEM_KIB), 639);
}

static void test_stub_bytes_at_documented_offsets(void **state)
{
	const uint8_t *s = &low[HOOK_PAGE];
	assert_int_equal(s[BIOS_HOOK_OFF_VMCALL], 0x0F);
	assert_int_equal(s[BIOS_HOOK_OFF_VMCALL + 1], 0x01);
	assert_int_equal(s[BIOS_HOOK_OFF_VMCALL + 2], 0xC1);
	assert_int_equal(s[BIOS_HOOK_OFF_FAR_JMP], 0xEA);
	assert_int_equal(BIOS_HOOK_OFF_ORIG, BIOS_HOOK_OFF_FAR_JMP + 1);
	assert_int_equal(rd16(HOOK_PAGE + BIOS_HOOK_OFF_ORIG), ORIG_OFF);
	assert_int_equal(rd16(HOOK_PAGE + BIOS_HOOK_OFF_ORIG + 2), ORIG_SEG);
	assert_int_equal(s[BIOS_HOOK_STUB_LEN - 1], 0xCF); /* ends in IRET */
	for (unsigned i = BIOS_HOOK_STUB_LEN; i < 0x1000; i++)
		assert_int_equal(s[i], 0);
	assert_true(bios_hook_is_e820_call(HOOK_PAGE + BIOS_HOOK_OFF_VMCALL));
	assert_false(bios_hook_is_e820_call(HOOK_PAGE + BIOS_HOOK_OFF_VMCALL + 3));
	assert_false(bios_hook_is_e820_call(HOOK_PAGE));
	assert_false(bios_hook_is_e820_call(0x7C00));
}

/* ---- the protocol, through the stub ---- */

static void test_e820_iterates_whole_map(void **state)
{
	uint32_t ebx = 0, n = 0;
	do {
		struct cpu16 c = caller(0xE820, ebx, 24, 0x0050, 0x0100);
		memset(&low[0x600], 0xEE, 32);
		int15(&c);
		assert_false(c.far_jumped);
		assert_int_equal(c.vmcalls, 1);
		assert_int_equal(c.flags & FLAG_CF, 0);
		assert_int_equal(c.eax, SMAP);
		assert_int_equal(c.ecx, 24);
		assert_int_equal(c.bp, 0x5555);
		assert_true(c.flags & FLAG_IF); /* the caller's IF, not the INT's */
		const struct e820_entry *e = &gmap.entries[n];
		uint64_t base, len;
		uint32_t type, attr;
		memcpy(&base, &low[0x600], 8);
		memcpy(&len, &low[0x608], 8);
		memcpy(&type, &low[0x610], 4);
		memcpy(&attr, &low[0x614], 4);
		assert_int_equal(base, e->base);
		assert_int_equal(len, e->len);
		assert_int_equal(type, e->type);
		assert_int_equal(attr, BIOS_E820_ATTR_ENABLED);
		assert_int_equal(low[0x618], 0xEE); /* nothing past 24 bytes */
		ebx = c.ebx;
		n++;
		assert_true(n <= gmap.count);
	} while (ebx != 0);
	assert_int_equal(n, gmap.count);
	/* the guest sees its hook page and the hypervisor region as reserved */
	assert_int_equal(e820_find(&gmap, HV_REGION_BASE)->type, E820_RESERVED);
	assert_int_equal(e820_find(&gmap, HOOK_PAGE)->type, E820_RESERVED);
}

static void test_e820_20_byte_buffer(void **state)
{
	struct cpu16 c = caller(0xE820, 0, 20, 0, 0x600);
	memset(&low[0x600], 0xEE, 32);
	int15(&c);
	assert_int_equal(c.flags & FLAG_CF, 0);
	assert_int_equal(c.ecx, 20);
	assert_int_equal(low[0x613], 0); /* high byte of type 1 */
	assert_int_equal(low[0x614], 0xEE);
	assert_int_equal(c.ebx, 1);
}

static void test_e820_errors_set_cf(void **state)
{
	struct {
		uint32_t ebx, ecx, edx;
	} bad[] = {
	    {0, 24, 0x12345678},    /* no 'SMAP' signature */
	    {0, 19, SMAP},          /* buffer too small */
	    {gmap.count, 24, SMAP}, /* continuation past the end */
	    {0xFFFFFFFF, 24, SMAP},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct cpu16 c = caller(0xE820, bad[i].ebx, bad[i].ecx, 0, 0x600);
		c.edx = bad[i].edx;
		memset(&low[0x600], 0xEE, 32);
		int15(&c);
		assert_int_equal(c.flags & FLAG_CF, FLAG_CF);
		assert_int_equal((c.eax >> 8) & 0xFF, BIOS_ERR_UNSUPPORTED);
		assert_true(c.flags & FLAG_IF);
		assert_int_equal(low[0x600], 0xEE); /* nothing written */
	}
}

static void test_caller_flags_survive_except_cf(void **state)
{
	/* IF clear and CF set on entry: CF becomes the answer, IF stays clear. */
	struct cpu16 c = caller(0xE820, 0, 24, 0, 0x600);
	c.flags = 0x0002 | FLAG_CF | FLAG_TF;
	int15(&c);
	assert_int_equal(c.flags, 0x0002 | FLAG_TF);
}

static void test_other_functions_chain_to_original(void **state)
{
	const uint32_t eaxes[] = {0x2401, 0xC000, 0x8600, 0x0000E821, 0x0001E820, 0xE980};
	for (size_t i = 0; i < sizeof(eaxes) / sizeof(eaxes[0]); i++) {
		struct cpu16 c = caller(eaxes[i], 0, 24, 0, 0x600);
		int15(&c);
		assert_true(c.far_jumped);
		assert_int_equal(c.vmcalls, 0);
		assert_int_equal(c.far_cs, ORIG_SEG);
		assert_int_equal(c.far_ip, ORIG_OFF);
		assert_int_equal(c.eax, eaxes[i]); /* untouched for the real BIOS */
	}
}

static void test_e801_and_88_stop_below_hypervisor(void **state)
{
	struct cpu16 c = caller(0xE801, 0, 0, 0, 0);
	int15(&c);
	assert_int_equal(c.vmcalls, 1);
	assert_int_equal(c.flags & FLAG_CF, 0);
	assert_int_equal(c.eax & 0xFFFF, 15 * 1024);
	assert_int_equal(c.ecx & 0xFFFF, 15 * 1024);
	assert_int_equal(c.ebx & 0xFFFF, (HV_REGION_BASE - 16 * MIB) >> 16);
	assert_int_equal(c.edx & 0xFFFF, (HV_REGION_BASE - 16 * MIB) >> 16);

	c = caller(0x8800, 0, 0, 0, 0);
	int15(&c);
	assert_int_equal(c.vmcalls, 1);
	assert_int_equal(c.flags & FLAG_CF, 0);
	assert_int_equal(c.eax & 0xFFFF, 0xFFFF); /* 191 MiB does not fit in 16 bits */

	/* a small machine: 8 MiB */
	const struct e820_entry small[] = {{0, 0x9F000, E820_RAM}, {MIB, 7 * MIB, E820_RAM}};
	assert_int_equal(e820_from_entries(small, 2, &gmap), 0);
	c = caller(0xE801, 0, 0, 0, 0);
	int15(&c);
	assert_int_equal(c.eax & 0xFFFF, 7 * 1024);
	assert_int_equal(c.ebx & 0xFFFF, 0);
	c = caller(0x8800, 0, 0, 0, 0);
	int15(&c);
	assert_int_equal(c.eax & 0xFFFF, 7 * 1024);
}

/* ---- the handler's own checks on the buffer ---- */

static void test_handler_refuses_hypervisor_and_protected_buffers(void **state)
{
	struct bios_e820_regs r = {
	    .rax = 0xE820, .rcx = 24, .rdx = SMAP, .es_base = HV_REGION_BASE, .rflags = 0x202};
	bios_hook_handle_e820(&r, &gmap);
	assert_int_equal(r.rflags & FLAG_CF, FLAG_CF);
	r = (struct bios_e820_regs){.rax = 0xE820,
	                            .rcx = 24,
	                            .rdx = SMAP,
	                            .es_base = 0xFFFFFFF0,
	                            .rdi = 0x20,
	                            .rflags = 0x202};
	bios_hook_handle_e820(&r, &gmap); /* above 4 GiB */
	assert_int_equal(r.rflags & FLAG_CF, FLAG_CF);

	/* With the guest's EPT view: a page the guest may not write is refused. */
	fake_msr_set(0x48C, (1ull << 6) | (1ull << 14) | (1ull << 16) | (1ull << 25));
	fake_cpu(0)->vmx_on = true;
	palloc_reset();
	void *pool = aligned_alloc(0x1000, 64 * 0x1000);
	palloc_add_range(hw_ptr_phys(pool), 64 * 0x1000);
	uint64_t eptp = ept_build(&gmap);
	assert_int_not_equal(eptp, 0);
	assert_int_equal(ept_set_page_access(eptp, 0x1000, 0x1000, EPT_READ | EPT_EXECUTE), 0);

	struct cpu16 c = caller(0xE820, 0, 24, 0x0100, 0x1000); /* 0x2000..0x2018: writable */
	c.eptp = eptp;
	int15(&c);
	assert_int_equal(c.flags & FLAG_CF, 0);
	low[0x1FF0] = 0xEE;
	c = caller(0xE820, 0, 24, 0x0000, 0x1FF0); /* 0x1FF0..0x2008: one page read-only */
	c.eptp = eptp;
	int15(&c);
	assert_int_equal(c.flags & FLAG_CF, FLAG_CF);
	assert_int_equal(low[0x1FF0], 0xEE);
	palloc_reset();
	free(pool);
}

/* ---- the boot sector ---- */

static void test_mbr_signature(void **state)
{
	uint8_t mbr[512];
	for (int i = 0; i < 512; i++)
		mbr[i] = (uint8_t)(i * 7);
	mbr[510] = 0x55;
	mbr[511] = 0xAA;
	assert_true(guest_mbr_valid(mbr));
	assert_int_equal(guest_load_mbr(mbr), 0);
	assert_memory_equal(&low[0x7C00], mbr, 512);

	mbr[511] = 0xAB;
	assert_false(guest_mbr_valid(mbr));
	memset(&low[0x7C00], 0, 512);
	assert_int_equal(guest_load_mbr(mbr), GUEST_ERR_NO_BOOT_SIGNATURE);
	for (int i = 0; i < 512; i++)
		assert_int_equal(low[0x7C00 + i], 0); /* nothing copied */
	mbr[511] = 0xAA;
	mbr[510] = 0x00;
	assert_false(guest_mbr_valid(mbr));
	assert_int_equal(guest_load_mbr(mbr), GUEST_ERR_NO_BOOT_SIGNATURE);
	assert_int_equal(low[0x7C00], 0);
}

int main(void)
{
#define T(f)  cmocka_unit_test_setup_teardown(f, setup, teardown)
#define TI(f) cmocka_unit_test_setup_teardown(f, setup_installed, teardown)
	const struct CMUnitTest tests[] = {
	    T(test_install_takes_page_below_ebda),
	    T(test_install_honours_lower_base_memory),
	    T(test_install_rejects_nonsense_bda),
	    T(test_install_reports_full_guest_map),
	    TI(test_stub_bytes_at_documented_offsets),
	    TI(test_e820_iterates_whole_map),
	    TI(test_e820_20_byte_buffer),
	    TI(test_e820_errors_set_cf),
	    TI(test_caller_flags_survive_except_cf),
	    TI(test_other_functions_chain_to_original),
	    TI(test_e801_and_88_stop_below_hypervisor),
	    TI(test_handler_refuses_hypervisor_and_protected_buffers),
	    T(test_mbr_signature),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
