/*
 * Guest memory set-up: the boot sector (see guest_memory.h).
 */
#include "libvmx/guest_memory.h"

#include "hw/hw.h"
#include "rt/console.h"
#include "rt/string.h"

#ifdef HV_HOST
static uint8_t *window;
static uint64_t window_len;

void guest_memory_test_window(void *host, uint64_t len)
{
	window = host;
	window_len = host ? len : 0;
}
#endif

void *guest_phys_ptr(uint64_t gpa)
{
#ifdef HV_HOST
	if (gpa < window_len)
		return window + gpa;
#endif
	return hw_phys_ptr(gpa);
}

bool guest_mbr_valid(const void *mbr512)
{
	const uint8_t *b = mbr512;
	return b[510] == 0x55 && b[511] == 0xAA;
}

int guest_load_mbr(const void *mbr512)
{
	const uint8_t *b = mbr512;
	if (!guest_mbr_valid(mbr512)) {
		hv_printf("hv: guest MBR has no boot signature: bytes 510-511 are %02x %02x, not "
		          "55 aa (is the guest disk attached and bootable?)\n",
		          b[510], b[511]);
		return GUEST_ERR_NO_BOOT_SIGNATURE;
	}
	memcpy(guest_phys_ptr(GUEST_MBR_ADDR), mbr512, GUEST_MBR_SIZE);
	return 0;
}
