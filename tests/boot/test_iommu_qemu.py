"""libiommu on QEMU's emulated VT-d (TCG, no VMX needed): DMA by QEMU's edu device.

The test kernel (libiommu/qemu_test/) links the same libiommu as the hypervisor;
see its header for the checks. Bochs has no IOMMU, so this test is QEMU only.
"""

import harness

KERNEL = "//libiommu/qemu_test:iso"


def test_edu_dma_is_blocked_by_protect_and_allowed_elsewhere():
    r = harness.run(KERNEL, harness.testguest_disk(), emulator="qemu", cpus=1, timeout=300,
                    allow_no_vmx=True, iommu=True, devices=("edu",))
    harness.assert_poweroff(r, code=0)
    harness.assert_line(r, r"^hv: iommu: 1 unit\(s\) translating; hypervisor memory ")
    for what in (
        "unprotected page: DMA to and from it succeeds, no fault",
        "protected page: DMA write blocked, bytes unchanged",
        "protected page: the write fault was recorded",
        "protected page: DMA read blocked, device got no byte of it",
        "protect after a successful DMA: the next DMA faults (no stale IOTLB entry)",
        "unprotect: DMA to the page succeeds again",
        "hypervisor region: DMA write blocked, fault recorded",
    ):
        harness.assert_serial_contains(r, "IOMMUTEST: PASS " + what)
    harness.assert_line(r, r"^hv: iommu: DMA fault: unit 0xfed90000 device 00:[0-9a-f]{2}\.0 "
                           r"write to 0x2001000: reason 0x5 ")
    harness.assert_line(r, r"^IOMMUTEST: DONE pass=\d+ fail=0$")
    harness.assert_serial_lacks(r, "IOMMUTEST: FAIL")


def test_without_an_iommu_the_kernel_says_none():
    r = harness.run(KERNEL, harness.testguest_disk(), emulator="qemu", cpus=1, timeout=300,
                    allow_no_vmx=True)
    harness.assert_poweroff(r, code=1)
    harness.assert_line(r, r"^hv: iommu: none - DMA can reach all of memory \(no ACPI DMAR table\)")
    harness.assert_serial_contains(r, "IOMMUTEST: FAIL DMAR table found, translation on")


NO_VMX_EXIT = 2  # core/boot.h HV_EXIT_NO_VMX


def _no_vmx_run(app, **kw):
    from tools import qemu

    if qemu.kvm_status()[1]:
        return None  # nested VMX here: the image would run a guest, nothing to check
    return harness.run(app, harness.testguest_disk(), emulator="qemu", cpus=1, timeout=120,
                       allow_no_vmx=True, **kw)


def test_apps_on_q35_with_an_iommu_report_it_before_stopping_without_vmx():
    for app in ("passthrough", "trustvisor"):
        r = _no_vmx_run(app, iommu=True)
        if r is None:
            return
        harness.assert_poweroff(r, code=NO_VMX_EXIT)
        harness.assert_in_order(r, "hv: iommu: unit 0 at 0xfed90000",
                                "hv: iommu: 1 unit(s) translating; hypervisor memory "
                                "0xc000000-0xcffffff protected from DMA; DMAR table hidden",
                                "VMX unsupported: ")
        harness.assert_serial_lacks(r, "starting the guest")


def test_apps_without_an_iommu_say_dma_reaches_everything():
    for app in ("passthrough", "trustvisor"):
        r = _no_vmx_run(app)
        if r is None:
            return
        harness.assert_poweroff(r, code=NO_VMX_EXIT)
        harness.assert_in_order(r, "hv: iommu: none - DMA can reach all of memory",
                                "VMX unsupported: ")
