"""Linux under passthrough while NMIs fly (issue 4, item 5).

The guest's `nmi-storm` scenario (guest/linux/init) writes `l` to
/proc/sysrq-trigger 20 times: each write sends NMI-backtrace IPIs to every
other CPU, and each NMI goes through the hypervisor (NMI exit, pending NMI,
injection at the next VM entry). If one were lost, Linux's backtrace would
time out; if one were doubled or invented (a quiesce NMI passed on), Linux
would print "NMI received for unknown reason" / "Dazed and confused", which
the guest counts in dmesg. The run is shared with test_linux.py
(tests/boot/linux_storm.py); it boots the bzImage (not the PVH loader the bare
boot uses), so Linux's real-mode setup also runs under the hypervisor.
"""

import re

import harness
import linux_storm


@linux_storm.shared
def test_linux_sysrq_nmi_storm_under_passthrough():
    r = linux_storm.run("passthrough")
    harness.assert_serial_lacks(r, "PANIC")
    # (the "scenario" line itself may be cut by kernel messages on the console)
    harness.assert_serial_contains(r, "LINUXGUEST: sysrq-l rounds=20")
    for bad in ("NMI received for unknown reason", "Dazed and confused", "Uhhuh"):
        harness.assert_serial_lacks(r, bad)
    harness.assert_serial_contains(r, "LINUXGUEST: unknown-nmi-messages=0")
    harness.assert_serial_contains(r, "LINUXGUEST: DONE")
    harness.assert_poweroff(r, code=None)
    # Each round NMIs the other CPU: at least 20 NMI exits in all.
    nmi_exits = sum(int(n) for n in re.findall(r"^hv: cpu \d+ exits: exception-or-NMI=(\d+)",
                                              r.serial, re.M))
    if nmi_exits < 20:
        harness.fail(r, "%d NMI exits, fewer than the 20 sysrq-l rounds" % nmi_exits)
