/*
 * COM1 console. The UART is a 16550 (registers: PC16550D data sheet); the
 * hypervisor runs with interrupts off, so it polls the line status register.
 */
#include "rt/console.h"

#include <stdbool.h>
#include <stdint.h>

#include "hw/hw.h"
#include "rt/percpu.h"
#include "rt/spinlock.h"

#define UART_DATA        0 /* THR (write), divisor low with DLAB */
#define UART_IER         1 /* interrupt enable, divisor high with DLAB */
#define UART_FCR         2 /* write; IIR on read */
#define UART_IIR         2
#define UART_LCR         3
#define UART_MCR         4
#define UART_LSR         5
#define LCR_DLAB         0x80
#define LCR_8N1          0x03
#define FCR_ENABLE_CLEAR 0x07 /* enable FIFOs, clear both */
#define MCR_DTR_RTS      0x03
#define LSR_THR_EMPTY    0x20
#define LSR_TX_IDLE      0x40 /* THR and shift register both empty */
#define IIR_FIFOS_ON     0xc0 /* both bits set: a 16550A with its FIFOs enabled */
#define TX_FIFO_BYTES    16
/* 115200 baud = 1.8432 MHz / 16 / divisor 1. */
#define BAUD_DIVISOR 1
/* A missing or stuck UART must not hang the hypervisor: give up waiting for
 * the transmitter after this many polls and write anyway. */
#define THR_POLL_LIMIT 100000
/* How long console_lock_for_panic() waits for another CPU to finish a line. */
#define PANIC_LOCK_SPINS 10000000

static struct spinlock lock = SPINLOCK_INIT;
/* CPU index + 1 of the holder, 0 when free (for console_lock_for_panic). */
static uint32_t owner;

/*
 * Bytes written after each wait for LSR's THR-empty bit. With the 16550A's
 * FIFOs on, that bit means the whole 16-byte transmit FIFO is empty
 * (PC16550D data sheet, LSR bit 5), so a line goes out in bursts of 16 and the
 * last burst drains while the hypervisor works on: on Bochs a byte takes 87 us
 * (iodev/serial.cc databyte_usec at 115200 baud), ~17,400 ticks, and the
 * start-up lines' waits were ~3M ticks. 1 without FIFOs (an 8250 or 16450, IIR
 * bits 7:6 clear). Back to 1 once the guest runs (console_end_bursts): a guest
 * writing the same UART between our THR-empty check and the burst's end could
 * overflow the FIFO, which one byte per check cannot.
 */
static uint32_t burst_bytes = 1;
/* Bytes the current holder of the lock may still write without polling: 0 at
 * every release, so each holder starts by waiting for an empty FIFO. */
static uint32_t tx_room;

void console_init(void)
{
	hw_outb(CONSOLE_COM1 + UART_IER, 0);
	hw_outb(CONSOLE_COM1 + UART_LCR, LCR_DLAB);
	hw_outb(CONSOLE_COM1 + UART_DATA, BAUD_DIVISOR & 0xff);
	hw_outb(CONSOLE_COM1 + UART_IER, BAUD_DIVISOR >> 8);
	hw_outb(CONSOLE_COM1 + UART_LCR, LCR_8N1);
	hw_outb(CONSOLE_COM1 + UART_FCR, FCR_ENABLE_CLEAR);
	hw_outb(CONSOLE_COM1 + UART_MCR, MCR_DTR_RTS);
	burst_bytes =
	    (hw_inb(CONSOLE_COM1 + UART_IIR) & IIR_FIFOS_ON) == IIR_FIFOS_ON ? TX_FIFO_BYTES : 1;
	tx_room = 0;
}

void console_end_bursts(void)
{
	__atomic_store_n(&burst_bytes, 1, __ATOMIC_RELAXED);
}

static void uart_put(char c)
{
	if (tx_room == 0) {
		for (int i = 0; i < THR_POLL_LIMIT; i++) {
			if (hw_inb(CONSOLE_COM1 + UART_LSR) & LSR_THR_EMPTY)
				break;
			hw_pause();
		}
		tx_room = __atomic_load_n(&burst_bytes, __ATOMIC_RELAXED);
	}
	hw_outb(CONSOLE_COM1 + UART_DATA, (uint8_t)c);
	tx_room--;
}

/*
 * Waits (bounded) until the last byte has left the shift register: an
 * emulator that powers off right after the last write drops whatever is
 * still in the UART, typically the end of the final line.
 */
void console_drain(void)
{
	for (int i = 0; i < THR_POLL_LIMIT; i++) {
		if (hw_inb(CONSOLE_COM1 + UART_LSR) & LSR_TX_IDLE)
			return;
		hw_pause();
	}
}

static void console_put(char c, void *ctx)
{
	(void)ctx;
	if (c == '\n')
		uart_put('\r');
	uart_put(c);
}

void console_lock(void)
{
	spin_lock(&lock);
	__atomic_store_n(&owner, rt_cpu_index() + 1, __ATOMIC_RELAXED);
}

void console_unlock(void)
{
	tx_room = 0;
	__atomic_store_n(&owner, 0, __ATOMIC_RELAXED);
	spin_unlock(&lock);
}

void console_break_lock(void)
{
	tx_room = 0;
	__atomic_store_n(&owner, 0, __ATOMIC_RELAXED);
	spin_unlock(&lock);
}

void console_lock_for_panic(void)
{
	if (__atomic_load_n(&owner, __ATOMIC_RELAXED) == rt_cpu_index() + 1)
		console_break_lock();
	for (int i = 0; i < PANIC_LOCK_SPINS; i++) {
		if (spin_trylock(&lock)) {
			__atomic_store_n(&owner, rt_cpu_index() + 1, __ATOMIC_RELAXED);
			return;
		}
		hw_pause();
	}
	/* The holder is stopped or dead: take the console from it. */
	console_break_lock();
	console_lock();
}

int hv_vprintf_locked(const char *fmt, va_list ap)
{
	return hv_vformat(console_put, NULL, fmt, ap);
}

int hv_printf_locked(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int r = hv_vprintf_locked(fmt, ap);
	va_end(ap);
	return r;
}

int hv_vprintf(const char *fmt, va_list ap)
{
	console_lock();
	int r = hv_vprintf_locked(fmt, ap);
	console_unlock();
	return r;
}

int hv_printf(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int r = hv_vprintf(fmt, ap);
	va_end(ap);
	return r;
}
