#!/usr/bin/python3
"""deploy/Dockerfile is well-formed and its package lists are right.

    dockerfile_test.py HISBRIDGE_BINARY SOURCE_DIR

There is no container engine on the build machines, so the image is not
built here; what can be checked without one is:
  - the stages: Debian 12 (bookworm) bases, a builder and a runtime stage,
    the binary copied from the builder, a non-root numeric USER matching the
    Kubernetes manifests' runAsUser, an exec-form ENTRYPOINT running hisbridge,
    COPY sources that exist;
  - every package either stage installs exists in this machine's Debian 12
    apt sources (apt-cache), the runtime stage installs no -dev package;
  - the builder installs everything scripts/setup.sh installs except the
    tools only the tests use;
  - the runtime stage provides every shared library the real binary loads:
    each library in `ldd HISBRIDGE_BINARY` belongs (dpkg -S) to a listed
    package (or libc6, in every Debian image), and no listed library package
    is unused.
"""
import glob
import os
import re
import subprocess
import sys

# scripts/setup.sh packages the image build does not need.
TEST_ONLY = {"clang", "libclang-rt-14-dev", "kcat", "python3", "python3-grpcio", "python3-protobuf",
             "kubernetes-client", "python3-jsonschema", "python3-yaml"}
# Runtime packages that are not shared libraries of the binary.
NOT_LIBRARIES = {"ca-certificates"}
# In every Debian image.
ALWAYS_PRESENT = {"libc6"}


def instructions(text):
    """(line number, INSTRUCTION, arguments) with continuations joined."""
    out, buffer, start = [], "", 0
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.rstrip()
        if not buffer and (not line.strip() or line.lstrip().startswith("#")):
            continue
        if not buffer:
            start = number
        if line.lstrip().startswith("#"):
            continue  # a comment inside a continued instruction
        if line.endswith("\\"):
            buffer += line[:-1] + " "
            continue
        buffer += line
        word, _, rest = buffer.strip().partition(" ")
        out.append((start, word.upper(), rest.strip()))
        buffer = ""
    return out


def apt_packages(run_args):
    """Package names of `apt-get install` in a RUN instruction."""
    packages = []
    for command in re.split(r"&&|;", run_args):
        words = command.split()
        if "apt-get" in words and "install" in words:
            for w in words[words.index("install") + 1:]:
                if not w.startswith("-") and "=" not in w:
                    packages.append(w)
    return packages


def setup_packages(path):
    text = open(path, encoding="utf-8").read()
    block = re.search(r"^packages=\((.*?)^\)", text, re.S | re.M).group(1)
    names = []
    for line in block.splitlines():
        line = line.split("#", 1)[0]
        names.extend(line.split())
    return names


def apt_candidates(packages):
    """package -> candidate version in the apt sources (None if unknown),
    from one apt-cache call."""
    result = subprocess.run(["apt-cache", "policy", *packages], capture_output=True, text=True)
    found, current = {}, None
    for line in result.stdout.splitlines():
        if line and not line.startswith(" "):
            current = line.rstrip(":").split(":", 1)[0]
        m = re.match(r"\s+Candidate: (\S+)", line)
        if m and current is not None:
            found[current] = None if m.group(1) == "(none)" else m.group(1)
    return {p: found.get(p) for p in packages}


def owner_packages(paths):
    """library path -> the package that ships it (one dpkg -S for all).
    /lib is a symlink to /usr/lib on Debian 12 and dpkg knows only one
    spelling, so every spelling of every path is asked for."""
    spellings = {}
    for path in paths:
        for p in {path, os.path.realpath(path)}:
            for s in {p, p[4:] if p.startswith("/usr/") else "/usr" + p}:
                spellings.setdefault(s, path)
    result = subprocess.run(["dpkg", "-S", *sorted(spellings)], capture_output=True, text=True)
    owners = {}
    for line in result.stdout.splitlines():
        package, _, shipped = line.partition(": ")
        if shipped in spellings:
            owners.setdefault(spellings[shipped], package.split(":", 1)[0].strip())
    return owners


def main():
    binary, source = sys.argv[1], sys.argv[2]
    path = os.path.join(source, "deploy", "Dockerfile")
    steps = instructions(open(path, encoding="utf-8").read())
    failures = []

    args = {}
    stages = []  # [name, [(line, instruction, args)]]
    for line, word, rest in steps:
        if word == "ARG" and not stages:
            name, _, value = rest.partition("=")
            args[name] = value
            continue
        if word == "FROM":
            image, _, alias = re.sub(r"(?i)\s+as\s+", " AS ", rest).partition(" AS ")
            image = re.sub(r"\$\{(\w+)\}", lambda m: args.get(m.group(1), ""), image.strip())
            if not re.fullmatch(r"debian:(bookworm|12)[\w.-]*", image):
                failures.append(f"{path}:{line}: base image {image} is not Debian 12 (bookworm)")
            stages.append([alias.strip() or str(len(stages)), []])
            continue
        if not stages:
            failures.append(f"{path}:{line}: {word} before FROM")
            continue
        stages[-1][1].append((line, word, rest))
    if len(stages) < 2:
        sys.exit(f"{path}: expected a builder and a runtime stage, found {len(stages)}")
    builder_name, builder = stages[0]
    runtime_name, runtime = stages[-1]

    def installed(stage):
        return [p for _, w, a in stage if w == "RUN" for p in apt_packages(a)]

    build_pkgs, run_pkgs = installed(builder), installed(runtime)
    if not build_pkgs or not run_pkgs:
        failures.append(f"{path}: both stages must install their packages with apt-get install")

    candidates = apt_candidates(sorted(set(build_pkgs + run_pkgs)))
    for package, version in candidates.items():
        if version is None:
            failures.append(f"{path}: package {package} does not exist in the Debian 12 apt sources")
    for package in run_pkgs:
        if package.endswith("-dev"):
            failures.append(f"{path}: the runtime stage installs the development package {package}")

    needed = [p for p in setup_packages(os.path.join(source, "scripts", "setup.sh")) if p not in TEST_ONLY]
    for package in needed:
        if package not in build_pkgs:
            failures.append(f"{path}: the builder does not install {package} (scripts/setup.sh does)")

    ldd = subprocess.run(["ldd", binary], capture_output=True, text=True, check=True).stdout
    libraries = re.findall(r"=>\s+(/\S+)", ldd)
    used = set()
    owners = owner_packages(libraries)
    for library in libraries:
        package = owners.get(library)
        if package is None:
            failures.append(f"{binary}: {library} belongs to no Debian package")
            continue
        used.add(package)
        if package not in run_pkgs and package not in ALWAYS_PRESENT:
            failures.append(f"{path}: the runtime stage lacks {package} (provides {library})")
    for package in run_pkgs:
        if package not in used and package not in NOT_LIBRARIES:
            failures.append(f"{path}: the runtime stage installs {package}, which the binary does not load")

    copies = [(l, a) for l, w, a in runtime if w == "COPY"]
    if not any(a.startswith(f"--from={builder_name}") and "hisbridge" in a for _, a in copies):
        failures.append(f"{path}: the runtime stage must COPY --from={builder_name} the hisbridge binary")
    for line, a in copies:
        if a.startswith("--from"):
            continue
        for src in a.split()[:-1]:
            if not glob.glob(os.path.join(source, src)):
                failures.append(f"{path}:{line}: COPY source {src} does not exist")
    users = [a for _, w, a in runtime if w == "USER"]
    uid = users[-1].split(":")[0] if users else "0"
    if not uid.isdigit() or uid == "0":
        failures.append(f"{path}: the runtime stage must end with a numeric non-root USER (got {uid!r})")
    entry = [a for _, w, a in runtime if w == "ENTRYPOINT"]
    if not entry or not re.fullmatch(r'\["[^"]*hisbridge"(, *"[^"]*")*\]', entry[-1]):
        failures.append(f"{path}: ENTRYPOINT must be exec form running hisbridge (got {entry})")
    manifests = " ".join(open(f, encoding="utf-8").read() for f in glob.glob(os.path.join(source, "k8s", "base", "*.yaml")))
    for value in set(re.findall(r"(?:runAsUser|runAsGroup|fsGroup): (\d+)", manifests)):
        if value != uid:
            failures.append(f"k8s/base: runAsUser/runAsGroup/fsGroup {value} differs from the image's USER {uid}")

    if failures:
        print("\n".join(failures))
        sys.exit(1)
    print(f"Dockerfile: {len(build_pkgs)} builder and {len(run_pkgs)} runtime packages exist in apt; "
          f"{len(libraries)} libraries of the binary come from {len(used)} packages, all installed")


if __name__ == "__main__":
    main()
