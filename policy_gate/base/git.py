"""Read-only git access for pull-request diff mode, returning plain data.

Diff mode needs three things from git: which lines a pull request adds or changes (only
those can fail the gate), every commit of the pull request (a secret added and then deleted
is still leaked) and files as they are at the base (the policy must come from there, so a
pull request cannot weaken its own gate).

The repository is treated as hostile. Its configuration and attributes can name programs
that git would run on our behalf: diff drivers, textconv, clean/smudge filters, fsmonitor,
hooks, pagers, signature verifiers, credential helpers. Every call switches all of them off,
runs with a minimal environment (no tokens) and a timeout, never touches the network, and
reads output as NUL-separated bytes so no file name can forge a record.

It can also make git *report less*: `.gitattributes` marking a file binary (no lines, so
no added lines), configuration changing prefixes, rename detection or the binary size
threshold, grafts and replace refs rewriting history, a shallow clone cutting it, a tag
named like the base branch. Commits are compared without any attributes (an empty work
tree and index), configuration that shapes the output is fixed on the command line,
grafts and replace refs are ignored, history the clone lacks is an error, and a base name
must name exactly one commit.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import re
import secrets
import shutil
import signal
import subprocess
import tempfile
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import IO

from policy_gate.base.fileset import TreeFileError, read_tree_file
from policy_gate.base.process import OutputLimitError, kill_group, read_bounded

# Per git call. A diff of a large pull request is the slowest call; minutes mean trouble.
DEFAULT_TIMEOUT = 120.0

# A diff, log or listing larger than this is refused instead of read into memory.
MAX_OUTPUT_BYTES = 256 * 1024 * 1024

# Enough of git's stderr to explain a failure; the rest is dropped as it arrives.
_STDERR_KEEP = 64 * 1024

_SHALLOW_HINT = (
    "; this clone is shallow and lacks that history: fetch it (actions/checkout with "
    "`fetch-depth: 0`, or `git fetch --unshallow`)"
)

_HEX = re.compile(rb"[0-9a-f]{40}(?:[0-9a-f]{24})?")  # SHA-1 or SHA-256 object names
_SHORT_HEX = re.compile(r"[0-9a-fA-F]{4,63}")  # an abbreviated object name, or a branch
# A base name with ancestry steps (main~2, HEAD^): the name is resolved on its own.
_STEPS = re.compile(r"(?P<name>.*?)(?P<steps>(?:[~^][0-9]*)*)")
# Names git reads from files in the git directory rather than from refs/.
_PSEUDO_REFS = ("HEAD", "FETCH_HEAD")
_HUNK = re.compile(rb"@@ -(\d+)(?:,(\d+))? \+(\d+)(?:,(\d+))? @@")
_GITLINK = "160000"  # a submodule entry: a commit of another repository, not a file
_SYMLINK = "120000"  # its blob is the link's target, not content to scan

# Configuration that neutralises everything a repository can make git execute or do beyond
# reading, plus settings that would change the shape of the output we parse. Given with -c,
# which outranks every configuration file (including ones pulled in by include.path).
_CONFIG: tuple[tuple[str, str], ...] = (
    ("core.fsmonitor", "false"),
    ("core.hooksPath", os.devnull),
    ("core.pager", "cat"),
    ("core.askPass", ""),
    ("core.quotePath", "false"),
    ("core.untrackedCache", "false"),
    # No attributes but the work tree's own (and none at all where commits are compared),
    # no ignore file but the tree's, no size above which every file is "binary", no
    # cached commit graph that could disagree with the commits.
    ("core.attributesFile", os.devnull),
    ("core.excludesFile", os.devnull),
    ("core.bigFileThreshold", "512m"),
    ("core.commitGraph", "false"),
    ("advice.graftFileDeprecated", "false"),
    ("diff.external", ""),
    ("diff.noprefix", "false"),
    ("diff.mnemonicPrefix", "false"),
    ("diff.relative", "false"),
    ("diff.renames", "true"),
    ("diff.suppressBlankEmpty", "false"),
    ("diff.interHunkContext", "0"),
    ("diff.indentHeuristic", "true"),
    ("diff.ignoreSubmodules", "dirty"),
    ("diff.submodule", "short"),
    ("submodule.recurse", "false"),
    ("status.submoduleSummary", "false"),
    ("log.showSignature", "false"),
    ("log.mailmap", "false"),
    ("i18n.logOutputEncoding", "UTF-8"),
    ("color.ui", "false"),
    ("color.diff", "false"),
    ("protocol.allow", "never"),
    ("gc.auto", "0"),
    ("maintenance.auto", "false"),
)

# Flags for every diff: no program from the repository (external diff, textconv), no
# submodule walking (that runs git inside another, equally untrusted, repository), a fixed
# algorithm and prefixes so the output does not depend on configuration.
_DIFF_FLAGS: tuple[str, ...] = (
    "--no-ext-diff",
    "--no-textconv",
    "--no-color",
    "--no-relative",
    "--ignore-submodules=dirty",
    "--submodule=short",
    "--diff-algorithm=default",
    "-M",
)


class GitError(Exception):
    """A clear, user-facing message (the CLI prints it and exits 2)."""


@dataclass(frozen=True)
class Commit:
    sha: str
    subject: str  # first line of the message, control characters escaped
    author: str  # author name only (no e-mail), control characters escaped
    date: str  # ISO 8601 author date


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
class _Entry:
    """One file pair of `git diff --raw`, with its numstat line count."""

    status: str
    score: int
    old_mode: str
    new_mode: str
    old: bytes
    new: bytes
    added: int | None = None  # None: binary, or no numstat record


class Repo:
    """A git work tree, read through git only (never through the working tree's symlinks).

    root is the scanned directory; every path given or returned is relative to it.
    """

    __slots__ = ("_env", "_git", "_gitdir", "_memo", "_trusted", "prefix", "root", "timeout",
                 "toplevel")

    root: Path
    toplevel: Path
    prefix: str
    timeout: float

    def __init__(
        self,
        *,
        root: Path,
        toplevel: Path,
        prefix: str,
        git: str,
        trusted: Sequence[str],
        env: Mapping[str, str],
        timeout: float,
        gitdir: str = "",
    ) -> None:
        self.root = root
        self.toplevel = toplevel
        self.prefix = prefix
        self.timeout = timeout
        self._git = git
        self._gitdir = gitdir
        self._trusted = tuple(trusted)
        self._env = dict(env)
        # Revisions resolved and merge bases checked: refs do not move during a run.
        self._memo: dict[tuple[str, str], str] = {}

    def __repr__(self) -> str:
        return f"Repo(root={str(self.root)!r}, toplevel={str(self.toplevel)!r})"

    @classmethod
    def open(cls, root: Path, *, timeout: float = DEFAULT_TIMEOUT) -> Repo:
        """The repository whose work tree contains root; GitError if there is none."""
        git = shutil.which("git")
        if git is None:
            raise GitError("git is not installed or not on PATH (diff mode needs git)")
        try:
            root = Path(root).resolve(strict=True)
        except OSError as exc:
            raise GitError(f"{_show(str(root))}: {exc.strerror or exc}") from None
        if not root.is_dir():
            raise GitError(f"{_show(str(root))} is not a directory")
        # The work tree git discovers holds root, so it is root or one of its parents:
        # trusting exactly those lets a checkout owned by another uid (GitHub's Docker
        # actions) be read without trusting any other repository. What ownership checks
        # guard against (configuration that runs programs) is switched off anyway.
        trusted = tuple(str(p) for p in (root, *root.parents))
        probe = cls(
            root=root,
            toplevel=root,
            prefix="",
            git=git,
            trusted=trusted,
            env=_environment(git, ()),
            timeout=timeout,
        )
        rc, out, err = probe._call(["rev-parse", "--show-toplevel"], ok=(0, 128))
        if rc != 0:
            raise GitError(f"{_show(str(root))} is not inside a git work tree{_tail(err)}")
        toplevel = Path(os.fsdecode(out.removesuffix(b"\n")))
        _, out, _ = probe._call(["rev-parse", "--show-prefix"])
        prefix = os.fsdecode(out.removesuffix(b"\n"))
        _, out, _ = probe._call(["rev-parse", "--absolute-git-dir"])
        gitdir = os.fsdecode(out.removesuffix(b"\n"))
        if prefix and not prefix.endswith("/"):
            prefix += "/"
        # Filter drivers have user-chosen names, so they cannot be disabled by a fixed -c.
        # Every one the configuration defines is blanked: with an empty command git uses
        # the content as it is, and `required` must not turn that into an error.
        _, out, _ = probe._call(["config", "-z", "--get-regexp", r"^filter\."], ok=(0, 1))
        neutral: list[tuple[str, str]] = []
        for name in sorted(_filter_names(out)):
            for var, value in (("clean", ""), ("smudge", ""), ("process", ""),
                               ("required", "false")):
                neutral.append((f"filter.{name}.{var}", value))
        return cls(
            root=root,
            toplevel=toplevel,
            prefix=prefix,
            git=git,
            trusted=trusted,
            env=_environment(git, neutral),
            timeout=timeout,
            gitdir=gitdir,
        )

    # -- revisions ---------------------------------------------------------------------

    def resolve(self, ref: str) -> str:
        """The full sha of the one commit ref names: a full commit id, HEAD, FETCH_HEAD, or
        exactly one branch, tag or remote-tracking branch, optionally followed by ~n/^n
        steps. git itself silently prefers a tag `origin/main` to the remote branch; here
        a name that matches more than one ref is an error naming them."""
        _check_ref(ref)
        known = self._memo.get(("resolve", ref))
        if known is not None:
            return known
        m = _STEPS.fullmatch(ref)
        name, steps = (m["name"], m["steps"]) if m and m["name"] else (ref, "")
        start = self._one_name(name, ref)
        rc, out, _ = self._call(
            ["rev-parse", "--verify", "--quiet", "--end-of-options",
             start + steps + "^{commit}"],
            ok=(0, 1, 128),
        )
        sha = out.strip()
        if rc != 0 or not _HEX.fullmatch(sha):
            hint = _SHALLOW_HINT if self._is_shallow() else ""
            raise GitError(
                f"unknown git revision '{_show(ref)}' (not a commit in this clone){hint}"
            )
        self._memo[("resolve", ref)] = sha.decode("ascii")
        return self._memo[("resolve", ref)]

    def _one_name(self, name: str, shown: str) -> str:
        """What to hand rev-parse for name: the full ref name it matches, or the name
        itself for a full commit id or a pseudo-ref; an error if it matches several refs,
        or is an abbreviated id (which a branch of that name would silently win over)."""
        if name.startswith("refs/"):
            candidates = [name]
        else:
            candidates = [f"refs/{name}", f"refs/tags/{name}", f"refs/heads/{name}",
                          f"refs/remotes/{name}", f"refs/remotes/{name}/HEAD"]
        _, out, _ = self._call(["for-each-ref", "--format=%(refname)", "--", *candidates])
        wanted = {os.fsencode(c) for c in candidates}
        found = [os.fsdecode(r) for r in out.split(b"\n") if r in wanted]
        direct = bool(_HEX.fullmatch(name.lower().encode())) or name in _PSEUDO_REFS
        if direct:
            found.insert(0, name)
        if len(found) > 1:
            branch = next((f for f in found if f.startswith(("refs/remotes/", "refs/heads/"))),
                          found[0])
            raise GitError(
                f"'{_show(shown)}' is ambiguous: it names {', '.join(map(_show, found))}; "
                f"give the full name of the one you mean (e.g. '{_show(branch)}') or a full "
                "commit id"
            )
        if found:
            return found[0]
        if _SHORT_HEX.fullmatch(name):
            raise GitError(
                f"'{_show(shown)}' is not a branch, tag or remote-tracking branch; an "
                "abbreviated commit id could also name a branch, so give the full commit id"
            )
        hint = _SHALLOW_HINT if self._is_shallow() else ""
        raise GitError(f"unknown git revision '{_show(shown)}' (not a commit in this clone){hint}")

    def head(self) -> str:
        rc, out, _ = self._call(
            ["rev-parse", "--verify", "--quiet", "HEAD^{commit}"], ok=(0, 1, 128)
        )
        sha = out.strip()
        if rc != 0 or not _HEX.fullmatch(sha):
            raise GitError("HEAD is not a commit (an empty repository or a broken checkout)")
        return sha.decode("ascii")

    def merge_base(self, ref: str) -> str:
        """Where the change branched off ref: what a pull request is diffed against. In a
        shallow clone, every commit from there to HEAD must be whole (its parents
        present), or the history search would silently skip commits of the change."""
        known = self._memo.get(("merge-base", ref))
        if known is not None:
            return known
        base, head = self.resolve(ref), self.head()
        rc, out, _ = self._call(["merge-base", base, head], ok=(0, 1))
        sha = out.strip()
        if rc == 0 and _HEX.fullmatch(sha):
            found = sha.decode("ascii")
            self._check_complete(found, head, ref)
            self._memo[("merge-base", ref)] = found
            return found
        if self._is_shallow():
            raise GitError(f"no common ancestor of '{_show(ref)}' and HEAD{_SHALLOW_HINT}")
        raise GitError(
            f"'{_show(ref)}' and HEAD have no common ancestor (unrelated histories); "
            "diff against a commit HEAD descends from"
        )

    def is_ancestor(self, older: str, newer: str) -> bool:
        """Whether commit older is newer or one of its ancestors."""
        rc, _, _ = self._call(["merge-base", "--is-ancestor", self.resolve(older),
                               self.resolve(newer)], ok=(0, 1))
        return rc == 0

    def _check_complete(self, base: str, head: str, ref: str) -> None:
        """GitError if a commit in base..head is a shallow boundary: git shows it without
        parents, so the commits before it are missing and it seems to add everything."""
        if not self._is_shallow():
            return
        _, out, _ = self._call(["rev-parse", "--git-path", "shallow"])
        path = Path(os.fsdecode(out.removesuffix(b"\n")))
        try:
            boundary = set(read_tree_file(self.root / path, MAX_OUTPUT_BYTES).split())
        except TreeFileError as exc:
            raise GitError(f"cannot read the shallow clone's boundary: {exc}") from None
        _, out, _ = self._call(["rev-list", f"{base}..{head}", "--"])
        cut = [c.decode("ascii") for c in out.split() if c in boundary]
        if cut:
            raise GitError(
                f"this clone is shallow and lacks commits of the change since '{_show(ref)}' "
                f"(the parents of {len(cut)} of its commits are missing, e.g. of "
                f"{cut[0][:12]}): fetch the whole history (actions/checkout with "
                "`fetch-depth: 0`, or `git fetch --unshallow`)"
            )

    # -- the change ----------------------------------------------------------------------

    def changes(self, base_ref: str) -> ChangeSet:
        """The merge base of base_ref and HEAD against the working tree, so uncommitted and
        untracked (not ignored) files count too; in CI the working tree is HEAD."""
        head = self.head()
        base = self.merge_base(base_ref)
        entries = self._diff_entries([base])
        removals: dict[bytes, set[int]] = {}
        lines = self._added_lines([base], entries, removals=removals)

        files: dict[str, frozenset[int] | None] = {}
        added: set[str] = set()
        deleted: set[str] = set()
        renamed: dict[str, str] = {}
        new_dirs: set[str] = set()
        for e in entries:
            new = self._rel(e.new)
            old = self._rel(e.old)
            if new is None:
                continue
            if e.status == "D":
                if e.old_mode != _GITLINK:
                    deleted.add(new)
                continue
            if e.new_mode == _GITLINK:
                if e.status != "R" or e.score != 100:
                    new_dirs.add(new + "/")
                continue
            if e.status == "R" and old is not None and e.old_mode != _GITLINK:
                renamed[new] = old
                if e.score == 100 and e.old_mode == e.new_mode:
                    continue  # moved, not edited: nothing in it is new
                files[new] = self._edited(e, lines)
            elif e.status == "M" and e.old_mode != _GITLINK:
                files[new] = self._edited(e, lines)
            else:  # A, T, C, U (unmerged), X, or from a submodule: all of it is new
                files[new] = None
                added.add(new)

        for raw in self._untracked():
            rel = self._rel(raw)
            if not rel:
                continue
            if rel.endswith("/"):  # a nested repository: git does not look inside
                new_dirs.add(rel)
            else:
                files[rel] = None
                added.add(rel)

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
                rel: frozenset(at) for raw, at in sorted(removals.items())
                if (rel := self._rel(raw)) is not None and files.get(rel) is not None
            }),
        )

    def show(self, ref: str, path: str, max_bytes: int) -> bytes | None:
        """A file's content at ref, or None if it does not exist there. A symlink,
        directory or submodule at that path is a GitError: it has no content to give, and
        a link is never followed."""
        _check_path(path)
        commit = self.resolve(ref)
        full = self.prefix + path
        _, out, _ = self._call(["ls-tree", "-z", "--full-tree", commit, "--", full])
        entry: tuple[str, str, str] | None = None
        for record in out.split(b"\0"):
            meta, tab, name = record.partition(b"\t")
            if tab and name == os.fsencode(full):
                mode, kind, oid = meta.decode("ascii", "replace").split(" ")[:3]
                entry = (mode, kind, oid)
        if entry is None:
            return None
        mode, kind, oid = entry
        where = f"'{_show(path)}' at '{_show(ref)}'"
        if mode == _SYMLINK:
            raise GitError(f"{where} is a symbolic link; links are not followed")
        if kind != "blob":
            raise GitError(f"{where} is a {'submodule' if kind == 'commit' else 'directory'}, "
                           "not a file")
        _, out, _ = self._call(["cat-file", "-s", oid])
        try:
            size = int(out.strip())
        except ValueError:
            raise GitError(f"git reported no size for {where}") from None
        if size > max_bytes:
            raise GitError(f"{where} is {size} bytes, more than the {max_bytes} allowed")
        _, data, _ = self._call(["cat-file", "blob", oid], max_out=max_bytes)
        if len(data) != size:
            raise GitError(f"git returned {len(data)} of {size} bytes for {where}")
        return data

    # -- history -------------------------------------------------------------------------

    def commits(self, base_ref: str) -> list[Commit]:
        """Every commit in merge-base..HEAD, oldest first (parents before children),
        merge commits included."""
        base = self.merge_base(base_ref)
        head = self.head()
        # A random marker starts each record: a commit message can hold anything, even
        # NUL, but cannot guess this.
        token = secrets.token_hex(16)
        _, out, _ = self._call([
            "log", "-z", "--reverse", "--topo-order", "--no-color", "--no-ext-diff",
            "--no-textconv", "--no-show-signature",
            "--no-mailmap", "--encoding=UTF-8",
            f"--format=format:{token}%H%x00%aI%x00%an%x00%B",
            f"{base}..{head}", "--",
        ])
        commits: list[Commit] = []
        for chunk in out.split(token.encode("ascii"))[1:]:
            fields = chunk.split(b"\0", 3)
            if len(fields) != 4 or not _HEX.fullmatch(fields[0]):
                raise GitError("git log printed a record that could not be parsed")
            sha, date, author, body = fields
            subject = body.split(b"\n", 1)[0].split(b"\0", 1)[0]
            commits.append(Commit(
                sha=sha.decode("ascii"),
                subject=_show(subject.decode("utf-8", "replace").strip()),
                author=_show(author.decode("utf-8", "replace")),
                date=date.decode("ascii", "replace"),
            ))
        return commits

    def commit_additions(
        self, sha: str, *, excluded: Callable[[str], bool] | None = None
    ) -> Mapping[str, frozenset[int] | None]:
        """Lines each file gained in this commit against its first parent (for a merge
        too: an "evil merge" can add a secret), numbered in the commit's version; None
        for a file that is new to the scanned tree as a whole: renamed from outside the
        root or from a path ``excluded`` matches (its old place was never judged).
        Files without added lines, binary files and deleted files are left out.

        Compared without attributes: `.gitattributes` cannot make a text file binary
        (no lines, so nothing added) or shape the diff."""
        commit = self.resolve(sha)
        _, out, _ = self._call(["rev-list", "--parents", "-n", "1", commit, "--"])
        ids = out.split()
        if not ids:
            raise GitError(f"git listed no commit for '{_show(sha)}'")
        # A root commit adds everything it has: diff it against the empty tree.
        parent = ids[1].decode("ascii") if len(ids) > 1 else self._empty_tree()
        entries = self._diff_entries([parent, commit], plain=True)
        lines = self._added_lines([parent, commit], entries, all_text=True, plain=True)
        result: dict[str, frozenset[int] | None] = {}
        for e in entries:
            new = self._rel(e.new)
            if new is None or e.status == "D" or e.new_mode in (_GITLINK, _SYMLINK):
                continue
            if e.status == "R":
                old = self._rel(e.old)
                if old is None or e.old_mode == _GITLINK or (excluded and excluded(old)):
                    result[new] = None
                    continue
            got = lines.get(e.new)
            if got:
                result[new] = got
        return MappingProxyType(dict(sorted(result.items())))

    # -- inputs read from a commit ----------------------------------------------------------

    def changed_paths(self, rev: str) -> frozenset[str]:
        """Paths under root that differ between rev and the working tree: modified,
        added, deleted (a rename is both names), untracked. Whether a change touched an
        input, by name only."""
        commit = self.resolve(rev)
        flags = [f for f in _DIFF_FLAGS if f != "-M"]
        _, out, _ = self._call(["diff", "-z", "--name-only", "--no-renames", *flags, commit,
                                "--", "."])
        names = [p for p in out.split(b"\0") if p] + self._untracked()
        return frozenset(r for r in map(self._rel, names) if r)

    def has(self, rev: str, path: str) -> bool:
        """Whether rev has anything (file, directory, link, submodule) at path."""
        _check_path(path)
        full = os.fsencode(self.prefix + path)
        _, out, _ = self._call(["ls-tree", "-z", "--full-tree", self.resolve(rev), "--",
                                os.fsdecode(full)])
        return any(r.partition(b"\t")[2] == full for r in out.split(b"\0"))

    def export(self, rev: str, path: str, target: Path, max_bytes: int) -> bool:
        """Write path as it is at rev to target: a file's content, or a directory's files
        below target. False if rev has nothing there. Links and submodules inside are a
        GitError (never followed), as is more than max_bytes in all."""
        _check_path(path)
        commit = self.resolve(rev)
        full = os.fsencode(self.prefix + path)
        _, out, _ = self._call(["ls-tree", "-r", "-z", "-l", "--full-tree", commit, "--",
                                os.fsdecode(full)])
        files: list[tuple[str, str]] = []  # (oid, relative name; "" for path itself)
        total = 0
        for record in out.split(b"\0"):
            meta, tab, name = record.partition(b"\t")
            if not tab:
                continue
            if name != full and not name.startswith(full + b"/"):
                continue
            mode, _kind, oid, size = meta.decode("ascii", "replace").split()[:4]
            rel = os.fsdecode(name[len(full) + 1:])
            if mode in (_SYMLINK, _GITLINK):
                what = "a symbolic link" if mode == _SYMLINK else "a submodule"
                raise GitError(f"'{_show(path)}' at '{_show(rev)}' holds {what} "
                               f"({_show(rel or path)}); links are not followed")
            if rel:
                _check_path(rel)
            total += int(size)
            files.append((oid, rel))
        if not files:
            return False
        if total > max_bytes:
            raise GitError(f"'{_show(path)}' at '{_show(rev)}' is {total} bytes, more than "
                           f"the {max_bytes} allowed")
        blobs = self._blobs([oid for oid, _ in files], total)
        for (_, rel), data in zip(files, blobs, strict=True):
            dest = target / rel if rel else target
            dest.parent.mkdir(parents=True, exist_ok=True)
            dest.write_bytes(data)
        return True

    def _blobs(self, oids: Sequence[str], total: int) -> list[bytes]:
        """The contents of these blobs, in order, from one `git cat-file --batch`."""
        feed = "".join(f"{oid}\n" for oid in oids).encode("ascii")
        _, out, _ = self._call(["cat-file", "--batch"], stdin=feed,
                               max_out=total + 200 * len(oids) + 1024)
        blobs: list[bytes] = []
        at = 0
        for oid in oids:
            end = out.find(b"\n", at)
            header = out[at:end].split()
            if end < 0 or len(header) != 3 or header[0].decode() != oid or header[1] != b"blob":
                raise GitError(f"git cat-file could not read blob {oid[:12]}")
            size = int(header[2])
            blobs.append(out[end + 1:end + 1 + size])
            at = end + 1 + size + 1
        return blobs

    # -- internals -----------------------------------------------------------------------

    def _rel(self, raw: bytes) -> str | None:
        """A toplevel-relative git path as a root-relative name (os.fsdecode, as the walk
        names files), or None outside root."""
        name = os.fsdecode(raw)
        if not name.startswith(self.prefix):
            return None
        return name[len(self.prefix):]

    def _edited(self, e: _Entry, lines: Mapping[bytes, frozenset[int]]) -> frozenset[int] | None:
        if e.added is None:
            return None  # binary: no lines to point at, so the whole file counts
        if e.added == 0:
            return frozenset()
        # numstat counted added lines; a patch that lost them must not shrink the change
        return lines.get(e.new)

    def _diff_entries(self, revs: Sequence[str], *, plain: bool = False) -> list[_Entry]:
        """The file pairs of a diff (working tree when one rev), with numstat counts;
        ``plain``: two commits compared without attributes (see _call)."""
        _, out, _ = self._call(["diff", "-z", "--raw", "--numstat", *_DIFF_FLAGS, *revs, "--",
                                self._here(plain)], plain=plain)
        tokens = out.split(b"\0")
        entries: list[_Entry] = []
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
                    entries.append(_Entry(status[0], int(status[1:] or 0), old_mode, new_mode,
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
            _Entry(e.status, e.score, e.old_mode, e.new_mode, e.old, e.new, counts.get(e.new))
            for e in entries
        ]

    def _added_lines(
        self,
        revs: Sequence[str],
        entries: Sequence[_Entry],
        *,
        all_text: bool = False,
        plain: bool = False,
        removals: dict[bytes, set[int]] | None = None,
    ) -> dict[bytes, frozenset[int]]:
        """Added line numbers per new path, from a --unified=0 patch of the entries that
        have any (only those: a new file's whole text is not worth reading for the
        change set); with ``removals``, also of text files that only lost lines, and
        where (see ChangeSet.removals)."""
        wanted = [e for e in entries
                  if (e.added or (removals is not None and e.added == 0))
                  and e.new_mode != _GITLINK and (all_text or e.status in "MR")]
        if not wanted:
            return {}
        statuses = "".join(sorted({e.status for e in wanted}))
        _, out, _ = self._call([
            "diff", "-p", "--unified=0", "--inter-hunk-context=0", "--src-prefix=a/",
            "--dst-prefix=b/", f"--diff-filter={statuses}", *_DIFF_FLAGS, *revs, "--",
            self._here(plain),
        ], plain=plain)
        return _parse_patch(out, removals)

    def _here(self, plain: bool) -> str:
        """The pathspec for root: relative to the work tree's top in a plain call."""
        return (self.prefix or ".") if plain else "."

    def _untracked(self) -> list[bytes]:
        _, out, _ = self._call(
            ["ls-files", "-z", "--others", "--exclude-standard", "--full-name", "--", "."]
        )
        return [p for p in out.split(b"\0") if p]

    def ignored(self) -> frozenset[str]:
        """Untracked paths git ignores, relative to root (a wholly ignored directory once,
        with a trailing '/'): what an install or a test run wrote into the work tree, which
        no commit made from it carries (only `git add --force` would, and then it is
        tracked)."""
        _, out, _ = self._call(["ls-files", "-z", "--others", "--ignored", "--exclude-standard",
                                "--directory", "--full-name", "--", "."])
        return frozenset(p for p in (self._rel(raw) for raw in out.split(b"\0") if raw) if p)

    def _is_shallow(self) -> bool:
        rc, out, _ = self._call(["rev-parse", "--is-shallow-repository"], ok=(0, 128))
        return rc == 0 and out.strip() == b"true"

    def _empty_tree(self) -> str:
        """The empty tree's id (differs between SHA-1 and SHA-256 repositories)."""
        _, out, _ = self._call(["hash-object", "-t", "tree", os.devnull])
        return out.strip().decode("ascii")

    def _call(
        self,
        args: Sequence[str],
        *,
        ok: Sequence[int] = (0,),
        max_out: int = MAX_OUTPUT_BYTES,
        plain: bool = False,
        stdin: bytes | None = None,
    ) -> tuple[int, bytes, bytes]:
        """Run one git command in root: exit code, stdout, stderr. An exit code outside
        ok, a timeout, a signal or oversized output is a GitError.

        ``plain``: run against an empty work tree and an empty index, so that no
        `.gitattributes` applies (git reads them from there, even to compare two commits;
        git 2.39 has no --attr-source). Only for commands that read commits, never the
        working tree."""
        argv = [self._git, "--no-pager", "--no-replace-objects"]
        for key, value in _CONFIG:
            argv += ["-c", f"{key}={value}"]
        for path in self._trusted:
            argv += ["-c", f"safe.directory={path}"]
        with contextlib.ExitStack() as stack:
            cwd, env = self.root, self._env
            if plain:
                empty = Path(stack.enter_context(
                    tempfile.TemporaryDirectory(prefix="policy-gate-git-")))
                argv += [f"--git-dir={self._gitdir}", f"--work-tree={empty}"]
                cwd, env = empty, {**env, "GIT_INDEX_FILE": str(empty / "no-index")}
            argv += args
            rc, out, err = _run(argv, cwd=cwd, env=env, timeout=self.timeout, max_out=max_out,
                                what=f"git {args[0]}", stdin=stdin)
        if rc not in ok:
            raise GitError(f"git {args[0]} failed (exit {rc}){_tail(err)}")
        return rc, out, err


def _environment(git: str, neutral: Sequence[tuple[str, str]]) -> dict[str, str]:
    """Only what git needs: no tokens, no user or system configuration (the same answer
    locally and in CI), no prompts, no optional index writes, no lazy fetches."""
    env = {
        "PATH": os.pathsep.join([str(Path(git).parent), os.defpath]),
        "HOME": os.devnull,  # no ~/.gitconfig, no global ignore or attributes file
        "LC_ALL": "C",
        "LANG": "C",
        "GIT_CONFIG_NOSYSTEM": "1",
        "GIT_CONFIG_GLOBAL": os.devnull,
        "GIT_ATTR_NOSYSTEM": "1",
        "GIT_TERMINAL_PROMPT": "0",
        "GIT_ASKPASS": "",
        "SSH_ASKPASS": "",
        "GIT_OPTIONAL_LOCKS": "0",
        "GIT_NO_REPLACE_OBJECTS": "1",
        "GIT_GRAFT_FILE": os.devnull,  # no grafts (--no-replace-objects leaves them on)
        "GIT_NO_LAZY_FETCH": "1",
        "GIT_LITERAL_PATHSPECS": "1",
        "GIT_PAGER": "cat",
        "PAGER": "cat",
    }
    # Also command-line scope, but as key/value pairs: a driver name may contain '='.
    env["GIT_CONFIG_COUNT"] = str(len(neutral))
    for i, (key, value) in enumerate(neutral):
        env[f"GIT_CONFIG_KEY_{i}"] = key
        env[f"GIT_CONFIG_VALUE_{i}"] = value
    return env


def _run(
    argv: Sequence[str],
    *,
    cwd: Path,
    env: Mapping[str, str],
    timeout: float,
    max_out: int,
    what: str,
    stdin: bytes | None = None,
) -> tuple[int, bytes, bytes]:
    """Run to completion within timeout, reading at most max_out bytes of stdout; on
    timeout or overflow the whole process group is killed. stdin comes from a file, so
    a large input cannot dead-lock against the output."""
    with contextlib.ExitStack() as stack:
        source: int | IO[bytes] = subprocess.DEVNULL
        if stdin is not None:
            source = stack.enter_context(tempfile.TemporaryFile())
            source.write(stdin)
            source.seek(0)
        try:
            proc = subprocess.Popen(
                list(argv),
                cwd=cwd,
                env=dict(env),
                stdin=source,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                start_new_session=True,
            )
        except OSError as exc:
            raise GitError(f"could not start git: {exc.strerror or exc}") from None
    try:
        rc, out, err = read_bounded(proc, timeout=timeout, max_out=max_out,
                                    keep_err=_STDERR_KEEP)
    except subprocess.TimeoutExpired:
        kill_group(proc)
        raise GitError(f"{what} timed out after {timeout:g} s") from None
    except OutputLimitError as exc:
        kill_group(proc)
        raise GitError(f"{what} {exc}") from None
    except BaseException:
        kill_group(proc)
        raise
    if rc < 0:
        try:
            name = signal.Signals(-rc).name
        except ValueError:
            name = f"signal {-rc}"
        raise GitError(f"{what} was killed by {name}{_tail(err)}")
    return rc, out, err


def _parse_patch(
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


def _filter_names(config: bytes) -> set[str]:
    """Driver names from `git config -z --get-regexp '^filter\\.'` (key, newline, value,
    NUL). Names keep their case: subsections are case-sensitive."""
    names: set[str] = set()
    for item in config.split(b"\0"):
        key = item.split(b"\n", 1)[0].decode("utf-8", "surrogateescape")
        section, _, rest = key.partition(".")
        name, dot, _ = rest.rpartition(".")
        if section.lower() == "filter" and dot and name:
            names.add(name)
    return names


def _check_ref(ref: str) -> None:
    """Refuse what git would read as an option, or that cannot be a revision."""
    if not ref or ref.startswith("-") or any(ord(c) < 0x20 or c == "\x7f" for c in ref):
        raise GitError(f"not a git revision: '{_show(ref)}'")


def _check_path(path: str) -> None:
    """A plain relative path: no '..' out of root, no '.', no empty component."""
    parts = path.split("/")
    if not path or path.startswith("/") or "\0" in path or any(
        p in ("", ".", "..") for p in parts
    ):
        raise GitError(f"not a relative file path: {_show(path)}")


def _show(text: str) -> str:
    """Escape control characters (ANSI sequences, newlines in names) for messages."""
    return "".join(
        ch if ch.isprintable() or ch == " " else ch.encode("unicode_escape").decode("ascii")
        for ch in text
    )


def _tail(err: bytes, limit: int = 400) -> str:
    """The end of git's stderr, escaped: where git explains what went wrong."""
    text = err.decode("utf-8", "replace").strip()
    if not text:
        return ""
    if len(text) > limit:
        text = "…" + text[-limit:]
    return ": " + _show(text)


__all__ = ["ChangeSet", "Commit", "GitError", "Repo"]
