#!/usr/bin/python3
"""deploy/hisbridge.conf documents every `hisbridge serve` option with its
default, and stays that way.

    config_reference_test.py HISBRIDGE_BINARY SOURCE_DIR

Checks, against the binary itself:
  - `serve --dry-run` prints every flag of `serve --help` (except --help,
    --config, and the command-line-only --dry-run and --restore-from), so the
    effective configuration is complete;
  - deploy/hisbridge.conf has, for every option, a commented line
    `# name = DEFAULT` whose value is the binary's default, preceded by a
    comment that explains it, and no option lines for names that are not
    flags;
  - loading deploy/hisbridge.conf changes nothing (`--config FILE --dry-run`
    prints the defaults), and a misspelt option in a file is refused with
    its file and line.
"""
import os
import re
import subprocess
import sys
import tempfile

NOT_IN_CONFIG = {"help", "config", "dry-run", "restore-from"}


def run(binary, *args):
    return subprocess.run([binary, *args], capture_output=True, text=True, timeout=60)


def config_pairs(text):
    """(name, value) for every non-comment `name = value` line."""
    pairs = []
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        name, _, value = line.partition("=")
        pairs.append((name.strip(), value.strip()))
    return pairs


def main():
    binary, source = sys.argv[1], sys.argv[2]
    failures = []

    help_text = run(binary, "serve", "--help")
    if help_text.returncode != 0:
        sys.exit(f"serve --help failed: {help_text.stderr}")
    flags = re.findall(r"^  --([a-z0-9-]+)", help_text.stdout, re.M)
    options = [f for f in flags if f not in NOT_IN_CONFIG]

    dry = run(binary, "serve", "--dry-run")
    if dry.returncode != 0:
        sys.exit(f"serve --dry-run failed: {dry.stderr}")
    defaults = {}
    for name, value in config_pairs(dry.stdout):
        defaults.setdefault(name, []).append(value)
    missing = [o for o in options if o not in defaults]
    extra = [d for d in defaults if d not in options]
    if missing:
        failures.append(f"--dry-run does not print: {missing}")
    if extra:
        failures.append(f"--dry-run prints options --help does not list: {extra}")

    conf_path = os.path.join(source, "deploy", "hisbridge.conf")
    lines = open(conf_path, encoding="utf-8").read().splitlines()
    option_line = re.compile(r"^# ([a-z][a-z0-9-]*) =(?: (.*))?$")
    documented = {}
    for number, line in enumerate(lines, 1):
        m = option_line.match(line)
        if not m:
            continue
        name, value = m.group(1), m.group(2) or ""
        if name not in defaults:
            failures.append(f"{conf_path}:{number}: `{name}` is not an option of hisbridge serve")
            continue
        if name in documented:
            failures.append(f"{conf_path}:{number}: `{name}` documented twice (first at line {documented[name]})")
        documented[name] = number
        expected = defaults[name][0] if len(defaults[name]) == 1 else ",".join(defaults[name])
        if value != expected:
            failures.append(f"{conf_path}:{number}: `{name}` shows default \"{value}\"; the binary's is \"{expected}\"")
        # The explanation: a prose comment within the three lines above
        # (options documented together share one).
        above = lines[max(0, number - 4):number - 1]
        if not any(l.startswith("# ") and not option_line.match(l) for l in above):
            failures.append(f"{conf_path}:{number}: `{name}` has no explanation above it")
    for name in defaults:
        if name not in documented:
            failures.append(f"{conf_path}: option `{name}` is not documented (add `# {name} = {defaults[name][0]}`)")

    loaded = run(binary, "serve", "--config", conf_path, "--dry-run")
    if loaded.returncode != 0:
        failures.append(f"--config {conf_path} --dry-run failed: {loaded.stderr.strip()}")
    elif loaded.stdout != dry.stdout:
        failures.append(f"{conf_path} changes options although every line is commented out")

    with tempfile.NamedTemporaryFile("w", suffix=".conf", delete=False) as bad:
        bad.write("log-format = json\nlisen = 0.0.0.0:7070\n")
    try:
        refused = run(binary, "serve", "--config", bad.name, "--dry-run")
        if refused.returncode != 2 or f"{bad.name}:2: unknown option \"lisen\"" not in refused.stderr:
            failures.append(f"a misspelt option was not refused clearly: rc={refused.returncode} {refused.stderr!r}")
    finally:
        os.unlink(bad.name)

    if failures:
        print("\n".join(failures))
        sys.exit(1)
    print(f"config reference: {len(documented)} options documented with their defaults")


if __name__ == "__main__":
    main()
