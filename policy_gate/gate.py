"""One gate run: read the trusted inputs, scan, and evaluate.

The CLI (`scan`, `baseline create`, `explain`) and the Action all come through here, so
they agree. In pull-request diff mode (and on any GitHub pull_request event) the policy,
the files it names, the waivers, an in-repository baseline and advisory database are read
from the *base* branch as it is now (see base_inputs): a pull request is judged by the
rules of the branch it merges into, and any change it makes to them is reported as
"policy change needs security review" instead of taking effect.
"""

from __future__ import annotations

import datetime as dt
import os
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from policy_gate.base.fileset import Selection, walk
from policy_gate.base.git import Repo, work_tree_top
from policy_gate.base.gitdiff import ChangeSet
from policy_gate.base.gitrun import GitError, printable
from policy_gate.base.patterns import compile_patterns
from policy_gate.base.treefile import TreeFileError, read_tree_file
from policy_gate.base_inputs import MAX_INPUT_BYTES, BaseRefSource, trusted_source
from policy_gate.cache import open_cache
from policy_gate.catalogue import BY_NAME
from policy_gate.dependencies import npm
from policy_gate.dependencies.python import parse_manifests
from policy_gate.findings import DependencyInfo
from policy_gate.history import base_dockerfile_findings
from policy_gate.policy.baseline import Baseline
from policy_gate.policy.baseline import loads as load_baseline
from policy_gate.policy.evaluate import DiffScope, Evaluation, Inputs, dependency_key, evaluate
from policy_gate.policy.loader import PolicyError, PolicySource, Problem, load_policy
from policy_gate.policy.model import Policy
from policy_gate.policy.waivers import WaiverSet, load_waivers
from policy_gate.policy.withheld import withhold
from policy_gate.results import ScanResult
from policy_gate.runner import Listener
from policy_gate.runner import scan as run_scan


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
    # A GitHub pull_request event's base commit: the inputs come from there even when
    # diff mode is off or aimed elsewhere (the workflow asking for that is the PR's own).
    pr_base: str | None = None
    today: dt.date | None = None
    cache_dir: Path | None = None
    # Work for the otherwise idle main thread while the scanners run (see runner.scan).
    while_scanning: Callable[[], None] | None = None
    # Read every file, not only what git lists (see select_files).
    all_files: bool = False
    # The files this run writes (reports, step outputs): never scanned.
    outputs: tuple[Path, ...] = ()


@dataclass
class GateRun:
    policy: Policy
    result: ScanResult
    evaluation: Evaluation
    notes: list[str] = field(default_factory=list)


def run(opts: GateOptions) -> GateRun:
    """Raises PolicyError (bad policy, waivers or baseline), GitError (diff mode cannot
    be set up) and CacheError (a results cache a pull request could write or whose key
    others may know): all the user's to fix, exit 2."""
    # First: a cache the gate will not trust stops the run before anything is read.
    cache = open_cache(opts.cache_dir, opts.root) if opts.cache_dir is not None else None
    today = opts.today or dt.datetime.now(dt.UTC).date()
    with tempfile.TemporaryDirectory(prefix="policy-gate-inputs-") as tmp:
        work = Path(tmp)
        repo, changes, source = _diff_setup(opts, work)
        policy = load_policy(opts.policy_ref, source)
        if changes is not None:
            changes = _moved_into_scope(changes, policy)
        changed_inputs: list[str] = []
        notes: list[str] = []
        advisories = opts.advisories
        waivers = _waivers(opts.root, policy, source, today)
        baseline = _baseline(opts.baseline, source)
        if isinstance(source, BaseRefSource):
            advisories = source.optional_local(advisories)
            changed_inputs = source.changed(opts.root, policy.review.paths)
            notes.append(_inputs_note(opts, changes, source))

        result = run_scan(
            opts.root,
            policy,
            only=opts.only,
            advisories=advisories,
            osv_url=opts.osv_url,
            listener=opts.listener,
            jobs=opts.jobs,
            changes=changes,
            repo=repo if changes is not None else None,
            cache=cache,
            while_scanning=opts.while_scanning,
            selection=select_files(opts.root, all_files=opts.all_files),
            outputs=opts.outputs,
        )
        # Free text of the gate's own files that may hold a secret (a waiver's reason, an
        # inline comment, a policy's reason) is replaced here, once, for every report.
        kept = withhold(result.findings, policy, waivers, result.suppressions,
                        _policy_paths(result.root, policy))
        policy, waivers = kept.policy, kept.waivers
        result.findings, result.suppressions = kept.findings, list(kept.suppressions)
        diff = None
        if changes is not None and repo is not None:
            diff = DiffScope(changes, _base_dependencies(repo, changes, result, work),
                             base_dockerfile_findings(repo, changes, result, policy,
                                                      MAX_INPUT_BYTES))
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


def select_files(root: Path, *, all_files: bool = False) -> Selection:
    """What the scan reads. In a git work tree: what git tracks and the untracked files it
    does not ignore, as a CI checkout (plus what the job wrote that git would see) has
    them, read from the working tree; ``all_files``: everything, git's listing telling only
    which generated files are not the repository's. Outside git, or when git cannot
    answer: everything, saying why (never fewer files than CI reads)."""
    try:
        repo = Repo.open(root)
        listed, whole = repo.listed()
    except GitError as exc:
        if not _in_work_tree(root):
            return Selection(why="not a git work tree")
        return Selection(why=f"git could not list the repository's files ({printable(str(exc))}), "
                         "so untracked files git ignores are read too; scan with git for "
                         "what CI reads")
    # a listed path that is a directory: a checked-out submodule, read whole
    whole += tuple(p + "/" for p in listed if (repo.root / p).is_dir()
                   and not (repo.root / p).is_symlink())
    return Selection(listed=listed, whole=whole, read_all=all_files,
                     why="--all-files" if all_files else "")


def _in_work_tree(root: Path) -> bool:
    """Whether root or a directory above it has a `.git` (without asking git)."""
    return work_tree_top(root.resolve()) is not None


def _policy_paths(root: Path, policy: Policy) -> dict[str, str]:
    """The policy files inside the scanned tree: display name -> path as findings name it
    (a file elsewhere, or built in, is not scanned: only the shape check guards it)."""
    bases = {Path(os.path.normpath(root.absolute())), root.resolve()}
    out: dict[str, str] = {}
    for name in policy.files:
        if name.startswith("builtin:"):
            continue
        path = Path(name)
        for candidate in (Path(os.path.normpath(path.absolute())), path.resolve()):
            for base in bases:
                if candidate.is_relative_to(base):
                    out[name] = candidate.relative_to(base).as_posix()
    return out


def _diff_setup(
    opts: GateOptions, work: Path
) -> tuple[Repo | None, ChangeSet | None, PolicySource]:
    """The repository, the change (diff mode) and where the inputs are read from."""
    if not opts.diff_base and not opts.pr_base:
        return None, None, PolicySource()
    repo = Repo.open(opts.root)
    source = trusted_source(repo, opts.diff_base or None, opts.pr_base, work)
    changes = repo.changes(opts.diff_base) if opts.diff_base else None
    return repo, changes, source


def _moved_into_scope(changes: ChangeSet, policy: Policy) -> ChangeSet:
    """A file renamed from a path the policy excludes is new: its content was never
    judged where it was (`git mv coverage/x.js src/x.js`)."""
    excluded = compile_patterns(policy.exclude)
    return changes.with_new(
        new for new, old in changes.renamed.items() if excluded.match_file(old)
    )


def _inputs_note(opts: GateOptions, changes: ChangeSet | None, source: BaseRefSource) -> str:
    where = f"the base commit {source.rev[:12]}"
    if changes is None:
        return (f"pull request: the policy, waivers and baseline were read from {where} "
                "(a full scan judges every finding)")
    return (
        f"diff mode against {opts.diff_base} (merge base {changes.base[:12]}): "
        f"{len(changes.files)} changed file(s); the policy, waivers and baseline were "
        f"read from {where}"
    )


def _complete_scanners(
    result: ScanResult, diff_mode: bool, only: list[str] | None
) -> frozenset[str] | None:
    """Which scanners looked at the whole tree (None: all did), for stale-waiver checks."""
    if not diff_mode and only is None:
        return None
    return frozenset(
        r.name for r in result.runs
        if r.status == "ok" and r.name in BY_NAME
        and not (diff_mode and BY_NAME[r.name].file_local)
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
    source: PolicySource,
    today: dt.date,
) -> WaiverSet | None:
    """The waivers file; in diff mode as the base has it (``source.changed`` reports a
    change the pull request made to it)."""
    rel = policy.waivers.file
    if isinstance(source, BaseRefSource):
        data = source.read_base(root / rel)
    else:
        data = _read_in_tree(root, rel)
    if data is None:
        return None
    return load_waivers(data, rel, today)


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


__all__ = ["MAX_INPUT_BYTES", "BaseRefSource", "GateOptions", "GateRun", "run"]
