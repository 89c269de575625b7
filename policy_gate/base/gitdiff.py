"""git's diff output as data: which files a change touches and which of their lines are new.

Only added or changed lines can fail the gate in diff mode, so reading them must be exact
whatever the file names hold: the file pairs come NUL-separated (`git diff -z --raw
--numstat`), and a `--unified=0` patch is read by the counts in its hunk headers, so no
content line can pass for a header. Anything that does not parse is a GitError, never a
smaller change.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType

from policy_gate.base.gitrun import GitError

GITLINK = "160000"  # a submodule entry: a commit of another repository, not a file
SYMLINK = "120000"  # its blob is the link's target, not content to scan

_HUNK = re.compile(rb"@@ -(\d+)(?:,(\d+))? \+(\d+)(?:,(\d+))? @@")


@dataclass(frozen=True)
class ChangeSet:
    """What a pull request changes, relative to the scanned root.

    `files` maps a changed file to the line numbers (1-based, in the new version) added or
    modified, or None when the whole file counts as new: added, untracked, a type change
    (symlink <-> file), or a binary file (git cannot say which "lines" changed). A file
    with only deletions or only a mode change is in `files` with an empty set: it changed,
    but no line of it is new.
    """

    base_ref: str
    base: str
    head: str
    files: Mapping[str, frozenset[int] | None]
    deleted: tuple[str, ...]
    renamed: Mapping[str, str]
    # Paths that did not exist at the base (so old_path() is None), a subset of `files`.
    added: frozenset[str] = frozenset()
    # Directories ("dir/") whose every file counts as new: a submodule the change adds or
    # moves to another commit, or an untracked nested repository. git does not look
    # inside them, but the scan does, so their files must not pass as unchanged.
    new_dirs: tuple[str, ...] = ()
    # Where lines were removed and nothing added in their place: file -> the new version's
    # line after which they were (0: before the first). A statement that lost a line
    # (`timeout=5,`, `autoescape=True,`) is changed though no line of it is new.
    removals: Mapping[str, frozenset[int]] = dataclasses.field(default_factory=dict)

    def is_changed(self, path: str) -> bool:
        """In `files` (added, modified, renamed with edits) or inside a new directory."""
        return path in self.files or self._in_new_dir(path)

    def touches(self, path: str, start: int | None, end: int | None = None) -> bool:
        """Whether a finding at path:start-end is on added or modified lines, or lines were
        removed from between them. A finding without a line counts when the file changed
        at all."""
        if path not in self.files:
            return self._in_new_dir(path)
        lines = self.files[path]
        if lines is None or start is None:
            return True
        lo, hi = start, start if end is None else end
        if hi < lo:
            lo, hi = hi, lo
        if hi - lo < len(lines):
            if any(n in lines for n in range(lo, hi + 1)):
                return True
        elif any(lo <= n <= hi for n in lines):
            return True
        return any(lo <= n < hi for n in self.removals.get(path, ()))

    def old_path(self, path: str) -> str | None:
        """The path this file had at the base: the old name of a rename, None for a file
        that did not exist there, else the same path."""
        if path in self.renamed:
            return self.renamed[path]
        if path in self.added or self._in_new_dir(path):
            return None
        return path

    def with_new(self, paths: Iterable[str]) -> ChangeSet:
        """This change with these files counted as wholly new: a file moved here from a
        part of the tree the policy excludes was never judged where it came from."""
        moved = set(paths)
        if not moved:
            return self
        files = {**self.files, **dict.fromkeys(moved)}
        return dataclasses.replace(
            self,
            files=MappingProxyType(dict(sorted(files.items()))),
            renamed=MappingProxyType({k: v for k, v in self.renamed.items() if k not in moved}),
            added=self.added | moved,
        )

    def _in_new_dir(self, path: str) -> bool:
        return any(path.startswith(d) for d in self.new_dirs)


@dataclass(frozen=True)
class Entry:
    """One file pair of `git diff --raw`, with its numstat line count."""

    status: str
    score: int
    old_mode: str
    new_mode: str
    old: bytes
    new: bytes
    added: int | None = None  # None: binary, or no numstat record


def change_set(
    *,
    base_ref: str,
    base: str,
    head: str,
    entries: Sequence[Entry],
    lines: Mapping[bytes, frozenset[int]],
    removals: Mapping[bytes, set[int]],
    untracked: Iterable[bytes],
    rel: Callable[[bytes], str | None],
) -> ChangeSet:
    """The ChangeSet of a diff from base to the working tree: its file pairs, the added
    lines and removal points of their patch (see `parse_patch`) and the untracked files,
    every git path made root-relative by ``rel`` (None: outside root, left out)."""
    files: dict[str, frozenset[int] | None] = {}
    added: set[str] = set()
    deleted: set[str] = set()
    renamed: dict[str, str] = {}
    new_dirs: set[str] = set()
    for e in entries:
        new = rel(e.new)
        old = rel(e.old)
        if new is None:
            continue
        if e.status == "D":
            if e.old_mode != GITLINK:
                deleted.add(new)
            continue
        if e.new_mode == GITLINK:
            if e.status != "R" or e.score != 100:
                new_dirs.add(new + "/")
            continue
        if e.status == "R" and old is not None and e.old_mode != GITLINK:
            renamed[new] = old
            if e.score == 100 and e.old_mode == e.new_mode:
                continue  # moved, not edited: nothing in it is new
            files[new] = _edited(e, lines)
        elif e.status == "M" and e.old_mode != GITLINK:
            files[new] = _edited(e, lines)
        else:  # A, T, C, U (unmerged), X, or from a submodule: all of it is new
            files[new] = None
            added.add(new)

    for raw in untracked:
        name = rel(raw)
        if not name:
            continue
        if name.endswith("/"):  # a nested repository: git does not look inside
            new_dirs.add(name)
        else:
            files[name] = None
            added.add(name)

    return ChangeSet(
        base_ref=base_ref,
        base=base,
        head=head,
        files=MappingProxyType(dict(sorted(files.items()))),
        deleted=tuple(sorted(deleted - files.keys())),
        renamed=MappingProxyType(dict(sorted(renamed.items()))),
        added=frozenset(added),
        new_dirs=tuple(sorted(new_dirs)),
        removals=MappingProxyType({
            name: frozenset(at) for raw, at in sorted(removals.items())
            if (name := rel(raw)) is not None and files.get(name) is not None
        }),
    )


def _edited(e: Entry, lines: Mapping[bytes, frozenset[int]]) -> frozenset[int] | None:
    """The new lines of a modified or renamed file: None (all of it) when binary."""
    if e.added is None:
        return None  # binary: no lines to point at, so the whole file counts
    if e.added == 0:
        return frozenset()
    # numstat counted added lines; a patch that lost them must not shrink the change
    return lines.get(e.new)


def parse_entries(out: bytes) -> list[Entry]:
    """The file pairs of `git diff -z --raw --numstat`, each with its added-line count."""
    tokens = out.split(b"\0")
    entries: list[Entry] = []
    counts: dict[bytes, int | None] = {}
    i = 0
    try:
        while i < len(tokens):
            tok = tokens[i]
            i += 1
            if not tok:
                continue
            if tok.startswith(b":"):
                old_mode, new_mode, _, _, status = tok[1:].decode("ascii").split(" ")
                old = tokens[i]
                i += 1
                new = old
                if status[0] in "RC":
                    new = tokens[i]
                    i += 1
                entries.append(Entry(status[0], int(status[1:] or 0), old_mode, new_mode,
                                     old, new))
            else:
                plus, _, path = tok.split(b"\t", 2)
                if not path:  # a rename: old and new name follow
                    path = tokens[i + 1]
                    i += 2
                counts[path] = int(plus) if plus != b"-" else None
    except (IndexError, ValueError, UnicodeDecodeError):
        raise GitError("git diff printed output that could not be parsed") from None
    return [
        Entry(e.status, e.score, e.old_mode, e.new_mode, e.old, e.new, counts.get(e.new))
        for e in entries
    ]


def parse_patch(
    patch: bytes, removals: dict[bytes, set[int]] | None = None
) -> dict[bytes, frozenset[int]]:
    """Added line numbers per new path from a `--unified=0` patch; into ``removals``, the
    new line after which each hunk that only removes lines removed them.

    Hunk bodies are consumed by the counts in their headers, so a content line can never be
    mistaken for a header; only '\\n' ends a line (a CR stays part of the content).
    """
    result: dict[bytes, set[int]] = {}
    current: set[int] | None = None
    removed: set[int] = set()
    lines = iter(patch.split(b"\n"))
    for line in lines:
        if line.startswith(b"diff --git "):
            current = None
        elif line.startswith(b"+++ "):
            name = _unquote(line[4:])
            current = result.setdefault(name[2:], set()) if name.startswith(b"b/") else None
            if current is not None and removals is not None:
                removed = removals.setdefault(name[2:], set())
        elif line.startswith(b"@@ "):
            m = _HUNK.match(line)
            if m is None:
                raise GitError("git diff printed a hunk header that could not be parsed")
            old_left = int(m[2]) if m[2] is not None else 1
            new_left = int(m[4]) if m[4] is not None else 1
            number = int(m[3])
            if new_left == 0 and old_left and current is not None and removals is not None:
                removed.add(number)
            for body in _hunk(lines, old_left, new_left):
                if body is None:
                    number += 1
                elif body:
                    if current is not None:
                        current.add(number)
                    number += 1
    return {path: frozenset(found) for path, found in result.items()}


def _hunk(lines: Iterator[bytes], old_left: int, new_left: int) -> Iterator[bool | None]:
    """Walk one hunk body: True per added line, None per context line, False per removed
    line; '\\ No newline at end of file' markers are skipped."""
    while old_left > 0 or new_left > 0:
        line = next(lines, None)
        if line is None:
            raise GitError("git diff ended inside a hunk")
        tag = line[:1]
        if tag == b"+":
            new_left -= 1
            yield True
        elif tag == b"-":
            old_left -= 1
            yield False
        elif tag in (b" ", b""):
            old_left -= 1
            new_left -= 1
            yield None
        elif tag != b"\\":
            raise GitError("git diff printed a hunk that could not be parsed")


_C_ESCAPES = {
    ord("a"): 7, ord("b"): 8, ord("t"): 9, ord("n"): 10, ord("v"): 11, ord("f"): 12,
    ord("r"): 13, ord('"'): 34, ord("\\"): 92,
}


def _unquote(name: bytes) -> bytes:
    """A file name as a patch header prints it: C-quoted if it holds control characters,
    quotes or backslashes, else raw with a tab appended when it contains a space."""
    if not name.startswith(b'"'):
        return name.removesuffix(b"\t")
    out = bytearray()
    i = 1
    while i < len(name):
        c = name[i]
        if c == ord('"'):
            return bytes(out)
        if c == ord("\\") and i + 1 < len(name):
            nxt = name[i + 1]
            if ord("0") <= nxt <= ord("7"):
                out.append(int(name[i + 1:i + 4], 8) & 0xFF)
                i += 4
                continue
            out.append(_C_ESCAPES.get(nxt, nxt))
            i += 2
            continue
        out.append(c)
        i += 1
    raise GitError("git diff printed a file name that could not be parsed")


__all__ = ["GITLINK", "SYMLINK", "ChangeSet", "Entry", "change_set", "parse_entries",
           "parse_patch"]
