/* Spinlocks on the compiler's atomic builtins (acquire on lock, release on unlock). */
#include "rt/spinlock.h"

#include "hw/hw.h"

bool spin_trylock(struct spinlock *l)
{
	return __atomic_exchange_n(&l->locked, 1, __ATOMIC_ACQUIRE) == 0;
}

void spin_lock(struct spinlock *l)
{
	while (!spin_trylock(l)) {
		/* Spin on a plain load so waiters do not keep the line exclusive. */
		while (__atomic_load_n(&l->locked, __ATOMIC_RELAXED) != 0)
			hw_pause();
	}
}

void spin_unlock(struct spinlock *l)
{
	__atomic_store_n(&l->locked, 0, __ATOMIC_RELEASE);
}
