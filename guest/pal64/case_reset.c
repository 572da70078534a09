/*
 * pal_reset (`pal_reset` on the command line, tests/boot/test_reset_scrub.py):
 * the attack on DRAM across a reset. A PAL writes a secret only it holds into
 * its data page (UTPM_OP_SECRET) and uses the micro-TPM's keys (a seal and a
 * quote), stays registered, and the guest resets the machine through the
 * chipset's reset control register (port 0xCF9). Just before, a Bochs magic
 * breakpoint lets the test read the keys from hypervisor memory; at the reset
 * the test dumps all of RAM and looks for the secret and the keys. This case
 * only fails if the machine does not reset.
 */
#include "guest/pal64/cpu64.h"
#include "guest/pal64/pal_code.h"
#include "guest/pal64/stage.h"
#include "guest/pal64/tv64.h"

#define RESET_TIMEOUT_US 2000000u

static bool utpm_op(uint64_t op, uint64_t sel)
{
	uint64_t in[UTPM_IN_WORDS] = {op, sel, 0, 0, 0, 0}, out[UTPM_OUT_WORDS], ret = 0;
	int64_t st = tv64_call(tv64_entry(PAL_UTPM), in, UTPM_IN_WORDS, out, UTPM_OUT_WORDS, &ret);
	if (st != TV_OK || ret != PAL_MAGIC) {
		stage_fail("utpm op %llu: PAL call %s, PAL returned %llx", (unsigned long long)op,
		           tv64_strerror(st), (unsigned long long)ret);
		return false;
	}
	return true;
}

uint32_t case64_pal_reset(void)
{
	struct tv_pal_desc d;
	tv64_desc(&d, PAL_UTPM);
	int64_t st = tv64_register(&d);
	if (st != TV_OK)
		return stage_fail("registering the utpm PAL: %s", tv64_strerror(st));
	if (!utpm_op(UTPM_OP_SECRET, 0) || !utpm_op(UTPM_OP_SEAL, 0) || !utpm_op(UTPM_OP_QUOTE, 1))
		return PAL64_FAIL;
	stage_info("pal_reset: PAL registered with its secret; resetting through port 0xCF9");
	cpu64_magic_break();
	/* Hard reset (RST_CPU | SYS_RST), as an OS's reboot does. */
	cpu64_outb(0xcf9, 0x02);
	cpu64_outb(0xcf9, 0x06);
	stage_delay_us(RESET_TIMEOUT_US);
	return stage_fail("the machine did not reset within %u us of the write to port 0xCF9",
	                  RESET_TIMEOUT_US);
}
