#!/usr/bin/env python3
"""Test: palaver-server.conf.example has a key for every server option.

Usage: check-config-example.py docs/protocol.md CONF-EXAMPLE

Reads the options from the tables of docs/protocol.md (rows starting with
`| `--option`), skips --config, and checks that the example holds each one
as a `[#]key=` line in its [server] group, and no key that is not an option.
"""
import re
import sys


def options(protocol_path):
    opts = set()
    with open(protocol_path, encoding="utf-8") as f:
        for line in f:
            if not line.startswith("| `--"):
                continue
            first_cell = line.split("|")[1]
            opts.update(re.findall(r"`--([a-z0-9-]+)", first_cell))
    opts.discard("config")
    return opts


def example_keys(conf_path):
    keys = set()
    group = None
    with open(conf_path, encoding="utf-8") as f:
        for line in f:
            line = line.strip()
            m = re.fullmatch(r"\[(.+)\]", line)
            if m:
                group = m.group(1)
                continue
            m = re.fullmatch(r"#?([a-z0-9-]+)=.*", line)
            if m:
                if group != "server":
                    sys.exit(f"key {m.group(1)} outside the [server] group")
                keys.add(m.group(1))
    return keys


def main():
    opts = options(sys.argv[1])
    keys = example_keys(sys.argv[2])
    if not opts:
        sys.exit("no options found in " + sys.argv[1])
    missing = sorted(opts - keys)
    extra = sorted(keys - opts)
    if missing:
        print("options missing from the example:", ", ".join(missing))
    if extra:
        print("keys in the example that are not documented options:", ", ".join(extra))
    if missing or extra:
        return 1
    print(f"ok: {len(opts)} options, all in the example")
    return 0


if __name__ == "__main__":
    sys.exit(main())
