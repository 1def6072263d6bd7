# -*- Python -*-
# lit configuration of Weft's end-to-end tests.
#
# A test is a .weft file (directories named Inputs hold helper files, not
# tests) with RUN: lines and FileCheck CHECK: lines. Substitutions:
#   %weftc      the weftc of the build under test
#   %stdlib     the source stdlib directory
#   %examples   the examples/ directory
#   %cc         the C compiler
#   %runtime    the directory holding libweft.a
#   %weft-include  the directory holding weft.h
#   %weft-sanflags -fsanitize=... of a sanitized build (empty otherwise), for
#                  C programs linked with libweft.a by hand
# Features: asan (sanitized build, also named weft-asan), debug (debug build).
#
# Run against a configured build directory:
#   python3 /usr/lib/llvm-19/build/utils/lit/lit.py -sv build/tests/lit
# or one test, straight from the source tree (uses build/ unless
# WEFT_BUILD_DIR names another build directory):
#   python3 /usr/lib/llvm-19/build/utils/lit/lit.py -v tests/lit/driver/version.weft
import os

import lit.formats

if not getattr(config, "weft_obj_root", None):
    # Invoked on the source tree: load the site config of a build directory,
    # which sets the paths and loads this file again.
    src_root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    build = os.environ.get("WEFT_BUILD_DIR", os.path.join(src_root, "build"))
    if not os.path.isabs(build):
        build = os.path.abspath(build)
    site = os.path.join(build, "tests", "lit", "lit.site.cfg.py")
    if not os.path.exists(site):
        lit_config.fatal(
            "no %s: configure a build first (meson setup build --native-file llvm19.ini) "
            "or set WEFT_BUILD_DIR" % site)
    lit_config.load_config(config, site)
else:
    config.name = "weft"
    config.test_format = lit.formats.ShTest(execute_external=True)
    config.suffixes = [".weft"]
    config.excludes = ["Inputs", "Output"]
    config.test_source_root = os.path.join(config.weft_src_root, "tests", "lit")
    config.test_exec_root = os.path.join(config.weft_obj_root, "tests", "lit")

    tools = config.llvm_tools_dir or "/usr/lib/llvm-19/bin"
    path = os.pathsep.join([tools, config.environment.get("PATH", os.environ.get("PATH", ""))])
    config.environment["PATH"] = path
    config.environment["NO_COLOR"] = "1"
    config.environment["WEFT_CHECK_LEAKS"] = "1"
    config.environment["LC_ALL"] = "C"
    for var in ["ASAN_OPTIONS", "UBSAN_OPTIONS", "LSAN_OPTIONS", "CC", "TMPDIR", "HOME"]:
        if var in os.environ:
            config.environment[var] = os.environ[var]
    # Tests must not depend on the user's runtime settings.
    for var in ["WEFT_STDLIB", "WEFT_RUNTIME_DIR", "WEFT_INCLUDE_DIR", "WEFT_VIRTUAL_TIME",
                "WEFT_STATS", "WEFT_BUILD_DIR"]:
        config.environment.pop(var, None)

    config.substitutions.append(("%weftc", config.weftc))
    config.substitutions.append(("%stdlib", os.path.join(config.weft_src_root, "stdlib")))
    config.substitutions.append(("%examples", os.path.join(config.weft_src_root, "examples")))
    config.substitutions.append(("%weft-include", os.path.join(config.weft_src_root, "runtime", "include")))
    config.substitutions.append(("%runtime", config.weft_runtime_dir))
    config.substitutions.append(("%cc", config.weft_cc or "cc"))

    # C programs linked with libweft.a by hand need the build's sanitizer flags.
    sanitized = config.weft_sanitize and config.weft_sanitize != "none"
    config.substitutions.append(
        ("%weft-sanflags", "-fsanitize=" + config.weft_sanitize if sanitized else ""))

    if config.weft_sanitize and config.weft_sanitize != "none":
        config.available_features.add("asan")
        config.available_features.add("weft-asan")
    if config.weft_buildtype.startswith("debug"):
        config.available_features.add("debug")
