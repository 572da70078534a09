/* The event-interleaving harness of event_paths.h. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <ucontext.h>

#include <cmocka.h>

#include "core/quiesce_wiring.h"
#include "libquiesce/quiesce.h"
#include "libvmx/vmx.h"
#include "libvmx/vmx_internal.h"
#include "rt/layout.h"
#include "tests/unit/vmx/event_paths.h"
#include "tests/unit/vmx/test_vmx_env.h"

/*
 * core's quiesce wiring pulls in libsmp (quiesce_platform.c), whose smp.c names
 * rt_ap_init, which rt builds only into images. Never called here.
 */
void rt_ap_init(uint32_t cpu_index, uint32_t apic_id);
__attribute__((weak)) void rt_ap_init(uint32_t cpu_index, uint32_t apic_id)
{
	(void)cpu_index;
	(void)apic_id;
	fail_msg("rt_ap_init called in an event test");
}

static const uint32_t NMI_INFO = INTR_INFO_VALID | (INTR_TYPE_NMI << 8) | X86_VEC_NMI;

/* ---- machine and reference state (reset per path) ---- */

static bool allow; /* the app's answer */
static struct vcpu *v;
struct path_state m;

static const char *const names[E_N] = {"nmi-root", "nmi-guest", "app-block", "app-unblock",
                                       "window",   "entry",     "q-request", "q-release"};
int cur_seq[LEN];

void print_path(void)
{
	char buf[256];
	size_t n = 0;
	for (int i = 0; i < LEN; i++)
		n += (size_t)snprintf(buf + n, sizeof(buf) - n, "%s%s", i ? " " : "",
		                      names[cur_seq[i]]);
	print_message("path: %s | raised=%d delivered=%d ref=%d latch=%d merges=%d q_sent=%d "
	              "consumed=%d allow=%d handler=%d pending=%u\n",
	              buf, m.raised_guest, m.delivered, m.r_delivered, m.latch, m.hw_merges,
	              m.quiesce_sent, m.r_consumed, allow, m.in_handler, v ? v->ev.nmi_pending : 0);
}

/* ---- the app ---- */

static bool may_take_nmi(struct vcpu *v)
{
	(void)v;
	return allow;
}
static void ref_unblock(void);
static bool hypercall_unblocks(struct vcpu *v)
{
	allow = true;
	ref_unblock();
	vmx_event_app_unblocked(v);
	return true;
}
static const struct hv_app app = {
    .name = "interleavings",
    .guest_may_take_nmi = may_take_nmi,
    .hypercall = hypercall_unblocks,
};

/* The guest side of the reference: virtual hardware with one latch. */
static void ref_guest_nmi(void)
{
	m.r_guest++;
	if (!m.r_in_handler && allow && !m.r_latched) {
		m.r_delivered++;
		m.r_in_handler = true;
	} else if (!m.r_latched) {
		m.r_latched = 1;
	} else {
		m.r_merged++;
	}
}
static void ref_deliver_latched(void)
{
	if (m.r_latched && allow && !m.r_in_handler) {
		m.r_latched = 0;
		m.r_delivered++;
		m.r_in_handler = true;
	}
}
static void ref_unblock(void)
{
	ref_deliver_latched();
}
static void ref_iret(void)
{
	m.r_in_handler = false;
	ref_deliver_latched();
}
/* Every NMI CPU 0 takes: the quiescer's if one is owed, else the guest's. */
static void ref_delivery(void)
{
	if (m.r_owed) {
		m.r_owed = false;
		m.r_consumed++;
	} else {
		ref_guest_nmi();
	}
}

/* ---- coroutines ---- */

enum { CPU0, CPU1, MAIN = -1 };
#define STACK_SIZE (256u << 10)
static ucontext_t main_uc, uc[2];
char *stacks[2];
static int cur = MAIN;
static int cpu0_cmd = -1;
static bool cpu0_busy;
enum { Q_IDLE, Q_WAITING, Q_HOLDING };
static int q_state, q_cmd = -1;

static void resume(int who)
{
	cur = who;
	swapcontext(&main_uc, &uc[who]);
	cur = MAIN;
}

static void yield(void)
{
	int me = cur;
	CHECK(me != MAIN);
	swapcontext(&uc[me], &main_uc);
	cur = me;
}

static void take_root_nmis(void);

/* libquiesce's spin-wait step: let the other CPU and the events run. */
static void relax(void)
{
	yield();
	if (cur == CPU0)
		take_root_nmis(); /* an NMI may have come in while this CPU spun */
}

static uint32_t this_cpu(void)
{
	return cur == CPU1 ? 1 : 0;
}

static void send_nmi(uint32_t cpu)
{
	CHECK_EQ(cpu, 0);
	CHECK_EQ(m.q_inflight, 0); /* QS_OWED: one outstanding at most */
	m.q_inflight = 1;
	m.quiesce_sent++;
	m.r_owed = true;
}

static const struct quiesce_ops ops = {
    .send_nmi = send_nmi,
    .this_cpu = this_cpu,
    .relax = relax,
};

/* ---- CPU 0's hardware ---- */

static void raise_nmi(void)
{
	if (m.latch)
		m.hw_merges++; /* the local APIC holds one */
	else
		m.latch = 1;
}

static void land_quiesce_nmi(void)
{
	if (m.q_inflight) {
		m.q_inflight = 0;
		raise_nmi();
	}
}

static uint32_t injected(void)
{
	uint32_t info = (uint32_t)vmcs_get(VMCS_VM_ENTRY_INTR_INFO.enc);
	return info & INTR_INFO_VALID ? info : 0;
}

static bool window(void)
{
	return (vmcs_get(VMCS_PRIMARY_PROC_CONTROLS.enc) & PROC_NMI_WINDOW_EXITING) != 0;
}

static void do_exit(uint32_t reason, uint32_t intr_info)
{
	struct exit_fields f = {.reason = reason, .instruction_len = 3, .intr_info = intr_info};
	v->gpr[GPR_RAX] = 0;
	env_exit(v, &f);
}

/* The latched NMI taken in root: the host NMI handler, until IRET. */
static void take_root_nmis(void)
{
	while (m.latch && !m.root_blocked) {
		m.latch = 0;
		ref_delivery();
		m.root_blocked = true;
		vmx_host_nmi_handler();
		m.root_blocked = false;
	}
}

/* The latched NMI taken in the guest: an NMI exit (NMIs blocked until entry). */
static void nmi_exit(void)
{
	m.latch = 0;
	ref_delivery();
	m.root_blocked = true;
	do_exit(VMX_EXIT_EXCEPTION_NMI, NMI_INFO);
	m.root_blocked = false;
}

/* After a VM entry: what the injection did, then what the hardware does next. */
static void after_entry(void)
{
	for (int guard = 0;; guard++) {
		CHECK(guard < 16); /* no exit loop */
		uint32_t info = injected();
		if (info) {
			CHECK_EQ(info, NMI_INFO);
			CHECK(allow);           /* never into a PAL */
			CHECK(!(m.in_handler)); /* never into a blocked guest */
			m.delivered++;
			m.in_handler = true;
			vmcs_set(VMCS_GUEST_INTERRUPTIBILITY.enc, INTERRUPTIBILITY_NMI);
			vmcs_set(VMCS_VM_ENTRY_INTR_INFO.enc, 0);
		}
		if (!allow)
			CHECK(!(window())); /* the window closes while the app says no */
		if (window())
			CHECK(v->ev.nmi_pending > 0); /* nor is it open for nothing */
		if (m.latch) {
			nmi_exit();
			continue;
		}
		if (window() && !m.in_handler) {
			do_exit(VMX_EXIT_NMI_WINDOW, 0);
			continue;
		}
		break;
	}
}

static void cpu0_step(enum ev e)
{
	if (m.root_stay && e != E_NMI_ROOT) {
		/* The exit the root NMIs came in during: done, VM entry. */
		m.root_stay = false;
		do_exit(VMX_EXIT_CPUID, 0);
		after_entry();
	}
	switch (e) {
	case E_NMI_GUEST:
		m.raised_guest++;
		raise_nmi();
		land_quiesce_nmi(); /* at the same time: merged */
		break;
	case E_NMI_ROOT:
		/*
		 * CPU 0 is in root handling a (long) exit, NMIs unblocked: the host
		 * NMI handler runs. The exit completes at the next CPU 0 event, so
		 * consecutive root NMIs share one stay in root.
		 */
		m.root_stay = true;
		m.raised_guest++;
		raise_nmi();
		land_quiesce_nmi();
		take_root_nmis();
		return;
	case E_ENTRY:
		land_quiesce_nmi(); /* it hits the running guest first: NMI exit, entry */
		after_entry();
		do_exit(VMX_EXIT_CPUID, 0);
		break;
	case E_APP_BLOCK:
		allow = false;
		do_exit(VMX_EXIT_CPUID, 0);
		land_quiesce_nmi(); /* after the entry: the poll saw the request first */
		break;
	case E_APP_UNBLOCK:
		do_exit(VMX_EXIT_VMCALL, 0);
		land_quiesce_nmi();
		break;
	case E_WINDOW:
		if (m.in_handler) {
			m.in_handler = false;
			vmcs_set(VMCS_GUEST_INTERRUPTIBILITY.enc, 0);
			ref_iret();
		}
		land_quiesce_nmi();
		break;
	default:
		fail();
	}
	after_entry();
}

static void cpu0_main(void)
{
	for (;;) {
		while (cpu0_cmd < 0)
			yield();
		cpu0_busy = true;
		cpu0_step((enum ev)cpu0_cmd);
		cpu0_cmd = -1;
		cpu0_busy = false;
	}
}

static void cpu1_main(void)
{
	for (;;) {
		while (q_cmd != E_Q_REQUEST)
			yield();
		q_cmd = -1;
		q_state = Q_WAITING;
		quiesce_begin();
		q_state = Q_HOLDING;
		while (q_cmd != E_Q_RELEASE)
			yield();
		q_cmd = -1;
		quiesce_end();
		q_state = Q_IDLE;
	}
}

/* Let spinning CPUs notice what changed (an ack, a release, a latched NMI). */
static void settle(void)
{
	for (int i = 0; i < 4; i++) {
		if (q_state == Q_WAITING)
			resume(CPU1);
		if (cpu0_busy)
			resume(CPU0);
	}
}

int skipped;

void event(enum ev e)
{
	switch (e) {
	case E_Q_REQUEST:
	case E_Q_RELEASE:
		if ((e == E_Q_REQUEST && q_state == Q_IDLE) ||
		    (e == E_Q_RELEASE && q_state == Q_HOLDING)) {
			q_cmd = e;
			resume(CPU1);
		}
		break;
	default:
		if (!cpu0_busy) {
			cpu0_cmd = e;
			resume(CPU0);
		} else if (e == E_NMI_GUEST || e == E_NMI_ROOT) {
			/* CPU 0 is parked in root: the NMI reaches its local APIC. */
			m.raised_guest++;
			raise_nmi();
		} else {
			skipped++; /* CPU 0 is parked: it runs no exit of its own */
		}
		break;
	}
	settle();
}

/* Checks at a step boundary (CPU 0 in the guest, not parked). */
void check_step(void)
{
	if (cpu0_busy || m.root_stay)
		return;
	struct quiesce_cpu_stats qs;
	quiesce_cpu_stats(0, &qs);
	CHECK_EQ(qs.nmis_consumed, m.r_consumed);
	CHECK_EQ(qs.guest_nmis, m.r_guest);
	CHECK_EQ(m.delivered, m.r_delivered);
	CHECK_EQ(m.in_handler, m.r_in_handler);
	CHECK_EQ(v->ev.nmis_injected, m.delivered);
}

/* core's NMI filter and hooks; ops replaced per path */
static void install_quiesce(void)
{
	quiesce_wiring_install(2, "");
}

void setup_machine(void)
{
	v = env_guest_booted(1, &app, install_quiesce);
	for (int i = 0; i < 2 && !stacks[i]; i++) {
		stacks[i] = malloc(STACK_SIZE);
		assert_non_null(stacks[i]);
	}
}

void start_path(void)
{
	memset(&m, 0, sizeof(m));
	allow = true;
	vmx_event_reset(v);
	vmx_prepare_guest(0, true, v->eptp);
	env_protected_mode();
	vmcs_set(VMCS_GUEST_INTERRUPTIBILITY.enc, 0);
	quiesce_init_ops(2, &ops);
	quiesce_cpu_online(0);
	cpu0_cmd = q_cmd = -1;
	cpu0_busy = false;
	q_state = Q_IDLE;
	for (int i = 0; i < 2; i++) {
		getcontext(&uc[i]);
		uc[i].uc_stack.ss_sp = stacks[i];
		uc[i].uc_stack.ss_size = STACK_SIZE;
		uc[i].uc_link = NULL;
		makecontext(&uc[i], i == CPU0 ? cpu0_main : cpu1_main, 0);
	}
	/* Run both to their first wait. */
	resume(CPU0);
	resume(CPU1);
}

void finish_path(void)
{
	/* Release, unblock, let the guest leave its handler, enter a few times. */
	static const enum ev drain[] = {E_Q_RELEASE, E_ENTRY,  E_Q_RELEASE, E_APP_UNBLOCK, E_WINDOW,
	                                E_ENTRY,     E_WINDOW, E_ENTRY,     E_WINDOW,      E_ENTRY};
	for (size_t i = 0; i < sizeof(drain) / sizeof(drain[0]); i++) {
		event(drain[i]);
		if (getenv("EVENT_TRACE"))
			print_path();
		check_step();
	}
	CHECK(!(cpu0_busy));
	CHECK_EQ(q_state, Q_IDLE);
	CHECK_EQ(m.q_inflight, 0);
	CHECK_EQ(m.latch, 0);
	/* Nothing of the guest's lost but what the local APIC merged... */
	CHECK_EQ(m.r_guest, m.raised_guest - m.hw_merges);
	/* ... and every quiesce NMI consumed, none seen by the guest. */
	CHECK_EQ(m.r_consumed, m.quiesce_sent);
	/* libvmx delivered all the reference did; nothing left behind. */
	CHECK_EQ(m.delivered, m.r_delivered);
	CHECK_EQ(m.r_latched, 0);
	CHECK_EQ(v->ev.nmi_pending, 0);
	CHECK(!(window()));
	CHECK(!(m.in_handler));
}
