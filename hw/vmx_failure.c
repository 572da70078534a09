/* The one place a failed VMX instruction goes (hw.h, hw_vmx_failed). */
#include "hw/hw.h"

#ifdef HV_HOST
#include <stdio.h>
#include <stdlib.h>
#endif

static hw_vmx_failure_fn failure_handler;

void hw_vmx_set_failure_handler(hw_vmx_failure_fn fn)
{
	failure_handler = fn;
}

_Noreturn void hw_vmx_failed(const char *insn, uint32_t encoding, uint64_t value,
                             enum hw_vmx_result result)
{
	hw_vmx_failure_fn fn = failure_handler;

	if (fn != NULL)
		fn(insn, encoding, value, result); /* panics; should it return, stop anyway */
#ifdef HV_HOST
	fprintf(stderr, "hw_vmx_failed: %s 0x%x failed (%d) with no handler\n", insn,
	        (unsigned)encoding, (int)result);
	abort();
#else
	for (;;) {
		hw_cli();
		hw_halt();
	}
#endif
}
