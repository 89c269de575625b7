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
