/* The legacy 8259 pair, remapped to vectors VEC_PIC_BASE.. and masked except when a case asks. */
#ifndef GUEST_PIC_H
#define GUEST_PIC_H

#include <stdint.h>

/* Reinitialises both 8259s (master at VEC_PIC_BASE, slave at +8), all IRQs masked. */
void pic_init_masked(void);
void pic_unmask(uint8_t irq);
void pic_mask_all(void);
void pic_eoi(uint8_t irq);

#endif
