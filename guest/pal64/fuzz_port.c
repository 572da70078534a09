/*
 * Fuzz actions on I/O ports (fuzz64.h): IN/OUT and string I/O at CPL 0, which
 * never fault on a correct machine (IOPL does not apply at CPL 0).
 */
#include "guest/cpu.h"
#include "guest/pal64/fuzz64.h"
#include "guest/pal64/probe64.h"

/*
 * Port I/O, every port but the ones that end the run or the console:
 *   0x20-0x21, 0xa0-0xa1, 0x4d0-0x4d1  8259 PICs and ELCR (masked for the guest)
 *   0x40-0x43, 0x61                     PIT and its gate (the guest's calibration)
 *   0x60, 0x64                          keyboard controller (0xfe = reset, 0xd1 =
 *                                       output port: A20 and reset)
 *   0x92                                fast A20 and reset (bit 0)
 *   0xb2-0xb3                           APM / SMI command (the BIOS's SMI handler)
 *   0xf4                                isa-debug-exit (QEMU: the exit code)
 *   0x3f8-0x3ff                         COM1 (the console of guest and hypervisor)
 *   0x1ce-0x1d0, 0x3b0-0x3df            VGA and Bochs VBE: a mode the display library
 *                                       cannot show stops Bochs (a long run did)
 *   0x400-0x403, 0x500-0x503            BIOS and VGA BIOS debug ports (Bochs stops on
 *                                       a write to the panic ones: a long run did)
 *   0xcf8-0xcff                         PCI configuration (re-mapping the PM block,
 *                                       reset control 0xcf9)
 *   0x8900                              Bochs power-off ("Shutdown")
 *   0x8a00-0x8a01                       Bochs debugger commands
 *   0xafe0-0xafff, 0xb000-0xb0ff        ACPI GPE / PM1 block (SLP_EN powers off)
 *   0x1f0-0x1f7, 0x3f6, 0x170-0x177,    ATA, floppy and DMA controllers: Bochs
 *   0x376, 0x3f0-0x3f7, 0x00-0x1f,      treats some programming errors as fatal
 *   0x80-0x8f, 0xc0-0xdf                (panic: action=fatal), not a hypervisor matter
 */
static bool port_excluded(uint16_t p)
{
	static const uint16_t ranges[][2] = {
	    {0x00, 0x1f},   {0x20, 0x21},   {0x40, 0x43},     {0x60, 0x61},     {0x64, 0x64},
	    {0x80, 0x8f},   {0x92, 0x92},   {0xa0, 0xa1},     {0xb2, 0xb3},     {0xc0, 0xdf},
	    {0xf4, 0xf4},   {0x170, 0x177}, {0x1f0, 0x1f7},   {0x376, 0x376},   {0x3f0, 0x3f7},
	    {0x3f8, 0x3ff}, {0x1ce, 0x1d0}, {0x3b0, 0x3df},   {0x400, 0x403},   {0x4d0, 0x4d1},
	    {0x500, 0x503}, {0xcf8, 0xcff}, {0x8900, 0x8900}, {0x8a00, 0x8a01}, {0xafe0, 0xb0ff},
	};
	for (uint32_t i = 0; i < sizeof(ranges) / sizeof(ranges[0]); i++)
		if (p >= ranges[i][0] && p <= ranges[i][1])
			return true;
	return false;
}

uint16_t fuzz_draw_port(void)
{
	static const uint64_t devices[] = {0x70,  0x71, 0x2f8, 0x2fd, 0x378,  0x379,
	                                   0x37a, 0xe9, 0x510, 0x511, 0xfffc, 0xffff};
	for (;;) {
		uint16_t p =
		    fuzz_chance(2) ? (uint16_t)fuzz_pick(devices, 12) : (uint16_t)fuzz_rand();
		if (!port_excluded(p) && !(p + 3 >= 0x3f8 && p <= 0x3ff))
			return p;
	}
}

void fuzz_act_port(void)
{
	uint16_t port = fuzz_draw_port();
	uint32_t size = 1u << fuzz_below(3), v = (uint32_t)fuzz_rand();
	bool in = fuzz_chance(2);

	if (port == 0x70)
		v &= 0x7f; /* CMOS index; bit 7 masks NMIs on real chipsets */
	fuzz_note("%s port=%x size=%u value=%x", in ? "in" : "out", port, size, v);
	/* At CPL 0 port I/O never faults (IOPL does not apply): a fault is the hypervisor's. */
	probe64_arm();
	if (in) {
		if (size == 1)
			__asm__ __volatile__(PROBE64_ASM("inb %%dx, %%al")
			                     : "+a"(v), PROBE64_OUT
			                     : "d"(port)
			                     : "memory");
		else if (size == 2)
			__asm__ __volatile__(PROBE64_ASM("inw %%dx, %%ax")
			                     : "+a"(v), PROBE64_OUT
			                     : "d"(port)
			                     : "memory");
		else
			__asm__ __volatile__(PROBE64_ASM("inl %%dx, %%eax")
			                     : "+a"(v), PROBE64_OUT
			                     : "d"(port)
			                     : "memory");
	} else {
		if (size == 1)
			__asm__ __volatile__(PROBE64_ASM("outb %%al, %%dx")
			                     : PROBE64_OUT
			                     : "a"(v), "d"(port)
			                     : "memory");
		else if (size == 2)
			__asm__ __volatile__(PROBE64_ASM("outw %%ax, %%dx")
			                     : PROBE64_OUT
			                     : "a"(v), "d"(port)
			                     : "memory");
		else
			__asm__ __volatile__(PROBE64_ASM("outl %%eax, %%dx")
			                     : PROBE64_OUT
			                     : "a"(v), "d"(port)
			                     : "memory");
	}
	uint32_t vec = probe64_disarm();
	if (vec != PROBE_NONE)
		fuzz_fail("port I/O at CPL 0 raised vector %u", vec);
}

/*
 * String I/O (OUTSB/INSB, 1-4 bytes) to the same ports; without avoid_known
 * also OUTSB of a byte that is not 'S' to Bochs's power-off port 0x8900, which
 * the hypervisor intercepts (libvmx exit_io.c): string I/O there is a known
 * panic (issue 11 point 4).
 */
void fuzz_act_port_string(void)
{
	static uint8_t buf[8];
	bool to_8900 = fuzz_known(FUZZ_KNOWN_STRING_IO) && fuzz_chance(32);
	uint16_t port = to_8900 ? 0x8900 : fuzz_draw_port();
	uint64_t n = to_8900 ? 1 : 1 + fuzz_below(4), p = (uint64_t)(uintptr_t)buf;
	bool in = !to_8900 && fuzz_chance(2);

	for (uint32_t i = 0; i < sizeof(buf); i++)
		buf[i] = (uint8_t)fuzz_rand();
	if (to_8900)
		buf[0] = 'x';
	fuzz_note("%s port=%x count=%llu", in ? "insb" : "outsb", port, (unsigned long long)n);
	probe64_arm();
	if (in)
		__asm__ __volatile__(PROBE64_ASM("rep insb")
		                     : "+c"(n), "+D"(p), PROBE64_OUT
		                     : "d"(port)
		                     : "memory");
	else
		__asm__ __volatile__(PROBE64_ASM("rep outsb")
		                     : "+c"(n), "+S"(p), PROBE64_OUT
		                     : "d"(port)
		                     : "memory");
	uint32_t vec = probe64_disarm();
	if (vec != PROBE_NONE)
		fuzz_fail("string I/O at CPL 0 raised vector %u", vec);
}
