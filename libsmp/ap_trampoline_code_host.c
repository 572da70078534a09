/*
 * Host builds: real-mode code cannot run there, so a blob of the trampoline's
 * shape stands in - code bytes (HLT) then the parameter block - which lets
 * tests check what smp.c copies and fills in.
 */
#include "libsmp/ap_trampoline.h"

#define STANDIN_CODE_SIZE 64

static const uint8_t standin[STANDIN_CODE_SIZE + AP_PARAM_SIZE] = {
    [0 ... STANDIN_CODE_SIZE - 1] = 0xf4,
};

const struct ap_trampoline_code *ap_trampoline_code(void)
{
	static const struct ap_trampoline_code code = {
	    .bytes = standin,
	    .size = sizeof(standin),
	    .params_offset = STANDIN_CODE_SIZE,
	};
	return &code;
}
