"""Secrets in a pull request's history: every commit between the base and the head.

A key added in one commit and deleted in a later commit of the same pull request is gone
from the head but stays in the repository's history (and in every fork and clone), so it
must be rotated. The head scan cannot see it; this looks at each commit's added lines.

The blobs are copied out of git into a private directory and scanned as files by the same
detect-secrets adapter as the head, so the same plugins, filters and masking apply.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from dataclasses import replace
from pathlib import Path

from policy_gate.base.fileset import TreeFileError, read_tree_file, walk
from policy_gate.base.git import ChangeSet, Commit, GitError, Repo
from policy_gate.base.patterns import compile_patterns
from policy_gate.base.process import ScannerError
from policy_gate.findings import SECRET, Finding
from policy_gate.scanners.detect_secrets import DetectSecretsScanner
from policy_gate.scanners.interface import (
    DEFAULT_MAX_FILE_BYTES,
    ScanContext,
    ScanOutput,
    unscanned_finding,
)

SCANNER = "detect-secrets"


def scan_history(
    repo: Repo,
    changes: ChangeSet,
    exclude: Sequence[str],
    ctx: ScanContext,
    *,
    at_head: Collection[str] = (),
) -> ScanOutput:
    """Secrets on lines added by any commit of the change, each with its commit.

    A commit's version of a file in ``at_head`` (the files the head scan reads) that is
    byte for byte the working tree's is not searched again: the head scan reports the
    same secrets, and they win over the history's (drop_history_duplicates). In the usual
    one-commit pull request that leaves nothing to search and no second detect-secrets."""
    if ctx.work_dir is None:
        raise ScannerError(SCANNER, "no work directory for the history scan")
    limit = int(ctx.settings.options.get("max_file_bytes", DEFAULT_MAX_FILE_BYTES))
    spec = compile_patterns(exclude)
    blobs = ctx.work_dir / "blobs"
    blobs.mkdir()
    try:
        commits = repo.commits(changes.base_ref)
    except GitError as exc:
        raise ScannerError(SCANNER, f"cannot list the change's commits: {exc}") from None
    # blob path -> origin; None: every line is new (moved into scope from outside it)
    added: dict[str, tuple[Commit, str, frozenset[int] | None]] = {}
    gaps: list[Finding] = []
    head = frozenset(at_head)
    same_as_head = 0
    for i, commit in enumerate(commits):
        ctx.progress(SCANNER, f"history: commit {i + 1}/{len(commits)}")
        try:
            additions = repo.commit_additions(commit.sha, excluded=spec.match_file)
        except GitError as exc:
            raise ScannerError(SCANNER, f"cannot read commit {commit.sha[:12]}: {exc}") from None
        for path, lines in additions.items():
            if (lines is not None and not lines) or spec.match_file(path):
                continue
            try:
                data = repo.show(commit.sha, path, limit)
            except GitError as exc:
                gap = unscanned_finding(SCANNER, path, f"in commit {commit.sha[:12]}: {exc}")
                gaps.append(replace(gap, commit=commit.sha))
                continue
            if data is None:
                continue
            if path in head and _worktree_bytes(ctx.fileset.root / path, limit) == data:
                same_as_head += 1
                continue
            blob = f"{i:05d}/{path}"
            target = blobs / blob
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)
            added[blob] = (commit, path, lines)
    same = f", {same_as_head} the same as the working tree's" if same_as_head else ""
    if not added:
        note = f"{len(commits)} commit(s), no other file versions with added lines{same}"
        return ScanOutput(gaps, "", len(gaps), 0, [note])

    output = DetectSecretsScanner().scan(replace(ctx, fileset=walk(blobs)))
    found: list[Finding] = list(gaps)
    for f in sorted(output.findings, key=lambda f: (f.path, f.start_line or 0)):
        commit, path, lines = added[f.path]
        if f.category == SECRET and lines is not None and f.start_line not in lines:
            continue  # there before this commit: reported where it was added, or at the base
        subject = commit.subject if len(commit.subject) <= 72 else commit.subject[:71] + "…"
        found.append(
            replace(
                f,
                path=path,
                commit=commit.sha,
                message=f"{f.message} (added in commit {commit.sha[:12]} \"{subject}\")",
            )
        )
    note = f"{len(commits)} commit(s), {len(added)} changed file version(s) searched{same}"
    return ScanOutput(
        findings=found,
        version=output.version,
        raw_results=sum(len(f.sources) for f in found),
        files_scanned=len(added),
        notes=[note],
    )


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


__all__ = ["drop_history_duplicates", "scan_history"]
