/* Start-up phase time stamps (rt/boot_phase.h). */
#include "rt/boot_phase.h"

#include <stdbool.h>

#include "hw/hw.h"
#include "rt/console.h"

struct phase {
	const char *name;
	uint64_t tsc;
};

static struct phase phases[BOOT_PHASE_MAX];
static uint32_t count;
static bool printed;

void boot_phase(const char *name)
{
	if (count < BOOT_PHASE_MAX)
		phases[count++] = (struct phase){name, hw_rdtsc()};
}

void boot_phase_print(void)
{
	/* Every power-off path prints the exit counters; the phases go out once. */
	if (__atomic_exchange_n(&printed, true, __ATOMIC_ACQ_REL))
		return;
	for (uint32_t i = 0; i < count; i++)
		hv_printf("hv: phase %s tsc=%llu\n", phases[i].name,
		          (unsigned long long)phases[i].tsc);
}
