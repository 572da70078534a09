/* The fake TrustVisor platform (fake_platform.h). */
#include "tests/unit/trustvisor/fake_platform.h"

#include <stdlib.h>
#include <string.h>

#include "apps/trustvisor/tv_internal.h"
#include "hw/hw.h"

uint8_t *tvf_ram;
unsigned tvf_view[TVF_RAM_SIZE / 4096];
unsigned tvf_syncs, tvf_invepts;
uint64_t tvf_eptp;
void (*tvf_page_hook)(void);

void tvf_reset(void)
{
	if (!tvf_ram)
		tvf_ram = aligned_alloc(4096, TVF_RAM_SIZE);
	memset(tvf_ram, 0, TVF_RAM_SIZE);
	for (size_t i = 0; i < TVF_RAM_SIZE / 4096; i++)
		tvf_view[i] = EPT_RWX;
	tvf_syncs = tvf_invepts = 0;
	tvf_page_hook = NULL;
	tvf_sync_hook = NULL;
	tvf_view_set_hook = NULL;
}

void tv_platform_boot(struct vcpu *v)
{
	(void)v;
}

/* No quiesce rounds here, so no generation to catch up with. */
void tv_platform_before_entry(struct vcpu *v)
{
	(void)v;
}

static bool is_ram(uint64_t gpa)
{
	return gpa < TVF_RAM_SIZE && !(gpa >= TVF_HV_LO && gpa < TVF_HV_HI);
}

void *tv_guest_page(uint64_t gpa_page, bool write)
{
	void (*hook)(void) = tvf_page_hook;
	if (hook) {
		tvf_page_hook = NULL;
		hook();
	}
	if (!is_ram(gpa_page))
		return NULL;
	unsigned rwx = tvf_view[gpa_page / 4096];
	if (!(rwx & EPT_READ) || (write && !(rwx & EPT_WRITE)))
		return NULL;
	return tvf_ram + gpa_page;
}

bool tv_guest_ram(uint64_t gpa_page, uint64_t *hpa)
{
	if (!is_ram(gpa_page) || tvf_view[gpa_page / 4096] != EPT_RWX)
		return false;
	*hpa = (uint64_t)(uintptr_t)(tvf_ram + gpa_page);
	return true;
}

int tv_guest_view_set(uint64_t gpa_page, unsigned rwx)
{
	if (!is_ram(gpa_page))
		return -1;
	if (tvf_view_set_hook)
		tvf_view_set_hook(gpa_page, rwx);
	tvf_view[gpa_page / 4096] = rwx;
	return 0;
}

uint64_t tv_guest_eptp(void)
{
	return tvf_eptp;
}

void (*tvf_sync_hook)(void);

void tv_sync_all_cpus(void)
{
	tvf_syncs++;
	if (tvf_sync_hook)
		tvf_sync_hook();
}

void (*tvf_view_set_hook)(uint64_t gpa_page, unsigned rwx);

/* hw_pause: a test's fake_set_pause_hook lets other CPUs progress meanwhile. */
void tv_relax(void)
{
	hw_pause();
}

void tv_invept(uint64_t eptp)
{
	(void)eptp;
	tvf_invepts++;
}
