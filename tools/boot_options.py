"""The hypervisor's own command line for one run (`./hv run --hv-option NAME=VALUE`).

An app's image boots core/grub.cfg, whose `multiboot /boot/hv.elf` line is the
hypervisor's command line (rt/boot_option.h reads NAME=VALUE words from it). A
run with options gets an image of the same hv.elf whose GRUB passes them: the
built hv.elf and core/grub.cfg with the words appended, through the same
bazel/grub_iso.py the grub_iso rule runs (about a second).

Known options: hv_verbose=1 (start-up notes printed as they happen,
docs/design.md section 8), tv_pal_budget=TSC (TrustVisor: a PAL call's time
budget), tv_dma=warn|refuse (TrustVisor without an IOMMU); see docs/design.md.
"""

import os
import re
import sys

from tools import bazel

ROOT = bazel.ROOT
GRUB_CFG = os.path.join(ROOT, "core", "grub.cfg")
MULTIBOOT = "multiboot /boot/hv.elf"
# GRUB's parser and the hypervisor's word splitting: no spaces, quotes, ';',
# '$' or '\' in a word, and a name the hypervisor could look up.
_OPTION = re.compile(r"^[a-z][a-z0-9_]*=[A-Za-z0-9_.,:+-]+$")


class ImageError(Exception):
    pass


def check(options):
    """None if every option is a NAME=VALUE word the image can carry, else the problem."""
    for o in options:
        if not _OPTION.match(o):
            return ("--hv-option %r: expected NAME=VALUE (NAME: lower case, digits, '_'; VALUE: "
                    "letters, digits and _.,:+- only)" % o)
    return None


def config_with(options, template=None):
    """core/grub.cfg's text with options appended to its multiboot line."""
    with open(template or GRUB_CFG) as f:
        lines = f.read().splitlines()
    hits = [i for i, line in enumerate(lines) if line.strip().startswith(MULTIBOOT)]
    if len(hits) != 1:
        raise ValueError("%s: expected one '%s' line, found %d" % (GRUB_CFG, MULTIBOOT, len(hits)))
    lines[hits[0]] = lines[hits[0]].rstrip() + " " + " ".join(options)
    return "\n".join(lines) + "\n"


def image(app, options, workdir, app_iso):
    """An ISO of app's hv.elf booted with options, written in workdir.

    app_iso: the app's built ISO; its hv.elf is the file beside it (one Bazel package).
    Not bazel-bin/...: that link follows whichever configuration built last, and a
    concurrent build (another test, --config=nmi_sweep) moves it."""
    kernel = os.path.join(os.path.dirname(app_iso), "hv.elf")
    if not os.path.isfile(kernel):
        raise ImageError("%s is not built (./hv build %s)" % (kernel, app))
    cfg = os.path.join(workdir, "grub.cfg")
    with open(cfg, "w") as f:
        f.write(config_with(options))
    sys.path.insert(0, os.path.join(ROOT, "bazel"))
    import grub_iso  # bazel/grub_iso.py, the grub_iso rule's script

    out = os.path.join(workdir, "%s-options.iso" % app)
    try:
        grub_iso.build(kernel, cfg, out)
    except grub_iso.IsoError as e:
        raise ImageError("cannot build the image with %s: %s" % (" ".join(options), e))
    return out
