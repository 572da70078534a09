/*
 * Test-and-test-and-set spinlocks. The hypervisor runs with interrupts off, so
 * no lock needs to disable them; an NMI handler must never take one.
 */
#ifndef RT_SPINLOCK_H
#define RT_SPINLOCK_H

#include <stdbool.h>
#include <stdint.h>

struct spinlock {
	volatile uint32_t locked;
};

#define SPINLOCK_INIT                                                                              \
	{                                                                                          \
		0                                                                                  \
	}

void spin_lock(struct spinlock *l);
void spin_unlock(struct spinlock *l);
/* true if the lock was free and is now held. */
bool spin_trylock(struct spinlock *l);

#endif /* RT_SPINLOCK_H */
