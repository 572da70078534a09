/*
 * I/O-instruction exits (SDM 28.2.1 Table 28-5). Only ports in the I/O bitmap
 * exit: the ones apps intercept, and Bochs's power-off port 0x8900, watched so
 * that a guest power-off prints the exit counters before it happens. String
 * I/O (INS/OUTS) to them is emulated one element per exit.
 */
#include "hw/hw.h"
#include "libvmx/guest_walk.h"
#include "libvmx/vmx_caps.h"
#include "libvmx/vmx_internal.h"
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

/* One IN or OUT of `size` bytes: the app's handler, else the real port. */
static uint32_t io_element(struct vcpu *v, uint16_t port, bool in, unsigned size, uint32_t value)
{
	/* A reset request scrubs first, however the guest wrote it (guest_reset.c). */
	if (!in)
		vmx_guest_reset_check(v, port, size, value);
	vmx_io_handler h = vmx_io_handler_for(port);
	if (h && h(v, port, in, size, &value))
		return value;
	if (in)
		return port_in(port, size);
	if (port == POWER_BOCHS_PORT && size == 1)
		watch_power_off(v, (uint8_t)value);
	port_out(port, size, value);
	return value;
}

/* Address size of INS/OUTS in bytes: the VM-exit instruction information
 * (SDM Vol. 3C 28.2.5, Table 28-8) where the CPU reports it (IA32_VMX_BASIC
 * bit 54), else the code size (an address-size prefix is then not seen). */
static unsigned string_address_size(void)
{
	if (vmx_bsp_cap_msrs()->basic & VMX_BASIC_INS_OUTS_INFO) {
		unsigned a = (vmcs_read32(VMCS_VM_EXIT_INSTRUCTION_INFO) >> 7) & 7;
		return a == 0 ? 2 : a == 1 ? 4 : 8;
	}
	return vmx_guest_code_size() / 8;
}

/* A register used as an address-size counter or pointer, updated by `delta`:
 * a 32-bit result zero-extends, a 16-bit one keeps bits 63:16. */
static void add_asz(struct vcpu *v, unsigned reg, unsigned asz, int64_t delta)
{
	uint64_t old = v->gpr[reg], val = old + (uint64_t)delta;
	if (asz == 2)
		val = (old & ~0xffffull) | (val & 0xffff);
	else if (asz == 4)
		val &= 0xffffffffull;
	v->gpr[reg] = val;
}

/*
 * INS/OUTS (REP or not) on an intercepted port, one element per exit (SDM
 * Vol. 2B INS, OUTS): the memory operand is at the guest-linear address the
 * exit reports (SDM Vol. 3C 28.2.1), checked as the guest's own access would be;
 * RSI/RDI move by the element size (back with RFLAGS.DF) and a REP prefix
 * counts RCX down. While RCX is not zero RIP stays, so the next element exits
 * again, as the CPU would resume the string instruction after an interrupt.
 */
static void string_io(struct vcpu *v, uint16_t port, unsigned size, bool in, bool rep)
{
	unsigned asz = string_address_size();
	uint64_t amask = asz == 8 ? ~0ull : (1ull << (asz * 8)) - 1;

	if (rep && (v->gpr[GPR_RCX] & amask) == 0) {
		vcpu_skip_instruction(v);
		return;
	}
	uint64_t la = vmcs_readnat(VMCS_GUEST_LINEAR_ADDRESS);
	unsigned access = (vcpu_cpl() == 3 ? VMX_GW_USER : 0) | (in ? VMX_GW_WRITE : 0);
	uint32_t value = 0;
	uint64_t denied = UINT64_MAX;
	/* The memory operand first: an INS that cannot store must not have
	 * taken the port's data (a read can have effects on the device). */
	bool ok = in ? vmx_guest_probe_linear(la, size, access, &denied)
	             : vmx_guest_access_linear(la, &value, size, access, &denied);
	if (ok && in) {
		value = io_element(v, port, true, size, 0);
		ok = vmx_guest_access_linear(la, &value, size, access, &denied);
	}
	if (!ok) {
		if (denied != UINT64_MAX) {
			/* A page this EPT view hides: the EPT violation the CPU's own
			 * access would have been. */
			vmx_guest_access_denied(v, denied, in ? EPTQUAL_WRITE : EPTQUAL_READ);
			return;
		}
		vmx_guest_stop(v, "%s port 0x%x: guest-linear 0x%llx cannot be %s",
		               in ? "INS from" : "OUTS to", port, (unsigned long long)la,
		               in ? "written" : "read");
	}
	if (!in)
		io_element(v, port, false, size, value);

	int64_t step = (vmcs_readnat(VMCS_GUEST_RFLAGS) & RFLAGS_DF) ? -(int64_t)size : size;
	add_asz(v, in ? GPR_RDI : GPR_RSI, asz, step);
	if (rep) {
		add_asz(v, GPR_RCX, asz, -1);
		if (v->gpr[GPR_RCX] & amask)
			return;
	}
	vcpu_skip_instruction(v);
}

void vmx_exit_io(struct vcpu *v)
{
	uint64_t q = v->exit.qualification;
	uint16_t port = IOQUAL_PORT(q);
	unsigned size = IOQUAL_SIZE(q);
	bool in = (q & IOQUAL_IN) != 0;

	if (q & IOQUAL_STRING) {
		string_io(v, port, size, in, (q & IOQUAL_REP) != 0);
		return;
	}
	uint32_t mask = size == 4 ? 0xffffffffu : (1u << (size * 8)) - 1;
	uint32_t value = io_element(v, port, in, size, (uint32_t)v->gpr[GPR_RAX] & mask);
	if (in) {
		/* IN writes AL/AX and keeps the rest; a 32-bit IN zero-extends. */
		if (size == 4)
			v->gpr[GPR_RAX] = value;
		else
			v->gpr[GPR_RAX] = (v->gpr[GPR_RAX] & ~(uint64_t)mask) | (value & mask);
	}
	vcpu_skip_instruction(v);
}
