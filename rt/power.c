/* Power off for the emulators the project runs in (rt/power.h). */
#include "rt/power.h"

#include "hw/hw.h"
#include "rt/console.h"

#ifdef HV_HOST
#include "rt/host_stop.h"
#endif

_Noreturn void hv_power_off(uint8_t code)
{
	console_notes_flush();
	hv_printf("hv: power off (code %u)\n", code);
	console_drain();
	for (const char *s = "Shutdown"; *s != '\0'; s++)
		hw_outb(POWER_BOCHS_PORT, (uint8_t)*s);
	hw_outb(POWER_QEMU_EXIT_PORT, code);
#ifdef HV_HOST
	rt_host_stop("hv_power_off");
#else
	for (;;) {
		hw_cli();
		hw_halt();
	}
#endif
}
