"""The trees the full, cache and diff parts scan, built under ``benchmarks/.work/`` on
first use and reused afterwards; and the one-file change the cache and diff parts make.

* generated: see ``generated_tree.py``;
* django: Django's wheel, unzipped (nothing is installed or run);
* central-ledger: @mojaloop/central-ledger's npm tarball plus a resolved
  package-lock.json (``npm install --package-lock-only --ignore-scripts``).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tarfile
import zipfile
from collections import Counter
from collections.abc import Callable
from pathlib import Path

from common import ENV, WORK, log
from generated_tree import GENERATOR_VERSION, generate

DJANGO = "4.2"
CENTRAL_LEDGER = "19.5.5"
# The one-file change of the cache and diff parts: a line every SAST scanner flags, so the
# re-run must also find something new there.
MARK = "added by benchmarks/bench.py"
APPENDED = {
    ".py": f'import hashlib; hashlib.md5(b"x")  # {MARK}',
    ".js": f"require('crypto').createHash('md5').update('x') // {MARK}",
}


def prepare_generated() -> Path:
    dest = WORK / "generated"
    marker = WORK / ".generated.ready"  # outside the tree: the gate would count it
    if not (marker.exists() and marker.read_text() == GENERATOR_VERSION):
        log("generating the synthetic tree …")
        generate(dest)
        marker.write_text(GENERATOR_VERSION)
    return dest


def prepare_django() -> Path:
    dest = WORK / "django"
    marker = WORK / ".django.ready"
    if marker.exists():
        return dest
    dl = WORK / "dl"
    wheels = list(dl.glob(f"[Dd]jango-{DJANGO}-py3-none-any.whl"))
    if not wheels:
        log(f"downloading Django {DJANGO} (wheel, no dependencies) …")
        subprocess.run(
            [
                sys.executable,
                "-m",
                "pip",
                "download",
                "--no-deps",
                "--only-binary",
                ":all:",
                f"django=={DJANGO}",
                "-d",
                str(dl),
            ],
            check=True,
            env=ENV,
            stdout=subprocess.DEVNULL,
        )
        wheels = list(dl.glob(f"[Dd]jango-{DJANGO}-py3-none-any.whl"))
    if dest.exists():
        shutil.rmtree(dest)
    with zipfile.ZipFile(wheels[0]) as whl:  # a wheel is a zip; nothing is executed
        whl.extractall(dest)
    marker.write_text(DJANGO)
    return dest


def prepare_central_ledger() -> Path | None:
    dest = WORK / "central-ledger"
    marker = WORK / ".central-ledger.ready"
    if marker.exists():
        return dest
    npm = shutil.which("npm")
    if not npm:
        log("npm not found: skipping the central-ledger workload")
        return None
    dl = WORK / "dl"
    dl.mkdir(parents=True, exist_ok=True)
    log(f"npm pack @mojaloop/central-ledger@{CENTRAL_LEDGER} + package-lock (~30 s) …")
    try:
        subprocess.run(
            [
                npm,
                "pack",
                f"@mojaloop/central-ledger@{CENTRAL_LEDGER}",
                "--pack-destination",
                str(dl),
            ],
            check=True,
            capture_output=True,
            timeout=300,
        )
        if dest.exists():
            shutil.rmtree(dest)
        with tarfile.open(dl / f"mojaloop-central-ledger-{CENTRAL_LEDGER}.tgz") as tar:
            tar.extractall(dest, filter="data")
        pkg = dest / "package"
        # The published package has no lockfile; resolve one (no install, no scripts).
        subprocess.run(
            [
                npm,
                "install",
                "--package-lock-only",
                "--ignore-scripts",
                "--legacy-peer-deps",
                "--no-audit",
                "--no-fund",
            ],
            cwd=pkg,
            check=True,
            capture_output=True,
            timeout=600,
        )
    except (subprocess.SubprocessError, OSError) as exc:
        log(f"central-ledger workload unavailable ({exc}); skipping it")
        return None
    marker.write_text(CENTRAL_LEDGER)
    return dest


WORKLOADS: dict[str, tuple[str, Callable[[], Path | None]]] = {
    "generated": ("generated tree (2,040 .py + 520 .js)", prepare_generated),
    "django": (f"Django {DJANGO} (wheel contents)", prepare_django),
    "central-ledger": (f"@mojaloop/central-ledger {CENTRAL_LEDGER} (npm)", prepare_central_ledger),
}


def count_files(root: Path) -> Counter[str]:
    counts: Counter[str] = Counter()
    for _dir, _dirs, files in os.walk(root):
        for name in files:
            counts["all"] += 1
            suffix = Path(name).suffix.lower()
            if suffix in (".py", ".js"):
                counts[suffix] += 1
    return counts


def walk_tree(tree: Path) -> list[str]:
    """Files by hand-tool rules: everything but .git and node_modules."""
    found = []
    for dirpath, dirs, files in os.walk(tree):
        dirs[:] = sorted(d for d in dirs if d not in ("node_modules", ".git"))
        found += [Path(dirpath, f).relative_to(tree).as_posix() for f in sorted(files)]
    return found


# --------------------------------------------------------------------------- one changed file


def change_target(tree: Path) -> Path:
    """The file the cache and diff parts change: a Python module (JavaScript in a tree
    without any) of ordinary size, outside tests and vendored code, chosen the same way
    every time."""
    for suffix in APPENDED:
        candidates = [
            rel
            for rel in walk_tree(tree)
            if rel.endswith(suffix)
            and not rel.endswith(("__init__.py", ".min.js"))
            and "test" not in rel
            and 2_000 <= (tree / rel).stat().st_size <= 40_000
        ]
        if candidates:
            return tree / candidates[len(candidates) // 2]
    raise RuntimeError(f"no .py or .js file to change in {tree}")


def append_line(path: Path) -> int:
    """Append the flagged line; return its line number."""
    text = path.read_text("utf-8")
    if text and not text.endswith("\n"):
        text += "\n"
    text += APPENDED[path.suffix] + "\n"
    path.write_text(text, "utf-8")
    return text.count("\n")
