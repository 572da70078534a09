/*
 * The quiesce protocol: plain C over atomics, the same code in the image and in
 * host tests (the platform pieces come in through struct quiesce_ops).
 *
 * Each CPU owns one cache-line slot. Its `flags` word carries two bits:
 *   QS_REQ   "park": set by the quiescer, cleared by whichever of the target's
 *            NMI handler or poll sees it first (atomic RMW, so exactly one).
 *   QS_OWED  "a quiesce NMI was sent here and no NMI has been seen since":
 *            set by the quiescer just before it sends the NMI, cleared by the
 *            target's next NMI, whichever NMI that is.
 *
 * Why no request is lost. The quiescer sets QS_REQ before it sends the NMI and
 * then waits for the target's ack. The target parks at the first of:
 *   - an NMI (host handler or NMI exit): quiesce_handle_nmi() swaps the word to
 *     0 and parks if QS_REQ was in it;
 *   - the next VM entry, or any wait loop that polls: quiesce_poll().
 * An NMI can be latched and not delivered while the target is NMI-blocked (in
 * the NMI handler, or after an NMI exit until the next IRET or VM entry, SDM
 * Vol. 3C 27.1 and 26.6.1), or merged with another NMI already pending (the
 * hardware latches only one). Either way the target reaches a poll before it
 * runs guest code again, and the poll sees QS_REQ. A target in the guest is not
 * blocked (NMI exiting with virtual NMIs, SDM Vol. 3C 27.7.1) except in
 * wait-for-SIPI, which is why such a CPU is "offline" and not waited for (see
 * quiesce_cpu_offline below).
 *
 * Why a quiesce NMI is never taken for the guest's. When a poll consumed the
 * request, the NMI itself arrives later; QS_OWED (left set by the poll) makes
 * quiesce_handle_nmi() report that late NMI as a quiesce NMI. QS_OWED is a bit,
 * not a counter, because at most one NMI is pending per CPU: the quiescer does
 * not send again while QS_OWED is still set (the NMI already on its way, or
 * latched, serves the new request too). So each NMI sent makes exactly one
 * "true", and every other delivery is reported as the guest's (one caveat:
 * the re-send after a long silence, see wait_for_ack).
 *
 * Guest NMIs. If a guest NMI G is delivered after QS_OWED was set but before
 * the quiesce NMI Q arrives, G is the one reported as quiesce and Q, arriving
 * next, is reported as the guest's: the guest still gets one NMI, a little
 * later. The guest loses an NMI only if G and Q were pending at the same time
 * and the hardware merged them into one delivery - the same merging bare metal
 * does when two NMIs meet while one is latched. The guest then sees one fewer
 * NMI than the two sources raised; a guest OS already has to live with that
 * (Linux checks every NMI source on each NMI for this reason).
 *
 * Two quiescers. One global lock, taken by trylock; while a CPU waits for it,
 * it polls its own slot, else A waits for B's lock while B waits for A's ack.
 *
 * Locks held by parked CPUs. A root-mode CPU parks inside its NMI handler,
 * possibly holding the console lock (an NMI inside hv_printf) or any other
 * spinlock. So this file takes no lock but its own, never prints, and the
 * function run while CPUs are parked must not either (quiesce.h). The stuck
 * hook may panic: hv_panic breaks the console lock and never resumes anyone.
 */
#include "libquiesce/quiesce.h"

#include <stddef.h>

#define QS_REQ  1u
#define QS_OWED 2u

#define NO_CPU 0xffffffffu

struct quiesce_slot {
	uint32_t flags;         /* QS_*: RMW by the quiescer and by the owner */
	uint32_t online;        /* written by the owner only */
	uint64_t acked_round;   /* owner: the round it parked for (release) */
	uint64_t nmis_sent;     /* quiescer, under the round lock */
	uint64_t nmis_consumed; /* owner only, from here down */
	uint64_t guest_nmis;
	uint64_t parks;
	uint64_t parks_by_poll;
} __attribute__((aligned(64)));

_Static_assert(sizeof(struct quiesce_slot) == 64, "one slot per cache line");

static struct quiesce_slot slots[QUIESCE_MAX_CPUS];

/* Global round state, on its own cache line away from the slots. */
static struct {
	const struct quiesce_ops *ops;
	uint32_t cpu_count;
	uint32_t lock;     /* 0 free, 1 held: the round lock */
	uint32_t owner;    /* CPU holding the lock, NO_CPU when free */
	uint32_t depth;    /* nested quiesce_begin() on the owner */
	uint64_t round;    /* id of the current (or last) round */
	uint64_t released; /* last round whose CPUs were released */
} g __attribute__((aligned(64)));

static void count(uint64_t *counter)
{
	/* Atomic add: an NMI can land between a load and a store on this CPU. */
	__atomic_fetch_add(counter, 1, __ATOMIC_RELAXED);
}

static struct quiesce_slot *slot_of(uint32_t cpu)
{
	return cpu < g.cpu_count ? &slots[cpu] : NULL;
}

void quiesce_init_ops(uint32_t cpu_count, const struct quiesce_ops *ops)
{
	if (cpu_count > QUIESCE_MAX_CPUS)
		cpu_count = QUIESCE_MAX_CPUS;
	for (uint32_t i = 0; i < QUIESCE_MAX_CPUS; i++)
		slots[i] = (struct quiesce_slot){0};
	g.ops = ops;
	g.lock = 0;
	g.owner = NO_CPU;
	g.depth = 0;
	g.round = 0;
	g.released = 0;
	__atomic_store_n(&g.cpu_count, cpu_count, __ATOMIC_RELEASE);
}

/*
 * Acknowledge the current round and spin until it is released. Only atomics:
 * this runs inside the host NMI handler.
 */
static void park(struct quiesce_slot *s, bool by_poll)
{
	/* Acquire pairs with the quiescer's release of g.round before QS_REQ. */
	uint64_t round = __atomic_load_n(&g.round, __ATOMIC_ACQUIRE);

	count(&s->parks);
	if (by_poll)
		count(&s->parks_by_poll);
	__atomic_store_n(&s->acked_round, round, __ATOMIC_RELEASE);
	/* A request left from a round that is already over releases at once. */
	while (__atomic_load_n(&g.released, __ATOMIC_ACQUIRE) < round)
		g.ops->relax();
}

bool quiesce_handle_nmi(uint32_t cpu)
{
	struct quiesce_slot *s = slot_of(cpu);

	if (s == NULL)
		return false;
	uint32_t old = __atomic_exchange_n(&s->flags, 0, __ATOMIC_ACQ_REL);

	if (old & QS_REQ)
		park(s, false);
	if (old & QS_OWED) {
		count(&s->nmis_consumed);
		return true;
	}
	/*
	 * Not owed: the guest's NMI, even if a request without an NMI (posted
	 * while we were offline) made us park just now.
	 */
	count(&s->guest_nmis);
	return false;
}

void quiesce_poll(uint32_t cpu)
{
	struct quiesce_slot *s = slot_of(cpu);

	if (s == NULL)
		return;
	/* Cheap test first: this runs before every VM entry. */
	if ((__atomic_load_n(&s->flags, __ATOMIC_SEQ_CST) & QS_REQ) == 0)
		return;
	/* Keep QS_OWED: the NMI for this request may still arrive. */
	if (__atomic_fetch_and(&s->flags, ~QS_REQ, __ATOMIC_ACQ_REL) & QS_REQ)
		park(s, true);
}

/*
 * Online/offline are a Dekker pair with quiesce_begin(): the target stores its
 * state then reads its flags; the quiescer sets QS_REQ then reads the state
 * (all sequentially consistent). So if the quiescer saw "offline" and does not
 * wait, a target coming online sees QS_REQ and parks; and if the quiescer saw
 * "online" and waits, a target going offline sees QS_REQ and acks first.
 */
void quiesce_cpu_online(uint32_t cpu)
{
	struct quiesce_slot *s = slot_of(cpu);

	if (s == NULL || __atomic_load_n(&s->online, __ATOMIC_RELAXED))
		return;
	__atomic_store_n(&s->online, 1, __ATOMIC_SEQ_CST);
	quiesce_poll(cpu);
}

void quiesce_cpu_offline(uint32_t cpu)
{
	struct quiesce_slot *s = slot_of(cpu);

	if (s == NULL)
		return;
	__atomic_store_n(&s->online, 0, __ATOMIC_SEQ_CST);
	quiesce_poll(cpu);
}

static void send_nmi(uint32_t cpu)
{
	count(&slots[cpu].nmis_sent);
	g.ops->send_nmi(cpu);
}

/* Post the request to every other CPU; returns the mask of online targets. */
static uint32_t post_requests(uint32_t me)
{
	uint32_t waiting = 0;

	for (uint32_t t = 0; t < g.cpu_count; t++) {
		struct quiesce_slot *s = &slots[t];

		if (t == me)
			continue;
		__atomic_fetch_or(&s->flags, QS_REQ, __ATOMIC_SEQ_CST);
		if (!__atomic_load_n(&s->online, __ATOMIC_SEQ_CST))
			continue; /* it polls when it comes online */
		waiting |= 1u << t;
		/* One NMI outstanding at most: an owed one serves this request too. */
		if ((__atomic_fetch_or(&s->flags, QS_OWED, __ATOMIC_SEQ_CST) & QS_OWED) == 0)
			send_nmi(t);
	}
	return waiting;
}

static void wait_for_ack(uint32_t t, uint64_t round)
{
	const struct quiesce_ops *ops = g.ops;
	struct quiesce_slot *s = &slots[t];
	uint64_t spins = 0;

	while (__atomic_load_n(&s->acked_round, __ATOMIC_ACQUIRE) < round) {
		ops->relax();
		spins++;
		/*
		 * Still owed after a long time: the NMI may have been dropped (an
		 * emulator, or a CPU that went through wait-for-SIPI). Sending
		 * again is harmless if it is only latched: the two merge. The one
		 * cost: a kick that lands after the first NMI was delivered but
		 * before its handler's first instruction makes a second delivery,
		 * which goes to the guest. kick_spins (milliseconds) makes that
		 * window, a few instructions wide, practically unreachable.
		 */
		if (ops->kick_spins != 0 && spins % ops->kick_spins == 0 &&
		    (__atomic_load_n(&s->flags, __ATOMIC_ACQUIRE) & QS_OWED))
			send_nmi(t);
		if (ops->stuck_spins != 0 && spins % ops->stuck_spins == 0 && ops->stuck != NULL)
			ops->stuck(t, round);
	}
}

void quiesce_begin(void)
{
	uint32_t me = g.ops->this_cpu();

	if (__atomic_load_n(&g.owner, __ATOMIC_RELAXED) == me) {
		g.depth++;
		return;
	}
	while (__atomic_exchange_n(&g.lock, 1, __ATOMIC_ACQUIRE) != 0) {
		/* Answer the holder's request to us, or we deadlock with it. */
		do {
			quiesce_poll(me);
			g.ops->relax();
		} while (__atomic_load_n(&g.lock, __ATOMIC_RELAXED) != 0);
	}
	__atomic_store_n(&g.owner, me, __ATOMIC_RELAXED);
	g.depth = 1;

	uint64_t round = g.round + 1;

	__atomic_store_n(&g.round, round, __ATOMIC_RELEASE);
	uint32_t waiting = post_requests(me);

	for (uint32_t t = 0; t < g.cpu_count; t++) {
		if (waiting & (1u << t))
			wait_for_ack(t, round);
	}
}

void quiesce_end(void)
{
	if (__atomic_load_n(&g.owner, __ATOMIC_RELAXED) != g.ops->this_cpu())
		return; /* not ours to end */
	if (--g.depth > 0)
		return;
	__atomic_store_n(&g.owner, NO_CPU, __ATOMIC_RELAXED);
	/* Release: everything done in the round is visible to the parked CPUs. */
	__atomic_store_n(&g.released, g.round, __ATOMIC_RELEASE);
	__atomic_store_n(&g.lock, 0, __ATOMIC_RELEASE);
}

void quiesce_abandon_round(void)
{
	if (__atomic_load_n(&g.owner, __ATOMIC_RELAXED) != g.ops->this_cpu())
		return;
	g.depth = 0;
	__atomic_store_n(&g.owner, NO_CPU, __ATOMIC_RELAXED);
	/* As quiesce_end: the parked CPUs leave; a late one parks and leaves at once. */
	__atomic_store_n(&g.released, g.round, __ATOMIC_RELEASE);
	__atomic_store_n(&g.lock, 0, __ATOMIC_RELEASE);
}

void quiesce_run(void (*fn)(void *), void *arg)
{
	quiesce_begin();
	fn(arg);
	quiesce_end();
}

uint64_t quiesce_rounds(void)
{
	return __atomic_load_n(&g.released, __ATOMIC_ACQUIRE);
}

uint64_t quiesce_nmis_consumed(uint32_t cpu)
{
	struct quiesce_slot *s = slot_of(cpu);

	return s == NULL ? 0 : __atomic_load_n(&s->nmis_consumed, __ATOMIC_RELAXED);
}

void quiesce_cpu_stats(uint32_t cpu, struct quiesce_cpu_stats *out)
{
	struct quiesce_slot *s = slot_of(cpu);

	*out = (struct quiesce_cpu_stats){0};
	if (s == NULL)
		return;
	out->nmis_sent = __atomic_load_n(&s->nmis_sent, __ATOMIC_RELAXED);
	out->nmis_consumed = __atomic_load_n(&s->nmis_consumed, __ATOMIC_RELAXED);
	out->guest_nmis = __atomic_load_n(&s->guest_nmis, __ATOMIC_RELAXED);
	out->parks = __atomic_load_n(&s->parks, __ATOMIC_RELAXED);
	out->parks_by_poll = __atomic_load_n(&s->parks_by_poll, __ATOMIC_RELAXED);
}
