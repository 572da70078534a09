#include "guest/runner.h"

#include <stdarg.h>

#include "guest/console.h"
#include "guest/cpu.h"
#include "guest/trap.h"

struct guest_env guest_env;

static const char *current_case = "boot";
static uint32_t npass, nfail;

static enum case_result set_detail(struct case_ctx *c, enum case_result r, const char *fmt,
                                   va_list ap)
{
	str_vformat(c->detail, sizeof(c->detail), fmt, ap);
	return r;
}

enum case_result case_fail(struct case_ctx *c, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	enum case_result r = set_detail(c, CASE_FAIL, fmt, ap);
	va_end(ap);
	return r;
}

enum case_result case_skip(struct case_ctx *c, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	enum case_result r = set_detail(c, CASE_SKIP, fmt, ap);
	va_end(ap);
	return r;
}

void runner_info(const char *fmt, ...)
{
	char line[200];
	va_list ap;
	va_start(ap, fmt);
	str_vformat(line, sizeof(line), fmt, ap);
	va_end(ap);
	con_printf("testguest: %s\n", line);
}

bool guest_power_off_with_outs;

_Noreturn void guest_power_off(uint8_t code)
{
	/* QEMU isa-debug-exit first (Bochs just logs the unmapped port), then Bochs' shutdown port.
	 */
	outb(0xf4, code);
	if (guest_power_off_with_outs) {
		runner_info("powering off with REP OUTSB");
		con_flush();
		outsb_rep(0x8900, "Shutdown", 8);
		/* No fallback: a run that gets here failed (the boot test times out). */
		con_printf("TESTGUEST: REP OUTSB to 0x8900 did not power off\n");
		con_flush();
		cpu_halt_forever();
	}
	for (const char *p = "Shutdown"; *p; p++)
		outb(0x8900, (uint8_t)*p);
	cpu_halt_forever();
}

static _Noreturn void finish(void)
{
	if (trap_stray_count())
		runner_info("%u interrupts arrived on vectors without a handler",
		            trap_stray_count());
	con_printf("TESTGUEST: DONE pass=%u fail=%u\n", npass, nfail);
	con_flush();
	guest_power_off(nfail ? 1 : 0);
}

_Noreturn void runner_unexpected_exception(uint32_t vector, uint32_t error, uint32_t eip,
                                           uint32_t cpu_slot)
{
	con_printf("TESTGUEST: FAIL %s: unexpected exception vector %u error %x at eip %08x on "
	           "cpu slot %u\n",
	           current_case, vector, error, eip, cpu_slot);
	nfail++;
	finish();
}

void runner_run_some(const struct test_case *cases, uint32_t n)
{
	for (uint32_t i = 0; i < n; i++) {
		struct case_ctx c = {{0}};
		current_case = cases[i].name;
		enum case_result r = cases[i].run(&c);
		switch (r) {
		case CASE_PASS:
			npass++;
			con_printf("TESTGUEST: PASS %s\n", cases[i].name);
			break;
		case CASE_SKIP:
			con_printf("TESTGUEST: SKIP %s: %s\n", cases[i].name, c.detail);
			break;
		default:
			nfail++;
			con_printf("TESTGUEST: FAIL %s: %s\n", cases[i].name, c.detail);
			break;
		}
	}
}

_Noreturn void runner_run(const struct test_case *cases, uint32_t n)
{
	runner_run_some(cases, n);
	current_case = "end";
	finish();
}
