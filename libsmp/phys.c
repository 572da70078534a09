/* libsmp's view of physical memory (phys.h). */
#include "libsmp/phys.h"

#include "hw/hw.h"

/* The hypervisor identity-maps the low 4 GiB and nothing else (docs/design.md section 8). */
static void *identity_view(uint64_t pa, size_t len)
{
	const uint64_t limit = 1ull << 32;

	if (pa == 0 || len > limit || pa > limit - len)
		return NULL;
	return hw_phys_ptr(pa);
}

static smp_phys_view_fn view = identity_view;

void *smp_phys(uint64_t pa, size_t len)
{
	return view(pa, len);
}

void smp_set_phys_view(smp_phys_view_fn v)
{
	view = v != NULL ? v : identity_view;
}
