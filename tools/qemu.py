"""QEMU as the emulator of `./hv run`: the command line and KVM/nested-VMX detection.

Without KVM (TCG) QEMU offers no VMX at all (DESIGN.md section 5), so a hypervisor
image can only report that and stop. With /dev/kvm and nested VMX enabled in the
host's kvm_intel, `-accel kvm -cpu host` passes VMX through.

Exit status: the isa-debug-exit device makes QEMU exit with (v << 1) | 1 when the
guest writes v to port 0xf4 (rt's hv_power_off does); 0 means the guest powered
off or reset (-no-reboot) some other way.
"""

import os

QEMU = "qemu-system-x86_64"
NESTED_PARAMS = (
    "/sys/module/kvm_intel/parameters/nested",
    "/sys/module/kvm_amd/parameters/nested",
)


def _cpu_flags():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("flags"):
                    return set(line.split(":", 1)[1].split())
    except OSError:
        pass
    return set()


def kvm_status():
    """(use KVM, nested VMX usable, one-line explanation).

    KVM is used only when the host CPU shows vmx or svm: a /dev/kvm without them
    (seen in some cloud VMs) works but is about 40 times slower than TCG.
    """
    try:
        fd = os.open("/dev/kvm", os.O_RDWR)
        os.close(fd)
    except OSError as e:
        return False, False, "no usable /dev/kvm (%s)" % (e.strerror or e)
    flags = _cpu_flags()
    if not flags & {"vmx", "svm"}:
        return False, False, "/dev/kvm exists but the host CPU flags lack vmx/svm (TCG is faster then)"
    nested = None
    for p in NESTED_PARAMS:
        try:
            with open(p) as f:
                nested = f.read().strip()
            break
        except OSError:
            continue
    if "vmx" in flags and nested in ("Y", "1"):
        return True, True, "/dev/kvm with nested VMX"
    why = "kvm_intel nested=%s" % nested if nested is not None else "no kvm_intel nested parameter"
    if "vmx" not in flags:
        why = "an AMD host (svm)"
    return True, False, "/dev/kvm without nested VMX (%s)" % why


NO_VMX_MESSAGE = (
    "QEMU without KVM has no VMX: use --emulator bochs, or run on a machine with "
    "/dev/kvm and nested VMX (modprobe kvm_intel nested=1)"
)


def prepare(workdir, disk, iso, cpus, mem, use_kvm, iommu=False, devices=()):
    """Return (argv, serial path, log path).

    iommu: a q35 machine with QEMU's emulated Intel VT-d unit (intel-iommu; it
    must come before the PCI devices it translates). devices: more -device
    arguments, e.g. "edu" (QEMU's educational PCI device with a DMA engine).
    """
    serial = os.path.join(workdir, "serial.txt")
    log = os.path.join(workdir, "qemu.log")
    argv = [
        QEMU,
        "-m", str(mem),
        "-smp", str(cpus),
        "-nographic",
        "-serial", "file:" + serial,
        "-monitor", "none",
        "-display", "none",
        "-device", "isa-debug-exit,iobase=0xf4,iosize=0x04",
        "-drive", "file=%s,format=raw,if=ide,index=0" % disk,
        "-no-reboot",
    ]
    if iommu:
        argv += ["-machine", "q35", "-device", "intel-iommu"]
    for d in devices:
        argv += ["-device", d]
    if iso:
        argv += ["-cdrom", iso, "-boot", "d"]
    else:
        argv += ["-boot", "c"]
    if use_kvm:
        argv += ["-accel", "kvm", "-cpu", "host"]
    else:
        argv += ["-accel", "tcg"]
    return argv, serial, log


def classify_exit(rc, log_text, powered_off_with_0=False):
    """(powered_off, code) from QEMU's exit status and its stderr.

    Status 1 is both QEMU's own error exit and isa-debug-exit with code 0. QEMU's
    stderr also carries device models' reports of guest errors (intel-iommu logs
    every DMA fault it records), so a "qemu-system-x86_64:" line alone does not
    make it an error when the serial console showed the power-off with code 0
    (powered_off_with_0).
    """
    if rc is None or rc < 0:
        return False, None
    if rc == 0:
        return True, None
    if rc == 1 and (QEMU + ":") in log_text and not powered_off_with_0:
        return False, None  # QEMU's own error exit
    if rc & 1:
        return True, rc >> 1
    return False, None
