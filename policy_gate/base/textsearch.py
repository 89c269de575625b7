"""Which files of the tree hold any of a few words: one C search over many files (grep),
so that a Python reader opens only the few that do.

For searches whose only use is to skip files: a file grep does not list is one the caller
need not read. grep is given the walk's files by name and reads them as they are then
(a file swapped for a link meanwhile would be read through it, but grep only prints its
name, and the caller reads every listed file the gate's way, never through a link). When
grep is not there, fails, or cannot read a file, the answer is None: the caller reads
every file itself, as it would without this.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator, Sequence
from pathlib import Path

# Bytes of file names per grep run: far below ARG_MAX (2 MiB on Linux, with the
# environment), so a long file list is split over several runs, never refused.
ARGV_BYTES = 96 * 1024
TIMEOUT = 300


def files_containing(root: Path, files: Sequence[str], words: Sequence[str]) -> set[str] | None:
    """The files of ``files`` (root-relative) whose bytes hold any of ``words`` (ASCII,
    matched ignoring case), or None when that could not be told for every file."""
    grep = shutil.which("grep")
    if grep is None or not files:
        return None if grep is None else set()
    argv = [grep, "-l", "-F", "-i", "--null", "--no-messages"]
    for word in words:
        argv += ["-e", word]
    found: set[str] = set()
    for batch in _batches(files):
        try:
            done = subprocess.run(
                [*argv, "--", *batch], cwd=root, stdin=subprocess.DEVNULL,
                capture_output=True, timeout=TIMEOUT, check=False,
                env={**os.environ, "LC_ALL": "C"},
            )
        except (OSError, subprocess.SubprocessError):
            return None
        if done.returncode not in (0, 1):  # 2: a file it could not read
            return None
        found.update(os.fsdecode(name) for name in done.stdout.split(b"\0") if name)
    given = set(files)
    return found if found <= given else None


def _batches(files: Sequence[str]) -> Iterator[list[str]]:
    """``files`` in runs of at most ARGV_BYTES of names (after ``--``: a name that starts
    with a dash is not read as an option)."""
    batch: list[str] = []
    size = 0
    for rel in files:
        n = len(os.fsencode(rel)) + 1
        if batch and size + n > ARGV_BYTES:
            yield batch
            batch, size = [], 0
        batch.append(rel)
        size += n
    if batch:
        yield batch
