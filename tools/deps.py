"""The Debian packages the project needs, and quick checks that they are there.

`./hv setup` installs whatever `dpkg-query` says is missing. Every other subcommand
calls `require(...)` first with the features it uses; that only looks for files
(fast), and turns a missing tool into one clear line instead of a traceback.
"""

import os
import shutil
import subprocess
import sys

# Package -> a file or command it provides (what the quick check looks for).
PACKAGES = {
    "bazel-bootstrap": "bazel",
    "bazel-platforms": "/usr/share/bazel/platforms/BUILD",
    "gcc": "gcc",
    "libc6-dev": "/usr/include/stdio.h",
    "binutils": "ld",
    "clang": "clang",
    "lld": "ld.lld",
    "clang-format": "clang-format",
    "libcmocka-dev": "/usr/include/cmocka.h",
    "libbearssl-dev": "/usr/include/bearssl.h",
    "bochs": "bochs-bin",
    "bochsbios": "/usr/share/bochs/BIOS-bochs-latest",
    "vgabios": "/usr/share/vgabios/vgabios.bin",
    "qemu-system-x86": "qemu-system-x86_64",
    "grub-pc-bin": "/usr/lib/grub/i386-pc/multiboot.mod",
    "grub-common": "grub-mkrescue",
    "xorriso": "xorriso",
    "mtools": "mformat",
    "cpio": "cpio",
    "busybox-static": "/bin/busybox",
    "python3": "python3",
    "python3-pytest": "/usr/lib/python3/dist-packages/pytest/__init__.py",
    "python3-pytest-xdist": "/usr/lib/python3/dist-packages/xdist/__init__.py",
}

# Feature -> packages it needs. Subcommands ask for features.
FEATURES = {
    "bazel": ["bazel-bootstrap", "bazel-platforms", "gcc", "libc6-dev", "binutils"],
    "clang": ["clang", "lld"],
    "unit": ["libcmocka-dev"],
    "iso": ["grub-common", "grub-pc-bin", "xorriso", "mtools"],
    "bochs": ["bochs", "bochsbios", "vgabios"],
    "qemu": ["qemu-system-x86"],
    "boot-tests": ["python3-pytest", "python3-pytest-xdist"],
}


class MissingTool(Exception):
    """A tool the command needs is not installed (message is user-facing)."""


def _present(what):
    if what.startswith("/"):
        return os.path.exists(what)
    return shutil.which(what) is not None


def require(*features):
    """Raise MissingTool naming the first missing tool and its package."""
    missing = []
    for feature in features:
        for pkg in FEATURES[feature]:
            if not _present(PACKAGES[pkg]) and pkg not in missing:
                missing.append(pkg)
    if missing:
        first = PACKAGES[missing[0]]
        raise MissingTool(
            "missing tool %s: run ./hv setup (or: apt-get install %s)"
            % (first, " ".join(missing))
        )


def missing_packages():
    """Packages that dpkg does not report as installed."""
    out = subprocess.run(
        ["dpkg-query", "-W", "-f", "${Package} ${db:Status-Status}\\n"] + list(PACKAGES),
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    ).stdout
    installed = set()
    for line in out.splitlines():
        parts = line.split()
        if len(parts) == 2 and parts[1] == "installed":
            installed.add(parts[0].split(":")[0])
    return [p for p in PACKAGES if p not in installed]


def install_command(pkgs):
    return (
        "apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y "
        "--no-install-recommends " + " ".join(pkgs)
    )


def setup(dry_run=False):
    """Install missing packages (root) or print the command (not root). Returns exit code."""
    if shutil.which("dpkg-query") is None:
        print("hv setup: dpkg-query not found: this needs Debian 12 (or a derivative)", file=sys.stderr)
        return 1
    missing = missing_packages()
    if not missing:
        print("hv setup: all %d packages installed" % len(PACKAGES))
        return 0
    cmd = install_command(missing)
    print("hv setup: missing: " + " ".join(missing))
    if dry_run or os.geteuid() != 0:
        if os.geteuid() != 0:
            print("hv setup: not root; run as root:", file=sys.stderr)
        print(cmd)
        return 1
    print("hv setup: " + cmd, flush=True)
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    rc = subprocess.run(["sh", "-c", cmd], env=env).returncode
    if rc != 0:
        print("hv setup: apt-get failed (exit %d)" % rc, file=sys.stderr)
        return 1
    still = missing_packages()
    if still:
        print("hv setup: still missing after install: " + " ".join(still), file=sys.stderr)
        return 1
    print("hv setup: installed " + " ".join(missing))
    return 0


def ensure(command, setup_fn=None):
    """Before `./hv test` and `./hv compare`: None when every package is there.

    Otherwise, as root, install the missing ones with the same code as `./hv setup`
    (which says what it installs) and return None if that worked; as a normal user
    print the one sudo line. Returns the exit code to stop with. Machines without
    dpkg-query are left to require()'s per-tool checks.
    """
    if shutil.which("dpkg-query") is None:
        return None
    missing = missing_packages()
    if not missing:
        return None
    if os.geteuid() != 0:
        print("hv %s: missing packages: %s; install them with: sudo ./hv setup"
              % (command, " ".join(missing)), file=sys.stderr)
        return 1
    print("hv %s: installing the missing packages first (as ./hv setup does)" % command,
          flush=True)
    rc = (setup_fn or setup)()
    return None if rc == 0 else rc
