"""Guest input never reaches hv_panic (issue 11.4), in Bochs.

The test guest with `outs_poweroff` on its command line ends its run with one
REP OUTSB of "Shutdown" to Bochs's power-off port 0x8900, a port every
hypervisor image intercepts (libvmx/exit_io.c): string I/O there was an
hv_panic until libvmx emulated it. No fallback: if the string write does not
power the machine off, the guest prints a line saying so and halts, and the
run times out. Bare, Bochs itself takes the string write: the reference.
"""

import harness


def _run(app):
    disk = harness.testguest_disk("outs_poweroff")
    return harness.run(app, disk, cpus=1, timeout=400, strict_msrs=True)


def _check(r):
    harness.assert_poweroff(r, code=0)
    harness.assert_serial_lacks(r, "PANIC")
    harness.assert_serial_lacks(r, "did not power off")
    harness.assert_in_order(r, "testguest: powering off with REP OUTSB")
    harness.assert_line(r, r"^TESTGUEST: DONE pass=\d+ fail=0$")


def test_outs_power_off_bare():
    _check(_run("bare"))


def test_outs_power_off_passthrough():
    r = _run("passthrough")
    _check(r)
    # The hypervisor saw the word arrive byte by byte (its power-off watch
    # printed the exit counters): 8 string-I/O exits at least.
    m = harness.assert_line(r, r"^hv: cpu 0 exits:.* I/O-instruction=(\d+)")
    if int(m.group(1)) < 8:
        harness.fail(r, "only %s I/O exits for an 8-byte REP OUTSB" % m.group(1))


def test_outs_power_off_trustvisor():
    _check(_run("trustvisor"))
