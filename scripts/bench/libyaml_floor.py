#!/usr/bin/env python3
"""The floor of scripts/bench.sh validate: Python's libyaml (PyYAML's
CSafeLoader) parsing every .yaml/.yml file under DIR, the files that
bench-yaml-floor parses, doing nothing else, on JOBS processes (default 2:
the cores addon-validate uses). Prints the file count on stderr.

usage: libyaml_floor.py DIR [JOBS]
"""
import multiprocessing
import os
import sys

import yaml


def yaml_files(root):
    for folder, _, names in os.walk(root):
        for name in names:
            if name.endswith((".yaml", ".yml")):
                yield os.path.join(folder, name)


def parse(paths):
    for path in paths:
        with open(path, encoding="utf8") as f:
            try:
                yaml.load(f.read(), Loader=yaml.CSafeLoader)
            except yaml.YAMLError:
                pass
    return len(paths)


def main():
    if not hasattr(yaml, "CSafeLoader"):
        sys.exit("libyaml_floor.py: this PyYAML has no libyaml (yaml.CSafeLoader)")
    root = sys.argv[1]
    jobs = int(sys.argv[2]) if len(sys.argv) > 2 else 2
    paths = sorted(yaml_files(root))
    # Every JOBS-th file per process: shares of the same size in files and
    # bytes (bundle files are larger than add-on files).
    shares = [paths[i::jobs] for i in range(jobs)]
    with multiprocessing.Pool(jobs) as pool:
        parsed = sum(pool.map(parse, shares))
    print(f"libyaml_floor: parsed {parsed} files on {jobs} processes", file=sys.stderr)


if __name__ == "__main__":
    main()
