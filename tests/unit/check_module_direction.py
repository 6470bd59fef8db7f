#!/usr/bin/env python3
"""Modules link one way (docs/architecture.md, "Modules"; issue 8).

The client's modules are layered, lowest first:

    common < protocol < engine < cli < gui < app

A file may include headers of its own module and of modules below it, never
above; signaling-server/ may use common and protocol only. Our headers are
included by bare name ("call.h") through each module's include_directories,
so a name is mapped to the directory that holds it; two modules holding the
same header name would make that ambiguous, and fail too.

Three things are checked:
  - every #include "..." in src/ and signaling-server/ (sources and headers);
  - no module's meson.build reaches into another directory with
    include_directories('../...') (how gui once included src/app/);
  - no module's meson.build names the dependency object of a module above
    it (cli_dep in src/engine/meson.build, gui_dep in src/cli/...).

Usage: check_module_direction.py SOURCE_ROOT
       check_module_direction.py --self-test   (the checker catches what it should)
"""

import os
import re
import sys
import tempfile

LAYERS = ["common", "protocol", "engine", "cli", "gui", "app"]
RANK = {name: i for i, name in enumerate(LAYERS)}
# The server is beside the client, not above it: only these below it.
SERVER = "signaling-server"
SERVER_MAY_USE = {"common", "protocol", SERVER}

# The dependency objects each module's meson.build declares.
DEPS = {
    "common_dep": "common",
    "protocol_dep": "protocol",
    "engine_dep": "engine",
    "cli_dep": "cli",
    "gui_sink_dep": "gui",
    "gui_dep": "gui",
    "server_dep": SERVER,
}

INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"', re.MULTILINE)
SOURCE_SUFFIXES = (".h", ".hpp", ".cpp", ".cc", ".c")


def module_dirs(root):
    dirs = {name: os.path.join(root, "src", name) for name in LAYERS}
    dirs[SERVER] = os.path.join(root, SERVER)
    return {name: d for name, d in dirs.items() if os.path.isdir(d)}


def may_use(user, used):
    if user == used:
        return True
    if user == SERVER or used == SERVER:
        return user == SERVER and used in SERVER_MAY_USE
    return RANK[used] < RANK[user]


def module_of_path(path, dirs):
    path = os.path.realpath(path)
    for name, d in dirs.items():
        if os.path.commonpath([path, os.path.realpath(d)]) == os.path.realpath(d):
            return name
    return None


def check(root):
    errors = []
    dirs = module_dirs(root)
    if not dirs:
        return [f"{root}: no src/ modules found"]

    # Header name -> module (one level deep: modules keep their headers flat).
    owner = {}
    for name, d in dirs.items():
        for entry in sorted(os.listdir(d)):
            if entry.endswith((".h", ".hpp")):
                if entry in owner:
                    errors.append(f"header name {entry} is in both {owner[entry]} and {name}: "
                                  "bare-name includes would be ambiguous")
                owner.setdefault(entry, name)

    checked = 0
    for name, d in dirs.items():
        for dirpath, _, files in os.walk(d):
            for entry in sorted(files):
                path = os.path.join(dirpath, entry)
                rel = os.path.relpath(path, root)
                if entry == "meson.build":
                    errors += check_meson(path, rel, name)
                    continue
                if not entry.endswith(SOURCE_SUFFIXES):
                    continue
                with open(path, encoding="utf-8") as f:
                    text = f.read()
                for m in INCLUDE.finditer(text):
                    target = m.group(1)
                    line = text.count("\n", 0, m.start()) + 1
                    local = os.path.join(dirpath, target)
                    if os.path.exists(local):
                        used = module_of_path(local, dirs)  # quote includes look here first
                    else:
                        used = owner.get(os.path.basename(target)) if "/" not in target else None
                    checked += 1
                    if used is None:
                        # Generated headers (GResource...) live in the build
                        # tree; a path into another module is what we forbid.
                        if "/" in target:
                            errors.append(f"{rel}:{line}: #include \"{target}\" reaches outside its module")
                        continue
                    if not may_use(name, used):
                        errors.append(f"{rel}:{line}: {name} includes \"{target}\" of {used}, "
                                      f"which is above it ({' < '.join(LAYERS)}; "
                                      f"{SERVER} uses only common and protocol)")
    if checked == 0:
        errors.append(f"{root}: no #include \"...\" found: is this the source root?")
    return errors


def check_meson(path, rel, name):
    errors = []
    with open(path, encoding="utf-8") as f:
        text = f.read()
    for m in re.finditer(r"include_directories\s*\(([^)]*)\)", text):
        if ".." in m.group(1):
            line = text.count("\n", 0, m.start()) + 1
            errors.append(f"{rel}:{line}: include_directories({m.group(1).strip()}) reaches into another "
                          "directory: depend on that module's *_dep instead")
    for m in re.finditer(r"\b(\w+_dep)\b", text):
        used = DEPS.get(m.group(1))
        if used and not may_use(name, used):
            line = text.count("\n", 0, m.start()) + 1
            errors.append(f"{rel}:{line}: {name} depends on {m.group(1)} of {used}, which is above it")
    return errors


def self_test():
    """A tree with one violation of each kind must fail with each named."""
    def write(root, rel, text):
        path = os.path.join(root, rel)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w", encoding="utf-8") as f:
            f.write(text)

    with tempfile.TemporaryDirectory() as root:
        write(root, "src/common/gref.h", "#pragma once\n")
        write(root, "src/engine/call.h", '#include "gref.h"\n')
        write(root, "src/cli/command_line.h", '#include "call.h"\n')
        write(root, "src/gui/call_window.h", '#include "command_line.h"\n')
        write(root, "src/app/main.cpp", '#include "call_window.h"\n#include "command_line.h"\n')
        good = check(root)
        if good:
            return [f"a clean tree failed: {good}"]
        write(root, "src/engine/call.cpp", '#include "call.h"\n#include "call_window.h"\n')
        write(root, "src/cli/meson.build", "cli_dep = declare_dependency(dependencies : [engine_dep, gui_dep])\n")
        write(root, "src/gui/meson.build", "x = include_directories('../app')\n")
        write(root, "signaling-server/server.cpp", '#include "gref.h"\n#include "call.h"\n')
        write(root, "src/engine/local_media.h", "#pragma once\n")
        write(root, "src/protocol/local_media.h", "#pragma once\n")
        bad = "\n".join(check(root))
        expected = ['src/engine/call.cpp:2: engine includes "call_window.h" of gui',
                    "src/cli/meson.build:1: cli depends on gui_dep",
                    "src/gui/meson.build:1: include_directories('../app')",
                    'signaling-server/server.cpp:2: signaling-server includes "call.h"',
                    "header name local_media.h is in both"]
        return [f"not caught: {e}\n{bad}" for e in expected if e not in bad]


def main():
    if sys.argv[1:] == ["--self-test"]:
        errors = self_test()
    elif len(sys.argv) == 2:
        errors = check(sys.argv[1])
    else:
        print(__doc__, file=sys.stderr)
        return 2
    for e in errors:
        print(e, file=sys.stderr)
    if not errors:
        print("modules link one way: " + " < ".join(LAYERS) + f"; {SERVER} on common and protocol")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
