/*
 * The PVH loader's only inline assembly beyond the test guest's port I/O and
 * halt (guest/cpu.h): string moves for copying the kernel and its modules.
 * The loader runs flat 32-bit, paging off: physical and linear addresses are
 * the same.
 */
#ifndef GUEST_LINUX_PVH_PVH_CPU_H
#define GUEST_LINUX_PVH_PVH_CPU_H

#include <stdint.h>

#include "guest/cpu.h"

static inline void pvh_copy(uint8_t *dst, const uint8_t *src, uint32_t n)
{
	uint32_t words = n / 4;
	__asm__ volatile("rep movsl" : "+D"(dst), "+S"(src), "+c"(words) : : "memory");
	n &= 3;
	__asm__ volatile("rep movsb" : "+D"(dst), "+S"(src), "+c"(n) : : "memory");
}

static inline void pvh_zero(uint8_t *dst, uint32_t n)
{
	uint32_t words = n / 4;
	__asm__ volatile("rep stosl" : "+D"(dst), "+c"(words) : "a"(0) : "memory");
	n &= 3;
	__asm__ volatile("rep stosb" : "+D"(dst), "+c"(n) : "a"(0) : "memory");
}

/*
 * memmove in whole dwords (a module's last dword may read past its end and write
 * into the page padding after its destination): backwards when dst is above src.
 */
static inline void pvh_move(uint8_t *dst, const uint8_t *src, uint32_t n)
{
	uint32_t words = (n + 3) / 4;
	if (words == 0 || dst == src)
		return;
	if (dst < src) {
		__asm__ volatile("rep movsl" : "+D"(dst), "+S"(src), "+c"(words) : : "memory");
		return;
	}
	dst += (words - 1) * 4;
	src += (words - 1) * 4;
	__asm__ volatile("std; rep movsl; cld" : "+D"(dst), "+S"(src), "+c"(words) : : "memory");
}

/* Physical memory at pa (laundered: GCC's bounds checks take low constants for null + n). */
static inline const uint8_t *pvh_phys(uint64_t pa)
{
	const uint8_t *p = (const uint8_t *)(uintptr_t)pa;
	__asm__("" : "+r"(p));
	return p;
}

#endif /* GUEST_LINUX_PVH_PVH_CPU_H */
