/*
 * Decoding the kinds of instruction the library emulates against an MMIO
 * address (the local APIC page, guest-physical space with no device): moves
 * between a register or an immediate and memory, in 16-, 32- or 64-bit code
 * (SDM Vol. 2 chapter 2: prefixes, REX, ModR/M, SIB, displacement, immediate):
 *   stores  MOV m, r (88, 89); MOV m, imm (C6 /0, C7 /0); MOV moffs, AL/eAX (A2, A3)
 *   loads   MOV r, m (8A, 8B); MOV AL/eAX, moffs (A0, A1);
 *           MOVZX (0F B6, 0F B7); MOVSX (0F BE, 0F BF)
 *   both    XCHG m, r (86, 87)
 * Only the length, the register or immediate and the sizes are needed: the
 * address is the exit's GPA. Anything else (string moves, read-modify-write
 * ALU instructions, SSE) is not decoded: the caller stops the guest.
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

/* Bytes of ModR/M addressing after the ModR/M byte (SDM Vol. 2 Tables 2-1, 2-2). */
static bool skip_addressing(const uint8_t *b, size_t n, size_t *i, uint8_t modrm, bool addr16)
{
	unsigned mod = modrm >> 6, rm = modrm & 7;

	if (addr16) {
		if (mod == 0 && rm == 6)
			*i += 2;
		else if (mod == 1)
			*i += 1;
		else if (mod == 2)
			*i += 2;
		return true;
	}
	if (rm == 4) {
		if (*i >= n)
			return false;
		uint8_t sib = b[(*i)++];
		if (mod == 0 && (sib & 7) == 5)
			*i += 4;
	} else if (mod == 0 && rm == 5) {
		*i += 4; /* disp32, or RIP-relative in 64-bit mode */
	}
	if (mod == 1)
		*i += 1;
	else if (mod == 2)
		*i += 4;
	return true;
}

bool mmio_decode(const uint8_t *b, size_t n, unsigned mode, struct mmio_access *out)
{
	size_t i = 0;
	bool opsize = false, addrsize = false;
	uint8_t rex = 0;

	*out = (struct mmio_access){0};
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
	bool addr16 = (mode == 16) != addrsize;
	uint8_t op = b[i++];

	if (op >= 0xa0 && op <= 0xa3) {
		/* MOV AL/eAX <-> moffs: the offset is as wide as the address (SDM Vol. 2 MOV). */
		unsigned asz = mode == 64 ? (addrsize ? 4 : 8) : (addr16 ? 2 : 4);
		i += asz;
		if (i > n)
			return false;
		out->size = (op & 1) ? size : 1;
		out->reg_size = out->size;
		out->store = op >= 0xa2;
		out->load = !out->store;
		out->reg = 0; /* AL/AX/EAX/RAX */
		out->len = (unsigned)i;
		return true;
	}

	bool twobyte = op == 0x0f;
	if (twobyte) {
		if (i >= n)
			return false;
		op = b[i++];
	}
	if (i >= n)
		return false;
	uint8_t modrm = b[i++];
	unsigned mod = modrm >> 6, reg = ((modrm >> 3) & 7) | ((rex & 0x4) ? 8u : 0u);
	if (mod == 3)
		return false; /* a register operand: no memory access */

	if (twobyte) {
		switch (op) {
		case 0xb6: /* MOVZX r, m8 / m16 */
		case 0xb7:
		case 0xbe: /* MOVSX r, m8 / m16 */
		case 0xbf:
			out->load = true;
			out->size = (op & 1) ? 2 : 1;
			out->reg_size = size;
			out->sign_extend = op >= 0xbe;
			out->reg = reg;
			break;
		default:
			return false;
		}
	} else {
		switch (op) {
		case 0x88: /* MOV m, r */
		case 0x89:
			out->store = true;
			break;
		case 0x8a: /* MOV r, m */
		case 0x8b:
			out->load = true;
			break;
		case 0x86: /* XCHG m, r */
		case 0x87:
			out->store = out->load = out->xchg = true;
			break;
		case 0xc6: /* MOV m, imm */
		case 0xc7:
			if ((modrm >> 3) & 7)
				return false;
			out->store = out->imm = true;
			break;
		default:
			return false;
		}
		out->size = (op & 1) ? size : 1;
		out->reg_size = out->size;
		out->reg = out->imm ? 0 : reg;
		/* Without REX, byte registers 4-7 are AH, CH, DH, BH (SDM Vol. 2 3.1.1.1). */
		out->high_byte = out->size == 1 && !out->imm && !rex && reg >= 4;
		if (out->high_byte)
			out->reg = reg - 4;
	}

	if (!skip_addressing(b, n, &i, modrm, addr16))
		return false;
	if (out->imm) {
		/* imm8, imm16 or imm32 (sign-extended to 64 with REX.W). */
		unsigned isz = out->size == 1 ? 1 : out->size == 2 ? 2 : 4;
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

bool mmio_decode_store(const uint8_t *b, size_t n, unsigned mode, struct mmio_access *out)
{
	return mmio_decode(b, n, mode, out) && out->store;
}
