"""Argument checks every ./hv command makes before it builds or boots anything.

Each check returns None when the value is usable, or one line saying why not;
`./hv` prints the line and exits 2 (bad arguments), so an hour-long compare or
fuzz run never fails at its end on a path it could have checked at its start.
"""

import os

MAX_CPUS = 8  # HV_MAX_CPUS in rt/
MIN_MEM = 16


def available_mb():
    """MemAvailable of this machine in MB, or None where /proc/meminfo is missing."""
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) // 1024
    except (OSError, ValueError, IndexError):
        pass
    return None


def cpus(n, option="--cpus"):
    if not 1 <= n <= MAX_CPUS:
        return "%s must be 1..%d (HV_MAX_CPUS), not %d" % (option, MAX_CPUS, n)
    return None


def mem(mb, option="--mem"):
    if mb < MIN_MEM:
        return "%s %d is too small (at least %d MB)" % (option, mb, MIN_MEM)
    avail = available_mb()
    if avail is not None and mb > avail:
        return ("%s %d MB is more than this machine has available (%d MB): the emulator "
                "would fail to allocate the guest's RAM" % (option, mb, avail))
    return None


def output_file(path, option, suffix=None):
    """A file the command will create or overwrite: not a directory, its folder exists
    or can be created, and (with suffix) it ends in suffix."""
    if os.path.isdir(path):
        return "%s %s is a directory; give a file name" % (option, path)
    if suffix and not path.endswith(suffix):
        return "%s %s: the name must end in %s" % (option, path, suffix)
    folder = os.path.dirname(os.path.abspath(path))
    probe = folder
    while not os.path.exists(probe):
        probe = os.path.dirname(probe)
    if not os.path.isdir(probe):
        return "%s %s: %s is not a directory" % (option, path, probe)
    if not os.access(probe, os.W_OK):
        return "%s %s: %s is not writable" % (option, path, probe)
    if os.path.exists(path) and not os.access(path, os.W_OK):
        return "%s %s: the file is not writable" % (option, path)
    return None


def positive(n, option):
    if n is not None and n < 1:
        return "%s must be >= 1, not %d" % (option, n)
    return None


def first_problem(*problems):
    for p in problems:
        if p:
            return p
    return None
