"""One gate run: read the trusted inputs, scan, and evaluate.

The CLI (`scan`, `baseline create`, `explain`) and the Action all come through here, so
they agree. In pull-request diff mode the policy, the files it names, the waivers and an
in-repository baseline are read from the *base* ref: a pull request is judged by the rules
it was opened against, and any change it makes to them is reported as "policy change
needs security review" instead of taking effect.
"""

from __future__ import annotations

import datetime as dt
import os
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from policy_gate.baseline import Baseline
from policy_gate.baseline import loads as load_baseline
from policy_gate.cache import ResultsCache
from policy_gate.dependencies import npm
from policy_gate.dependencies.python import parse_manifests
from policy_gate.fileset import TreeFileError, read_tree_file, walk
from policy_gate.findings import DependencyInfo
from policy_gate.git import ChangeSet, GitError, Repo
from policy_gate.patterns import compile_patterns
from policy_gate.policy.evaluate import DiffScope, Evaluation, Inputs, dependency_key, evaluate
from policy_gate.policy.loader import PolicyError, PolicySource, Problem, load_policy
from policy_gate.policy.model import Policy
from policy_gate.runner import Listener, ScanResult
from policy_gate.runner import scan as run_scan
from policy_gate.waivers import WaiverSet, load_waivers

# Input files the gate reads (policy, waivers, baseline) are small; refuse huge ones.
MAX_INPUT_BYTES = 64 * 1024 * 1024


@dataclass(frozen=True)
class GateOptions:
    root: Path
    policy_ref: str
    only: list[str] | None = None
    advisories: str | None = None
    osv_url: str | None = None
    jobs: int | None = None
    listener: Listener | None = None
    baseline: Path | None = None
    diff_base: str | None = None
    today: dt.date | None = None
    cache_dir: Path | None = None
    # Work for the otherwise idle main thread while the scanners run (see runner.scan).
    while_scanning: Callable[[], None] | None = None


@dataclass
class GateRun:
    policy: Policy
    result: ScanResult
    evaluation: Evaluation
    notes: list[str] = field(default_factory=list)


class BaseRefSource(PolicySource):
    """Policy files as they are at the base ref; remembers what it read so the caller can
    tell whether the pull request changed any of it."""

    def __init__(self, repo: Repo, base: str, work: Path) -> None:
        self.top = Repo.open(repo.toplevel)
        self.base = base
        self.work = work
        self.read_files: dict[Path, bytes | None] = {}

    def _rel(self, path: Path) -> str | None:
        try:
            return path.resolve().relative_to(self.top.toplevel.resolve()).as_posix()
        except ValueError:
            return None

    def read_base(self, path: Path) -> bytes | None:
        """The file as the base ref has it (None: absent there), remembered for
        ``changed``; a file outside the repository is read as it is."""
        rel = self._rel(path)
        if rel is None:  # outside the repository: not the pull request's to change
            return super().read(path)
        try:
            data = self.top.show(self.base, rel, MAX_INPUT_BYTES)
        except GitError as exc:
            problem = Problem(str(path), None, None, "", f"at the base ref: {exc}")
            raise PolicyError([problem]) from None
        self.read_files[path.resolve()] = data
        return data

    def read(self, path: Path) -> bytes | None:
        data = self.read_base(path)
        if data is None and self._rel(path) is not None and path.is_file():
            raise PolicyError([Problem(
                str(path), None, None, "",
                f"exists in this change but not at the base ref {self.base[:12]}",
                "a policy is enforced from the base, so a pull request cannot bring its own; "
                "merge the policy first (or use builtin:mojaloop), or run with --full-scan",
            )])
        return data

    def local(self, path: Path) -> Path:
        rel = self._rel(path)
        if rel is None or path.is_dir():
            # A rules directory is used as checked out; a change to it is still detected
            # (see changed_inputs) and needs review.
            if rel is not None:
                self.read_files.setdefault(path.resolve(), None)
            return path
        data = self.read(path)
        if data is None:
            raise PolicyError([Problem(str(path), None, None, "", "does not exist at the base "
                                       "ref", "a pull request cannot add files the policy uses")])
        target = self.work / "base-ref" / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
        return target

    def changed(self, changes: ChangeSet, root: Path) -> list[str]:
        """The files read from the base that the working tree has in another version."""
        out = []
        for path, base_bytes in self.read_files.items():
            shown = root_relative(root, path)
            if path.is_dir():
                # change paths are inside the root, so a directory above it never matches
                if any(
                    f == shown or f.startswith(shown.rstrip("/") + "/")
                    for f in (*changes.files, *changes.deleted)
                ):
                    out.append(shown + "/")
                continue
            try:
                head_bytes: bytes | None = read_tree_file(path, MAX_INPUT_BYTES)
            except TreeFileError:
                head_bytes = None  # absent, a link or unreadable now: not what the base has
            if head_bytes != base_bytes:
                out.append(shown)
        return sorted(set(out))


def root_relative(root: Path, path: Path) -> str:
    """How notices name a file: relative to the scanned root, with `..` for a file above it
    (a repository policy when a subdirectory is scanned), like every finding path."""
    return Path(os.path.relpath(path.resolve(), root.resolve())).as_posix()


def run(opts: GateOptions) -> GateRun:
    """Raises PolicyError (bad policy, waivers or baseline) and GitError (diff mode cannot
    be set up): both are the user's to fix, exit 2."""
    today = opts.today or dt.datetime.now(dt.UTC).date()
    with tempfile.TemporaryDirectory(prefix="policy-gate-inputs-") as tmp:
        work = Path(tmp)
        repo: Repo | None = None
        changes: ChangeSet | None = None
        source: PolicySource = PolicySource()
        if opts.diff_base:
            repo = Repo.open(opts.root)
            changes = repo.changes(opts.diff_base)
            source = BaseRefSource(repo, changes.base, work)
        policy = load_policy(opts.policy_ref, source)
        changed_inputs: list[str] = []
        notes: list[str] = []

        waivers = _waivers(opts.root, policy, repo, changes, changed_inputs)
        baseline = _baseline(opts.baseline, source)
        if isinstance(source, BaseRefSource) and changes is not None:
            changed_inputs[:0] = source.changed(changes, opts.root)
            review = compile_patterns(policy.review.paths)
            changed_inputs += [
                p for p in (*changes.files, *changes.deleted) if review.match_file(p)
            ]
            notes.append(
                f"diff mode against {opts.diff_base} (merge base {changes.base[:12]}): "
                f"{len(changes.files)} changed file(s); the policy, waivers and baseline "
                "were read from the base"
            )

        result = run_scan(
            opts.root,
            policy,
            only=opts.only,
            advisories=opts.advisories,
            osv_url=opts.osv_url,
            listener=opts.listener,
            jobs=opts.jobs,
            changes=changes,
            repo=repo,
            cache=ResultsCache(opts.cache_dir) if opts.cache_dir is not None else None,
            while_scanning=opts.while_scanning,
        )
        diff = None
        if changes is not None and repo is not None:
            diff = DiffScope(changes, _base_dependencies(repo, changes, result, work))
        inputs = Inputs(
            today=today,
            waivers=waivers,
            baseline=baseline,
            diff=diff,
            suppressions=tuple(result.suppressions),
            policy_changes=tuple(dict.fromkeys(changed_inputs)),
            complete_scanners=_complete_scanners(result, diff is not None, opts.only),
        )
        evaluation = evaluate(policy, result.findings, (r.outcome for r in result.runs), inputs)
        result.notes.extend(notes)
        return GateRun(policy, result, evaluation, notes)


def _complete_scanners(
    result: ScanResult, diff_mode: bool, only: list[str] | None
) -> frozenset[str] | None:
    """Which scanners looked at the whole tree (None: all did), for stale-waiver checks."""
    if not diff_mode and only is None:
        return None
    from policy_gate.scanners import registry

    scanners = registry()
    return frozenset(
        r.name for r in result.runs
        if r.status == "ok" and r.name in scanners
        and not (diff_mode and scanners[r.name].file_local)
    )


def _read_in_tree(root: Path, rel: str) -> bytes | None:
    """A file of the scanned tree, never through a symlink (it could point at a host file)."""
    path = root / rel
    for parent in [path, *path.parents]:
        if parent == root:
            break
        if parent.is_symlink():
            raise PolicyError([Problem(rel, None, None, "", "is a symbolic link; refusing to "
                                       "follow it out of the scanned tree")])
    try:
        return read_tree_file(path, MAX_INPUT_BYTES)
    except TreeFileError as exc:
        if exc.missing:
            return None
        raise PolicyError([Problem(rel, None, None, "", str(exc))]) from None


def _waivers(
    root: Path,
    policy: Policy,
    repo: Repo | None,
    changes: ChangeSet | None,
    changed_inputs: list[str],
) -> WaiverSet | None:
    rel = policy.waivers.file
    head = _read_in_tree(root, rel)
    data = head
    if repo is not None and changes is not None:
        data = repo.show(changes.base, rel, MAX_INPUT_BYTES)
        if data != head:
            changed_inputs.append(rel)
    if data is None:
        return None
    return load_waivers(data, rel)


def _baseline(path: Path | None, source: PolicySource) -> Baseline | None:
    """The baseline file; in diff mode as the base ref has it when it is in the
    repository (the pull request could have edited it; ``source.changed`` reports that)."""
    if path is None:
        return None
    if isinstance(source, BaseRefSource):
        data = source.read_base(path)
        if data is None:
            if path.is_file():  # added by the change itself: no baseline applies
                return None
            raise PolicyError([Problem(str(path), None, None, "", "baseline file not found")])
        return load_baseline(data, str(path))
    try:
        return load_baseline(path.read_bytes(), str(path))
    except OSError as exc:
        raise PolicyError([Problem(str(path), None, None, "", f"cannot read the baseline: "
                                   f"{exc.strerror}")]) from None


def _base_dependencies(
    repo: Repo, changes: ChangeSet, result: ScanResult, work: Path
) -> dict[str, frozenset[str]]:
    """For each changed manifest that has dependency findings, the dependencies its base
    version declared: a dependency (version) it already had is not introduced."""
    wanted = sorted({
        f.path for f in result.findings
        if f.dependency is not None and changes.is_changed(f.path)
    })
    if not wanted:
        return {}
    base_root = work / "base-manifests"
    base_root.mkdir(exist_ok=True)
    old_of: dict[str, str] = {}
    for head_path in wanted:
        old = changes.old_path(head_path)
        if old is None:
            continue
        old_of[head_path] = old
        for rel in _with_companions(old):
            data = repo.show(changes.base, rel, MAX_INPUT_BYTES)
            if data is not None:
                target = base_root / rel
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(data)
    base = walk(base_root)
    keys: dict[str, set[str]] = {}
    scan = parse_manifests(base)
    for pin in scan.pinned:
        keys.setdefault(pin.manifest_path, set()).add(
            dependency_key(DependencyInfo("PyPI", pin.name, pin.version))
        )
    for req in scan.unpinned:
        keys.setdefault(req.manifest_path, set()).add(
            dependency_key(DependencyInfo("PyPI", req.name, None, requirement=req.requirement_text))
        )
    for lockfile in npm.find_lockfiles(base):
        try:
            packages = npm.parse_lockfile(base_root, lockfile)
        except npm.LockfileError:
            continue  # unreadable at the base: everything in the head's version is new
        for pkg in packages:
            keys.setdefault(lockfile, set()).add(
                dependency_key(DependencyInfo(pkg.ecosystem, pkg.name, pkg.version))
            )
    return {
        head: frozenset(keys.get(old, set())) for head, old in old_of.items() if old in keys
    }


def _with_companions(rel: str) -> list[str]:
    """A manifest and the files its parse needs (npm lockfiles read package.json)."""
    parent = rel.rsplit("/", 1)[0] + "/" if "/" in rel else ""
    if rel.rsplit("/", 1)[-1] in npm.LOCKFILE_NAMES:
        return [rel, parent + "package.json"]
    return [rel]


__all__ = ["BaseRefSource", "GateOptions", "GateRun", "run"]
