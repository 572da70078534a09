/* The real-mode interpreter of real_mode_cpu.h. */
#include "tests/unit/vmx/real_mode_cpu.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "libvmx/bios_hook.h"
#include "tests/unit/vmx/bios_lowmem.h"

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

void int15(struct cpu16 *c)
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

struct cpu16 caller(uint32_t eax, uint32_t ebx, uint32_t ecx, uint16_t es, uint16_t di)
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
