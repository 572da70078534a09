"""DMA protection where there is no IOMMU (Bochs): the hypervisor says so at boot, and
TrustVisor's tv_dma=require refuses every PAL registration (apps/trustvisor/README.md "DMA").
The default, tv_dma=warn, is what every other TrustVisor boot test runs with."""

import harness


def test_trustvisor_tv_dma_require_refuses_pals_without_an_iommu():
    disk = harness.testguest_disk(cmdline="pal")
    r = harness.run("//apps/trustvisor:iso_dma_require", disk, cpus=1, timeout=900)
    harness.assert_poweroff(r, code=None)
    # The app's boot callback runs as the boot CPU enters the guest.
    harness.assert_in_order(r, "hv: iommu: none - DMA can reach all of memory",
                            "hv: starting the guest",
                            "hv: tv: warning: DMA protection of PALs: none (no IOMMU); "
                            "tv_dma=require: PAL registration refused",
                            "TESTGUEST: DONE")
    harness.assert_line(r, r"^TESTGUEST: FAIL pal_add: .*TV_ERR_NO_DMA_PROTECTION")
    harness.assert_serial_lacks(r, "TESTGUEST: PASS pal_")
