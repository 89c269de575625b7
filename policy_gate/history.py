"""Secrets in a pull request's history: every commit between the base and the head.

A key added in one commit and deleted in a later commit of the same pull request is gone
from the head but stays in the repository's history (and in every fork and clone), so it
must be rotated. The head scan cannot see it; this looks at each commit's added lines.
It also checks the base version of each changed Dockerfile, so that a Dockerfile finding
on a line the change did not touch (``FROM``, when the change removes ``USER``) is still
told new from old.

The blobs are copied out of git as git stores them (``git cat-file``: no ``.gitattributes``
filter or conversion hides or changes a file) into a private directory, and scanned as
files by the same secret engine as the head (kingfisher when the policy enables it, else
detect-secrets), so the same rules, grading and masking apply.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

from policy_gate import catalogue
from policy_gate.base.fileset import walk
from policy_gate.base.git import Commit, Repo
from policy_gate.base.gitdiff import ChangeSet
from policy_gate.base.gitrun import GitError
from policy_gate.base.patterns import PathPatterns, compile_patterns
from policy_gate.base.process import ScannerError
from policy_gate.base.treefile import TreeFileError, read_tree_file
from policy_gate.catalogue import DOCKERFILE, KINGFISHER
from policy_gate.findings import SECRET, Finding
from policy_gate.policy.baseline import match_key
from policy_gate.policy.model import Policy
from policy_gate.results import ScanOutput, ScanResult
from policy_gate.scanners import dockerfile, registry
from policy_gate.scanners.interface import ScanContext, Scanner, unscanned_finding

# The secret engines the history can be searched with (the catalogue's), the default one
# first: the head's own when several run.
SECRET_ENGINES = tuple(sorted(catalogue.SECRET_ENGINES, key=lambda n: n != KINGFISHER.name))


def secret_engine(enabled: Collection[str]) -> str | None:
    """The engine that searches the change's commits: the first of SECRET_ENGINES that
    scans the head (``enabled``), so both are searched with the same rules; None if no
    secret engine runs."""
    return next((name for name in SECRET_ENGINES if name in enabled), None)


def _engine(name: str) -> Scanner:
    """A scanner of its own for the history's run (the head's runs at the same time)."""
    return type(registry()[name])()


def scan_history(
    repo: Repo,
    changes: ChangeSet,
    exclude: Sequence[str],
    ctx: ScanContext,
    *,
    at_head: Collection[str] = (),
    engine: str = KINGFISHER.name,
) -> ScanOutput:
    """Secrets on lines added by any commit of the change, each with its commit, found by
    ``engine`` (a name of SECRET_ENGINES).

    A commit's version of a file in ``at_head`` (the files the head scan reads) that is
    byte for byte the working tree's is not searched again: the head scan reports the
    same secrets, and they win over the history's (drop_history_duplicates). In the usual
    one-commit pull request that leaves nothing to search and no second engine run."""
    if ctx.work_dir is None:
        raise ScannerError(engine, "no work directory for the history scan")
    limit = ctx.max_file_bytes
    spec = compile_patterns(exclude)
    blobs = ctx.work_dir / "blobs"
    blobs.mkdir()
    try:
        commits = repo.commits(changes.base_ref)
    except GitError as exc:
        raise ScannerError(engine, f"cannot list the change's commits: {exc}") from None
    copied = _copy_versions(repo, commits, spec, ctx, frozenset(at_head), blobs, limit,
                            engine)
    same = f", {copied.same_as_head} the same as the working tree's" if copied.same_as_head else ""
    if not copied.origins:
        note = f"{len(commits)} commit(s), no other file versions with added lines{same}"
        return ScanOutput(copied.gaps, "", len(copied.gaps), 0, [note])

    output = _engine(engine).scan(replace(ctx, fileset=walk(blobs)))
    found = [*copied.gaps, *_attributed(output.findings, copied.origins)]
    note = f"{len(commits)} commit(s), {len(copied.origins)} changed file version(s) searched{same}"
    return ScanOutput(
        findings=found,
        version=output.version,
        raw_results=sum(len(f.sources) for f in found),
        files_scanned=len(copied.origins),
        notes=[note],
    )


# Where a copied file version came from: its commit, its path there, and the lines that
# commit added (None: every line is new, the file moved into scope from outside it).
_Origin = tuple[Commit, str, frozenset[int] | None]


@dataclass
class _Copied:
    """The file versions copied out of the change's commits for the engine to read."""

    origins: dict[str, _Origin] = field(default_factory=dict)  # by path under the blobs
    gaps: list[Finding] = field(default_factory=list)  # versions git could not give
    same_as_head: int = 0  # versions not copied: the head scan reads the same bytes


def _copy_versions(
    repo: Repo,
    commits: Sequence[Commit],
    spec: PathPatterns,
    ctx: ScanContext,
    head: frozenset[str],
    blobs: Path,
    limit: int,
    engine: str,
) -> _Copied:
    """Each commit's version of each file it added lines to, written under ``blobs`` (one
    folder per commit) so the engine scans them as files, as it scans the head. Excluded
    paths, deletions and the head's own bytes are left out."""
    copied = _Copied()
    for i, commit in enumerate(commits):
        ctx.progress(engine, f"history: commit {i + 1}/{len(commits)}")
        try:
            additions = repo.commit_additions(commit.sha, excluded=spec.match_file)
        except GitError as exc:
            raise ScannerError(engine, f"cannot read commit {commit.sha[:12]}: {exc}") from None
        for path, lines in additions.items():
            if (lines is not None and not lines) or spec.match_file(path):
                continue
            try:
                data = repo.show(commit.sha, path, limit)
            except GitError as exc:
                gap = unscanned_finding(engine, path, f"in commit {commit.sha[:12]}: {exc}")
                copied.gaps.append(replace(gap, commit=commit.sha))
                continue
            if data is None:
                continue
            if path in head and _worktree_bytes(ctx.fileset.root / path, limit) == data:
                copied.same_as_head += 1
                continue
            blob = f"{i:05d}/{path}"
            target = blobs / blob
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)
            copied.origins[blob] = (commit, path, lines)
    return copied


def _attributed(findings: Iterable[Finding], origins: Mapping[str, _Origin]) -> list[Finding]:
    """The engine's findings in the copies, told as findings in the change: the file's
    own path and the commit that added the secret. A secret on a line the commit did not
    add was there before it, and is reported where it was added, or at the base."""
    found: list[Finding] = []
    for f in sorted(findings, key=lambda f: (f.path, f.start_line or 0)):
        commit, path, lines = origins[f.path]
        if f.category == SECRET and lines is not None and f.start_line not in lines:
            continue
        subject = commit.subject if len(commit.subject) <= 72 else commit.subject[:71] + "…"
        found.append(
            replace(
                f,
                path=path,
                commit=commit.sha,
                message=f"{f.message} (added in commit {commit.sha[:12]} \"{subject}\")",
            )
        )
    return found


def _worktree_bytes(path: Path, limit: int) -> bytes | None:
    try:
        return read_tree_file(path, limit)
    except TreeFileError:
        return None


def drop_history_duplicates(findings: Iterable[Finding]) -> list[Finding]:
    """One finding per secret and file: the head's when the secret is still there, else the
    earliest commit that added it (a secret moved around in later commits is one leak)."""
    findings = list(findings)
    at_head = {(f.path, f.content_key) for f in findings if f.commit is None and f.secret}
    kept: list[Finding] = []
    seen: set[tuple[str, str]] = set()
    for f in findings:
        if f.commit is not None and f.secret is not None:
            key = (f.path, f.content_key)
            if key in at_head or key in seen:
                continue
            seen.add(key)
        kept.append(f)
    return kept


__all__ = ["SECRET_ENGINES", "drop_history_duplicates", "scan_history", "secret_engine"]


def base_dockerfile_findings(
    repo: Repo, changes: ChangeSet, result: ScanResult, policy: Policy, limit: int
) -> dict[str, frozenset[str]]:
    """For each changed Dockerfile with findings, the match keys of the findings its base
    version had (the check is pure and in-process): a Dockerfile finding may point at a
    line the change did not touch, as `FROM` does when the change removes `USER`. A base
    version that cannot be read or checked had none, so everything in the file is new."""
    settings = policy.scanners.get(DOCKERFILE.name)
    ports = settings.options.get("allowed_ports", ()) if settings is not None else ()
    allowed = frozenset(int(p) for p in ports)
    out: dict[str, frozenset[str]] = {}
    for head_path in sorted({f.path for f in result.findings
                             if f.scanner == DOCKERFILE.name
                             and changes.is_changed(f.path)}):
        old = changes.old_path(head_path)
        if old is None:
            continue  # new to the tree: every line of it is new anyway
        try:
            data = repo.show(changes.base, old, limit)
            text = data.decode("utf-8") if data is not None else None
            found = dockerfile.check(DOCKERFILE.name, head_path, text,
                                     allowed) if text is not None else []
        except (GitError, UnicodeDecodeError, dockerfile.DockerfileError):
            found = []
        out[head_path] = frozenset(match_key(f) for f in found)
    return out
