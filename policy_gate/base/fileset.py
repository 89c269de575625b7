"""The inventory of files a scan covers: one walk of the tree, shared by every scanner.

Walking once lets the gate decide centrally what is in scope: symlinks are never followed
(a link can point out of the tree, at a host secret), policy excludes are applied once, and
scanners receive explicit file lists instead of walking (and obeying ignore files that a
pull request could add) themselves.

Generated and installed content (policy_gate.base.generated: recognised by evidence, never by a
name a pull request can choose) is left out of code analysis but kept apart in
``FileSet.generated``: the secret and data scanners still read it (``secret_scope``).
"""

from __future__ import annotations

import os
import stat
from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path

from policy_gate.base.patterns import compile_patterns

# Never part of a scan: version-control internals.
ALWAYS_SKIPPED_DIRS = frozenset({".git", ".hg", ".svn"})
# Why an entry is excluded, when it is not generated content.
BY_POLICY = "matches the policy's `exclude` patterns"
GATE_STATE = "the gate's own results cache"


@dataclass(frozen=True)
class FileSet:
    root: Path
    files: tuple[str, ...]  # regular files, POSIX paths relative to root, sorted
    excluded: tuple[str, ...] = ()  # files (or whole directories, with a trailing /) excluded
    symlinks: tuple[str, ...] = ()  # links that were not followed
    unreadable: tuple[str, ...] = ()  # entries the walk could not open
    # Regular files left out of code analysis as generated or installed (sorted); each is
    # under an entry of ``excluded``. The secret and data scanners read them.
    generated: tuple[str, ...] = ()
    # Why each entry of ``excluded`` is excluded.
    reasons: Mapping[str, str] = field(default_factory=dict, compare=False)
    # Generated files the secret scanners did not read: untracked and ignored by git, so
    # not in the repository (set by the runner; see secret_scope).
    unsearched: tuple[str, ...] = ()
    _suffix_cache: dict[tuple[str, ...], tuple[str, ...]] = field(
        default_factory=dict, compare=False, repr=False
    )

    def with_suffix(self, *suffixes: str) -> tuple[str, ...]:
        key = tuple(s.lower() for s in suffixes)
        if key not in self._suffix_cache:
            self._suffix_cache[key] = tuple(f for f in self.files if f.lower().endswith(key))
        return self._suffix_cache[key]

    def named(self, predicate: Iterable[str] | None = None) -> tuple[str, ...]:
        names = set(predicate or ())
        return tuple(f for f in self.files if f.rsplit("/", 1)[-1] in names)

    def path(self, rel: str) -> Path:
        return self.root / rel

    def only(self, keep: Iterable[str]) -> FileSet:
        """The same inventory restricted to ``keep`` (diff mode: the changed files)."""
        wanted = set(keep)
        return replace(
            self,
            files=tuple(f for f in self.files if f in wanted),
            generated=tuple(f for f in self.generated if f in wanted),
            _suffix_cache={},
        )

    def secret_scope(self, ignored: Callable[[str], bool] | None) -> FileSet:
        """What the secret and data scanners read: the files in scope and the generated
        ones — a credential is a leak wherever it sits — except generated files that
        ``ignored`` says git ignores and does not track (what an install or a test run
        wrote into the work tree: not in the repository, and a pull request cannot put
        it there). ``ignored`` None: not a git work tree, or unknown, so every one."""
        searched = [f for f in self.generated if ignored is None or not ignored(f)]
        if not searched:
            return self
        return replace(self, files=tuple(sorted((*self.files, *searched))), generated=(),
                       _suffix_cache={})

    def exclusions(self) -> dict[str, str]:
        """{excluded entry: why}, for the reports."""
        return {entry: self.reasons.get(entry, BY_POLICY) for entry in self.excluded}

    def exclusion_summary(self) -> str:
        """One line: how many entries are excluded and why, for the terminal."""
        counts: dict[str, int] = {}
        for why in self.exclusions().values():
            kind = why if why in (BY_POLICY, GATE_STATE) else "generated or installed"
            counts[kind] = counts.get(kind, 0) + 1
        parts = [f"{n} {kind}" for kind, n in sorted(counts.items())]
        if self.unsearched:
            parts.append(f"{len(self.unsearched)} of {len(self.generated)} generated files "
                         "ignored by git, so not searched for secrets")
        return "; ".join(parts)


def walk(
    root: Path,
    exclude: Iterable[str] = (),
    skip: Iterable[Path] = (),
    *,
    generated: Collection[str] = (),
    limit: int = 5 * 1024 * 1024,
) -> FileSet:
    """List the regular files under root, not following symlinks, minus excluded paths and
    the ``skip`` directories (the gate's own state, e.g. its results cache, when it lives
    in the tree: listed as excluded, never read). The ``generated`` kinds of evidence
    (policy_gate.base.generated) move files out of scope into ``FileSet.generated``, reading at
    most ``limit`` bytes of a file to decide."""
    root = root.resolve()
    skipped = {str(p.resolve()) for p in skip}
    spec = compile_patterns(exclude)
    files: list[str] = []
    reasons: dict[str, str] = {}
    symlinks: list[str] = []
    unreadable: list[str] = []
    stack: list[tuple[str, str]] = [(str(root), "")]
    while stack:
        abs_dir, rel_dir = stack.pop()
        try:
            with os.scandir(abs_dir) as it:
                entries = list(it)
        except OSError:
            unreadable.append(rel_dir + "/" if rel_dir else ".")
            continue
        for entry in entries:
            rel = f"{rel_dir}/{entry.name}" if rel_dir else entry.name
            try:
                if entry.is_symlink():
                    symlinks.append(rel)
                    continue
                if entry.is_dir(follow_symlinks=False):
                    if entry.name in ALWAYS_SKIPPED_DIRS:
                        continue
                    if entry.path in skipped:
                        reasons[rel + "/"] = GATE_STATE
                    elif spec.match_file(rel + "/"):
                        reasons[rel + "/"] = BY_POLICY
                    else:
                        stack.append((entry.path, rel))
                elif entry.is_file(follow_symlinks=False):
                    if spec.match_file(rel):
                        reasons[rel] = BY_POLICY
                    else:
                        files.append(rel)
                # sockets, fifos, devices: never read
            except OSError:
                unreadable.append(rel)
    found: dict[str, str] = {}
    if generated:
        from policy_gate.base import generated as evidence

        found = evidence.classify(root, files, generated, limit)
        reasons.update(evidence.entries(files, found))
    return FileSet(
        root=root,
        files=tuple(sorted(f for f in files if f not in found)),
        excluded=tuple(sorted(reasons)),
        symlinks=tuple(sorted(symlinks)),
        unreadable=tuple(sorted(unreadable)),
        generated=tuple(sorted(found)),
        reasons=reasons,
    )


class TreeFileError(Exception):
    """Why a file of the scanned tree was not read; the text goes into an unscanned
    finding or an error message."""

    def __init__(self, reason: str, *, missing: bool = False) -> None:
        super().__init__(reason)
        self.missing = missing


# What read_tree_file asks for after a file's size (a file that grew while being read).
READ_CHUNK = 64 * 1024


def read_tree_file(path: Path, limit: int) -> bytes:
    """A file's bytes, read the way every reader of the scanned tree must: only a regular
    file (a link swapped in after the walk is refused, O_NOFOLLOW; a FIFO cannot block
    us, O_NONBLOCK) and never more than ``limit`` bytes in memory.

    Plain ``os.read`` calls sized by the file, not a buffered file object: every file of
    the tree is read this way, several times, and ``read(limit + 1)`` on a buffered file
    maps (and unmaps) a buffer of ``limit`` bytes for each one."""
    flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)
    try:
        fd = os.open(path, flags)
    except FileNotFoundError:
        raise TreeFileError("does not exist", missing=True) from None
    except OSError as exc:
        raise TreeFileError(f"could not be read ({exc.strerror or exc})") from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise TreeFileError("not a regular file")
        if info.st_size > limit:
            raise TreeFileError(f"larger than {limit} bytes")
        # one byte more than its size, so that a file grown since is not cut silently
        chunks = [os.read(fd, info.st_size + 1)]
        total = len(chunks[0])
        while chunks[-1] and total <= limit:
            chunks.append(os.read(fd, min(READ_CHUNK, limit + 1 - total)))
            total += len(chunks[-1])
    except OSError as exc:
        raise TreeFileError(f"could not be read ({exc.strerror or exc})") from None
    finally:
        os.close(fd)
    if total > limit:
        raise TreeFileError(f"larger than {limit} bytes")
    return chunks[0] if len(chunks) <= 2 else b"".join(chunks)


def within_limit(
    root: Path, files: Iterable[str], limit: int
) -> tuple[tuple[str, ...], tuple[tuple[str, str], ...]]:
    """Files for a tool that reads each file whole itself: those of at most ``limit``
    bytes, and (file, why not) for the rest (larger, or gone since the walk), which the
    scanner reports as unscanned instead of handing them over."""
    keep: list[str] = []
    left_out: list[tuple[str, str]] = []
    for rel in files:
        try:
            size = os.lstat(root / rel).st_size
        except OSError as exc:
            left_out.append((rel, f"could not be read ({exc.strerror or exc}); not analysed"))
            continue
        if size > limit:
            left_out.append((rel, f"larger than {limit} bytes; not analysed"))
        else:
            keep.append(rel)
    return tuple(keep), tuple(left_out)


# Bytes looked at for a NUL when telling binary files from text.
BINARY_SNIFF = 8192


def is_binary(data: bytes) -> bool:
    """A NUL byte in the first block of a file's bytes: the heuristic git and grep use."""
    return b"\x00" in data[:BINARY_SNIFF]


def read_line(path: Path, line: int | None, cache: dict[Path, list[str]] | None = None) -> str:
    """One line of a file (1-based), or '' if it cannot be read. Used for fingerprints."""
    if line is None or line < 1:
        return ""
    lines: list[str] | None = cache.get(path) if cache is not None else None
    if lines is None:
        try:
            lines = path.read_text("utf-8", "replace").splitlines()
        except (OSError, ValueError):  # ValueError: a NUL or lone surrogate in a tool's path
            lines = []
        if cache is not None:
            cache[path] = lines
    return lines[line - 1] if line <= len(lines) else ""


def read_span(
    path: Path, start: int | None, end: int | None, cache: dict[Path, list[str]] | None = None
) -> str:
    """Lines start..end of a file (1-based, inclusive), joined by newlines: the whole
    flagged statement, for fingerprints. One line when ``end`` is None or not after it."""
    cache = {} if cache is None else cache
    first = read_line(path, start, cache)
    if start is None or start < 1 or end is None or end <= start:
        return first
    return "\n".join(cache.get(path, [])[start - 1 : end])
