"""Boot smoke tests: the test guest bare, under passthrough, and the no-VMX stop in QEMU.

Finer checks of each guest case under each app belong in their own test files; these
only prove that the pieces boot end to end through the same path as `./hv run`.
"""

import harness

NO_VMX_EXIT = 2  # core/boot.h HV_EXIT_NO_VMX


def test_testguest_bare_passes_every_case():
    # strict_msrs: the guest's msr case expects #GP on an unknown MSR, as on hardware.
    r = harness.run("bare", harness.testguest_disk(), cpus=2, strict_msrs=True)
    harness.assert_poweroff(r, code=0)
    m = harness.assert_line(r, r"^TESTGUEST: DONE pass=(\d+) fail=(\d+)")
    if int(m.group(2)) != 0 or int(m.group(1)) == 0:
        harness.fail(r, "the test guest reported failures bare")
    harness.assert_serial_lacks(r, "TESTGUEST: FAIL")


def test_passthrough_boots_testguest_to_the_end():
    r = harness.run("passthrough", harness.testguest_disk(), cpus=2)
    harness.assert_poweroff(r, code=None)
    harness.assert_in_order(r, "hv: passthrough hypervisor",
                            "hv: iommu: none - DMA can reach all of memory (no ACPI DMAR table)",
                            "hv: starting the guest", "TESTGUEST: DONE")
    harness.assert_line(r, r"^testguest: hypervisor region .* is not RAM: under the hypervisor")


def test_qemu_without_vmx_stops_with_a_clear_message():
    from tools import qemu

    if qemu.kvm_status()[1]:
        return  # nested VMX here: the image would run, nothing to check
    r = harness.run("passthrough", harness.testguest_disk(), emulator="qemu", timeout=120,
                    allow_no_vmx=True)
    harness.assert_poweroff(r, code=NO_VMX_EXIT)
    harness.assert_line(r, r"^VMX unsupported: \S")
    harness.assert_serial_lacks(r, "starting the guest")
