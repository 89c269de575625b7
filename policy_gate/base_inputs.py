"""The gate's own inputs in pull-request mode: read from the base branch, never from the
pull request, and every change the pull request makes to them reported for review.

An input is anything that decides the verdict and that a pull request could edit: the
policy and every file it names (what it `extends`, semgrep rule files and directories,
the advisory database), the waivers file, an in-repository baseline, the advisory
database given on the command line, the workflow that runs the gate (its `with:` inputs
turn scanners off, make violations pass, or point the gate elsewhere) and the policy's
`review.paths`. Each is read as the base branch has it *now* (its tip, or on GitHub the
event's `pull_request.base.sha`): a waiver revoked on main after the branch point no
longer applies. Whether the pull request changed one is decided against the merge base,
so main moving on is not counted as the pull request's change.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Sequence
from pathlib import Path

from policy_gate.base.git import Repo
from policy_gate.base.gitrun import MAX_OUTPUT_BYTES, GitError
from policy_gate.base.patterns import compile_patterns
from policy_gate.base.treefile import TreeFileError, read_tree_file
from policy_gate.policy.loader import PolicyError, PolicySource, Problem

# Input files the gate reads (policy, waivers, baseline) are small; refuse huge ones.
MAX_INPUT_BYTES = 64 * 1024 * 1024
# A directory of inputs (semgrep rules, an OSV database) or an OSV all.zip, in all.
MAX_TREE_BYTES = MAX_OUTPUT_BYTES

# A workflow or action that runs the gate names it: `uses: …/policy-gate@…`, a container
# image, `policy-gate scan`, `python -m policy_gate`.
_MENTIONS_GATE = re.compile(rb"policy[-_]gate", re.IGNORECASE)


class BaseRefSource(PolicySource):
    """Inputs as commit ``rev`` (the base branch now) has them; ``fork`` (the merge base)
    is what the pull request changed them from. Remembers what it read."""

    def __init__(self, repo: Repo, rev: str, fork: str, work: Path) -> None:
        self.top = repo if repo.root == repo.toplevel else Repo.open(repo.toplevel)
        self.rev = rev
        self.fork = fork
        self.work = work
        # every input read, by resolved path: (repository-relative name, is a directory)
        self.inputs: dict[Path, tuple[str, bool]] = {}

    def place(self, path: Path) -> Path:
        return Path(os.path.normpath(path.absolute()))

    def _rel(self, path: Path) -> str | None:
        """path's name in the repository, None outside it. Taken as written, not through
        links: a pull request that turns the policy into a link to a laxer file the base
        also has must not get that file read from the base. A link inside the repository
        on the way is refused."""
        lexical = self.place(path)
        top = self.top.toplevel.resolve()
        for ancestor in [lexical, *lexical.parents]:
            if ancestor.resolve() == top:
                inner = lexical.parts[len(ancestor.parts):]
                break
        else:
            return None
        here = ancestor
        for part in inner:
            here = here / part
            if here.is_symlink():
                raise PolicyError([Problem(
                    str(path), None, None, "",
                    f"{root_relative(ancestor, here)} is a symbolic link in the repository",
                    "the gate's inputs are read from the base by name; links are not "
                    "followed",
                )])
        return "/".join(inner) or None

    def read_base(self, path: Path) -> bytes | None:
        """The file as the base has it (None: absent there); a file outside the
        repository is read as it is (not the pull request's to change)."""
        rel = self._rel(path)
        if rel is None:
            return super().read(path)
        self.inputs[self.place(path)] = (rel, False)
        try:
            return self.top.show(self.rev, rel, MAX_INPUT_BYTES)
        except GitError as exc:
            problem = Problem(str(path), None, None, "", f"at the base ref: {exc}")
            raise PolicyError([problem]) from None

    def read(self, path: Path) -> bytes | None:
        data = self.read_base(path)
        if data is None and self._rel(path) is not None and path.is_file():
            raise PolicyError([Problem(
                str(path), None, None, "",
                f"exists in this change but not at the base ref {self.rev[:12]}",
                "a policy is enforced from the base, so a pull request cannot bring its own; "
                "merge the policy first (or use builtin:mojaloop), or run with --full-scan",
            )])
        return data

    def local(self, path: Path) -> Path:
        """A copy of the base's version of a file or directory the policy names (rules,
        an advisory database). Outside the repository, or nowhere in git at all (made
        by an earlier step of the job, e.g. a downloaded database): the path itself."""
        rel = self._rel(path)
        if rel is None:
            return path
        target = self.work / "base-ref" / rel
        try:
            found = self.top.export(self.rev, rel, target, MAX_TREE_BYTES)
            added = not found and self.top.has("HEAD", rel)
        except GitError as exc:
            raise PolicyError([Problem(str(path), None, None, "", f"at the base ref: {exc}")]
                              ) from None
        if added:
            raise PolicyError([Problem(
                str(path), None, None, "", f"does not exist at the base ref {self.rev[:12]}",
                "a pull request cannot add files the policy uses; merge them first",
            )])
        if not found:
            return path
        self.inputs[self.place(path)] = (rel, target.is_dir())
        return target

    def optional_local(self, value: str | None) -> str | None:
        """local() for an input given as a string that may be absent (--advisories)."""
        return None if value is None else str(self.local(Path(value)))

    def changed(self, root: Path, review_paths: Sequence[str]) -> list[str]:
        """What the pull request changed (against the merge base) among the inputs read,
        the workflows that run the gate and the policy's review paths, named relative
        to the scanned root."""
        touched = self.top.changed_paths(self.fork)
        out: list[str] = []
        for path, (rel, is_dir) in self.inputs.items():
            if rel in touched or any(t.startswith(rel + "/") for t in touched):
                out.append(root_relative(root, path) + ("/" if is_dir else ""))
        review = compile_patterns(review_paths)
        for rel in touched:
            inside = root_relative(root, self.top.toplevel / rel)
            if review.match_file(rel) or (
                not inside.startswith("../") and review.match_file(inside)
            ):
                out.append(inside)
        out += [root_relative(root, self.top.toplevel / rel) for rel in self._workflows(touched)]
        return sorted(set(out))

    def _workflows(self, touched: Iterable[str]) -> list[str]:
        """Changed workflow and action files that run the gate, in the base's version or
        the pull request's (a deleted step counts), plus the workflow of this very run."""
        running = _running_workflow()
        mentions = [_MENTIONS_GATE]
        action = os.environ.get("GITHUB_ACTION_REPOSITORY", "").rsplit("/", 1)[-1]
        if action:
            mentions.append(re.compile(re.escape(action.encode()), re.IGNORECASE))
        found = []
        for rel in sorted(touched):
            name = rel.rsplit("/", 1)[-1]
            workflow = rel.startswith(".github/workflows/") and name.endswith((".yml", ".yaml"))
            gate_file = workflow or name in ("action.yml", "action.yaml")
            if rel == running or (gate_file and self._runs_gate(rel, mentions)):
                found.append(rel)
        return found

    def _runs_gate(self, rel: str, mentions: Sequence[re.Pattern[bytes]]) -> bool:
        """The merge base's or the working tree's version names the gate. One that is
        not a readable file (a link, a directory, too large) counts as naming it."""
        try:
            versions = [self.top.show(self.fork, rel, MAX_INPUT_BYTES)]
        except GitError:
            return True
        try:
            versions.append(read_tree_file(self.top.toplevel / rel, MAX_INPUT_BYTES))
        except TreeFileError as exc:
            if not exc.missing:
                return True
        return any(m.search(v) for v in versions if v is not None for m in mentions)


def _running_workflow() -> str | None:
    """The repository path of the workflow running this job, from GITHUB_WORKFLOW_REF
    (``owner/repo/.github/workflows/x.yml@ref``) when it is in this repository."""
    ref = os.environ.get("GITHUB_WORKFLOW_REF", "")
    repository = os.environ.get("GITHUB_REPOSITORY", "")
    path = ref.rsplit("@", 1)[0]
    if not repository or not path.startswith(repository + "/"):
        return None
    return path[len(repository) + 1:] or None


def root_relative(root: Path, path: Path) -> str:
    """How notices name a file: relative to the scanned root, with `..` for a file above it
    (a repository policy when a subdirectory is scanned), like every finding path."""
    return Path(os.path.relpath(path.resolve(), root.resolve())).as_posix()


def trusted_source(
    repo: Repo, diff_base: str | None, pr_base: str | None, work: Path
) -> BaseRefSource:
    """Where the inputs come from: the pull request's base commit when GitHub names one
    (``pr_base``, even with diff mode off or aimed elsewhere: the workflow asking for
    that is the pull request's own), else the diff base. A diff base whose merge base
    is not at or before the pull request's would hide part of the change: refused."""
    trusted = pr_base or diff_base
    if trusted is None:
        raise GitError("no base commit to read the policy from")
    fork = repo.merge_base(trusted)
    if diff_base is not None and pr_base is not None and diff_base != pr_base:
        start = repo.merge_base(diff_base)
        if not repo.is_ancestor(start, fork):
            raise GitError(
                f"--diff-base '{diff_base}' would hide part of the pull request: its merge "
                f"base {start[:12]} is not at or before the pull request's base "
                f"{fork[:12]}; leave diff-base empty to use the pull request's base"
            )
    return BaseRefSource(repo, repo.resolve(trusted), fork, work)


__all__ = ["MAX_INPUT_BYTES", "BaseRefSource", "root_relative", "trusted_source"]
