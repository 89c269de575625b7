"""Read-only git access for pull-request diff mode, returning plain data.

Diff mode needs three things from git: which lines a pull request adds or changes (only
those can fail the gate), every commit of the pull request (a secret added and then deleted
is still leaked) and files as they are at the base (the policy must come from there, so a
pull request cannot weaken its own gate).

The repository is treated as hostile: every call goes through `gitrun` (nothing of the
repository's runs, no network, a minimal environment, a timeout), and its output is read
as data by `gitdiff`. A repository can also make git *report less*: `.gitattributes`
marking a file binary (no lines, so no added lines), a shallow clone cutting history, a
tag named like the base branch. Commits are compared without any attributes (an empty work
tree and index), history the clone lacks is an error, and a base name must name exactly
one commit.
"""

from __future__ import annotations

import os
import re
import secrets
import shutil
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType

from policy_gate.base.gitdiff import (
    GITLINK,
    SYMLINK,
    ChangeSet,
    Entry,
    change_set,
    parse_entries,
    parse_patch,
)
from policy_gate.base.gitrun import (
    DEFAULT_TIMEOUT,
    DIFF_FLAGS,
    MAX_OUTPUT_BYTES,
    Git,
    GitError,
    printable,
    stderr_tail,
)
from policy_gate.base.treefile import TreeFileError, read_tree_file

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


@dataclass(frozen=True)
class Commit:
    """One commit of a pull request, as the history search reports it."""

    sha: str
    subject: str  # first line of the message, control characters escaped
    author: str  # author name only (no e-mail), control characters escaped
    date: str  # ISO 8601 author date


def work_tree_top(path: Path) -> Path | None:
    """The nearest directory at or above ``path`` that holds a ``.git`` (a repository, a
    work tree or a submodule): the top of its work tree, found on the file system without
    running git (so at no cost, and whether or not git would trust the repository)."""
    for candidate in (path, *path.parents):
        if os.path.lexists(candidate / ".git"):
            return candidate
    return None


class Repo:
    """A git work tree, read through git only (never through the working tree's symlinks).

    root is the scanned directory; every path given or returned is relative to it.
    """

    __slots__ = ("_git", "_memo", "prefix", "root", "timeout", "toplevel")

    root: Path
    toplevel: Path
    prefix: str
    timeout: float

    def __init__(self, *, root: Path, toplevel: Path, prefix: str, git: Git,
                 timeout: float) -> None:
        self.root = root
        self.toplevel = toplevel
        self.prefix = prefix
        self.timeout = timeout
        self._git = git
        # Revisions resolved and merge bases checked: refs do not move during a run.
        self._memo: dict[tuple[str, str], str] = {}

    def __repr__(self) -> str:
        return f"Repo(root={str(self.root)!r}, toplevel={str(self.toplevel)!r})"

    @classmethod
    def open(cls, root: Path, *, timeout: float = DEFAULT_TIMEOUT) -> Repo:
        """The repository whose work tree contains root; GitError if there is none."""
        exe = shutil.which("git")
        if exe is None:
            raise GitError("git is not installed or not on PATH")
        try:
            root = Path(root).resolve(strict=True)
        except OSError as exc:
            raise GitError(f"{printable(str(root))}: {exc.strerror or exc}") from None
        if not root.is_dir():
            raise GitError(f"{printable(str(root))} is not a directory")
        # The work tree git discovers holds root, so it is root or one of its parents:
        # trusting exactly those lets a checkout owned by another uid (GitHub's Docker
        # actions) be read without trusting any other repository. What ownership checks
        # guard against (configuration that runs programs) is switched off anyway.
        trusted = tuple(str(p) for p in (root, *root.parents))
        probe = cls(root=root, toplevel=root, prefix="", git=Git.locked(exe, trusted),
                    timeout=timeout)
        rc, out, err = probe._call(["rev-parse", "--show-toplevel"], ok=(0, 128))
        if rc != 0:
            raise GitError(
                f"{printable(str(root))} is not inside a git work tree{stderr_tail(err)}")
        toplevel = Path(os.fsdecode(out.removesuffix(b"\n")))
        _, out, _ = probe._call(["rev-parse", "--show-prefix"])
        prefix = os.fsdecode(out.removesuffix(b"\n"))
        _, out, _ = probe._call(["rev-parse", "--absolute-git-dir"])
        gitdir = os.fsdecode(out.removesuffix(b"\n"))
        if prefix and not prefix.endswith("/"):
            prefix += "/"
        # Filter drivers have names the repository chooses: see Git.without_filters.
        _, out, _ = probe._call(["config", "-z", "--get-regexp", r"^filter\."], ok=(0, 1))
        return cls(root=root, toplevel=toplevel, prefix=prefix,
                   git=probe._git.without_filters(out, gitdir), timeout=timeout)

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
                f"unknown git revision '{printable(ref)}' (not a commit in this clone){hint}"
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
                f"'{printable(shown)}' is ambiguous: it names {', '.join(map(printable, found))}; "
                f"give the full name of the one you mean (e.g. '{printable(branch)}') or a full "
                "commit id"
            )
        if found:
            return found[0]
        if _SHORT_HEX.fullmatch(name):
            raise GitError(
                f"'{printable(shown)}' is not a branch, tag or remote-tracking branch; an "
                "abbreviated commit id could also name a branch, so give the full commit id"
            )
        hint = _SHALLOW_HINT if self._is_shallow() else ""
        raise GitError(
            f"unknown git revision '{printable(shown)}' (not a commit in this clone){hint}"
        )

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
            raise GitError(f"no common ancestor of '{printable(ref)}' and HEAD{_SHALLOW_HINT}")
        raise GitError(
            f"'{printable(ref)}' and HEAD have no common ancestor (unrelated histories); "
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
                f"this clone is shallow and lacks commits of the change since '{printable(ref)}' "
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
        return change_set(base_ref=base_ref, base=base, head=head, entries=entries,
                          lines=lines, removals=removals, untracked=self._untracked(),
                          rel=self._rel)

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
        where = f"'{printable(path)}' at '{printable(ref)}'"
        if mode == SYMLINK:
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
                subject=printable(subject.decode("utf-8", "replace").strip()),
                author=printable(author.decode("utf-8", "replace")),
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
            raise GitError(f"git listed no commit for '{printable(sha)}'")
        # A root commit adds everything it has: diff it against the empty tree.
        parent = ids[1].decode("ascii") if len(ids) > 1 else self._empty_tree()
        entries = self._diff_entries([parent, commit], plain=True)
        lines = self._added_lines([parent, commit], entries, all_text=True, plain=True)
        result: dict[str, frozenset[int] | None] = {}
        for e in entries:
            new = self._rel(e.new)
            if new is None or e.status == "D" or e.new_mode in (GITLINK, SYMLINK):
                continue
            if e.status == "R":
                old = self._rel(e.old)
                if old is None or e.old_mode == GITLINK or (excluded and excluded(old)):
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
        flags = [f for f in DIFF_FLAGS if f != "-M"]
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
            if mode in (SYMLINK, GITLINK):
                what = "a symbolic link" if mode == SYMLINK else "a submodule"
                raise GitError(f"'{printable(path)}' at '{printable(rev)}' holds {what} "
                               f"({printable(rel or path)}); links are not followed")
            if rel:
                _check_path(rel)
            total += int(size)
            files.append((oid, rel))
        if not files:
            return False
        if total > max_bytes:
            raise GitError(f"'{printable(path)}' at '{printable(rev)}' is {total} bytes, more than "
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

    def _diff_entries(self, revs: Sequence[str], *, plain: bool = False) -> list[Entry]:
        """The file pairs of a diff (working tree when one rev), with numstat counts;
        ``plain``: two commits compared without attributes (see Git.call)."""
        _, out, _ = self._call(["diff", "-z", "--raw", "--numstat", *DIFF_FLAGS, *revs, "--",
                                self._here(plain)], plain=plain)
        return parse_entries(out)

    def _added_lines(
        self,
        revs: Sequence[str],
        entries: Sequence[Entry],
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
                  and e.new_mode != GITLINK and (all_text or e.status in "MR")]
        if not wanted:
            return {}
        statuses = "".join(sorted({e.status for e in wanted}))
        _, out, _ = self._call([
            "diff", "-p", "--unified=0", "--inter-hunk-context=0", "--src-prefix=a/",
            "--dst-prefix=b/", f"--diff-filter={statuses}", *DIFF_FLAGS, *revs, "--",
            self._here(plain),
        ], plain=plain)
        return parse_patch(out, removals)

    def _here(self, plain: bool) -> str:
        """The pathspec for root: relative to the work tree's top in a plain call."""
        return (self.prefix or ".") if plain else "."

    def _untracked(self) -> list[bytes]:
        _, out, _ = self._call(
            ["ls-files", "-z", "--others", "--exclude-standard", "--full-name", "--", "."]
        )
        return [p for p in out.split(b"\0") if p]

    def listed(self) -> tuple[frozenset[str], tuple[str, ...]]:
        """What a checkout of this work tree has below root, as git lists it: (files,
        directories). Files: every tracked path (whether or not the working tree still has
        it, and whatever `.gitignore` says: ignore rules apply to untracked files only)
        and every untracked file that `.gitignore`, `.git/info/exclude` don't exclude (the
        user's own excludes file is never read: the same answer on every machine).
        Directories, with a trailing '/': ones git does not look inside (a nested
        repository). A submodule is listed as a path, its gitlink."""
        _, out, _ = self._call(["ls-files", "-z", "--cached", "--others", "--exclude-standard",
                                "--full-name", "--", "."])
        names = {p for p in (self._rel(raw) for raw in out.split(b"\0") if raw) if p}
        dirs = tuple(sorted(p for p in names if p.endswith("/")))
        return frozenset(p for p in names if not p.endswith("/")), dirs

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
        """Run one git command in root (see Git.call), within this repository's timeout."""
        return self._git.call(args, cwd=self.root, timeout=self.timeout, ok=ok,
                              max_out=max_out, plain=plain, stdin=stdin)


def _check_ref(ref: str) -> None:
    """Refuse what git would read as an option, or that cannot be a revision."""
    if not ref or ref.startswith("-") or any(ord(c) < 0x20 or c == "\x7f" for c in ref):
        raise GitError(f"not a git revision: '{printable(ref)}'")


def _check_path(path: str) -> None:
    """A plain relative path: no '..' out of root, no '.', no empty component."""
    parts = path.split("/")
    if not path or path.startswith("/") or "\0" in path or any(
        p in ("", ".", "..") for p in parts
    ):
        raise GitError(f"not a relative file path: {printable(path)}")


__all__ = ["Commit", "Repo"]
