/*
 * Decoding the one kind of instruction the library emulates: a store to an
 * MMIO register (the local APIC page), i.e. MOV m, r (89), MOV m, imm (C7 /0),
 * MOV moffs, eAX (A3) and XCHG m, r (87), in 16-, 32- or 64-bit code (SDM Vol. 2 chapter 2:
 * prefixes, ModR/M, SIB, displacement, immediate). Only the length, the
 * source and the operand size are needed: the address is the exit's GPA.
 */
#include "libvmx/vmx_internal.h"

static bool is_legacy_prefix(uint8_t b)
{
	switch (b) {
	case 0x26:
	case 0x2e:
	case 0x36:
	case 0x3e:
	case 0x64:
	case 0x65: /* segments */
	case 0xf0:
	case 0xf2:
	case 0xf3: /* lock, rep */
		return true;
	default:
		return false;
	}
}

bool mmio_decode_store(const uint8_t *b, size_t n, unsigned mode, struct mmio_store *out)
{
	size_t i = 0;
	bool opsize = false, addrsize = false;
	uint8_t rex = 0;

	for (; i < n; i++) {
		if (b[i] == 0x66)
			opsize = true;
		else if (b[i] == 0x67)
			addrsize = true;
		else if (!is_legacy_prefix(b[i]))
			break;
	}
	if (mode == 64 && i < n && (b[i] & 0xf0) == 0x40)
		rex = b[i++];
	if (i >= n)
		return false;

	/* Operand size (SDM Vol. 1 3.6): 16/32 by mode and 66h, 64 with REX.W. */
	unsigned size = mode == 16 ? (opsize ? 4 : 2) : (opsize ? 2 : 4);
	if (rex & 0x8)
		size = 8;
	out->size = size;
	bool addr16 = (mode == 16) != addrsize;

	if (b[i] == 0xa3) {
		/* MOV moffs, eAX: the offset is as wide as the address (SDM Vol. 2 MOV). */
		unsigned asz = mode == 64 ? (addrsize ? 4 : 8) : (addr16 ? 2 : 4);
		i += 1 + asz;
		if (i > n)
			return false;
		out->imm = false;
		out->xchg = false;
		out->reg = 0; /* RAX */
		out->len = (unsigned)i;
		return true;
	}
	if (i + 2 > n)
		return false;

	uint8_t op = b[i++], modrm = b[i++];
	unsigned mod = modrm >> 6, reg = (modrm >> 3) & 7, rm = modrm & 7;
	if (mod == 3)
		return false; /* a register operand: not a memory store */
	if (op == 0x89 || op == 0x87) {
		out->imm = false;
		out->xchg = op == 0x87;
		out->reg = reg | ((rex & 0x4) ? 8u : 0u);
	} else if (op == 0xc7 && reg == 0) {
		out->imm = true;
		out->xchg = false;
		out->reg = 0;
	} else {
		return false;
	}

	/* Addressing form: 16-bit (SDM Vol. 2 Table 2-1) or 32/64-bit (Table 2-2). */
	if (addr16) {
		if (mod == 0 && rm == 6)
			i += 2;
		else if (mod == 1)
			i += 1;
		else if (mod == 2)
			i += 2;
	} else {
		if (rm == 4) {
			if (i >= n)
				return false;
			uint8_t sib = b[i++];
			if (mod == 0 && (sib & 7) == 5)
				i += 4;
		} else if (mod == 0 && rm == 5) {
			i += 4; /* disp32, or RIP-relative in 64-bit mode */
		}
		if (mod == 1)
			i += 1;
		else if (mod == 2)
			i += 4;
	}
	if (out->imm) {
		/* imm16 or imm32 (sign-extended to 64 with REX.W). */
		unsigned isz = size == 2 ? 2 : 4;
		if (i + isz > n)
			return false;
		uint32_t v = 0;
		for (unsigned k = 0; k < isz; k++)
			v |= (uint32_t)b[i + k] << (8 * k);
		out->imm_value = v;
		i += isz;
	}
	if (i > n || i > 15)
		return false;
	out->len = (unsigned)i;
	return true;
}
