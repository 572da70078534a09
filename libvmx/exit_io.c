/*
 * I/O-instruction exits (SDM 28.2.1 Table 28-5). Only ports in the I/O bitmap
 * exit: the ones apps intercept, and Bochs's power-off port 0x8900, watched so
 * that a guest power-off prints the exit counters before it happens.
 */
#include "hw/hw.h"
#include "libvmx/vmx_internal.h"
#include "rt/panic.h"
#include "rt/power.h"
#include "rt/spinlock.h"

/*
 * Bochs powers off when the bytes "Shutdown" are written to port 0x8900. The
 * port is one device: the bytes may come from different CPUs (Linux writes
 * them with one process per byte), so the match is machine-wide, under `lock`.
 */
static const char shutdown_word[] = "Shutdown";
static unsigned shutdown_matched;
static struct spinlock lock = SPINLOCK_INIT;

static void watch_power_off(struct vcpu *v, uint8_t byte)
{
	spin_lock(&lock);
	unsigned m = shutdown_matched;
	m = (byte == (uint8_t)shutdown_word[m]) ? m + 1 : (byte == 'S' ? 1 : 0);
	bool complete = m == sizeof(shutdown_word) - 1;
	shutdown_matched = complete ? 0 : m;
	spin_unlock(&lock);
	if (complete) {
		vmx_print_exit_counters();
		const struct hv_app *app = vmx_app();
		if (app && app->shutdown)
			app->shutdown(v);
	}
}

static uint32_t port_in(uint16_t port, unsigned size)
{
	return size == 1 ? hw_inb(port) : size == 2 ? hw_inw(port) : hw_inl(port);
}

static void port_out(uint16_t port, unsigned size, uint32_t value)
{
	if (size == 1)
		hw_outb(port, (uint8_t)value);
	else if (size == 2)
		hw_outw(port, (uint16_t)value);
	else
		hw_outl(port, value);
}

void vmx_exit_io(struct vcpu *v)
{
	uint64_t q = v->exit.qualification;
	uint16_t port = IOQUAL_PORT(q);
	unsigned size = IOQUAL_SIZE(q);
	bool in = (q & IOQUAL_IN) != 0;

	/* String I/O would need guest-memory emulation; no intercepted port uses it. */
	if (q & IOQUAL_STRING)
		hv_panic("string I/O on intercepted port 0x%x (CPU %u): not emulated", port,
		         v->cpu);

	uint32_t mask = size == 4 ? 0xffffffffu : (1u << (size * 8)) - 1;
	uint32_t value = (uint32_t)v->gpr[GPR_RAX] & mask;
	if (!in)
		vmx_guest_reset_check(v, port, size, value);
	vmx_io_handler h = vmx_io_handler_for(port);
	if (!h || !h(v, port, in, size, &value)) {
		if (in) {
			value = port_in(port, size);
		} else {
			if (port == POWER_BOCHS_PORT && size == 1)
				watch_power_off(v, (uint8_t)value);
			port_out(port, size, value);
		}
	}
	if (in) {
		/* IN writes AL/AX and keeps the rest; a 32-bit IN zero-extends. */
		if (size == 4)
			v->gpr[GPR_RAX] = value;
		else
			v->gpr[GPR_RAX] = (v->gpr[GPR_RAX] & ~(uint64_t)mask) | (value & mask);
	}
	vcpu_skip_instruction(v);
}
