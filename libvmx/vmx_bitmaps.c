/*
 * I/O and MSR bitmaps (SDM 25.6.4, 25.6.9), shared by every CPU. I/O ports
 * pass through except what the library or an app intercepts; MSRs exit except
 * what msr_policy.c allows (the bitmap is filled from its table when
 * allocated, so an intercept registered earlier or later stays set).
 *
 * Lock: `lock` guards the handler tables and bitmap updates (apps may register
 * from app->boot on several CPUs at once). Lookups at exit time read entries
 * that, once published, never change.
 */
#include "hw/hw.h"
#include "libvmx/msr_policy.h"
#include "libvmx/vmx_internal.h"
#include "rt/layout.h"
#include "rt/palloc.h"
#include "rt/panic.h"
#include "rt/spinlock.h"

#define MAX_IO_HANDLERS  16
#define MAX_MSR_HANDLERS 32
/* Bochs's power-off port: watched so a guest power-off can be reported. */
#define PORT_BOCHS_SHUTDOWN 0x8900

static struct spinlock lock = SPINLOCK_INIT;
static uint64_t io_bitmap_pa;  /* two pages: A (0-7FFF), B (8000-FFFF) */
static uint64_t msr_bitmap_pa; /* one page, SDM 25.6.9 layout */
static struct {
	uint16_t port;
	vmx_io_handler h;
} io_handlers[MAX_IO_HANDLERS];
static struct {
	uint32_t msr;
	vmx_msr_handler h;
} msr_handlers[MAX_MSR_HANDLERS];
static unsigned n_io, n_msr;

static void alloc_bitmaps(void)
{
	if (io_bitmap_pa)
		return;
	io_bitmap_pa = palloc_pages(2);
	msr_bitmap_pa = palloc_page();
	if (!io_bitmap_pa || !msr_bitmap_pa)
		hv_panic("libvmx: out of memory for the I/O and MSR bitmaps");
	vmx_msr_policy_fill_bitmap(hw_phys_ptr(msr_bitmap_pa));
}

/* The MSR bitmap covers 0-1FFF and C0000000-C0001FFF; others always exit. */
bool vmx_msr_in_bitmap(uint32_t msr)
{
	return msr <= 0x1fffu || (msr >= 0xc0000000u && msr <= 0xc0001fffu);
}

void vmx_msr_bitmap_set(uint32_t msr)
{
	uint8_t *b = hw_phys_ptr(msr_bitmap_pa);
	uint32_t off = msr >= 0xc0000000u ? 1024 : 0;
	uint32_t bit = msr & 0x1fffu;

	b[off + bit / 8] |= (uint8_t)(1u << (bit % 8));        /* reads */
	b[2048 + off + bit / 8] |= (uint8_t)(1u << (bit % 8)); /* writes */
}

void vmx_msr_bitmap_clear(uint32_t msr)
{
	uint8_t *b = hw_phys_ptr(msr_bitmap_pa);
	uint32_t off = msr >= 0xc0000000u ? 1024 : 0;
	uint32_t bit = msr & 0x1fffu;

	spin_lock(&lock);
	b[off + bit / 8] &= (uint8_t) ~(1u << (bit % 8));
	b[2048 + off + bit / 8] &= (uint8_t) ~(1u << (bit % 8));
	spin_unlock(&lock);
}

void vmx_io_bitmap_set(uint16_t port)
{
	uint8_t *b = hw_phys_ptr(io_bitmap_pa); /* B follows A */
	b[port / 8] |= (uint8_t)(1u << (port % 8));
}

void vmx_bitmaps_init(void)
{
	spin_lock(&lock);
	alloc_bitmaps();
	vmx_io_bitmap_set(PORT_BOCHS_SHUTDOWN);
	/* IA32_FEATURE_CONTROL and the VMX MSRs exit like every MSR msr_policy.c
	 * does not pass through: VMX stays hidden from the guest. */
	spin_unlock(&lock);
}

uint64_t vmx_io_bitmap_pa(int which)
{
	return io_bitmap_pa + (which ? HV_PAGE_SIZE : 0);
}

uint64_t vmx_msr_bitmap_pa(void)
{
	return msr_bitmap_pa;
}

int vmx_intercept_io(uint16_t port, vmx_io_handler h)
{
	int rc = -1;

	spin_lock(&lock);
	alloc_bitmaps();
	if (n_io < MAX_IO_HANDLERS) {
		io_handlers[n_io].port = port;
		io_handlers[n_io].h = h;
		__atomic_store_n(&n_io, n_io + 1, __ATOMIC_RELEASE);
		vmx_io_bitmap_set(port);
		rc = 0;
	}
	spin_unlock(&lock);
	return rc;
}

int vmx_intercept_msr(uint32_t msr, vmx_msr_handler h)
{
	int rc = -1;

	spin_lock(&lock);
	alloc_bitmaps();
	/* MSRs outside the bitmap's ranges exit anyway: a handler is enough. */
	if (n_msr < MAX_MSR_HANDLERS) {
		msr_handlers[n_msr].msr = msr;
		msr_handlers[n_msr].h = h;
		__atomic_store_n(&n_msr, n_msr + 1, __ATOMIC_RELEASE);
		if (vmx_msr_in_bitmap(msr))
			vmx_msr_bitmap_set(msr);
		rc = 0;
	}
	spin_unlock(&lock);
	return rc;
}

vmx_io_handler vmx_io_handler_for(uint16_t port)
{
	unsigned n = __atomic_load_n(&n_io, __ATOMIC_ACQUIRE);
	for (unsigned i = 0; i < n; i++)
		if (io_handlers[i].port == port)
			return io_handlers[i].h;
	return NULL;
}

vmx_msr_handler vmx_msr_handler_for(uint32_t msr)
{
	unsigned n = __atomic_load_n(&n_msr, __ATOMIC_ACQUIRE);
	for (unsigned i = 0; i < n; i++)
		if (msr_handlers[i].msr == msr)
			return msr_handlers[i].h;
	return NULL;
}
