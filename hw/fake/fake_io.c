/*
 * Fake hardware, devices: port I/O (log + scripted input), MMIO registers, and
 * a local APIC per CPU that answers its ID register and records ICR writes as
 * IPIs, in xAPIC (MMIO) and x2APIC (MSR 0x800-0x8FF) mode (SDM Vol. 3A ch. 11).
 */
#include <stdlib.h>
#include <string.h>

#include "hw/fake/fake_internal.h"

static struct fake_io_entry io_log[FAKE_IO_LOG_SIZE];
static size_t io_log_total;

static struct {
	uint16_t port;
	bool has_default;
	uint32_t def;
	size_t head, tail; /* queue[head..tail) */
	uint32_t queue[FAKE_IO_QUEUE];
} io_ports[FAKE_IO_MAX_PORTS];
static size_t io_nports;

static struct {
	uint64_t pa;
	uint32_t value;
} mmio_regs[FAKE_MMIO_MAX_REGS];
static size_t mmio_nregs;

static struct fake_ipi ipi_log[FAKE_IPI_LOG_SIZE];
static size_t ipi_total, ipi_cleared;

void fake_io_reset(void)
{
	io_log_total = 0;
	io_nports = 0;
	mmio_nregs = 0;
	ipi_total = ipi_cleared = 0;
}

/* ---- ports ---- */

static size_t port_index(uint16_t port, bool create)
{
	for (size_t i = 0; i < io_nports; i++)
		if (io_ports[i].port == port)
			return i;
	if (!create)
		return SIZE_MAX;
	if (io_nports == FAKE_IO_MAX_PORTS)
		abort();
	memset(&io_ports[io_nports], 0, sizeof(io_ports[0]));
	io_ports[io_nports].port = port;
	return io_nports++;
}

void fake_io_script(uint16_t port, const uint32_t *values, size_t n)
{
	fake_lock();
	size_t i = port_index(port, true);
	for (size_t k = 0; k < n; k++) {
		if (io_ports[i].tail - io_ports[i].head == FAKE_IO_QUEUE)
			abort(); /* raise FAKE_IO_QUEUE */
		io_ports[i].queue[io_ports[i].tail++ % FAKE_IO_QUEUE] = values[k];
	}
	fake_unlock();
}

void fake_io_set_default(uint16_t port, uint32_t value)
{
	fake_lock();
	size_t i = port_index(port, true);
	io_ports[i].has_default = true;
	io_ports[i].def = value;
	fake_unlock();
}

static void io_record(uint16_t port, uint8_t size, uint8_t dir, uint32_t value)
{
	io_log[io_log_total % FAKE_IO_LOG_SIZE] =
	    (struct fake_io_entry){port, size, dir, value, fake_cur_index()};
	io_log_total++;
}

static uint32_t io_in(uint16_t port, uint8_t size)
{
	uint32_t mask = size == 4 ? 0xffffffffu : (1u << (8 * size)) - 1;
	uint32_t v = mask; /* an unclaimed ISA port floats to all ones */

	fake_lock();
	size_t i = port_index(port, false);
	if (i != SIZE_MAX) {
		if (io_ports[i].head != io_ports[i].tail)
			v = io_ports[i].queue[io_ports[i].head++ % FAKE_IO_QUEUE];
		else if (io_ports[i].has_default)
			v = io_ports[i].def;
	}
	v &= mask;
	io_record(port, size, FAKE_IO_IN, v);
	fake_unlock();
	return v;
}

static void io_out(uint16_t port, uint8_t size, uint32_t v)
{
	fake_lock();
	io_record(port, size, FAKE_IO_OUT, v);
	fake_unlock();
}

uint8_t hw_inb(uint16_t port)
{
	return (uint8_t)io_in(port, 1);
}
uint16_t hw_inw(uint16_t port)
{
	return (uint16_t)io_in(port, 2);
}
uint32_t hw_inl(uint16_t port)
{
	return io_in(port, 4);
}
void hw_outb(uint16_t port, uint8_t v)
{
	io_out(port, 1, v);
}
void hw_outw(uint16_t port, uint16_t v)
{
	io_out(port, 2, v);
}
void hw_outl(uint16_t port, uint32_t v)
{
	io_out(port, 4, v);
}

size_t fake_io_log_len(void)
{
	return io_log_total < FAKE_IO_LOG_SIZE ? io_log_total : FAKE_IO_LOG_SIZE;
}

struct fake_io_entry fake_io_log(size_t i)
{
	size_t first = io_log_total - fake_io_log_len();
	return io_log[(first + i) % FAKE_IO_LOG_SIZE];
}

size_t fake_io_collect(uint16_t port, enum fake_io_dir dir, uint32_t *out, size_t max)
{
	fake_lock();
	size_t found = 0, len = fake_io_log_len();
	for (size_t i = 0; i < len; i++) {
		struct fake_io_entry e = fake_io_log(i);
		if (e.port != port || e.dir != dir)
			continue;
		if (found < max)
			out[found] = e.value;
		found++;
	}
	fake_unlock();
	return found;
}

/* ---- local APIC ---- */

void fake_apic_reset_cpu(struct fake_cpu *c)
{
	memset(c->apic_regs, 0, sizeof(c->apic_regs));
	c->apic_regs[APIC_REG_VERSION >> 4] = 0x00050014; /* version 0x14, 6 LVT entries */
	c->apic_regs[APIC_REG_SVR >> 4] = 0xff;           /* reset value: software-disabled */
	c->apic_regs[APIC_REG_DFR >> 4] = 0xffffffff;
	for (uint32_t r = APIC_REG_LVT_TIMER; r <= APIC_REG_LVT_ERROR; r += 0x10)
		c->apic_regs[r >> 4] = 1u << 16; /* masked */
}

static uint64_t apic_base(struct fake_cpu *c)
{
	uint64_t *b = fake_msr_slot(c, MSR_IA32_APIC_BASE);
	return b ? *b : 0;
}

static void send_ipi(struct fake_cpu *c, uint32_t dest, uint32_t low, bool x2apic)
{
	struct fake_ipi ipi = {
	    .src_cpu = fake_cur_index(),
	    .dest = dest,
	    .delivery_mode = (low & APIC_ICR_DM_MASK) >> APIC_ICR_DM_SHIFT,
	    .vector = low & APIC_ICR_VECTOR_MASK,
	    .shorthand = (low & APIC_ICR_SHORTHAND_MASK) >> APIC_ICR_SHORTHAND_SHIFT,
	    .icr = ((uint64_t)dest << 32) | low,
	    .x2apic = x2apic,
	};
	ipi_log[ipi_total % FAKE_IPI_LOG_SIZE] = ipi;
	ipi_total++;
}

/* Register read/write by MMIO offset, shared by both modes. */
static uint32_t apic_read(struct fake_cpu *c, uint32_t off, bool x2apic)
{
	if (off == APIC_REG_ID)
		return x2apic ? c->apic_id : c->apic_id << 24;
	if (off == APIC_REG_ICR_LOW)
		return c->apic_regs[off >> 4] & ~APIC_ICR_DELIVERY_PENDING; /* always idle */
	return c->apic_regs[(off >> 4) & 63];
}

static void apic_write(struct fake_cpu *c, uint32_t off, uint32_t v)
{
	if (off == APIC_REG_EOI)
		c->eois++;
	else if (off == APIC_REG_ICR_LOW)
		send_ipi(c, c->apic_regs[APIC_REG_ICR_HIGH >> 4] >> APIC_ICR_XAPIC_DEST_SHIFT, v,
		         false);
	else if (off == APIC_REG_ID || off == APIC_REG_VERSION)
		return; /* read-only here */
	c->apic_regs[(off >> 4) & 63] = v;
}

/* The xAPIC page of the current CPU, if the access falls in it. */
static bool xapic_offset(struct fake_cpu *c, uint64_t pa, uint32_t *off)
{
	uint64_t base = apic_base(c);

	if (!(base & APIC_BASE_ENABLE) || (base & APIC_BASE_X2APIC))
		return false;
	base &= APIC_BASE_ADDR_MASK;
	if (pa < base || pa >= base + 0x1000)
		return false;
	*off = (uint32_t)(pa - base) & 0xff0;
	return true;
}

static bool x2apic_on(struct fake_cpu *c)
{
	uint64_t base = apic_base(c);
	return (base & APIC_BASE_ENABLE) && (base & APIC_BASE_X2APIC);
}

bool fake_x2apic_rdmsr(struct fake_cpu *c, uint32_t msr, uint64_t *value)
{
	if (msr < MSR_X2APIC_BASE || msr > MSR_X2APIC_BASE + 0xff || !x2apic_on(c))
		return false;
	uint32_t off = (msr - MSR_X2APIC_BASE) << 4;
	if (msr == MSR_X2APIC_ICR)
		*value = ((uint64_t)c->apic_regs[APIC_REG_ICR_HIGH >> 4] << 32) |
		         c->apic_regs[APIC_REG_ICR_LOW >> 4];
	else
		*value = apic_read(c, off, true);
	return true;
}

bool fake_x2apic_wrmsr(struct fake_cpu *c, uint32_t msr, uint64_t value)
{
	if (msr < MSR_X2APIC_BASE || msr > MSR_X2APIC_BASE + 0xff || !x2apic_on(c))
		return false;
	if (msr == MSR_X2APIC_ICR) {
		/* One 64-bit write; the destination is the full 32-bit x2APIC id. */
		c->apic_regs[APIC_REG_ICR_HIGH >> 4] = (uint32_t)(value >> 32);
		c->apic_regs[APIC_REG_ICR_LOW >> 4] = (uint32_t)value;
		send_ipi(c, (uint32_t)(value >> 32), (uint32_t)value, true);
	} else {
		apic_write(c, (msr - MSR_X2APIC_BASE) << 4, (uint32_t)value);
	}
	return true;
}

size_t fake_ipi_count(void)
{
	return ipi_total;
}

size_t fake_ipi_log_len(void)
{
	size_t n = ipi_total - ipi_cleared;
	return n < FAKE_IPI_LOG_SIZE ? n : FAKE_IPI_LOG_SIZE;
}

struct fake_ipi fake_ipi_log(size_t i)
{
	size_t first = ipi_total - fake_ipi_log_len();
	return ipi_log[(first + i) % FAKE_IPI_LOG_SIZE];
}

void fake_ipi_clear(void)
{
	fake_lock();
	ipi_cleared = ipi_total;
	fake_unlock();
}

/* ---- MMIO ---- */

static size_t mmio_index(uint64_t pa)
{
	for (size_t i = 0; i < mmio_nregs; i++)
		if (mmio_regs[i].pa == pa)
			return i;
	return SIZE_MAX;
}

void fake_mmio_set(uint64_t pa, uint32_t value)
{
	fake_lock();
	size_t i = mmio_index(pa);
	if (i == SIZE_MAX) {
		if (mmio_nregs == FAKE_MMIO_MAX_REGS)
			abort();
		i = mmio_nregs++;
		mmio_regs[i].pa = pa;
	}
	mmio_regs[i].value = value;
	fake_unlock();
}

uint32_t fake_mmio_get(uint64_t pa)
{
	fake_lock();
	size_t i = mmio_index(pa);
	uint32_t v = i == SIZE_MAX ? 0 : mmio_regs[i].value;
	fake_unlock();
	return v;
}

uint32_t hw_mmio_read32(uint64_t pa)
{
	fake_lock();
	struct fake_cpu *c = fake_cur();
	uint32_t off, v = 0xffffffffu;
	size_t i;

	if (fake_vtd_mmio_read32(pa, &v)) {
		/* a VT-d unit's register */
	} else if (xapic_offset(c, pa, &off)) {
		v = apic_read(c, off, false);
	} else if ((i = mmio_index(pa)) != SIZE_MAX) {
		v = mmio_regs[i].value;
	} else {
		fake_hw.mmio_unknown++;
		fake_hw.last_unknown_mmio = pa;
	}
	fake_unlock();
	return v;
}

void hw_mmio_write32(uint64_t pa, uint32_t v)
{
	fake_lock();
	struct fake_cpu *c = fake_cur();
	uint32_t off;
	size_t i;

	if (fake_vtd_mmio_write32(pa, v)) {
		/* a VT-d unit's register */
	} else if (xapic_offset(c, pa, &off)) {
		apic_write(c, off, v);
	} else if ((i = mmio_index(pa)) != SIZE_MAX) {
		mmio_regs[i].value = v;
	} else {
		fake_hw.mmio_unknown++;
		fake_hw.last_unknown_mmio = pa;
	}
	fake_unlock();
}

/* Two 32-bit accesses, low half first: how the VT-d spec (10.2) says a unit
 * treats a 64-bit register written as two dwords (the command bits are in the
 * high half, so the command starts once both halves are in). */
uint64_t hw_mmio_read64(uint64_t pa)
{
	fake_lock();
	uint64_t v = hw_mmio_read32(pa) | ((uint64_t)hw_mmio_read32(pa + 4) << 32);
	fake_unlock();
	return v;
}

void hw_mmio_write64(uint64_t pa, uint64_t v)
{
	fake_lock();
	hw_mmio_write32(pa, (uint32_t)v);
	hw_mmio_write32(pa + 4, (uint32_t)(v >> 32));
	fake_unlock();
}
