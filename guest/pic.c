#include "guest/pic.h"

#include "guest/cpu.h"
#include "guest/trap.h"

#define PIC1_CMD  0x20
#define PIC1_DATA 0x21
#define PIC2_CMD  0xa0
#define PIC2_DATA 0xa1
#define PIC_EOI   0x20

void pic_init_masked(void)
{
	/* ICW1 (edge, cascade, ICW4 follows), ICW2 vector base, ICW3 wiring, ICW4 8086 mode. */
	outb(PIC1_CMD, 0x11);
	outb(PIC2_CMD, 0x11);
	outb(PIC1_DATA, VEC_PIC_BASE);
	outb(PIC2_DATA, VEC_PIC_BASE + 8);
	outb(PIC1_DATA, 0x04); /* slave on IRQ2 */
	outb(PIC2_DATA, 0x02);
	outb(PIC1_DATA, 0x01);
	outb(PIC2_DATA, 0x01);
	pic_mask_all();
}

void pic_unmask(uint8_t irq)
{
	if (irq < 8) {
		outb(PIC1_DATA, (uint8_t)(inb(PIC1_DATA) & ~(1u << irq)));
	} else {
		outb(PIC2_DATA, (uint8_t)(inb(PIC2_DATA) & ~(1u << (irq - 8))));
		outb(PIC1_DATA, (uint8_t)(inb(PIC1_DATA) & ~(1u << 2)));
	}
}

void pic_mask_all(void)
{
	outb(PIC1_DATA, 0xff);
	outb(PIC2_DATA, 0xff);
}

void pic_eoi(uint8_t irq)
{
	if (irq >= 8)
		outb(PIC2_CMD, PIC_EOI);
	outb(PIC1_CMD, PIC_EOI);
}
