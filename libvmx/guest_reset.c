/*
 * Guest reset requests: scrub first, then reset (docs/design.md section 6.1).
 *
 * A reset keeps DRAM as it is, so a guest that resets the machine and boots
 * something else in its place could read whatever the hypervisor and its app
 * left there (TrustVisor: the PALs' pages, the micro-TPM's keys). Every way the
 * platform offers to reset by I/O is watched here; a write that would reset the
 * machine first runs the app's shutdown hook (which scrubs), then makes the
 * same request to the hardware. A triple fault is handled by exit_misc.c
 * (the app's shutdown hook, then power-off).
 *
 * Watched (all writes exit through the I/O bitmap; reads pass through):
 *   0xCF9  PIIX/ICH Reset Control Register: a write with RST_CPU (bit 2) set
 *          resets (Intel 82371AB PIIX4 datasheet 4.1.17, ICH9 13.7.5).
 *          A dword at 0xCF8 is the PCI configuration address and never is.
 *   0x64   8042 keyboard controller: commands F0h-FFh pulse the output-port
 *          bits whose command bit is 0; bit 0 of the output port is the
 *          system reset line (so FEh resets). Command D1h makes the next
 *          data byte (port 0x60) the output port: bit 0 clear resets.
 *   0x92   System Control Port A: bit 0 going from 0 to 1 is a fast reset.
 *   the ACPI FADT reset register, when it is an I/O port
 *          (vmx_guest_reset_watch_port; ACPI 6.5 section 5.2.9, RESET_REG).
 * Sleep and soft power-off scrub too: a write that sets SLP_EN (bit 13) in a
 * PM1 control register (vmx_guest_reset_watch_pm1; ACPI 6.5 4.8.3.2.1) enters
 * a sleep state or S5. Any state, not only S5: on a resume from S3 the firmware
 * jumps to the OS's waking vector with no hypervisor left to hide anything.
 * The write is forwarded after the scrub; if the machine goes on (S1), the app
 * has shut down (TrustVisor: no PALs, no micro-TPM) for the rest of the run.
 * A wider OUT that covers one of these ports is judged by the byte it writes
 * there, so `outw` at 0xCF8 cannot slip a reset past.
 */
#include "hw/hw.h"
#include "libvmx/vmx_internal.h"
#include "rt/console.h"
#include "rt/power.h"
#include "rt/spinlock.h"

#define PORT_KBC_DATA       0x60
#define PORT_KBC_CMD        0x64
#define PORT_SYSCTL_A       0x92
#define PORT_PCI_ADDR       0xcf8
#define PORT_RESET_CONTROL  0xcf9
#define RESET_CONTROL_CPU   (1u << 2)
#define KBC_CMD_WRITE_OUT   0xd1
#define SYSCTL_A_FAST_RESET (1u << 0)
#define PM1_SLP_EN          (1u << 13)

static struct spinlock lock = SPINLOCK_INIT;
/* The machine's reset and sleep controls, under `lock`: the FADT's ports (set
 * once at boot) and the 8042's D1h state (one device, machine-wide). */
static struct vmx_reset_state machine_state;

/* The byte an OUT of `size` bytes at `port` writes to port `p`, if it covers it. */
static bool byte_to(uint16_t port, unsigned size, uint32_t value, uint16_t p, uint8_t *b)
{
	if (p < port || p >= port + size)
		return false;
	*b = (uint8_t)(value >> (8 * (p - port)));
	return true;
}

const char *vmx_reset_request(struct vmx_reset_state *st, uint16_t port, unsigned size,
                              uint32_t value)
{
	uint8_t b;

	if (st->acpi_watched && byte_to(port, size, value, st->acpi_port, &b) &&
	    b == st->acpi_value)
		return "ACPI FADT reset register";
	if (!(port == PORT_PCI_ADDR && size == 4) &&
	    byte_to(port, size, value, PORT_RESET_CONTROL, &b) && (b & RESET_CONTROL_CPU))
		return "port 0xCF9 (reset control)";
	if (byte_to(port, size, value, PORT_SYSCTL_A, &b) && (b & SYSCTL_A_FAST_RESET) &&
	    !(st->sysctl_a & SYSCTL_A_FAST_RESET))
		return "port 0x92 bit 0 (fast reset)";
	if (byte_to(port, size, value, PORT_KBC_CMD, &b)) {
		st->kbc_write_output = b == KBC_CMD_WRITE_OUT;
		if ((b & 0xf0) == 0xf0 && !(b & 1))
			return "keyboard controller pulse (port 0x64)";
	} else if (byte_to(port, size, value, PORT_KBC_DATA, &b) && st->kbc_write_output) {
		st->kbc_write_output = false;
		if (!(b & 1))
			return "keyboard controller output port (port 0x60)";
	}
	return NULL;
}

const char *vmx_sleep_request(const struct vmx_reset_state *st, uint16_t port, unsigned size,
                              uint32_t value)
{
	uint8_t b;

	for (unsigned i = 0; i < 2; i++)
		if (st->pm1_port[i] && byte_to(port, size, value, st->pm1_port[i] + 1, &b) &&
		    (b & (PM1_SLP_EN >> 8)))
			return i == 0 ? "ACPI PM1a control SLP_EN" : "ACPI PM1b control SLP_EN";
	return NULL;
}

void vmx_guest_reset_watch_pm1(uint16_t pm1a, uint16_t pm1b)
{
	const uint16_t pm1[2] = {pm1a, pm1b};

	spin_lock(&lock);
	machine_state.pm1_port[0] = pm1a;
	machine_state.pm1_port[1] = pm1b;
	spin_unlock(&lock);
	for (unsigned i = 0; i < 2; i++)
		if (pm1[i]) {
			vmx_io_bitmap_set(pm1[i]);
			vmx_io_bitmap_set((uint16_t)(pm1[i] + 1));
		}
}

void vmx_guest_reset_watch_port(uint16_t port, uint8_t value)
{
	spin_lock(&lock);
	machine_state.acpi_port = port;
	machine_state.acpi_value = value;
	machine_state.acpi_watched = true;
	spin_unlock(&lock);
	vmx_io_bitmap_set(port);
}

void vmx_guest_reset_watch(void)
{
	vmx_io_bitmap_set(PORT_KBC_DATA);
	vmx_io_bitmap_set(PORT_KBC_CMD);
	vmx_io_bitmap_set(PORT_SYSCTL_A);
	vmx_io_bitmap_set(PORT_RESET_CONTROL);
}

/* Before the request reaches the hardware: report it, then the app scrubs. */
static void scrub_first(struct vcpu *v, const char *what, const char *why)
{
	hv_printf("hv: cpu %u: guest %s request (%s): scrubbing first\n", v->cpu, what, why);
	vmx_print_exit_counters();
	const struct hv_app *app = vmx_app();
	if (app && app->shutdown)
		app->shutdown(v);
}

void vmx_guest_reset_check(struct vcpu *v, uint16_t port, unsigned size, uint32_t value)
{
	spin_lock(&lock);
	/* Only the 0-to-1 edge of port 0x92 bit 0 resets: read the port's state
	 * when the write reaches it. */
	if (port <= PORT_SYSCTL_A && port + size > PORT_SYSCTL_A)
		machine_state.sysctl_a = hw_inb(PORT_SYSCTL_A);
	const char *why = vmx_reset_request(&machine_state, port, size, value);
	const char *sleep = why ? NULL : vmx_sleep_request(&machine_state, port, size, value);
	spin_unlock(&lock);
	if (sleep) {
		scrub_first(v, "sleep or power-off", sleep);
		console_drain();
		return; /* the caller forwards the write */
	}
	if (!why)
		return;

	scrub_first(v, "reset", why);
	hv_printf("hv: resetting the machine\n");
	console_drain();
	/* The guest's own request, now that nothing is left to find. */
	vmx_port_out(port, size, value);
	/* Still running: the device ignored it. The chipset's hard reset, then
	 * the keyboard controller's pulse. */
	hw_outb(PORT_RESET_CONTROL, 0x02);
	hw_outb(PORT_RESET_CONTROL, 0x06);
	hw_outb(PORT_KBC_CMD, 0xfe);
	hv_printf("hv: the machine did not reset: powering off instead\n");
	hv_power_off(HV_POWER_NO_RESET);
}
