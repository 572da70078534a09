/*
 * rt_set_nmi_restart(): an NMI taken inside the registered code range resumes
 * at its restart point, after the NMI handler ran; anywhere else, and for
 * other vectors, the frame's RIP is left alone. libvmx uses it for its last
 * look for guest NMIs before VM entry (libvmx/vmx_entry.S).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "rt/cpu_tables.h"
#include "rt/trap.h"

#define LO 0x0c00dfdeu
#define HI 0x0c00e03cu

static int handled;
static uint64_t rip_seen_by_handler;
static struct rt_trap_frame frame;

static void handler(void)
{
	handled++;
	rip_seen_by_handler = frame.rip;
}

static uint64_t nmi_at(uint64_t rip)
{
	memset(&frame, 0, sizeof(frame));
	frame.vector = RT_VECTOR_NMI;
	frame.rip = rip;
	rt_trap(&frame);
	return frame.rip;
}

static void test_nmi_inside_the_range_restarts(void **state)
{
	(void)state;
	rt_set_nmi_handler(handler);
	rt_set_nmi_restart(LO, HI, LO);
	handled = 0;
	assert_int_equal(nmi_at(LO), LO);
	assert_int_equal(nmi_at(LO + 0x13), LO);
	assert_int_equal(nmi_at(HI), LO); /* the entry instruction itself */
	assert_int_equal(handled, 3);
	/* The handler ran first, on the interrupted RIP (the NMI is still counted). */
	assert_int_equal(rip_seen_by_handler, HI);
}

static void test_nmi_outside_the_range_resumes_where_it_was(void **state)
{
	(void)state;
	rt_set_nmi_handler(handler);
	rt_set_nmi_restart(LO, HI, LO);
	assert_int_equal(nmi_at(LO - 1), LO - 1);
	assert_int_equal(nmi_at(HI + 1), HI + 1); /* after VMRESUME: its failure path */
	assert_int_equal(nmi_at(0x0c001234), 0x0c001234);
}

static void test_no_range_no_restart(void **state)
{
	(void)state;
	rt_set_nmi_handler(handler);
	rt_set_nmi_restart(0, 0, 0);
	assert_int_equal(nmi_at(LO), LO);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_nmi_inside_the_range_restarts),
	    cmocka_unit_test(test_nmi_outside_the_range_resumes_where_it_was),
	    cmocka_unit_test(test_no_range_no_restart),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
