"""Build macros: every hypervisor library is built twice.

`NAME` is the freestanding variant linked into bootable images; `NAME_host` is the
same sources compiled for the host against the fake hardware layer (HV_HOST=1),
which is what the cmocka tests link. Dependencies are mapped the same way.
"""

WARN_COPTS = [
    "-std=c11",
    "-Wall",
    "-Wextra",
    "-Werror",
    "-Wno-unused-parameter",
]

# Image code: no libc, no red zone (an NMI on the same stack would clobber it),
# no SSE/x87 (guest extended state is not saved around hypervisor code), linked at
# a fixed physical address below 2 GiB and identity-mapped (equivalent to
# -mcmodel=kernel for our purposes).
IMAGE_COPTS = WARN_COPTS + [
    "-ffreestanding",
    "-fno-builtin",
    "-fno-stack-protector",
    "-fno-pic",
    "-fno-pie",
    "-mcmodel=small",
    "-mno-red-zone",
    "-mgeneral-regs-only",
    "-mno-mmx",
    "-mno-sse",
    "-mno-sse2",
    "-fno-asynchronous-unwind-tables",
    "-fno-omit-frame-pointer",
    "-O2",
    "-g",
]

# 32-bit freestanding guest programs booted by GRUB as multiboot kernels: the test
# guest (//guest:testguest.elf) and the PVH loader (//guest/linux/pvh).
GUEST32_COPTS = [
    "-std=c11",
    "-Wall",
    "-Wextra",
    "-Werror",
    "-m32",
    "-ffreestanding",
    "-fno-builtin",
    "-fno-pic",
    "-fno-pie",
    "-fno-stack-protector",
    "-mno-sse",
    "-mno-mmx",
    "-mgeneral-regs-only",
    "-fno-asynchronous-unwind-tables",
    "-O2",
]

HOST_COPTS = WARN_COPTS + [
    "-DHV_HOST=1",
    "-D_DEFAULT_SOURCE",
    "-O1",
    "-g",
]

def _host_label(dep):
    if ":" in dep:
        return dep + "_host"
    name = dep.split("/")[-1]
    return dep + ":" + name + "_host"

def hv_cc_library(name, srcs = [], hdrs = [], deps = [], image_srcs = [], host_srcs = [], host_deps = [], host_hdrs = [], textual_hdrs = [], visibility = ["//visibility:public"]):
    """A library built for the image (`name`) and for host tests (`name_host`).

    image_srcs: sources only in the image (entry stubs, real-hardware glue).
    host_srcs:  sources only in the host variant (fakes).
    host_hdrs:  headers host tests may include besides hdrs (internals they check).
    Both variants link statically: image objects are not PIC, so Bazel must never
    link them into a .so.
    """
    native.cc_library(
        name = name,
        srcs = srcs + image_srcs,
        hdrs = hdrs,
        textual_hdrs = textual_hdrs,
        deps = deps,
        copts = IMAGE_COPTS,
        visibility = visibility,
        alwayslink = True,
        linkstatic = True,
    )
    native.cc_library(
        name = name + "_host",
        srcs = srcs + host_srcs,
        hdrs = hdrs + host_hdrs,
        textual_hdrs = textual_hdrs,
        deps = [_host_label(d) for d in deps] + host_deps,
        copts = HOST_COPTS,
        visibility = visibility,
        linkstatic = True,
        testonly = True,
    )

def hv_cc_test(name, srcs, deps = [], size = "small", **kwargs):
    """A cmocka test over the host variants of `deps`."""
    native.cc_test(
        name = name,
        srcs = srcs,
        deps = [_host_label(d) for d in deps],
        copts = HOST_COPTS,
        linkopts = ["-lcmocka"],
        size = size,
        **kwargs
    )

def hv_image(name, deps, visibility = ["//visibility:public"]):
    """Links a bootable hypervisor ELF (multiboot) from image libraries."""
    native.cc_binary(
        name = name,
        deps = deps + ["//rt:linker_script"],
        copts = IMAGE_COPTS,
        linkopts = [
            "-nostdlib",
            "-static",
            "-Wl,-T,$(location //rt:linker.ld)",
            "-Wl,--build-id=none",
            "-Wl,-n",
            "-Wl,-z,norelro",
            "-Wl,-z,noexecstack",
        ],
        additional_linker_inputs = ["//rt:linker.ld"],
        visibility = visibility,
    )

def _grub_iso_impl(ctx):
    iso = ctx.actions.declare_file(ctx.attr.out or (ctx.label.name + ".iso"))
    ctx.actions.run(
        inputs = [ctx.file.kernel, ctx.file.grub_cfg, ctx.file._script],
        outputs = [iso],
        executable = "python3",
        arguments = [ctx.file._script.path, ctx.file.kernel.path, ctx.file.grub_cfg.path, iso.path],
        mnemonic = "GrubIso",
        progress_message = "grub ISO %s" % iso.short_path,
        use_default_shell_env = True,
    )
    return [DefaultInfo(files = depset([iso]))]

grub_iso = rule(
    implementation = _grub_iso_impl,
    attrs = {
        "kernel": attr.label(allow_single_file = True, mandatory = True),
        "grub_cfg": attr.label(
            allow_single_file = True,
            mandatory = True,
            doc = "Plain GRUB commands, run as the core image's embedded configuration.",
        ),
        "out": attr.string(doc = "Output file name (default: NAME.iso)."),
        "_script": attr.label(allow_single_file = True, default = "//bazel:grub_iso.py"),
    },
    doc = "A BIOS El Torito image whose GRUB multiboots `kernel` (bazel/grub_iso.py).",
)

def hv_app(name, srcs, hdrs = [], deps = [], image_srcs = [], host_srcs = []):
    """An app's three targets, as every app has them (README.md "Adding an app"):

    app     its library (hv_cc_library; host tests link app_host), always with
            libvmx's app interface;
    hv.elf  the bootable image: the app linked with //core's boot sequence;
    iso     NAME.iso, booted by GRUB with //core:grub.cfg (`./hv build NAME`).
    More images of the same hv.elf (other boot options) are plain grub_iso rules.
    """
    hv_cc_library(
        name = "app",
        srcs = srcs,
        hdrs = hdrs,
        image_srcs = image_srcs,
        host_srcs = host_srcs,
        deps = ["//libvmx:app_interface"] + [d for d in deps if d != "//libvmx:app_interface"],
    )
    hv_image(
        name = "hv.elf",
        deps = [
            ":app",
            "//core",
        ],
    )
    grub_iso(
        name = "iso",
        out = name + ".iso",
        grub_cfg = "//core:grub.cfg",
        kernel = ":hv.elf",
    )
