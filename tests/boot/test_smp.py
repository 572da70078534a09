"""libsmp AP bring-up in Bochs: the MADT lists every CPU, each AP comes online.

Only the hypervisor's part is checked; what the guest then does with its own CPUs
is the business of the guest and app boot tests. The MADT and per-CPU lines are
start-up notes (rt/console.h): printed once, at power-off, in the order noted.
"""

import re

import harness

GUEST_START = "hv: starting the guest"


def _boot_with(cpus):
    r = harness.run("passthrough", harness.testguest_disk(), cpus=cpus, timeout=400)
    start = r.serial.find(GUEST_START)
    if start < 0:
        harness.fail(r, "the hypervisor never started the guest with %d CPUs" % cpus)
    before = r.serial[:start]
    if "PANIC" in before or "did not start" in before:
        harness.fail(r, "bring-up of %d CPUs failed before the guest started" % cpus)
    m = harness.assert_line(r, r"^hv: smp: (\d+) CPUs \(apic ids:((?: \d+)+)\)$")
    ids = m.group(2).split()
    if int(m.group(1)) != cpus or len(ids) != cpus or len(set(ids)) != cpus:
        harness.fail(r, "expected %d distinct CPUs in the MADT, got %r" % (cpus, m.group(0)))
    if ids[0] != "0":
        harness.fail(r, "CPU index 0 should be the BSP (apic id 0 in Bochs)")
    if ("hv: %d CPUs in VMX root" % cpus) not in before:
        harness.fail(r, "no 'hv: %d CPUs in VMX root' before the guest started" % cpus)
    lines = ["hv: cpu %d (apic id %s) online" % (i, ids[i]) for i in range(1, cpus)]
    harness.assert_in_order(r, m.group(0), *lines)
    online = re.findall(r"^hv: cpu \d+ \(apic id \d+\) online$", r.serial, re.M)
    if len(online) != cpus - 1:
        harness.fail(r, "expected %d APs online, saw %d" % (cpus - 1, len(online)))


def test_one_cpu_starts_no_ap():
    _boot_with(1)


def test_two_cpus_come_online():
    _boot_with(2)


def test_vmx_capabilities_the_libraries_rely_on_are_reported():
    # Issue 2 item 6: both CPUs found (above) and the VMX features printed.
    r = harness.run("passthrough", harness.testguest_disk(), cpus=2, timeout=400)
    harness.assert_line(r, r"^hv: vmx: ept=yes unrestricted-guest=yes vpid=yes nmi-exiting=yes "
                           r"virtual-nmis=yes nmi-window=yes preemption-timer=(yes|no)$")
    harness.assert_in_order(r, "hv: 2 CPUs in VMX root", GUEST_START)
    harness.assert_in_order(r, "hv: vmx: ", "hv: smp: 2 CPUs")
    # Issue 14: Bochs is detected and every workaround of libvmx/quirks.c is on.
    harness.assert_line(r, r'^hv: quirks: Bochs \(ACPI OEM "BOCHS ", CPUID hypervisor bit 0\): '
                           r"init_pending broadcast_start nmi_blocked smi_blocking \(detected\)$")
    harness.assert_in_order(r, "hv: vmx: ", "hv: quirks: ", "hv: smp: 2 CPUs")
    harness.assert_poweroff(r, code=None)


def test_start_up_notes_wait_for_power_off_unless_verbose():
    """The start-up details (rt/console_notes.c) do not hold up the guest's launch: by
    default they come after it, once, at power-off; hv_verbose=1 prints them as they
    happen, before the launch, and not again."""
    details = ("hv: memory: ", "hv: vmx: ", "hv: smp: 2 CPUs", "hv: cpu 1 (apic id 1) online",
               "hv: BIOS hook: INT 15h")
    quiet = harness.run("passthrough", harness.testguest_disk(), cpus=2, timeout=400)
    harness.assert_poweroff(quiet, code=0)
    harness.assert_in_order(quiet, "hv: 2 CPUs in VMX root", GUEST_START, "TESTGUEST: DONE",
                            *details, "hv: phase entry")
    verbose = harness.run("passthrough", harness.testguest_disk(), cpus=2, timeout=400,
                          hv_options=["hv_verbose=1"])
    harness.assert_poweroff(verbose, code=0)
    harness.assert_in_order(verbose, *details[:4], "hv: 2 CPUs in VMX root", details[4],
                            GUEST_START, "TESTGUEST: DONE")
    for r in (quiet, verbose):
        for d in details:
            if r.serial.count(d) != 1:
                harness.fail(r, "%r printed %d times, expected once" % (d, r.serial.count(d)))


def test_four_cpus_come_online():
    _boot_with(4)
