"""The inventory of files a scan covers: one walk of the tree, shared by every scanner.

Walking once lets the gate decide centrally what is in scope: symlinks are never followed
(a link can point out of the tree, at a host secret), policy excludes are applied once, and
scanners receive explicit file lists instead of walking (and obeying ignore files that a
pull request could add) themselves.

In a git work tree the walk reads what a CI checkout has (`Selection`): the files git
tracks and the untracked files it does not ignore, as they are in the working tree. Ignore
rules decide only about untracked files, which no commit carries: a tracked file is read
whatever `.gitignore` says, so a pull request cannot hide a file it adds.

Generated and installed content (policy_gate.base.generated: recognised by evidence, never by a
name a pull request can choose) is left out of code analysis but kept apart in
``FileSet.generated``: the secret and data scanners still read it (``secret_scope``).
"""

from __future__ import annotations

import os
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path

from policy_gate.base.patterns import PathPatterns, compile_patterns

# Never part of a scan: version-control internals.
ALWAYS_SKIPPED_DIRS = frozenset({".git", ".hg", ".svn"})
# Why an entry is excluded, when it is not generated content.
BY_POLICY = "matches the policy's `exclude` patterns"
GATE_STATE = "the gate's own results cache"
GATE_OUTPUT = "the gate's own report output"
# How the files were selected (FileSet.selected_by).
BY_GIT = "git"
ALL_FILES = "all"


@dataclass(frozen=True)
class Selection:
    """Which files of the tree are the repository's, as git lists them (``git ls-files
    --cached --others --exclude-standard``): tracked, and untracked but not ignored.
    ``listed`` None: git was not asked or could not answer, so every file is read.
    ``read_all`` (--all-files): every file is read anyway; the listing then only says
    which generated files are not the repository's (see FileSet.unsearched)."""

    listed: frozenset[str] | None = None  # root-relative POSIX paths
    # Directories git does not list inside (a checked-out submodule, a nested repository):
    # every file below them is read, as a checkout with its submodules has them. With '/'.
    whole: tuple[str, ...] = ()
    read_all: bool = False
    why: str = ""  # why every file is read, when it is
    # Every directory above a listed path: only those are entered.
    _dirs: frozenset[str] = field(init=False, repr=False, compare=False, default=frozenset())

    def __post_init__(self) -> None:
        dirs: set[str] = set()
        for rel in (*(self.listed or ()), *self.whole):
            parts = rel.rstrip("/").split("/")
            dirs.update("/".join(parts[:i]) for i in range(1, len(parts)))
        object.__setattr__(self, "_dirs", frozenset(dirs))

    @property
    def by_git(self) -> bool:
        """Whether the walk reads only what git lists."""
        return self.listed is not None and not self.read_all

    def has(self, rel: str) -> bool:
        """Whether git lists this file (or a directory git does not look inside holds it)."""
        return self.listed is None or rel in self.listed or rel.startswith(self.whole)

    def whole_dir(self, rel_dir: str) -> bool:
        """Whether every file below this directory is read: git names the directory
        itself (a gitlink, a nested repository) or one above it."""
        return self.listed is not None and (rel_dir in self.listed
                                            or (rel_dir + "/").startswith(self.whole))

    def may_hold(self, rel_dir: str) -> bool:
        """Whether a file git lists can be below this directory: if not, it is not entered
        (a virtualenv or node_modules git ignores costs nothing)."""
        return self.listed is None or rel_dir in self._dirs or self.whole_dir(rel_dir)


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
    # Generated files the secret scanners do not read: untracked and ignored by git, so
    # not in the repository (only with --all-files: otherwise they are not walked at all).
    unsearched: tuple[str, ...] = ()
    # How the files were chosen: BY_GIT (tracked + untracked not ignored) or ALL_FILES,
    # and why all when git could not be asked.
    selected_by: str = ALL_FILES
    selection_reason: str = ""
    # Entries the walk left out because git does not list them (untracked and ignored;
    # a directory once, with a trailing /): never read, but the coverage check looks for
    # the reports a CI job wrote there.
    unselected: tuple[str, ...] = ()
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

    def secret_scope(self) -> FileSet:
        """What the secret and data scanners read: the files in scope and the generated
        ones — a credential is a leak wherever it sits — except ``unsearched`` ones (with
        --all-files: what an install or a test run wrote into the work tree, which git
        ignores and no commit carries)."""
        skipped = set(self.unsearched)
        searched = [f for f in self.generated if f not in skipped]
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
            kind = why if why in (BY_POLICY, GATE_STATE, GATE_OUTPUT) else "generated or installed"
            counts[kind] = counts.get(kind, 0) + 1
        parts = [f"{n} {kind}" for kind, n in sorted(counts.items())]
        if self.unsearched:
            parts.append(f"{len(self.unsearched)} of {len(self.generated)} generated files "
                         "ignored by git, so not searched for secrets")
        return "; ".join(parts)

    def selection(self) -> dict[str, str | int]:
        """Which files the scan read, for the JSON report: ``by`` git (tracked + untracked
        not ignored) or all, how many, the untracked ignored entries left, why all."""
        return {"by": self.selected_by, "files": len(self.files) + len(self.generated),
                "untracked_ignored_not_read": len(self.unselected),
                "reason": self.selection_reason}

    def selection_summary(self) -> str:
        """One line: which files the scan covers, for the reports."""
        count = len(self.files) + len(self.generated)
        if self.selected_by == BY_GIT:
            return (f"git: tracked files and untracked files git does not ignore, {count} files"
                    f" ({len(self.unselected)} untracked ignored entries not read)")
        return f"all files, {count} files" + (f" ({self.selection_reason})"
                                              if self.selection_reason else "")


def walk(
    root: Path,
    exclude: Iterable[str] = (),
    skip: Iterable[Path] = (),
    *,
    generated: Collection[str] = (),
    limit: int = 5 * 1024 * 1024,
    selection: Selection | None = None,
    outputs: Iterable[Path] = (),
) -> FileSet:
    """List the regular files under root, not following symlinks, minus excluded paths and
    the ``skip`` directories (the gate's own state, e.g. its results cache, when it lives
    in the tree) and ``outputs`` (the gate's own report files): listed as excluded, never
    read. With a git ``selection``, only what git lists is walked (see Selection). The
    ``generated`` kinds of evidence (policy_gate.base.generated) move files out of scope
    into ``FileSet.generated``, reading at most ``limit`` bytes of a file to decide."""
    root = root.resolve()
    sel = selection or Selection()
    state = _Walk(root, compile_patterns(exclude), sel,
                  {str(p.resolve()): GATE_STATE for p in skip}
                  | {str(p.resolve()): GATE_OUTPUT for p in outputs})
    state.run()
    found: dict[str, str] = {}
    if generated:
        from policy_gate.base import generated as evidence

        found = evidence.classify(root, state.files, generated, limit)
        state.reasons.update(evidence.entries(state.files, found))
    return FileSet(
        root=root,
        files=tuple(sorted(f for f in state.files if f not in found)),
        excluded=tuple(sorted(state.reasons)),
        symlinks=tuple(sorted(state.symlinks)),
        unreadable=tuple(sorted(state.unreadable)),
        generated=tuple(sorted(found)),
        reasons=state.reasons,
        # --all-files: generated files git does not list are not the repository's
        unsearched=tuple(sorted(f for f in found if not sel.has(f))),
        selected_by=BY_GIT if sel.by_git else ALL_FILES,
        selection_reason=sel.why,
        unselected=tuple(sorted(state.unselected)),
    )


@dataclass
class _Walk:
    """One walk of the tree (see walk)."""

    root: Path
    spec: PathPatterns
    sel: Selection
    own: dict[str, str]  # resolved path of the gate's own state and outputs -> why
    files: list[str] = field(default_factory=list)
    reasons: dict[str, str] = field(default_factory=dict)
    symlinks: list[str] = field(default_factory=list)
    unreadable: list[str] = field(default_factory=list)
    unselected: list[str] = field(default_factory=list)

    def run(self) -> None:
        """Walk from the root; a directory git lists whole is read whole (``all``)."""
        git = self.sel.by_git
        stack: list[tuple[str, str, bool]] = [(str(self.root), "", not git)]
        while stack:
            abs_dir, rel_dir, whole = stack.pop()
            try:
                with os.scandir(abs_dir) as it:
                    entries = list(it)
            except OSError:
                self.unreadable.append(rel_dir + "/" if rel_dir else ".")
                continue
            for entry in entries:
                rel = f"{rel_dir}/{entry.name}" if rel_dir else entry.name
                try:
                    self._entry(entry, rel, whole, stack)
                except OSError:
                    self.unreadable.append(rel)

    def _entry(self, entry: os.DirEntry[str], rel: str, whole: bool,
               stack: list[tuple[str, str, bool]]) -> None:
        """Sort one directory entry: followed, listed, or left out and why."""
        if entry.is_dir(follow_symlinks=False):
            if entry.name in ALWAYS_SKIPPED_DIRS:
                return
            inside = whole or self.sel.whole_dir(rel)
            if not inside and not self.sel.may_hold(rel):
                self.unselected.append(rel + "/")  # nothing git lists is below
            elif entry.path in self.own:
                self.reasons[rel + "/"] = self.own[entry.path]
            elif self.spec.match_file(rel + "/"):
                self.reasons[rel + "/"] = BY_POLICY
            else:
                stack.append((entry.path, rel, inside))
            return
        if not whole and not self.sel.has(rel):
            if entry.name not in ALWAYS_SKIPPED_DIRS:  # a worktree's `.git` file is git's
                self.unselected.append(rel)  # untracked and ignored: not the repository's
        elif entry.is_symlink():
            self.symlinks.append(rel)
        elif entry.is_file(follow_symlinks=False):
            if entry.path in self.own:
                self.reasons[rel] = self.own[entry.path]
            elif self.spec.match_file(rel):
                self.reasons[rel] = BY_POLICY
            else:
                self.files.append(rel)
        # sockets, fifos, devices: never read
