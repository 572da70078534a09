/* The real trampoline, as assembled from ap_trampoline.S (image builds only). */
#include "libsmp/ap_trampoline.h"

extern const uint8_t ap_trampoline_start[];
extern const uint8_t ap_trampoline_params[];
extern const uint8_t ap_trampoline_end[];

const struct ap_trampoline_code *ap_trampoline_code(void)
{
	static struct ap_trampoline_code code;

	code.bytes = ap_trampoline_start;
	code.size = (size_t)(ap_trampoline_end - ap_trampoline_start);
	code.params_offset = (size_t)(ap_trampoline_params - ap_trampoline_start);
	return &code;
}
